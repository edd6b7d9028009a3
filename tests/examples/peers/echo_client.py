#!/usr/bin/python3
"""A CPython asyncio echo client, the peer our server is tested against.

Usage: echo_client.py PORT COUNT. Sends COUNT numbered lines to 127.0.0.1:PORT, checks that each
comes back unchanged, half-closes, checks that the server then closes, and prints "ok COUNT".
Exits with status 1 and a message on stderr on any mismatch.
"""
import asyncio
import sys


async def main(port, count):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    for i in range(count):
        line = f"line {i} {'x' * (i % 50)}\n".encode()
        writer.write(line)
        await writer.drain()
        echoed = await reader.readline()
        if echoed != line:
            sys.exit(f"line {i}: sent {line!r}, got {echoed!r}")
    writer.write_eof()
    rest = await reader.read()
    if rest:
        sys.exit(f"unexpected bytes after EOF: {rest!r}")
    writer.close()
    await writer.wait_closed()
    print(f"ok {count}", flush=True)


asyncio.run(main(int(sys.argv[1]), int(sys.argv[2])))

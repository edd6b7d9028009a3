#!/usr/bin/python3
"""A CPython asyncio echo server, the peer our client is tested against.

Listens on 127.0.0.1 (port 0: the kernel picks), prints the port on stdout, echoes every line of
every connection back, and exits when its stdin reaches EOF (the test closes it).
"""
import asyncio
import sys


async def handle(reader, writer):
    try:
        while line := await reader.readline():
            writer.write(line)
            await writer.drain()
    finally:
        writer.close()


async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    print(server.sockets[0].getsockname()[1], flush=True)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.read)  # until the test closes our stdin
    server.close()
    await server.wait_closed()


asyncio.run(main())

#!/usr/bin/python3
"""CPython asyncio HTTP/1.1 keep-alive "hello" server: the asyncio and uvloop peers of the HTTP
workloads of bench/net/run-net (issue 5), answering what examples/http_hello answers.

    http_server.py [--uvloop] [--tls CERT KEY] [HOST] [PORT] [--until-stdin-closes]

Per connection, on asyncio streams: readuntil the blank line ending a request head (8 KiB at
most, the example's limit), a minimal parse of the request line and the header fields, the body
if Content-Length says there is one, then

    HTTP/1.1 200 OK\\r\\nContent-Type: text/plain\\r\\nContent-Length: 14\\r\\n\\r\\nHello, world!\\n

and, as in the example, keep-alive for HTTP/1.1 unless "Connection: close" and for HTTP/1.0 only
with "Connection: keep-alive" (a closing answer adds "Connection: close"). A malformed request gets
400 and the connection closes. The parser checks less than the example's (http_request.cpp): it is
the work any server must do, not a validating one.

--tls CERT KEY serves HTTPS (the same server behind ssl=, as echo_server.py --tls).

HOST defaults to 127.0.0.1, PORT to 0. Prints "serving on HOST:PORT" once it listens; stops when
stdin closes if started with --until-stdin-closes, else on SIGINT.
"""

import asyncio
import sys

import echo_server  # the shared command line, stdin watch and runner

MAX_HEAD = 8192
HELLO = b"Hello, world!\n"


def response(status, reason, body, keep_alive):
    head = f"HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain\r\nContent-Length: {len(body)}\r\n"
    if not keep_alive:
        head += "Connection: close\r\n"
    return head.encode("ascii") + b"\r\n" + body


OK_KEEP_ALIVE = response(200, "OK", HELLO, True)
OK_CLOSE = response(200, "OK", HELLO, False)


def parse_head(head):
    """(keep_alive, content_length) of a request head (CRLF CRLF included), or None if malformed."""
    lines = head[:-4].split(b"\r\n")
    parts = lines[0].split(b" ")
    if len(parts) != 3 or not parts[0] or not parts[1]:
        return None
    version = parts[2]
    if version == b"HTTP/1.1":
        keep_alive = True
    elif version == b"HTTP/1.0":
        keep_alive = False
    else:
        return None
    length = 0
    for line in lines[1:]:
        name, colon, value = line.partition(b":")
        if not colon or not name:
            return None
        name = name.lower()
        if name == b"content-length":
            value = value.strip()
            if not value.isdigit():
                return None
            length = int(value)
        elif name == b"transfer-encoding":
            return None  # the example answers 501; no client of the benchmark sends it
        elif name == b"connection":
            options = [o.strip().lower() for o in value.split(b",")]
            if b"close" in options:
                keep_alive = False
            elif b"keep-alive" in options:
                keep_alive = True
    return keep_alive, length


async def serve_client(reader, writer, transports):
    transports.add(writer.transport)
    try:
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except asyncio.IncompleteReadError as e:
                if e.partial:  # EOF inside a request; between requests it is the client leaving
                    writer.write(response(400, "Bad Request", b"truncated request\n", False))
                break
            except asyncio.LimitOverrunError:
                writer.write(response(431, "Request Header Fields Too Large", b"request head too large\n", False))
                break
            parsed = parse_head(head)
            if parsed is None:
                writer.write(response(400, "Bad Request", b"malformed request\n", False))
                break
            keep_alive, length = parsed
            if length:
                try:
                    await reader.readexactly(length)
                except asyncio.IncompleteReadError:
                    writer.write(response(400, "Bad Request", b"truncated body\n", False))
                    break
            writer.write(OK_KEEP_ALIVE if keep_alive else OK_CLOSE)
            await writer.drain()
            if not keep_alive:
                break
        await writer.drain()
    except ConnectionError:
        pass
    finally:
        transports.discard(writer.transport)
        writer.close()
        await echo_server.closed(writer)


async def main(args):
    transports = set()
    server = await asyncio.start_server(lambda r, w: serve_client(r, w, transports), args.host, args.port,
                                        limit=MAX_HEAD, ssl=echo_server.server_ssl(args))
    host, port = server.sockets[0].getsockname()[:2]
    print(f"serving on {host}:{port}", flush=True)
    async with server:
        if args.until_stdin_closes:
            await echo_server.stdin_closed()
        else:
            await server.serve_forever()
        server.close()
        for t in list(transports):
            t.close()
        await server.wait_closed()


if __name__ == "__main__":
    a = echo_server.parse_args(sys.argv[1:], __doc__, apis=("streams",))
    echo_server.run(main(a), a.uvloop)

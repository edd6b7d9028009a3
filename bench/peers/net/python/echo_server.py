#!/usr/bin/python3
"""CPython asyncio echo server: the asyncio and uvloop peers of the echo workload (h) of
bench/net/run-net (issue 5).

    echo_server.py [--api streams|protocol] [--uvloop] [--tls CERT KEY] [HOST] [PORT]
                   [--until-stdin-closes]

    --api streams   (default) start_server, and per connection readline / write / drain: the same
                    program as examples/echo (asyncio-cpp's streams echo)
    --api protocol  a Protocol whose data_received writes the bytes straight back: the same program
                    as bench/net/echo_protocol_server.cpp
    --uvloop        run on uvloop's event loop instead of asyncio's own
    --tls CERT KEY  serve TLS: ssl=ssl.create_default_context(Purpose.CLIENT_AUTH) with
                    load_cert_chain(CERT, KEY), as bench/net/echo_protocol_server --tls

HOST defaults to 127.0.0.1, PORT to 0 (the kernel picks). Prints "serving on HOST:PORT" once it
listens; stops when stdin closes if started with --until-stdin-closes (how run-net stops it), else
on SIGINT. Run it with Debian's /usr/bin/python3, which has python3-uvloop.
"""

import argparse
import asyncio
import ssl
import sys


class EchoProtocol(asyncio.Protocol):
    """Echoes every chunk as it arrives."""

    def __init__(self, transports):
        self.transports = transports
        self.transport = None

    def connection_made(self, transport):
        self.transport = transport
        self.transports.add(transport)

    def data_received(self, data):
        self.transport.write(data)

    def connection_lost(self, exc):
        self.transports.discard(self.transport)


async def closed(writer):
    """writer.wait_closed(), whose error (a reset) is of no interest: awaited so that asyncio does not
    report "Future exception was never retrieved" for every connection a client resets."""
    try:
        await writer.wait_closed()
    except ConnectionError:
        pass


async def stdin_closed():
    """Returns when stdin reaches EOF (or fails)."""
    loop = asyncio.get_running_loop()
    done = loop.create_future()

    def on_readable():
        try:
            data = sys.stdin.buffer.raw.read(256)
        except OSError:
            data = b""
        if not data and not done.done():
            done.set_result(None)

    loop.add_reader(0, on_readable)
    try:
        await done
    finally:
        loop.remove_reader(0)


def server_ssl(args):
    """The server's SSLContext for --tls CERT KEY, else None (plain TCP)."""
    if not args.tls:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*args.tls)
    return context


async def main(args):
    loop = asyncio.get_running_loop()
    transports = set()  # open connections, closed when the server stops
    tls = server_ssl(args)
    if args.api == "streams":

        async def handle(reader, writer):
            transports.add(writer.transport)
            try:
                while True:
                    line = await reader.readline()
                    if not line:  # EOF
                        break
                    writer.write(line)
                    await writer.drain()
            except ConnectionError:
                pass
            finally:
                transports.discard(writer.transport)
                writer.close()
                await closed(writer)

        server = await asyncio.start_server(handle, args.host, args.port, ssl=tls)
    else:
        server = await loop.create_server(lambda: EchoProtocol(transports), args.host, args.port, ssl=tls)

    host, port = server.sockets[0].getsockname()[:2]
    print(f"serving on {host}:{port}", flush=True)
    async with server:
        if args.until_stdin_closes:
            await stdin_closed()
        else:
            await server.serve_forever()
        server.close()
        for t in list(transports):
            t.close()
        await server.wait_closed()


def parse_args(argv, description=__doc__, apis=("streams", "protocol")):
    """The example servers' command line: [HOST] [PORT] [--until-stdin-closes], and --api, --uvloop, --tls."""
    ap = argparse.ArgumentParser(description=description.split("\n\n")[0])
    ap.add_argument("host", nargs="?", default="127.0.0.1")
    ap.add_argument("port", nargs="?", type=int, default=0)
    ap.add_argument("--api", choices=apis, default="streams")
    ap.add_argument("--uvloop", action="store_true", help="run on uvloop")
    ap.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"), help="serve TLS with this certificate and key")
    ap.add_argument("--until-stdin-closes", action="store_true", help="stop when stdin reaches EOF")
    return ap.parse_args(argv)


def run(coro, use_uvloop):
    """asyncio.run on asyncio's loop or uvloop's; SIGINT ends it quietly."""
    factory = None
    if use_uvloop:
        import uvloop

        factory = uvloop.new_event_loop
    try:
        with asyncio.Runner(loop_factory=factory) as runner:
            runner.run(coro)
    except KeyboardInterrupt:
        print("stopped: KeyboardInterrupt", flush=True)


if __name__ == "__main__":
    a = parse_args(sys.argv[1:])
    run(main(a), a.uvloop)

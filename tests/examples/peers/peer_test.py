#!/usr/bin/python3
"""Tests of the examples against peers this project did not write: CPython's asyncio and curl.

Usage: peer_test.py TEST_NAME EXAMPLES_DIR. Each test starts the example it needs with
--until-stdin-closes (closing its stdin stops it), reads the "serving on HOST:PORT" line, runs the
peer, and checks what came back. Exit status 0 is a pass; a failure prints why. Every wait has a
timeout, so a hang is a failure, not a stuck CI.
"""
import asyncio
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
TIMEOUT = 30


class Example:
    """An example server running in a child process."""

    def __init__(self, path):
        self.proc = subprocess.Popen([path, "127.0.0.1", "0", "--until-stdin-closes"],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        if not line.startswith("serving on "):
            raise SystemExit(f"{path} did not start: {line!r}")
        self.port = int(line.rsplit(":", 1)[1])

    def stop(self):
        self.proc.stdin.close()
        code = self.proc.wait(timeout=TIMEOUT)
        if code != 0:
            raise SystemExit(f"the example exited with {code}")


def run(args, **kw):
    return subprocess.run(args, capture_output=True, text=True, timeout=TIMEOUT, **kw)


def python_asyncio_client_talks_to_our_echo_server(examples):
    server = Example(os.path.join(examples, "echo", "echo_server"))
    r = run([sys.executable, os.path.join(HERE, "echo_client.py"), str(server.port), "500"])
    server.stop()
    assert r.returncode == 0 and r.stdout.strip() == "ok 500", (r.returncode, r.stdout, r.stderr)


def our_echo_client_talks_to_a_python_asyncio_server(examples):
    peer = subprocess.Popen([sys.executable, os.path.join(HERE, "echo_server.py")],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    port = int(peer.stdout.readline())
    r = run([os.path.join(examples, "echo", "echo_client"), "127.0.0.1", str(port), "500"])
    peer.stdin.close()
    peer.wait(timeout=TIMEOUT)
    assert r.returncode == 0 and r.stdout.strip() == "ok 500", (r.returncode, r.stdout, r.stderr)


def curl_gets_hello_twice_over_one_kept_alive_connection(examples):
    server = Example(os.path.join(examples, "http_hello", "http_hello"))
    url = f"http://127.0.0.1:{server.port}/"
    r = run(["curl", "-sS", "-v", url, url + "again"])
    server.stop()
    assert r.returncode == 0, r.stderr
    assert r.stdout == "Hello, world!\n" * 2, r.stdout
    assert "Re-using existing connection" in r.stderr or "Reusing existing connection" in r.stderr, r.stderr


def curl_post_with_a_body_gets_hello(examples):
    server = Example(os.path.join(examples, "http_hello", "http_hello"))
    r = run(["curl", "-sS", "--data", "x" * 10000, f"http://127.0.0.1:{server.port}/post"])
    server.stop()
    assert r.returncode == 0 and r.stdout == "Hello, world!\n", (r.stdout, r.stderr)


async def raw_exchange(port, data, half_close=True):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(data)
    if half_close:
        writer.write_eof()
    reply = await asyncio.wait_for(reader.read(), TIMEOUT)
    writer.close()
    return reply


def malformed_http_requests_get_400_and_the_connection_closed(examples):
    server = Example(os.path.join(examples, "http_hello", "http_hello"))
    bad = [
        b"GET / HTTP/1.1\r\nHost x\r\n\r\n",            # no colon
        b"GET / HTTP/9.9\r\nHost: x\r\n\r\n",           # version
        b"GET  / HTTP/1.1\r\nHost: x\r\n\r\n",          # two spaces
        b"GET / HTTP/1.1\r\n\r\n",                      # no Host
        b"GET / HTTP/1.1\r\nHost : x\r\n\r\n",          # space before colon
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: zz\r\n\r\n",
        b"GET / HTTP/1.1\nHost: x\n\n",                 # bare LF (never a full head: EOF ends it)
        b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nshort",  # truncated body
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 9223372036854775808\r\n\r\n",  # 2^63
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 18446744073709551615\r\n\r\n",  # 2^64 - 1
    ]
    for request in bad:
        reply = asyncio.run(raw_exchange(server.port, request))
        assert reply.startswith(b"HTTP/1.1 400 Bad Request\r\n"), (request, reply)
        assert b"Connection: close\r\n" in reply, (request, reply)
    reply = asyncio.run(raw_exchange(server.port, b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"))
    assert reply.startswith(b"HTTP/1.1 501 "), reply
    reply = asyncio.run(raw_exchange(server.port, b"GET / HTTP/1.1\r\nHost: x\r\nX: " + b"a" * 9000 + b"\r\n\r\n"))
    assert reply.startswith(b"HTTP/1.1 431 "), reply
    # The server is still fine afterwards.
    reply = asyncio.run(raw_exchange(server.port, b"GET / HTTP/1.0\r\n\r\n"))
    assert reply.endswith(b"Hello, world!\n"), reply
    server.stop()


def chat_server_broadcasts_lines_between_clients(examples):
    server = Example(os.path.join(examples, "chat", "chat_server"))

    async def main():
        async def connect():
            r, w = await asyncio.open_connection("127.0.0.1", server.port)
            welcome = await asyncio.wait_for(r.readline(), TIMEOUT)
            return r, w, welcome.decode().split()[-1]

        r1, w1, name1 = await connect()
        r2, w2, name2 = await connect()
        joined = await asyncio.wait_for(r1.readline(), TIMEOUT)
        assert joined == f"* {name2} joined\n".encode(), joined
        w1.write(b"hello from one\n")
        got = await asyncio.wait_for(r2.readline(), TIMEOUT)
        assert got == f"{name1}: hello from one\n".encode(), got
        w2.write(b"hi back\n")
        got = await asyncio.wait_for(r1.readline(), TIMEOUT)
        assert got == f"{name2}: hi back\n".encode(), got
        w2.close()
        left = await asyncio.wait_for(r1.readline(), TIMEOUT)
        assert left == f"* {name2} left\n".encode(), left
        w1.close()

    asyncio.run(main())
    server.stop()


if __name__ == "__main__":
    test = globals()[sys.argv[1]]
    test(sys.argv[2])
    print("passed:", sys.argv[1])

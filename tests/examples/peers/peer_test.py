#!/usr/bin/python3
"""Tests of the examples against peers this project did not write: CPython's asyncio and ssl, curl,
ab and the openssl command (s_client, s_server).

Usage: peer_test.py TEST_NAME EXAMPLES_DIR. Each test starts the example it needs with
--until-stdin-closes (closing its stdin stops it), reads the "serving on HOST:PORT" line, runs the
peer, and checks what came back. Exit status 0 is a pass; a failure prints why. Every wait has a
timeout, so a hang is a failure, not a stuck CI. The TLS tests make their own throwaway
certificates (scripts/make-test-certs) in a temporary directory.
"""
import asyncio
import os
import re
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
MAKE_TEST_CERTS = os.path.join(HERE, "..", "..", "..", "scripts", "make-test-certs")
TIMEOUT = 30
EXAMPLES = None  # the examples' build directory (the second argument)


class Example:
    """An example server running in a child process. With until_stdin_closes (the default) closing
    its stdin stops it; otherwise a signal does."""

    def __init__(self, path, *args, until_stdin_closes=True):
        argv = [path, "127.0.0.1", "0", *args] + (["--until-stdin-closes"] if until_stdin_closes else [])
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        if not line.startswith("serving on "):
            raise SystemExit(f"{path} did not start: {line!r}")
        self.port = int(line.rsplit(":", 1)[1])

    def rss_kib(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    def stop(self):
        self.proc.stdin.close()
        code = self.proc.wait(timeout=TIMEOUT)
        if code != 0:
            raise SystemExit(f"the example exited with {code}")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        """Kills the example if the test ended (or failed) without stopping it."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=TIMEOUT)


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


def http_hello(*args, **kw):
    return Example(os.path.join(EXAMPLES, "http_hello", "http_hello"), *args, **kw)


def ab_keep_alive_10000_requests_from_50_clients_all_succeed(examples):
    # ab -k speaks HTTP/1.0 keep-alive: it needs "Connection: keep-alive" back, or it waits forever.
    server = http_hello()
    r = run(["ab", "-k", "-n", "10000", "-c", "50", f"http://127.0.0.1:{server.port}/"])
    server.stop()
    assert r.returncode == 0, (r.stdout, r.stderr)
    assert "Complete requests:      10000" in r.stdout, r.stdout
    assert "Failed requests:        0" in r.stdout, r.stdout
    assert "Keep-Alive requests:    10000" in r.stdout, r.stdout
    assert "Non-2xx" not in r.stdout, r.stdout


def a_head_response_has_no_body_and_the_next_response_follows_it_directly(examples):
    server = http_hello()
    r = run(["curl", "-sS", "-I", f"http://127.0.0.1:{server.port}/"])
    assert r.returncode == 0 and r.stdout.startswith("HTTP/1.1 200 OK"), (r.stdout, r.stderr)
    assert "Content-Length: 14" in r.stdout, r.stdout
    # On one connection: HEAD then GET. A body after the HEAD's headers would show up as garbage
    # before the GET's status line.
    reply = asyncio.run(raw_exchange(
        server.port, b"HEAD / HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"))
    server.stop()
    head_end = reply.index(b"\r\n\r\n") + 4
    assert reply[head_end:].startswith(b"HTTP/1.1 200 OK\r\n"), reply
    assert reply.endswith(b"\r\n\r\nHello, world!\n"), reply


def curl_posts_2_mb_with_expect_100_continue_answered_at_once(examples):
    # curl sends "Expect: 100-continue" for a body this large and waits up to 1 s for the 100.
    server = http_hello("--max-body", str(4 * 1024 * 1024))
    body = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"asyncio-peer-body-{os.getpid()}")
    with open(body, "wb") as f:
        f.write(b"x" * (2 * 1024 * 1024))
    r = run(["curl", "-sS", "-v", "--data-binary", "@" + body, f"http://127.0.0.1:{server.port}/post"])
    os.unlink(body)
    server.stop()
    assert r.returncode == 0 and r.stdout == "Hello, world!\n", (r.stdout, r.stderr)
    assert "Expect: 100-continue" in r.stderr, r.stderr
    assert "< HTTP/1.1 100 Continue" in r.stderr, r.stderr


def a_body_over_the_limit_gets_413_and_the_server_memory_stays_flat(examples):
    server = http_hello("--max-body", str(1024 * 1024))
    before = server.rss_kib()
    body = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"asyncio-peer-body-{os.getpid()}")
    with open(body, "wb") as f:
        f.write(b"x" * (8 * 1024 * 1024))
    r = run(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "--data-binary", "@" + body,
             f"http://127.0.0.1:{server.port}/post"])
    os.unlink(body)
    # A declared 2 GB body: refused from its head, never read.
    reply = asyncio.run(raw_exchange(
        server.port, b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2000000000\r\n\r\n" + b"y" * 65536))
    after = server.rss_kib()
    server.stop()
    assert r.stdout == "413", (r.stdout, r.stderr)
    assert reply.startswith(b"HTTP/1.1 413 "), reply
    assert after - before < 4096, f"the server grew from {before} KiB to {after} KiB"


def a_request_ending_in_bare_lf_gets_400_without_waiting_for_the_client_to_close(examples):
    server = http_hello()
    reply = asyncio.run(raw_exchange(server.port, b"GET / HTTP/1.1\nHost: x\n\n", half_close=False))
    server.stop()
    assert reply.startswith(b"HTTP/1.1 400 Bad Request\r\n"), reply


def slowloris_clients_are_cut_off_by_the_header_timeout_while_a_normal_client_is_served(examples):
    server = http_hello("--header-timeout", "2", "--idle-timeout", "30")

    async def slow_client():
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        reply = asyncio.create_task(reader.read())  # everything until the server closes
        head = b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 100
        for byte in head:  # one byte a second: never done within 2 s
            writer.write(bytes([byte]))
            done, _ = await asyncio.wait([reply], timeout=1.0)
            if done:
                writer.close()
                return reply.result()
        reply.cancel()
        return b"never cut off"

    async def main():
        slow = [asyncio.create_task(slow_client()) for _ in range(100)]
        await asyncio.sleep(0.5)
        proc = await asyncio.create_subprocess_exec("curl", "-sS", f"http://127.0.0.1:{server.port}/",
                                                    stdout=asyncio.subprocess.PIPE)
        out, _ = await asyncio.wait_for(proc.communicate(), TIMEOUT)
        assert out == b"Hello, world!\n", out
        replies = await asyncio.wait_for(asyncio.gather(*slow), TIMEOUT)
        for reply in replies:
            assert reply.startswith(b"HTTP/1.1 408 Request Timeout\r\n"), reply

    asyncio.run(main())
    server.stop()


def _stop_with_idle_keep_alive_clients(examples, signum):
    server = http_hello(until_stdin_closes=False)

    async def main():
        clients = []
        for _ in range(10):
            reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
            writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            await asyncio.wait_for(reader.readuntil(b"Hello, world!\n"), TIMEOUT)
            clients.append((reader, writer))  # kept alive, idle
        server.proc.send_signal(signum)
        for reader, writer in clients:
            rest = await asyncio.wait_for(reader.read(), TIMEOUT)  # the server closes each one
            assert rest == b"", rest
            writer.close()

    asyncio.run(main())
    code = server.proc.wait(timeout=10)
    out = server.proc.stdout.read()
    assert code == 0, (code, out)
    assert "closing 10 connection(s)" in out, out
    assert "stopped" in out, out


def sigint_stops_the_server_and_its_10_idle_keep_alive_clients_with_exit_0(examples):
    _stop_with_idle_keep_alive_clients(examples, signal.SIGINT)


def sigterm_stops_the_server_and_its_10_idle_keep_alive_clients_with_exit_0(examples):
    _stop_with_idle_keep_alive_clients(examples, signal.SIGTERM)


def echo_server_tells_a_client_whose_line_is_too_long_and_logs_one_line(examples):
    server = Example(os.path.join(examples, "echo", "echo_server"))
    # (stderr is the test's own: the one log line shows up in the test output)
    reply = asyncio.run(raw_exchange(server.port, b"x" * 100000 + b"\n", half_close=False))
    ok = asyncio.run(raw_exchange(server.port, b"still here\n"))
    server.stop()
    assert reply == b"error: line longer than 65536 bytes\n", reply[:200]
    assert ok == b"still here\n", ok


# --- TLS: the examples against curl, openssl s_client/s_server and CPython's ssl ---


class Certs:
    """Throwaway certificates (scripts/make-test-certs) in a temporary directory of this test's own,
    removed at the end: ca.pem, server.pem/key (localhost and 127.0.0.1), expired.pem/key, ..."""

    def __enter__(self):
        self._dir = tempfile.TemporaryDirectory(prefix="asyncio-peer-certs-")
        r = run([MAKE_TEST_CERTS, self._dir.name])
        if r.returncode != 0:
            raise SystemExit(f"make-test-certs failed: {r.stderr}")
        return self

    def __exit__(self, *exc):
        self._dir.cleanup()

    def __getitem__(self, name):
        return os.path.join(self._dir.name, name)


def free_port():
    """A port nobody listens on now (the kernel's pick); a server given it may still lose a race
    for it, which OpenSSLServer retries."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_listening(port, proc):
    """Polls 127.0.0.1:port until it accepts a connection: True once it does, False if `proc` exits
    first (it could not listen there)."""
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return True
        except OSError:
            time.sleep(0.02)  # the polling interval
    raise SystemExit(f"nothing listens on port {port} after {TIMEOUT} s")


class OpenSSLServer:
    """`openssl s_server -www` on 127.0.0.1 with the certificate CERT.pem (and CERT.key): it answers
    every GET with an HTTP/1.0 status page ("s_server -www", the session's protocol and cipher) and
    closes. Its output goes to a log file among the certificates."""

    def __init__(self, certs, cert, *options):
        self._log = open(certs["s_server.log"], "w")
        for _ in range(5):
            port = free_port()
            self.proc = subprocess.Popen(["openssl", "s_server", "-cert", certs[cert + ".pem"], "-key",
                                          certs[cert + ".key"], "-www", "-accept", f"127.0.0.1:{port}", *options],
                                         stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT)
            if wait_until_listening(port, self.proc):
                self.port = port
                return
        self._log.close()
        with open(certs["s_server.log"]) as f:
            raise SystemExit(f"openssl s_server did not start: {f.read()}")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.proc.terminate()
        self.proc.wait(timeout=TIMEOUT)
        self._log.close()


def http_hello_tls(certs):
    """http_hello serving HTTPS with the test server certificate (localhost, 127.0.0.1)."""
    return http_hello("--tls", certs["server.pem"], certs["server.key"])


def https_get(*args):
    """Runs the https_get example to its end."""
    return run([os.path.join(EXAMPLES, "https_get", "https_get"), *args])


def curl_gets_hello_twice_over_one_kept_alive_tls_connection_to_http_hello(examples):
    with Certs() as certs, http_hello_tls(certs) as server:
        url = f"https://localhost:{server.port}/"
        r = run(["curl", "-sS", "-v", "--cacert", certs["ca.pem"], "--resolve", f"localhost:{server.port}:127.0.0.1",
                 url, url + "again"])
        server.stop()
    assert r.returncode == 0, r.stderr
    assert r.stdout == "Hello, world!\n" * 2, r.stdout
    assert "Re-using existing connection" in r.stderr or "Reusing existing connection" in r.stderr, r.stderr


def curl_posts_a_body_over_tls_to_http_hello_and_gets_hello(examples):
    with Certs() as certs, http_hello_tls(certs) as server:
        r = run(["curl", "-sS", "--cacert", certs["ca.pem"], "--resolve", f"localhost:{server.port}:127.0.0.1",
                 "--data", "x" * 10000, f"https://localhost:{server.port}/post"])
        server.stop()
    assert r.returncode == 0 and r.stdout == "Hello, world!\n", (r.stdout, r.stderr)


def openssl_s_client_verifies_http_hello_tls_certificate_and_gets_200(examples):
    with Certs() as certs, http_hello_tls(certs) as server:
        # -ign_eof: the end of the request on stdin does not end the session; the server's close does.
        r = run(["openssl", "s_client", "-connect", f"127.0.0.1:{server.port}", "-servername", "localhost",
                 "-verify_hostname", "localhost", "-CAfile", certs["ca.pem"], "-verify_return_error", "-ign_eof"],
                input="GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        server.stop()
    assert r.returncode == 0, (r.stdout, r.stderr)
    assert "Verify return code: 0 (ok)" in r.stdout, r.stdout
    assert "\nHTTP/1.1 200 OK\n" in r.stdout and "\n\nHello, world!\n" in r.stdout, r.stdout  # (text mode: \r\n read as \n)


def https_get_prints_the_status_page_of_openssl_s_server_and_exits_0(examples):
    with Certs() as certs, OpenSSLServer(certs, "server") as server:
        r = https_get(f"https://localhost:{server.port}/", "--cafile", certs["ca.pem"])
    assert r.returncode == 0, (r.returncode, r.stderr)
    assert r.stderr.startswith("* TLSv1.3, ALPN none\nHTTP/1.0 200 ok\n"), r.stderr
    assert r.stdout.startswith("<HTML>") and "s_server" in r.stdout, r.stdout
    assert r.stdout.rstrip().endswith("</pre></BODY></HTML>"), r.stdout  # the whole page, read until the close


def _https_get_from_s_server_speaking_only(version_option, version):
    """https_get against an s_server limited to one TLS version: the page names that version."""
    with Certs() as certs, OpenSSLServer(certs, "server", version_option) as server:
        r = https_get(f"https://localhost:{server.port}/", "--cafile", certs["ca.pem"])
    assert r.returncode == 0, (r.returncode, r.stderr)
    assert re.search(r"Protocol\s*:\s*" + re.escape(version) + r"\n", r.stdout), r.stdout  # the session's


def https_get_talks_to_an_openssl_s_server_that_speaks_only_tls_1_2(examples):
    _https_get_from_s_server_speaking_only("-tls1_2", "TLSv1.2")


def https_get_talks_to_an_openssl_s_server_that_speaks_only_tls_1_3(examples):
    _https_get_from_s_server_speaking_only("-tls1_3", "TLSv1.3")


def https_get_refuses_the_expired_certificate_of_openssl_s_server_saying_so_with_exit_1(examples):
    with Certs() as certs, OpenSSLServer(certs, "expired") as server:
        r = https_get(f"https://localhost:{server.port}/", "--cafile", certs["ca.pem"])
    assert r.returncode == 1, (r.returncode, r.stdout, r.stderr)
    assert "certificate has expired" in r.stderr, r.stderr
    assert r.stdout == "", r.stdout


def python_asyncio_tls_client_gets_200_from_http_hello_tls(examples):
    with Certs() as certs, http_hello_tls(certs) as server:
        async def main():
            context = ssl.create_default_context(cafile=certs["ca.pem"])
            reader, writer = await asyncio.open_connection("localhost", server.port, ssl=context)
            writer.write(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            reply = await asyncio.wait_for(reader.read(), TIMEOUT)  # until the server's close_notify
            writer.close()
            await asyncio.wait_for(writer.wait_closed(), TIMEOUT)
            return reply

        reply = asyncio.run(main())
        server.stop()
    assert reply.startswith(b"HTTP/1.1 200 OK\r\n"), reply
    assert reply.endswith(b"\r\n\r\nHello, world!\n"), reply


def _https_get_from_a_python_asyncio_tls_server(response, configure=None):
    """Runs https_get against an asyncio.start_server(ssl=...) in this process that answers every
    request with `response` (bytes, or a function of the connection's SSLObject giving them);
    `configure(context)` may change the server's context first. Returns https_get's result and the
    requests the server received."""
    with Certs() as certs:
        async def main():
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(certs["server.pem"], certs["server.key"])
            if configure is not None:
                configure(context)
            requests = []

            async def on_client(reader, writer):
                requests.append(await reader.readuntil(b"\r\n\r\n"))
                answer = response(writer.get_extra_info("ssl_object")) if callable(response) else response
                writer.write(answer)
                await writer.drain()
                writer.close()
                await writer.wait_closed()

            server = await asyncio.start_server(on_client, "127.0.0.1", 0, ssl=context)
            port = server.sockets[0].getsockname()[1]
            proc = await asyncio.create_subprocess_exec(
                os.path.join(EXAMPLES, "https_get", "https_get"), f"https://localhost:{port}/hello?x=1",
                "--cafile", certs["ca.pem"], stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
            try:
                out, err = await asyncio.wait_for(proc.communicate(), TIMEOUT)
            finally:
                if proc.returncode is None:
                    proc.kill()
                    await proc.wait()
                server.close()
                await server.wait_closed()
            return proc.returncode, out, err, requests

        return asyncio.run(main())


def https_get_fetches_a_page_from_a_python_asyncio_tls_server(examples):
    code, out, err, requests = _https_get_from_a_python_asyncio_tls_server(
        b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 22\r\n\r\nhello from CPython ssl")
    assert code == 0, (code, err)
    assert out == b"hello from CPython ssl", out
    assert requests[0].startswith(b"GET /hello?x=1 HTTP/1.1\r\n"), requests
    assert re.search(rb"\r\nHost: localhost:\d+\r\n", requests[0]), requests


def https_get_decodes_a_chunked_body_from_a_python_asyncio_tls_server(examples):
    code, out, err, _ = _https_get_from_a_python_asyncio_tls_server(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"6\r\nhello \r\n1a;ext=1\r\nfrom CPython ssl, chunked\n\r\n0\r\nX-Trailer: t\r\n\r\n")
    assert code == 0, (code, err)
    assert out == b"hello from CPython ssl, chunked\n", out


def _text_response(text):
    body = text.encode()
    return b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)


def alpn_between_https_get_and_a_python_server_offering_h2_and_http_1_1_agrees_on_http_1_1(examples):
    code, out, err, _ = _https_get_from_a_python_asyncio_tls_server(
        lambda ssl_object: _text_response(f"alpn={ssl_object.selected_alpn_protocol()}"),
        lambda context: context.set_alpn_protocols(["h2", "http/1.1"]))
    assert code == 0, (code, err)
    assert out == b"alpn=http/1.1", out
    assert b"ALPN http/1.1" in err, err


def the_server_name_https_get_sends_in_sni_reaches_a_python_server(examples):
    names = []

    def configure(context):
        context.sni_callback = lambda ssl_object, name, ctx: names.append(name)

    code, out, err, _ = _https_get_from_a_python_asyncio_tls_server(_text_response("ok"), configure)
    assert code == 0, (code, err)
    assert names == ["localhost"], names


if __name__ == "__main__":
    test = globals()[sys.argv[1]]
    EXAMPLES = sys.argv[2]
    test(sys.argv[2])
    print("passed:", sys.argv[1])

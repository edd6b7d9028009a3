#pragma once
/// The low-level socket coroutines of asyncio, Python's loop.sock_recv, sock_sendall, sock_connect,
/// sock_accept, ... as free functions on the running loop (CPython 3.13 selector_events.py).
///
///   Socket sock(AF_INET, SOCK_STREAM);
///   co_await sock_connect(sock, SocketAddress("127.0.0.1", 8080));
///   co_await sock_sendall(sock, "GET / HTTP/1.0\r\n\r\n");
///   std::string reply = co_await sock_recv(sock, 65536);   // "" at end of stream
///
/// Each operation first tries its system call; only if that would block does it watch the socket
/// through loop.add_reader/add_writer and park on a Future that readiness completes, then tries
/// again. It stops watching when it ends in any way (result, error, cancellation), so a cancelled
/// operation leaves no reader or writer behind and the socket stays usable: CPython's done-callback
/// (_sock_read_done / _sock_write_done), here the destructor of the waiting state in the
/// coroutine's frame. Unlike CPython, the system call runs in the task after it resumes, never in
/// the readiness callback, so a task cancelled between readiness and its resumption loses no data
/// (CPython may read bytes into a future nobody will look at).
///
/// Lifetimes. A Socket cannot be copied, so it is taken by reference. It must exist when the
/// operation starts (a Coro starts when awaited, or at its task's first step:
/// `create_task(sock_recv(local_socket, n))` needs the socket alive until then). After its first
/// suspension an operation no longer reads the reference: it follows the Socket through the link
/// the Socket keeps to it. So while it waits, moving the Socket is followed, and closing or
/// destroying it ends the operation with OSError EBADF. Buffers are not copied: the span given to
/// sock_recv_into and the data given to sock_sendall / sock_sendto must stay alive until the
/// operation finishes. `co_await sock_sendall(s, std::string(...))` is safe (a temporary lives
/// until the end of the full expression, which includes the co_await); a Coro stored or handed to
/// create_task must not point at a temporary.
///
/// Misuse, raised when the operation starts: RuntimeError if no loop is running, or if another
/// operation already waits on the same socket in the same direction (reading: recv, recv_into,
/// recvfrom, accept; writing: sendall, sendto, connect). CPython silently replaces the first
/// waiter's reader, which then never completes. In debug mode, ValueError("the socket must be
/// non-blocking") if its descriptor was made blocking behind the Socket's back (CPython's check;
/// a Socket is always non-blocking otherwise). If something else replaces the operation's reader
/// or writer (loop.add_reader on sock.fileno()), the operation ends with RuntimeError instead of
/// waiting forever.

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "asyncio/coro/coro.hpp"
#include "asyncio/net/socket.hpp"
#include "asyncio/net/socket_address.hpp"

namespace asyncio {

/// Python's loop.sock_recv(sock, n): at most `n` bytes, waiting until some arrive; "" at end of
/// stream (or when n is 0).
Coro<std::string> sock_recv(Socket& sock, std::size_t n);

/// Python's loop.sock_recv_into(sock, buf): reads into `buffer`, returns the number of bytes read
/// (0 at end of stream). The buffer is a std::span<char> because this API speaks std::string and
/// std::string_view for data: a std::string, std::vector<char>, std::array<char, N> or char array
/// converts to it implicitly (for std::byte storage, wrap the pointer: std::span<char>(
/// reinterpret_cast<char*>(p), n)). `buffer` must stay alive until the operation finishes.
Coro<std::size_t> sock_recv_into(Socket& sock, std::span<char> buffer);

/// Python's loop.sock_sendall(sock, data): sends all of `data`, waiting for room as often as
/// needed. The data is not copied: it must stay alive until the operation finishes (see the top of
/// this file). If cancelled or failed midway, the bytes already sent stay sent and there is no way
/// to tell how many (as in CPython). MSG_NOSIGNAL: a closed peer gives BrokenPipeError or
/// ConnectionResetError, never SIGPIPE.
Coro<void> sock_sendall(Socket& sock, std::string_view data);

/// Python's loop.sock_connect(sock, address): connects, waiting for a connection in progress
/// (EINPROGRESS, then writability, then SO_ERROR). Errors name the address: ConnectionRefusedError
/// "connect(127.0.0.1:1): [Errno 111] Connection refused". The address is numeric (resolve names
/// with getaddrinfo first; CPython resolves them here).
Coro<void> sock_connect(Socket& sock, SocketAddress address);

/// Python's loop.sock_accept(sock): waits for a connection on a listening socket; returns the new
/// socket (non-blocking, close-on-exec) and the peer's address.
Coro<std::pair<Socket, SocketAddress>> sock_accept(Socket& sock);

/// Python's loop.sock_recvfrom(sock, bufsize): one datagram of at most `n` bytes (a longer one is
/// truncated, as recvfrom does) and its sender.
Coro<std::pair<std::string, SocketAddress>> sock_recvfrom(Socket& sock, std::size_t n);

/// Python's loop.sock_recvfrom_into(sock, buf, nbytes=0): one datagram into `buffer` (truncated to
/// its size, as recvfrom does); returns the bytes stored and the sender. `buffer` must stay alive
/// until the operation finishes.
Coro<std::pair<std::size_t, SocketAddress>> sock_recvfrom_into(Socket& sock, std::span<char> buffer);

/// Python's loop.sock_sendto(sock, data, address): sends one datagram; returns the bytes sent.
/// `data` must stay alive until the operation finishes.
Coro<std::size_t> sock_sendto(Socket& sock, std::string_view data, SocketAddress address);

}  // namespace asyncio

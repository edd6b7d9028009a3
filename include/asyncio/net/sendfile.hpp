#pragma once
/// Sending a file: Python's loop.sendfile(transport, file, offset, count) and
/// loop.sock_sendfile(sock, file, offset, count) (CPython 3.13 base_events.py, selector_events.py,
/// unix_events.py). Zero-copy sendfile(2) when the file is a regular file and the destination a
/// plain stream socket; otherwise, unless told not to, the file is read in chunks (in the loop's
/// default executor, as CPython reads it) and sent.
///
///   int fd = ::open("index.html", O_RDONLY | O_CLOEXEC);
///   std::size_t sent = co_await asyncio::sendfile(*transport, fd);            // whole file
///   co_await asyncio::sock_sendfile(sock, fd, 4096, 1024);                    // 1 KiB from 4 KiB on
///
/// The file is a descriptor the caller opened and keeps open until the call finishes; it is never
/// closed here. As Python's file object, it has a position: the data starts at `offset` (not at
/// the position), and when the call ends - with a result, an error or a cancellation - after
/// sending n > 0 bytes, the position is offset + n (untouched when nothing was sent). A file that
/// cannot seek (a pipe, a socket, a terminal) is read from where it is: `offset` must then be 0.
///
/// Errors: ValueError for a negative offset, a count that is not positive, a socket that is not
/// SOCK_STREAM, an offset on a file that cannot seek; RuntimeError if the transport is closing;
/// SendfileNotAvailableError (a RuntimeError) when fallback is false and sendfile(2) cannot be
/// used (a file that is not a regular file, a TLS transport, sendfile(2) refusing the pair); the
/// OSError of the failed read or send otherwise (ConnectionResetError, BrokenPipeError, ...).
///
/// Differences from CPython: the file is a descriptor, not a file object. A file that is not a
/// regular file is refused by the zero-copy path at once (CPython calls sendfile(2) on a pipe
/// when given a count, and sends nothing from a pipe when not).

#include <cstddef>
#include <cstdint>
#include <optional>

#include "asyncio/coro/coro.hpp"
#include "asyncio/exceptions.hpp"
#include "asyncio/net/socket.hpp"
#include "asyncio/net/transport.hpp"

namespace asyncio {

/// Python's asyncio.SendfileNotAvailableError: sendfile(2) cannot send this file to this socket
/// or transport (and fallback was false).
class SendfileNotAvailableError : public RuntimeError {
 public:
  using RuntimeError::RuntimeError;
};

/// Bytes read and sent per step when the file is copied rather than sent with sendfile(2):
/// Python's SENDFILE_FALLBACK_READBUFFER_SIZE for sockets, and the 16 KiB of loop.sendfile.
inline constexpr std::size_t kSockSendfileChunk = 256 * 1024;
inline constexpr std::size_t kTransportSendfileChunk = 16 * 1024;

/// Python's loop.sock_sendfile(sock, file, offset=0, count=None, *, fallback=True): sends `count`
/// bytes of the file `file_fd` from `offset` (all of it up to its end when count is empty) over
/// the connected stream socket `sock`, waiting for room as needed; returns the bytes sent (fewer
/// than count if the file ends first). `sock` must exist when the call starts and is followed if
/// moved, as the sock_* operations do (net/sock_ops.hpp); closing it ends the call with OSError
/// EBADF. RuntimeError if another operation already waits to write on it. See the top of this
/// file for the file's position and the errors.
Coro<std::size_t> sock_sendfile(Socket& sock, int file_fd, std::int64_t offset = 0,
                                std::optional<std::int64_t> count = std::nullopt, bool fallback = true);

/// Python's loop.sendfile(transport, file, offset=0, count=None, *, fallback=True): sends the file
/// over a stream transport; returns the bytes sent. On a SocketTransport (a plain TCP or Unix
/// connection) it first waits for the transport's write buffer to empty, pauses its reading, and
/// hands the socket to sendfile(2); write() raises RuntimeError meanwhile. Any other transport
/// (TLS, for one) gets the copy: chunks written with write(), waiting for resume_writing() when the
/// transport pauses its writers; its protocol is swapped out for the duration and reading is
/// paused (a protocol paused when the call began gets resume_writing() at the end, as CPython
/// does). The transport must stay alive until the call finishes (hold its std::shared_ptr).
Coro<std::size_t> sendfile(Transport& transport, int file_fd, std::int64_t offset = 0,
                           std::optional<std::int64_t> count = std::nullopt, bool fallback = true);

}  // namespace asyncio

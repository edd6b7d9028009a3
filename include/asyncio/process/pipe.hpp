#pragma once
/// ReadPipe and WritePipe: the two ends of an OS pipe (a child's stdout/stderr, a child's stdin, or
/// open_pipe()), owned, non-blocking and close-on-exec, with coroutines built on the loop's
/// add_reader / add_writer. They are what create_subprocess_* gives for Stdio::pipe(); the stream
/// layer (StreamReader / StreamWriter) will wrap them, as CPython wraps a child's pipes in pipe
/// transports.
///
///   auto [r, w] = asyncio::open_pipe();
///   co_await w.write_all("hello");
///   w.close();
///   std::string all = co_await r.read_all();   // "hello", then EOF
///
/// A pipe handle is shared like a Future: copies refer to the same descriptor, which is closed by
/// close() or when the last handle and the last operation on it are gone (an operation keeps its
/// pipe alive). One operation at a time per end (a second one raises RuntimeError, as StreamReader
/// does). Cancelling an operation stops watching the descriptor and leaves the pipe usable (bytes
/// already written by a cancelled write_all stay written). After close(), operations raise OSError
/// EBADF, and so does one that was waiting when close() was called.
///
/// SIGPIPE: a pipe cannot be written with MSG_NOSIGNAL, so the first WritePipe made in the process
/// sets SIGPIPE to SIG_IGN if it still has its default disposition (CPython ignores SIGPIPE at
/// startup for the same reason); a write to a pipe whose reader is gone then raises
/// BrokenPipeError instead of killing the process. A handler the program installed itself is left
/// alone. Children get SIGPIPE's default back (see process/process.hpp).

#include <cstddef>
#include <memory>
#include <string>
#include <utility>

#include "asyncio/coro/coro.hpp"

namespace asyncio {

namespace detail {
struct PipeFd;
}  // namespace detail

/// The reading end of a pipe.
class ReadPipe {
 public:
  /// No pipe: is_closed() is true.
  ReadPipe() noexcept = default;
  /// Takes `fd` over (it is closed with the pipe, and also if this throws) and makes it
  /// non-blocking and close-on-exec. OSError EBADF if `fd` is not open.
  explicit ReadPipe(int fd);

  /// Python's os.read(fd, n) without blocking the loop: waits until data or EOF is there, then
  /// returns at most `n` bytes; "" means EOF (or n == 0). OSError on failure.
  Coro<std::string> read(std::size_t n = 65536);
  /// Reads until EOF (StreamReader.read() with no limit).
  Coro<std::string> read_all();

  /// Closes the descriptor (idempotent; a waiting operation raises OSError EBADF).
  void close() noexcept;
  /// The descriptor, or -1 once closed.
  [[nodiscard]] int fileno() const noexcept;
  [[nodiscard]] bool is_closed() const noexcept { return fileno() < 0; }
  /// Gives the descriptor up (for the stream layer): the pipe is closed without closing it, and the
  /// caller owns it. RuntimeError while an operation is in progress; -1 if already closed.
  int detach();

 private:
  std::shared_ptr<detail::PipeFd> fd_;
};

/// The writing end of a pipe.
class WritePipe {
 public:
  /// No pipe: is_closed() is true.
  WritePipe() noexcept = default;
  /// Takes `fd` over, as ReadPipe(fd); the first WritePipe made ignores SIGPIPE (see above).
  explicit WritePipe(int fd);

  /// Writes all of `data`, waiting whenever the pipe is full (socket.sendall for a pipe).
  /// BrokenPipeError once the reading end is closed; OSError for other failures.
  Coro<void> write_all(std::string data);

  /// Closes the descriptor: the reader sees EOF once it has read what was written.
  void close() noexcept;
  [[nodiscard]] int fileno() const noexcept;
  [[nodiscard]] bool is_closed() const noexcept { return fileno() < 0; }
  /// As ReadPipe::detach.
  int detach();

 private:
  std::shared_ptr<detail::PipeFd> fd_;
};

/// Python's os.pipe(), with both ends non-blocking and close-on-exec: {read end, write end}.
/// OSError if the system refuses (EMFILE...).
std::pair<ReadPipe, WritePipe> open_pipe();

}  // namespace asyncio

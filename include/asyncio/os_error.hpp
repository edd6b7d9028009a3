#pragma once
/// OSError and its subclasses: Python's exceptions for a failed system call, chosen by errno as
/// Python chooses them (PEP 3151). Layer 0, like exceptions.hpp: every layer may include it.
///
///   try { co_await asyncio::open_connection("127.0.0.1", 1); }
///   catch (const asyncio::ConnectionRefusedError& e) { e.errno_value(); /* ECONNREFUSED */ }
///   catch (const asyncio::OSError& e) { /* any other failed system call */ }
///
/// OSError derives from std::system_error, so `e.code()` is the errno in std::generic_category()
/// and code that catches std::system_error sees these too. The message names the operation and
/// the errno: "connect(127.0.0.1:1): [Errno 111] Connection refused".

#include <string>
#include <string_view>
#include <system_error>

namespace asyncio {

/// Python's OSError: a system call failed with `errno_value()`.
class OSError : public std::system_error {
 public:
  /// `operation` says what failed ("connect(127.0.0.1:8080)"); the errno's text is appended.
  OSError(int errno_value, std::string_view operation);

  /// The errno of the failed call (Python's `e.errno`).
  [[nodiscard]] int errno_value() const noexcept { return code().value(); }
  /// What was being done, as given at construction.
  [[nodiscard]] const std::string& operation() const noexcept { return operation_; }
  /// "operation: [Errno N] text" (std::system_error's own what() would repeat the text).
  [[nodiscard]] const char* what() const noexcept override { return message_.c_str(); }

 protected:
  /// For subclasses whose error text is not the errno's (getaddrinfo's EAI codes, asyncio's
  /// timeouts): `message` is the whole of what().
  OSError(int errno_value, std::string_view operation, std::string message);

 private:
  std::string operation_;
  std::string message_;
};

/// Declares a subclass of OSError that takes the same arguments (Python's PEP 3151 classes).
#define ASYNCIO_OS_ERROR_SUBCLASS(Name, Base)                                           \
  class Name : public Base {                                                            \
   public:                                                                              \
    Name(int errno_value, std::string_view operation) : Base(errno_value, operation) {} \
  }

/// EAGAIN / EWOULDBLOCK / EALREADY / EINPROGRESS: the operation would block.
ASYNCIO_OS_ERROR_SUBCLASS(BlockingIOError, OSError);
/// ECHILD: no such child process.
ASYNCIO_OS_ERROR_SUBCLASS(ChildProcessError, OSError);
/// The base of the connection errors below.
ASYNCIO_OS_ERROR_SUBCLASS(ConnectionError, OSError);
/// EPIPE / ESHUTDOWN: writing to a connection whose other end is closed.
ASYNCIO_OS_ERROR_SUBCLASS(BrokenPipeError, ConnectionError);
/// ECONNABORTED: the connection was aborted.
ASYNCIO_OS_ERROR_SUBCLASS(ConnectionAbortedError, ConnectionError);
/// ECONNREFUSED: nobody listens there.
ASYNCIO_OS_ERROR_SUBCLASS(ConnectionRefusedError, ConnectionError);
/// ECONNRESET: the peer reset the connection.
ASYNCIO_OS_ERROR_SUBCLASS(ConnectionResetError, ConnectionError);
/// EEXIST.
ASYNCIO_OS_ERROR_SUBCLASS(FileExistsError, OSError);
/// ENOENT.
ASYNCIO_OS_ERROR_SUBCLASS(FileNotFoundError, OSError);
/// EINTR.
ASYNCIO_OS_ERROR_SUBCLASS(InterruptedError, OSError);
/// EISDIR.
ASYNCIO_OS_ERROR_SUBCLASS(IsADirectoryError, OSError);
/// ENOTDIR.
ASYNCIO_OS_ERROR_SUBCLASS(NotADirectoryError, OSError);
/// EACCES / EPERM.
ASYNCIO_OS_ERROR_SUBCLASS(PermissionError, OSError);
/// ESRCH: no such process.
ASYNCIO_OS_ERROR_SUBCLASS(ProcessLookupError, OSError);

#undef ASYNCIO_OS_ERROR_SUBCLASS

/// Throws the OSError subclass Python would raise for `errno_value` (OSError itself when no
/// subclass matches); ETIMEDOUT raises asyncio::TimeoutError (exceptions.hpp).
[[noreturn]] void throw_os_error(int errno_value, std::string_view operation);

/// The same with the calling thread's errno.
[[noreturn]] void throw_last_os_error(std::string_view operation);

}  // namespace asyncio

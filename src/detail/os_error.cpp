#include "asyncio/os_error.hpp"

#include "asyncio/exceptions.hpp"

#include <cerrno>
#include <cstring>
#include <utility>

namespace asyncio {

namespace {

std::string message_for(int errno_value, std::string_view operation) {
  std::string text(operation);
  text += ": [Errno ";
  text += std::to_string(errno_value);
  text += "] ";
  text += std::strerror(errno_value);  // the errno's text; thread-safe in glibc for valid errnos
  return text;
}

}  // namespace

OSError::OSError(int errno_value, std::string_view operation)
    : OSError(errno_value, operation, message_for(errno_value, operation)) {}

OSError::OSError(int errno_value, std::string_view operation, std::string message)
    : std::system_error(std::error_code(errno_value, std::generic_category())),
      operation_(operation),
      message_(std::move(message)) {}

void throw_os_error(int errno_value, std::string_view operation) {
  switch (errno_value) {
    case EAGAIN:
#if EWOULDBLOCK != EAGAIN
    case EWOULDBLOCK:
#endif
    case EALREADY:
    case EINPROGRESS:
      throw BlockingIOError(errno_value, operation);
    case ECHILD:
      throw ChildProcessError(errno_value, operation);
    case EPIPE:
    case ESHUTDOWN:
      throw BrokenPipeError(errno_value, operation);
    case ECONNABORTED:
      throw ConnectionAbortedError(errno_value, operation);
    case ECONNREFUSED:
      throw ConnectionRefusedError(errno_value, operation);
    case ECONNRESET:
      throw ConnectionResetError(errno_value, operation);
    case EEXIST:
      throw FileExistsError(errno_value, operation);
    case ENOENT:
      throw FileNotFoundError(errno_value, operation);
    case EINTR:
      throw InterruptedError(errno_value, operation);
    case EISDIR:
      throw IsADirectoryError(errno_value, operation);
    case ENOTDIR:
      throw NotADirectoryError(errno_value, operation);
    case EACCES:
    case EPERM:
      throw PermissionError(errno_value, operation);
    case ESRCH:
      throw ProcessLookupError(errno_value, operation);
    case ETIMEDOUT:
      throw TimeoutError(errno_value, operation);
    default:
      throw OSError(errno_value, operation);
  }
}

void throw_last_os_error(std::string_view operation) { throw_os_error(errno, operation); }

}  // namespace asyncio

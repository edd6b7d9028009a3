// The non-template helpers of detail::FdTransport: see net/fd_transport.hpp.

#include "asyncio/net/fd_transport.hpp"

#include <sys/socket.h>

#include "asyncio/detail/exception_is.hpp"
#include "asyncio/net/socket.hpp"
#include "asyncio/os_error.hpp"

namespace asyncio::detail {

std::exception_ptr os_error_ptr(int err, const std::string& operation) {
  try {
    throw_os_error(err, operation);
  } catch (...) {
    return std::current_exception();
  }
}

bool is_os_error(const std::exception_ptr& error) noexcept { return exception_is<OSError>(error); }

int os_errno(const std::exception_ptr& error) noexcept {
  try {
    std::rethrow_exception(error);
  } catch (const OSError& e) {
    return e.errno_value();
  } catch (...) {
    return -1;
  }
}

std::optional<SocketAddress> query_sockname(int fd) {
  sockaddr_storage storage{};
  socklen_t len = sizeof storage;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&storage), &len) != 0) return std::nullopt;
  return SocketAddress::from_raw(reinterpret_cast<const sockaddr*>(&storage), len);
}

std::optional<SocketAddress> query_peername(int fd) {
  sockaddr_storage storage{};
  socklen_t len = sizeof storage;
  if (::getpeername(fd, reinterpret_cast<sockaddr*>(&storage), &len) != 0) return std::nullopt;
  return SocketAddress::from_raw(reinterpret_cast<const sockaddr*>(&storage), len);
}

std::any socket_extra_info(std::string_view name, const Socket& sock, const std::optional<SocketAddress>& peername,
                           const std::optional<SocketAddress>& sockname) {
  if (name == "peername") return peername ? std::any(*peername) : std::any();
  if (name == "sockname") return sockname ? std::any(*sockname) : std::any();
  if (name == "socket") return std::any(&sock);
  return {};
}

}  // namespace asyncio::detail

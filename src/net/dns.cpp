// getaddrinfo / getnameinfo in the default executor: CPython 3.13 base_events.py's
// loop.getaddrinfo and loop.getnameinfo (run_in_executor(None, socket.getaddrinfo, ...)).

#include "asyncio/net/dns.hpp"

#include <cerrno>
#include <memory>
#include <string>
#include <utility>

#include "asyncio/exceptions.hpp"
#include "asyncio/loop/event_loop.hpp"
#include "asyncio/task/future.hpp"
#include "asyncio/thread/run_in_executor.hpp"

namespace asyncio {

namespace {

std::string gai_text(int code) {
  const char* text = ::gai_strerror(code);
  return text != nullptr ? std::string(text) : "Unknown error " + std::to_string(code);
}

/// Raises what Python raises for a failed lookup: the errno's OSError for EAI_SYSTEM (read right
/// after the call, in the thread that made it), GaiError otherwise.
[[noreturn]] void raise_gai(int code, int saved_errno, const std::string& operation) {
  if (code == EAI_SYSTEM && saved_errno != 0) throw_os_error(saved_errno, operation);
  throw GaiError(code, operation);
}

void refuse_nul(const std::string& text, const char* what) {
  if (text.find('\0') != std::string::npos) {
    throw ValueError(std::string("getaddrinfo: embedded NUL character in the ") + what);
  }
}

/// Runs in an executor thread: touches nothing of the loop.
std::vector<AddrInfo> resolve(const std::string& host, const std::string& port, AddrInfoHints hints) {
  addrinfo want{};
  want.ai_family = hints.family;
  want.ai_socktype = hints.type;
  want.ai_protocol = hints.protocol;
  want.ai_flags = hints.flags;
  addrinfo* found = nullptr;
  errno = 0;
  const int code =
      ::getaddrinfo(host.empty() ? nullptr : host.c_str(), port.empty() ? nullptr : port.c_str(), &want, &found);
  if (code != 0) raise_gai(code, errno, "getaddrinfo(" + host + ", " + port + ")");
  std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> owner(found, &::freeaddrinfo);
  std::vector<AddrInfo> out;
  for (const addrinfo* ai = found; ai != nullptr; ai = ai->ai_next) {
    AddrInfo info;
    info.family = ai->ai_family;
    info.type = ai->ai_socktype;
    info.protocol = ai->ai_protocol;
    if (ai->ai_canonname != nullptr) info.canonname = ai->ai_canonname;
    info.address = SocketAddress::from_raw(ai->ai_addr, ai->ai_addrlen);
    out.push_back(std::move(info));
  }
  return out;
}

std::pair<std::string, std::string> name_of(const SocketAddress& address, int flags) {
  char host[NI_MAXHOST] = {};
  char service[NI_MAXSERV] = {};
  errno = 0;
  const int code = ::getnameinfo(address.data(), address.size(), host, sizeof host, service, sizeof service, flags);
  if (code != 0) raise_gai(code, errno, "getnameinfo(" + address.to_string() + ")");
  return {host, service};
}

}  // namespace

GaiError::GaiError(int eai_code, std::string_view operation) : GaiError(eai_code, operation, gai_text(eai_code)) {}

GaiError::GaiError(int eai_code, std::string_view operation, std::string text)
    : OSError(eai_code, operation, std::string(operation) + ": [Errno " + std::to_string(eai_code) + "] " + text),
      strerror_(std::move(text)) {}

Coro<std::vector<AddrInfo>> getaddrinfo(std::string host, std::string port_or_service, AddrInfoHints hints) {
  refuse_nul(host, "host");
  refuse_nul(port_or_service, "port");
  EventLoop& loop = get_running_loop();
  // Built outside the co_await expression: g++ 12 would destroy the capturing closure twice there.
  auto lookup = loop.run_in_executor(nullptr, [host = std::move(host), port = std::move(port_or_service), hints] {
    return resolve(host, port, hints);
  });
  co_return co_await std::move(lookup);
}

Coro<std::pair<std::string, std::string>> getnameinfo(SocketAddress address, int flags) {
  EventLoop& loop = get_running_loop();
  auto lookup = loop.run_in_executor(nullptr, [address, flags] { return name_of(address, flags); });
  co_return co_await std::move(lookup);
}

}  // namespace asyncio

#include "asyncio/loop/logger.hpp"

#include <cstdio>
#include <mutex>
#include <string>

namespace asyncio {

namespace {
// Leaked on purpose: logging must keep working in static destructors.
std::mutex& handler_mutex() {
  static auto* m = new std::mutex;
  return *m;
}
LogHandler& handler() {
  static auto* h = new LogHandler;
  return *h;
}
}  // namespace

const char* to_string(LogLevel level) noexcept {
  switch (level) {
    case LogLevel::debug:
      return "DEBUG";
    case LogLevel::info:
      return "INFO";
    case LogLevel::warning:
      return "WARNING";
    case LogLevel::error:
      return "ERROR";
  }
  return "?";
}

LogHandler set_log_handler(LogHandler h) {
  std::lock_guard lock(handler_mutex());
  LogHandler previous = std::move(handler());
  handler() = std::move(h);
  return previous;
}

void log(LogLevel level, std::string_view message) {
  LogHandler h;
  {
    std::lock_guard lock(handler_mutex());
    h = handler();
  }
  if (h) {
    h(level, message);
    return;
  }
  std::string line = std::string("asyncio ") + to_string(level) + ": ";
  line.append(message);
  line.push_back('\n');
  std::fwrite(line.data(), 1, line.size(), stderr);
}

}  // namespace asyncio

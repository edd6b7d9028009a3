#include "support/test_support.hpp"

#include <asyncio/detail/describe.hpp>

namespace asyncio::testing {

LogCapture::LogCapture() {
  previous_ = set_log_handler([this](LogLevel level, std::string_view line) {
    std::lock_guard lock(mutex_);
    lines_.emplace_back(level, std::string(line));
  });
}

LogCapture::~LogCapture() { set_log_handler(std::move(previous_)); }

std::vector<std::pair<LogLevel, std::string>> LogCapture::lines() const {
  std::lock_guard lock(mutex_);
  return lines_;
}

std::size_t LogCapture::count(std::string_view text) const {
  std::lock_guard lock(mutex_);
  std::size_t n = 0;
  for (const auto& [level, line] : lines_) {
    if (line.find(text) != std::string::npos) ++n;
  }
  return n;
}

HandlerCapture::HandlerCapture(EventLoop& loop) : contexts_(std::make_shared<std::vector<ExceptionContext>>()) {
  loop.set_exception_handler(
      [contexts = contexts_](EventLoop&, const ExceptionContext& context) { contexts->push_back(context); });
}

std::vector<std::string> HandlerCapture::exceptions() const {
  std::vector<std::string> out;
  for (const ExceptionContext& c : *contexts_)
    out.push_back(c.exception ? detail::describe_exception(c.exception) : std::string());
  return out;
}

}  // namespace asyncio::testing

#pragma once
/// The library's log, Python's `logging.getLogger("asyncio")`: debug-mode warnings (slow callbacks,
/// coroutines never awaited) and the default exception handler write here. By default lines go to
/// stderr; a program (or a test) may route them elsewhere with set_log_handler.

#include <functional>
#include <string_view>

namespace asyncio {

/// Severity of a log line.
enum class LogLevel { debug, info, warning, error };

/// Receives every line the library logs. Called from the thread that logs (normally the loop's).
using LogHandler = std::function<void(LogLevel, std::string_view)>;

/// Routes the library's log lines to `handler`; an empty handler restores the default (stderr).
/// Thread-safe; returns the previous handler (empty if it was the default).
LogHandler set_log_handler(LogHandler handler);

/// Writes one line to the library's log.
void log(LogLevel level, std::string_view message);

/// "DEBUG", "INFO", "WARNING", "ERROR".
const char* to_string(LogLevel level) noexcept;

}  // namespace asyncio

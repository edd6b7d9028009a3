#pragma once
/// KeyboardInterrupt: what asyncio::run() and Runner::run() raise after a SIGINT (Ctrl-C) cancelled
/// the main task, as CPython 3.11+'s asyncio.Runner does (see task/runner.hpp).

#include "asyncio/exceptions.hpp"

namespace asyncio {

/// Python's KeyboardInterrupt. A BaseException, not a std::exception, for the reason Python made it
/// one: `catch (const std::exception&)` must not swallow the user's request to stop.
class KeyboardInterrupt final : public BaseException {
 public:
  using BaseException::BaseException;
  [[nodiscard]] const char* name() const noexcept override { return "KeyboardInterrupt"; }
};

}  // namespace asyncio

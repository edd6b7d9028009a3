#pragma once
/// The two exceptions of asyncio's streams (Python's asyncio/exceptions.py): what StreamReader's
/// readexactly() and readuntil() raise when the stream ends early or a separator is too far away.
///
///   try { auto header = co_await reader->readexactly(16); }
///   catch (const asyncio::IncompleteReadError& e) { e.partial(); /* what came before EOF */ }

#include <cstddef>
#include <optional>
#include <stdexcept>
#include <string>

#include "asyncio/exceptions.hpp"

namespace asyncio {

/// Python's asyncio.IncompleteReadError: EOF came before the read could complete. The bytes read
/// so far are in partial() (taken out of the reader's buffer); expected() is the count that was
/// asked for (readexactly), or empty when it was not known (readuntil).
///
/// what() is Python's str(e): "18 bytes read on a total of 36 expected bytes", with "undefined"
/// for an unknown count. An EOFError, as in Python.
class IncompleteReadError : public EOFError {
 public:
  IncompleteReadError(std::string partial, std::optional<std::size_t> expected);

  /// Python's `e.partial`: what was read before EOF.
  [[nodiscard]] const std::string& partial() const noexcept { return partial_; }
  /// Python's `e.expected`: the total that was expected; empty for Python's None.
  [[nodiscard]] std::optional<std::size_t> expected() const noexcept { return expected_; }

 private:
  std::string partial_;
  std::optional<std::size_t> expected_;
};

/// Python's asyncio.LimitOverrunError: readuntil() would have to buffer more than the reader's
/// limit to find (or return up to) the separator. The data stays in the buffer; consumed() is how
/// many bytes the caller must consume to make progress (Python's `e.consumed`).
class LimitOverrunError : public std::runtime_error {
 public:
  LimitOverrunError(const std::string& message, std::size_t consumed)
      : std::runtime_error(message), consumed_(consumed) {}

  /// Python's `e.consumed`.
  [[nodiscard]] std::size_t consumed() const noexcept { return consumed_; }

 private:
  std::size_t consumed_;
};

}  // namespace asyncio

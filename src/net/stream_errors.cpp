// IncompleteReadError and LimitOverrunError: CPython 3.13 Lib/asyncio/exceptions.py.

#include "asyncio/net/stream_errors.hpp"

#include <string>
#include <utility>

namespace asyncio {

namespace {

std::string incomplete_message(std::size_t got, std::optional<std::size_t> expected) {
  // Python: f'{len(partial)} bytes read on a total of {r_expected} expected bytes', where
  // r_expected is 'undefined' for None.
  return std::to_string(got) + " bytes read on a total of " +
         (expected ? std::to_string(*expected) : std::string("undefined")) + " expected bytes";
}

}  // namespace

IncompleteReadError::IncompleteReadError(std::string partial, std::optional<std::size_t> expected)
    : EOFError(incomplete_message(partial.size(), expected)), partial_(std::move(partial)), expected_(expected) {}

}  // namespace asyncio

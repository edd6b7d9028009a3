#pragma once
/// exception_is<E>(e): Python's isinstance(e, E) for an exception held in a std::exception_ptr.

#include <exception>

namespace asyncio::detail {

/// True if `e` holds an exception of type E (or of a class derived from it); false when empty.
template <class E>
bool exception_is(const std::exception_ptr& e) noexcept {
  if (!e) return false;
  try {
    std::rethrow_exception(e);
  } catch (const E&) {
    return true;
  } catch (...) {
    return false;
  }
}

}  // namespace asyncio::detail

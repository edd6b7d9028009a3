#pragma once
/// Context and copy_context(): Python's contextvars.Context (PEP 567).
///
///   asyncio::Context ctx = asyncio::copy_context();
///   ctx.run([&] { request_id.set(7); });   // changes ctx only
///   std::optional<int> id = ctx.get(request_id);   // 7
///
/// A Context maps context variables (loop/context_var.hpp) to values. The thread always has a
/// current one; ContextVar::get/set read and change it. Every task runs in a copy of the context
/// current when it was created, and every callback (call_soon, call_later, call_at, a done-callback)
/// in a copy of the one current when it was scheduled, unless a context is given; see
/// loop/detail/context_state.hpp for how that costs nothing when no variable is set.
///
/// Copying a context is O(1): the mapping is a persistent map shared by the copies, copied along
/// one path when one of them changes.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <utility>

#include "asyncio/exceptions.hpp"
#include "asyncio/loop/detail/context_state.hpp"

namespace asyncio {

template <class T>
class ContextVar;
class Context;

namespace detail {
/// A reference to `context`'s object, for a task or callback that runs in it.
inline ContextRef hold_context(const Context& context) noexcept;
}  // namespace detail

/// Python's contextvars.Context. A handle, as a Python name is: copies of a Context refer to the
/// same context (copy() makes a new one). A context can be entered by one thread at a time, and
/// changes only while entered (through ContextVar::set and reset); it may be read (get, contains,
/// size) from any thread that does not race with a thread running in it.
class Context {
 public:
  /// A new empty context (Python's Context()).
  Context();
  Context(const Context& other) noexcept;
  Context& operator=(const Context& other) noexcept;
  ~Context();

  /// Python's ctx.run(callable, *args): makes this context current, calls fn(args...), makes the
  /// previous context current again (also when fn throws) and returns what fn returned. Whatever fn
  /// sets stays in this context. RuntimeError "cannot enter context: <Context object at 0x...> is
  /// already entered" if this context is current in this thread or runs in a task or callback now.
  template <class F, class... Args>
  decltype(auto) run(F&& fn, Args&&... args) const;

  /// Python's ctx.copy(): a new context with the same values (sharing them; O(1)).
  [[nodiscard]] Context copy() const;

  /// Python's ctx.get(var): the variable's value in this context, or nothing (the variable's
  /// default does not count).
  template <class T>
  [[nodiscard]] std::optional<T> get(const ContextVar<T>& var) const;

  /// Python's ctx.get(var, default).
  template <class T>
  [[nodiscard]] T get(const ContextVar<T>& var, T default_value) const;

  /// Python's ctx[var]: the value; KeyError naming the variable if this context has none.
  template <class T>
  [[nodiscard]] T operator[](const ContextVar<T>& var) const;

  /// Python's `var in ctx`.
  template <class T>
  [[nodiscard]] bool contains(const ContextVar<T>& var) const noexcept;

  /// Python's len(ctx): how many variables have a value here.
  [[nodiscard]] std::size_t size() const noexcept { return detail::map_size(impl_->vars); }
  [[nodiscard]] bool empty() const noexcept { return size() == 0; }

 private:
  friend Context copy_context();
  friend detail::ContextRef detail::hold_context(const Context& context) noexcept;
  explicit Context(detail::ContextImpl* adopted) noexcept : impl_(adopted) {}
  [[nodiscard]] const detail::ValueBox* find(std::uint64_t key) const noexcept {
    return detail::map_find(impl_->vars, key);
  }

  detail::ContextImpl* impl_;
};

/// Python's contextvars.copy_context(): a new Context with the values of the current one.
Context copy_context();

namespace detail {
inline ContextRef hold_context(const Context& context) noexcept {
  context.impl_->refs.fetch_add(1, std::memory_order_relaxed);
  return ContextRef(reinterpret_cast<std::uintptr_t>(context.impl_));
}
}  // namespace detail

template <class F, class... Args>
decltype(auto) Context::run(F&& fn, Args&&... args) const {
  // A reference of its own: fn may drop the last handle to this context.
  detail::ContextRef held = detail::hold_context(*this);
  detail::ContextEntry entry;
  if (!entry.enter(held)) detail::throw_already_entered(held.bits());
  struct Leave {
    detail::ContextEntry& entry;
    detail::ContextRef& held;
    ~Leave() { entry.leave(held); }
  } leave{entry, held};
  return std::invoke(std::forward<F>(fn), std::forward<Args>(args)...);
}

template <class T>
std::optional<T> Context::get(const ContextVar<T>& var) const {
  if (const detail::ValueBox* box = find(var.id())) return static_cast<const detail::TypedBox<T>*>(box)->value;
  return std::nullopt;
}

template <class T>
T Context::get(const ContextVar<T>& var, T default_value) const {
  if (const detail::ValueBox* box = find(var.id())) return static_cast<const detail::TypedBox<T>*>(box)->value;
  return default_value;
}

template <class T>
T Context::operator[](const ContextVar<T>& var) const {
  if (const detail::ValueBox* box = find(var.id())) return static_cast<const detail::TypedBox<T>*>(box)->value;
  throw KeyError(var.repr());
}

template <class T>
bool Context::contains(const ContextVar<T>& var) const noexcept {
  return find(var.id()) != nullptr;
}

}  // namespace asyncio

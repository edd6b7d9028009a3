#pragma once
/// ContextVar<T> and Token<T>: Python's contextvars.ContextVar and contextvars.Token (PEP 567).
///
///   const asyncio::ContextVar<int> request_id("request_id", 0);
///   auto token = request_id.set(42);   // in the current context only
///   int id = request_id.get();         // 42 here; 0 in a task created before the set()
///   request_id.reset(token);           // back to the value before set()
///
/// A variable is an identity, not a value: its value lives in each context (loop/context.hpp), so
/// tasks and callbacks each see the value of the context they run in. get() is a few loads when the
/// variable was read in the same context before (a per-thread cache, see
/// loop/detail/context_state.hpp); set() allocates one box for the value and changes the context's
/// map in place unless the map is shared (then it copies one path).
///
/// Values are returned by copy: keep large values behind a std::shared_ptr<const X>.

#include <cstdint>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>

#include "asyncio/exceptions.hpp"
#include "asyncio/loop/context.hpp"
#include "asyncio/loop/detail/context_map.hpp"
#include "asyncio/loop/detail/context_state.hpp"

namespace asyncio {

template <class T>
class ContextVar;

/// Python's contextvars.Token: what ContextVar::set returns, to undo that set() with reset(). Move-
/// only, because a token can be used once: a moved-from token counts as used.
template <class T>
class Token {
 public:
  /// Python's Token.MISSING: old_value() when the variable had no value before set().
  static constexpr std::nullopt_t MISSING = std::nullopt;

  Token(Token&& other) noexcept(std::is_nothrow_move_constructible_v<T>)
      : var_(other.var_),
        context_id_(other.context_id_),
        old_(std::move(other.old_)),
        used_(std::exchange(other.used_, true)) {}
  Token& operator=(Token&& other) noexcept(
      std::is_nothrow_move_assignable_v<T>&& std::is_nothrow_move_constructible_v<T>) {
    if (this != &other) {
      var_ = other.var_;
      context_id_ = other.context_id_;
      old_ = std::move(other.old_);
      used_ = std::exchange(other.used_, true);
    }
    return *this;
  }
  Token(const Token&) = delete;
  Token& operator=(const Token&) = delete;
  // Not defaulted: a token kept only to be reset later (or not at all) must not read as an unused
  // variable to the compiler, as with any guard.
  ~Token() {}  // NOLINT(modernize-use-equals-default)

  /// Python's Token.var: the variable whose set() made this token (it must still exist).
  [[nodiscard]] const ContextVar<T>& var() const noexcept { return *var_; }

  /// Python's Token.old_value: the value before set(), or MISSING (empty). Still readable after
  /// reset(), as in Python.
  [[nodiscard]] std::optional<T> old_value() const { return old_; }

  /// Whether reset() used this token already (or it was moved from).
  [[nodiscard]] bool used() const noexcept { return used_; }

  /// "<Token var=<ContextVar name='request_id'>>", "<Token used var=...>" once used.
  [[nodiscard]] std::string repr() const {
    return std::string(used_ ? "<Token used var=" : "<Token var=") + var_->repr() + ">";
  }

 private:
  friend class ContextVar<T>;
  Token(const ContextVar<T>* var, std::uint64_t context_id,
        std::optional<T> old) noexcept(std::is_nothrow_move_constructible_v<T>)
      : var_(var), context_id_(context_id), old_(std::move(old)) {}

  const ContextVar<T>* var_;
  std::uint64_t context_id_;  // the context set() changed
  // The value itself, not a reference to its box: set() can then reuse a box nobody else holds.
  std::optional<T> old_;
  bool used_ = false;
};

/// Python's contextvars.ContextVar. Declare variables once, at namespace scope or as static
/// members, as Python code declares them at module level: a variable is neither copied nor moved
/// (tokens and contexts refer to it by identity). Every method is const: a variable never changes,
/// the current context does. T is copyable; get() returns a copy.
template <class T>
class ContextVar {
  static_assert(std::is_copy_constructible_v<T> && std::is_same_v<T, std::remove_cvref_t<T>>,
                "ContextVar<T>: T must be a copyable object type (not a reference, not const)");

 public:
  /// A variable with no default: get() raises LookupError where it has no value.
  explicit ContextVar(std::string name) : name_(std::move(name)), id_(detail::new_context_var_id()) {}
  /// A variable whose get() gives `default_value` where it has no value.
  ContextVar(std::string name, T default_value)
      : name_(std::move(name)), id_(detail::new_context_var_id()), default_(std::move(default_value)) {}
  ContextVar(const ContextVar&) = delete;
  ContextVar& operator=(const ContextVar&) = delete;

  /// Python's var.name.
  [[nodiscard]] const std::string& name() const noexcept { return name_; }

  /// Python's var.get(): the value in the current context, else the variable's default, else
  /// LookupError naming the variable ("<ContextVar name='request_id'>").
  [[nodiscard]] T get() const {
    if (const detail::ValueBox* box = detail::context_lookup(id_)) {
      return static_cast<const detail::TypedBox<T>*>(box)->value;
    }
    if (default_) return *default_;
    throw LookupError(repr());
  }

  /// Python's var.get(default): the value in the current context, else `default_value` (which wins
  /// over the variable's default, as in Python).
  [[nodiscard]] T get(T default_value) const {
    if (const detail::ValueBox* box = detail::context_lookup(id_)) {
      return static_cast<const detail::TypedBox<T>*>(box)->value;
    }
    return default_value;
  }

  /// Python's var.set(value): gives the variable `value` in the current context and returns a
  /// Token that reset() takes to restore the previous value. In a task, the value is the task's
  /// own: its creator and the tasks it creates from then on see it only through copies.
  Token<T> set(T value) const {
    if constexpr (kInPlace) {
      // The common case, a variable set again in the context that set it: its box is this
      // context's alone, so the value is swapped in place and nothing is allocated.
      if (detail::ValueBox* box = detail::context_unique_box(id_)) {
        T& slot = static_cast<detail::TypedBox<T>*>(box)->value;
        Token<T> token(this, detail::current_context_id(), std::optional<T>(std::move(slot)));
        slot = std::move(value);
        return token;
      }
    }
    const detail::ContextSetResult done = assign(std::move(value));
    return Token<T>(this, done.context_id, take_value(done.old));
  }

  /// Python's var.reset(token): gives the variable back the value it had before the set() that
  /// made `token` (or no value), in the current context. RuntimeError if the token was used
  /// already; ValueError if another variable made it, or if it was made in another context.
  void reset(Token<T>& token) const {
    if (token.used_) throw RuntimeError(token.repr() + " has already been used once");
    if (token.var_ != this) throw ValueError(token.repr() + " was created by a different ContextVar");
    if (token.context_id_ != detail::current_context_id()) {
      throw ValueError(token.repr() + " was created in a different Context");
    }
    if (!token.old_) {
      detail::context_erase(id_, repr().c_str());
      token.used_ = true;
      return;
    }
    if (detail::ValueBox* box = detail::context_unique_box(id_)) {
      static_cast<detail::TypedBox<T>*>(box)->value = *token.old_;  // the token keeps its copy
      token.used_ = true;
      return;
    }
    const detail::ContextSetResult done = assign(*token.old_);
    if (done.old) detail::release_box(done.old);
    token.used_ = true;
  }
  /// reset() of a token that is not kept.
  void reset(Token<T>&& token) const { reset(token); }

  /// "<ContextVar name='request_id'>", the name Python's LookupError gives.
  [[nodiscard]] std::string repr() const { return "<ContextVar name='" + name_ + "'>"; }

  /// The variable's identity: contexts map it to values. Never reused.
  [[nodiscard]] std::uint64_t id() const noexcept { return id_; }

 private:
  static constexpr bool kInPlace = std::is_nothrow_move_constructible_v<T> && std::is_nothrow_move_assignable_v<T>;

  /// Puts `value` in a new box for this variable in the current context: the way of set() and
  /// reset() when the value cannot change in place. Nothing changed if it throws.
  detail::ContextSetResult assign(T value) const {
    auto* box = detail::TypedBox<T>::make(id_, std::move(value));
    try {
      return detail::context_set(box);
    } catch (...) {
      box->destroy(box);
      throw;
    }
  }

  /// The value of `old` (a reference the caller gives up), or MISSING for null.
  static std::optional<T> take_value(detail::ValueBox* old) {
    if (old == nullptr) return Token<T>::MISSING;
    struct Release {
      detail::ValueBox* box;
      ~Release() { detail::release_box(box); }
    } release{old};
    T& value = static_cast<detail::TypedBox<T>*>(old)->value;
    if (old->refs.load(std::memory_order_acquire) == 1) return std::move(value);  // nobody else sees it
    return value;
  }

  std::string name_;
  std::uint64_t id_;
  std::optional<T> default_;
};

}  // namespace asyncio

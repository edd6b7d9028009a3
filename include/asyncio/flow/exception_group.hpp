#pragma once
/// ExceptionGroup: Python's ExceptionGroup (PEP 654), the error TaskGroup raises when its children
/// (and its body) failed: several exceptions raised together, possibly nested.
///
///   try {
///     co_await tg.run(body);
///   } catch (const asyncio::ExceptionGroup& eg) {
///     // Python:  except* ValueError as group: ...
///     auto [values, rest] = eg.split<ValueError>();     // matching part, and the rest
///     if (values) log(values->what());
///     if (rest) throw *rest;                              // what no except* clause handled
///   }
///
///   // or, one call per matching exception, the rest re-raised:
///   } catch (const asyncio::ExceptionGroup& eg) {
///     if (auto rest = eg.handle<ValueError>([](const ValueError& e) { log(e.what()); })) throw *rest;
///   }
///
/// C++ has no `except*`: split<E>() is its core (Python's `except* E as g` binds g to
/// eg.split(E)[0] and re-raises eg.split(E)[1] at the end), and handle<E>(fn) is the loop most
/// handlers want. A group is a value: copies share the exception list (cheap, and copying never
/// throws, as an exception object's copy should not).
///
/// Differences from Python, and why:
///  - There is no BaseExceptionGroup. ExceptionGroup derives from std::exception, so it must not
///    hold an asyncio::BaseException (CancelledError, GeneratorExit, or a user's subclass): then
///    `catch (const std::exception&)` could swallow a cancellation hidden inside a group. Such
///    items are a TypeError, as in Python's ExceptionGroup ("Cannot nest BaseExceptions in an
///    ExceptionGroup"). TaskGroup never needs one: it propagates CancelledError rather than
///    grouping it (as CPython does), and a BaseException from a child or the body propagates as
///    itself (as CPython does for SystemExit and KeyboardInterrupt); see flow/task_group.hpp.
///  - Items are std::exception_ptr; anything that can be thrown may be an item (an int too), except
///    a null pointer (ValueError, as Python's "is not an exception").
///  - split/subgroup build plain ExceptionGroups (Python's default derive()); there are no
///    __traceback__, __cause__, __context__ or __notes__ to copy.

#include <concepts>
#include <cstddef>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "asyncio/detail/exception_is.hpp"

namespace asyncio {

class ExceptionGroup;

namespace detail {

/// A non-owning test of one item, so that the recursive walk lives in one compiled function.
struct GroupMatcher {
  const void* context;
  bool (*test)(const void* context, const std::exception_ptr& item);
  bool operator()(const std::exception_ptr& item) const { return test(context, item); }
};

/// The two kinds of predicate split/subgroup accept.
template <class P>
concept ExceptionPtrPredicate = std::is_invocable_r_v<bool, P&, const std::exception_ptr&>;
template <class P>
concept StdExceptionPredicate = !ExceptionPtrPredicate<P> && std::is_invocable_r_v<bool, P&, const std::exception&>;
template <class P>
concept GroupPredicate = ExceptionPtrPredicate<P> || StdExceptionPredicate<P>;

}  // namespace detail

/// Python's ExceptionGroup(message, exceptions): several exceptions raised as one.
///
/// Invariants: the list is never empty; no item is null or an asyncio::BaseException; the
/// list and the message never change after construction.
class ExceptionGroup : public std::exception {
 public:
  /// Python's ExceptionGroup(message, exceptions). ValueError if `exceptions` is empty or holds a
  /// null pointer; TypeError if it holds an asyncio::BaseException (CancelledError ...).
  ExceptionGroup(std::string message, std::vector<std::exception_ptr> exceptions);

  /// Python's str(eg): "message (N sub-exceptions)".
  [[nodiscard]] const char* what() const noexcept override;
  /// Python's eg.message: the message given at construction.
  [[nodiscard]] const std::string& message() const noexcept;
  /// Python's eg.exceptions: the items, in order; nested groups are items holding an ExceptionGroup.
  [[nodiscard]] const std::vector<std::exception_ptr>& exceptions() const noexcept;

  /// Python's eg.derive(excs): a group with this message and other items (what split and subgroup
  /// build their parts with).
  [[nodiscard]] ExceptionGroup derive(std::vector<std::exception_ptr> exceptions) const;

  /// The two parts of a split: (matching, rest); an empty part is std::nullopt (Python's None).
  using Split = std::pair<std::optional<ExceptionGroup>, std::optional<ExceptionGroup>>;

  /// Python's eg.split(E): the items of type E in one group, the others in another, nested groups
  /// split recursively with their structure and messages kept. A group that is itself an E
  /// (split<ExceptionGroup>, split<std::exception>) matches whole: (the group, nullopt).
  template <class E>
  [[nodiscard]] Split split() const {
    if (is_a<E>()) return {*this, std::nullopt};
    return split_items(type_matcher<E>(), true);
  }

  /// Python's eg.split(condition) with a predicate, called (as in Python) on this group, on each
  /// nested group and on each leaf, outside in; a group that matches is taken whole. `pred` takes
  /// either `const std::exception_ptr&` (it sees every item; this group is passed as a copy
  /// holding an ExceptionGroup) or `const std::exception&` (items of other types never match).
  template <detail::GroupPredicate P>
  [[nodiscard]] Split split(P&& pred) const {
    if (self_matches(pred)) return {*this, std::nullopt};
    return split_items(predicate_matcher(pred), true);
  }

  /// Python's eg.subgroup(E): split<E>().first, without building the rest.
  template <class E>
  [[nodiscard]] std::optional<ExceptionGroup> subgroup() const {
    if (is_a<E>()) return *this;
    return split_items(type_matcher<E>(), false).first;
  }

  /// Python's eg.subgroup(condition): split(pred).first, without building the rest.
  template <detail::GroupPredicate P>
  [[nodiscard]] std::optional<ExceptionGroup> subgroup(P&& pred) const {
    if (self_matches(pred)) return *this;
    return split_items(predicate_matcher(pred), false).first;
  }

  /// The `except* E` loop: calls fn(const E&) once for each part split<E>() would match (each leaf
  /// of type E, depth first, in order; a nested group that is itself an E is passed whole), then
  /// returns the group of everything else (split<E>().second), for the caller to re-raise. If fn
  /// throws, that exception propagates at once (Python would group it with the rest).
  template <class E, std::invocable<const E&> F>
  std::optional<ExceptionGroup> handle(F&& fn) const {
    if constexpr (std::is_base_of_v<E, ExceptionGroup>) {  // std::exception, ExceptionGroup: all of it
      fn(static_cast<const E&>(*this));
      return std::nullopt;
    } else {
      if constexpr (std::is_polymorphic_v<E>) {  // a subclass of ExceptionGroup that this group is
        if (const E* self = dynamic_cast<const E*>(static_cast<const std::exception*>(this))) {
          fn(*self);
          return std::nullopt;
        }
      }
      visit_matches<E>(*this, fn);
      return split_items(type_matcher<E>(), true).second;
    }
  }

 private:
  struct Data;

  template <class E>
  bool is_a() const noexcept {
    if constexpr (std::is_class_v<E> && std::is_polymorphic_v<E>) {
      return dynamic_cast<const E*>(static_cast<const std::exception*>(this)) != nullptr;
    } else {
      return false;
    }
  }

  template <class E>
  static detail::GroupMatcher type_matcher() noexcept {
    return {nullptr, [](const void*, const std::exception_ptr& item) { return detail::exception_is<E>(item); }};
  }

  template <class Q>
  static detail::GroupMatcher predicate_matcher(Q& pred) noexcept {
    return {static_cast<const void*>(std::addressof(pred)), [](const void* context, const std::exception_ptr& item) {
              Q& p = *static_cast<Q*>(const_cast<void*>(context));
              if constexpr (detail::ExceptionPtrPredicate<Q>) {
                return static_cast<bool>(p(item));
              } else {
                try {
                  std::rethrow_exception(item);
                } catch (const std::exception& e) {
                  return static_cast<bool>(p(e));
                } catch (...) {
                  return false;
                }
              }
            }};
  }

  template <class Q>
  bool self_matches(Q& pred) const {
    if constexpr (detail::ExceptionPtrPredicate<Q>) {
      return static_cast<bool>(pred(std::make_exception_ptr(*this)));
    } else {
      return static_cast<bool>(pred(static_cast<const std::exception&>(*this)));
    }
  }

  /// The recursive part of split: this group's items (the group itself did not match).
  Split split_items(detail::GroupMatcher match, bool want_rest) const;

  // E is not a base of ExceptionGroup here (handle() takes that case whole), so the handler for
  // E never hides the one for nested groups. Handlers run with the item still alive in its
  // exception_ptr, so nothing escapes them.
  template <class E, class F>
  static void visit_matches(const ExceptionGroup& group, F& fn) {
    for (const std::exception_ptr& item : group.exceptions()) {
      try {
        std::rethrow_exception(item);
      } catch (const E& e) {
        fn(e);
      } catch (const ExceptionGroup& nested) {
        visit_matches<E>(nested, fn);
      } catch (...) {
      }
    }
  }

  std::shared_ptr<const Data> data_;
};

}  // namespace asyncio

#pragma once
/// gather: Python's asyncio.gather. Runs children concurrently and collects their results in the
/// order of the arguments.
///
///   auto [a, b, c] = co_await asyncio::gather(fetch(1), task, future);   // std::tuple<A, B, C>
///   std::vector<int> all = co_await asyncio::gather(tasks);              // any range of children
///   auto [x, y] = co_await asyncio::gather(asyncio::return_exceptions, f(), g());
///   if (!x.has_value()) log(x.exception());                              // Outcome<A>, Outcome<B>
///
/// A child is a Coro<T> (wrapped in a task at once), a callable returning a Coro<T> (moved into the
/// task, like create_task), a Task<T> or a Future<T> (AnyTask / AnyFuture: a child without a result
/// type). A void child gives std::monostate in its position, so positions always match arguments.
///
/// gather returns a Future (CPython's _GatheringFuture), with CPython 3.13's rules:
///  - without return_exceptions, the first child that fails or is cancelled finishes the gather at
///    once with that exception (a cancelled child: CancelledError); the other children keep running,
///    and their later errors are marked retrieved (never reported as "never retrieved");
///  - with return_exceptions, the gather waits for every child; an error or a cancellation is an
///    Outcome holding the exception (a CancelledError with the child's cancel message);
///  - cancelling the gather (directly, or by cancelling the task that awaits it) cancels every child
///    not yet done and returns whether it cancelled any; once the children are done the gather
///    finishes with CancelledError (even with return_exceptions). As in CPython, the gather is then
///    *finished with a CancelledError exception*, not cancelled(): awaiting it raises
///    CancelledError, so the awaiting task ends cancelled, but gather.cancelled() is false;
///  - children already done when gather() is called are taken into account at once (Python 3.12+):
///    gather of done futures is done when gather() returns; gather() of nothing is done at once.
///
/// Results: a child made by gather (from a Coro) has its value moved into the gather's result; a
/// child you passed (Task, Future) has its value copied, since you can still read it through your
/// handle; a value that cannot be copied is moved in any case (your handle then reads a moved-from
/// value). Python shares one object between the child and the result list; C++ values cannot be.
///
/// g++ 12 destroys a closure temporary written inside a co_await expression twice (see
/// TaskOptions): write `auto child = [captures]() -> Coro<T> {...}; co_await gather(std::move(child));`
/// rather than putting a capturing lambda inside `co_await gather(...)`.
///
/// Lifetime: the gather keeps its children, and each child not yet done keeps the gather (as the
/// done-callbacks' closures do in Python). A plain Future that is never completed and that nobody
/// else holds therefore keeps itself and the gather alive (Python's garbage collector frees that
/// cycle); complete or cancel such a future. Tasks never cause this: the loop finishes them or, when
/// it is destroyed, unhooks them.

#include <concepts>
#include <cstddef>
#include <exception>
#include <optional>
#include <ranges>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "asyncio/coro/coro.hpp"
#include "asyncio/detail/describe.hpp"
#include "asyncio/exceptions.hpp"
#include "asyncio/loop/event_loop.hpp"
#include "asyncio/task/future.hpp"
#include "asyncio/task/task.hpp"

namespace asyncio {

/// The type of `return_exceptions`: Python's keyword argument `return_exceptions=True`, spelled as a
/// leading tag argument: `gather(return_exceptions, a, b)`.
struct ReturnExceptions {
  explicit constexpr ReturnExceptions() = default;
};
/// Makes gather collect errors and cancellations as Outcome values instead of raising the first.
inline constexpr ReturnExceptions return_exceptions{};

/// What one child of `gather(return_exceptions, ...)` gave: its value, or the exception it raised (a
/// CancelledError for a cancelled child). Python puts the exception object itself in the result
/// list; C++ needs one type per position, hence this small either-type.
template <class R>
class Outcome {
 public:
  using value_type = R;

  /// An outcome holding a value.
  template <class... Args>
  [[nodiscard]] static Outcome success(Args&&... args) {
    return Outcome(std::in_place_index<0>, std::forward<Args>(args)...);
  }
  /// An outcome holding an exception (TypeError if null: an outcome always holds one or the other).
  [[nodiscard]] static Outcome failure(std::exception_ptr exception) {
    if (!exception) throw TypeError("Outcome::failure: the exception_ptr is null");
    return Outcome(std::in_place_index<1>, std::move(exception));
  }

  /// True if the child finished with a value.
  [[nodiscard]] bool has_value() const noexcept { return v_.index() == 0; }
  [[nodiscard]] explicit operator bool() const noexcept { return has_value(); }

  /// The value; rethrows the exception if there is none.
  R& value() & {
    rethrow_if_failed();
    return std::get<0>(v_);
  }
  const R& value() const& {
    rethrow_if_failed();
    return std::get<0>(v_);
  }
  R&& value() && {
    rethrow_if_failed();
    return std::move(std::get<0>(v_));
  }

  /// The exception, or null if the child finished with a value.
  [[nodiscard]] std::exception_ptr exception() const noexcept {
    return v_.index() == 1 ? std::get<1>(v_) : std::exception_ptr();
  }

  /// True if the exception is a CancelledError (the child was cancelled); Python's
  /// `isinstance(result, CancelledError)`.
  [[nodiscard]] bool cancelled() const noexcept {
    return v_.index() == 1 && detail::is_cancelled_error(std::get<1>(v_));
  }

 private:
  template <std::size_t I, class... Args>
  explicit Outcome(std::in_place_index_t<I> i, Args&&... args) : v_(i, std::forward<Args>(args)...) {}

  void rethrow_if_failed() const {
    if (v_.index() == 1) std::rethrow_exception(std::get<1>(v_));
  }

  std::variant<R, std::exception_ptr> v_;
};

namespace detail {

/// What a void child contributes to a result: a placeholder, so positions match arguments.
template <class T>
using gather_value_t = std::conditional_t<std::is_void_v<T>, std::monostate, T>;

template <class T>
struct is_coro_type : std::false_type {};
template <class T>
struct is_coro_type<Coro<T>> : std::true_type {};

/// A handle to a future or task: Future<T>, Task<T>, AnyFuture, AnyTask.
template <class A>
concept FutureHandle = std::derived_from<std::remove_cvref_t<A>, AnyFuture>;

/// A coroutine to wrap in a task: a Coro<T> (an rvalue: the task takes it over) or a callable
/// returning one (moved or copied into the task, as create_task does).
template <class A>
concept CoroArgument = is_coro_type<std::remove_cvref_t<A>>::value || CoroFactory<A>;

/// What gather, wait and as_completed accept as a child.
template <class A>
concept FlowChild = FutureHandle<A> || CoroArgument<A>;

template <class H>
struct handle_value {
  using type = void;  // AnyFuture, AnyTask: no result type
};
template <class H>
requires requires { typename H::value_type; }
struct handle_value<H> {
  using type = typename H::value_type;
};

template <class A>
struct child_traits;
template <FutureHandle A>
struct child_traits<A> {
  using handle = std::remove_cvref_t<A>;
  using value = typename handle_value<handle>::type;
  static constexpr bool creates_task = false;
};
template <class A>
requires is_coro_type<std::remove_cvref_t<A>>::value struct child_traits<A> {
  using value = typename std::remove_cvref_t<A>::value_type;
  using handle = Task<value>;
  static constexpr bool creates_task = true;
};
template <class A>
requires(!is_coro_type<std::remove_cvref_t<A>>::value && CoroFactory<A>) struct child_traits<A> {
  using value = typename coro_value<std::invoke_result_t<std::decay_t<A>&>>::type;
  using handle = Task<value>;
  static constexpr bool creates_task = true;
};

/// The result type T of a child (void for AnyFuture / AnyTask and for Coro<void>).
template <class A>
using child_value_t = typename child_traits<A>::value;
/// The handle a child becomes: itself for a handle, Task<T> for a coroutine.
template <class A>
using child_handle_t = typename child_traits<A>::handle;

[[noreturn]] void throw_different_loop();

/// Python's ensure_future(arg, loop=loop) for the children of gather and as_completed: a handle is
/// returned as it is, once its loop is checked; a coroutine becomes a task on `loop`. `loop` starts
/// null and the first child fixes it: a handle's own loop, or the running loop for a coroutine
/// (Python's get_event_loop()).
template <class A>
child_handle_t<A> ensure_child(EventLoop*& loop, A&& arg) {
  if constexpr (FutureHandle<A>) {
    FutureBase* s = arg.state_ptr();
    if (s == nullptr) throw InvalidStateError("empty Future handle");
    if (loop == nullptr) {
      loop = &s->loop();
    } else if (s->loop_or_null() != loop) {
      throw_different_loop();
    }
    return std::forward<A>(arg);
  } else {
    static_assert(!is_coro_type<std::remove_cvref_t<A>>::value || !std::is_lvalue_reference_v<A>,
                  "a Coro becomes a task that owns it: pass it as an rvalue (std::move(coro), or the call itself)");
    if (loop == nullptr) loop = &get_running_loop();
    return asyncio::create_task(*loop, std::forward<A>(arg));
  }
}

/// The part of gather's future that does not depend on the result type: CPython's
/// _GatheringFuture and the `_done_callback` closure of gather().
///
/// Invariants:
///  - every child is held (one reference) until the gather goes, except a child whose value was
///    already taken (see take_early): the gather needs nothing more from it (cancel() would return
///    false for it), and letting it go early saves a pass over every child at the end;
///  - a child not yet done holds this slot's done-callback, and the callback holds a reference to
///    the gather, so a pending gather stays alive while any child may still report to it;
///  - finished_ counts the callbacks that ran; the gather is set exactly once: by the first error or
///    cancellation (without return_exceptions), else when finished_ reaches the number of slots;
///  - cancel_requested_ records that cancel() cancelled at least one child: once all are done the
///    gather finishes with CancelledError, whatever return_exceptions says (CPython issue 32684);
///  - abandoned_: building the gather failed part-way (a child of another loop): the callbacks
///    already linked only mark their child's exception retrieved (CPython: `outer is None`).
class GatherCore {
 public:
  /// One child: its done-callback node, linked into the child's waiters (no allocation per child).
  struct Slot : OpsWaiter {
    GatherCore* core = nullptr;
    FutureBase* child = nullptr;  // one reference; null once released early
    bool created = false;         // made by gather from a coroutine: its value can be moved out
    bool linked = false;          // waits for the child (it was pending when added)
  };

  GatherCore(const GatherCore&) = delete;
  GatherCore& operator=(const GatherCore&) = delete;

  /// Building failed after some children were linked: see abandoned_.
  void abandon() noexcept { abandoned_ = true; }

 protected:
  GatherCore(FutureBase& outer, bool return_exceptions) noexcept
      : outer_(outer), return_exceptions_(return_exceptions) {}
  ~GatherCore();

  /// Fixes the number of slots: from here on a child's callback is linked as soon as it is added
  /// (as CPython's loop over the arguments does), since the slots will not move.
  void reserve(std::size_t n) {
    slots_.reserve(n);
    fixed_ = true;
  }
  /// Adds a child (adds a reference to it).
  void add_child(FutureBase* child, bool created);
  /// Links the callbacks not linked yet (the slots are final now), then accounts for the children
  /// already done, as gather() does after creating the outer future.
  void start();
  /// _GatheringFuture.cancel(msg).
  bool cancel_children(const std::string& message);
  /// FutureBase::for_each_awaited: the children not yet done.
  void visit_children(void (*visit)(FutureBase&, void*), void* context) const;
  /// Builds the results (every child finished) and sets them on the outer future.
  virtual void set_results() = 0;
  /// A child finished with a value while the gather goes on: a state may take the value now (the
  /// child is hot in the cache) and return true, and the child is then let go. Default: no.
  virtual bool take_early(std::size_t /*index*/, Slot& /*slot*/) { return false; }

  [[nodiscard]] std::size_t size() const noexcept { return slots_.size(); }
  [[nodiscard]] Slot& slot(std::size_t i) noexcept { return slots_[i]; }

 private:
  static void run_slot(void* node);
  static void discard_slot(void* node) noexcept;
  static std::string describe_slot(void* node);
  static const ReadyOps slot_ops;
  void link(Slot& s);
  void on_child_done(Slot& s);

  FutureBase& outer_;
  std::vector<Slot> slots_;
  std::size_t finished_ = 0;
  bool return_exceptions_;
  bool cancel_requested_ = false;
  bool fixed_ = false;
  bool abandoned_ = false;
};

/// The value of a child that finished with one: moved out if gather made the child (nobody else can
/// read it) or if it cannot be copied; copied otherwise.
template <class T>
gather_value_t<T> take_value(GatherCore::Slot& s) {
  if constexpr (std::is_void_v<T>) {
    return std::monostate{};
  } else {
    T& v = value_of<T>(s.child);
    if constexpr (std::is_copy_constructible_v<T>) {
      if (!s.created) return v;
    }
    return std::move(v);
  }
}

/// A child's Outcome: CancelledError(its cancel message) if cancelled, its exception, or its value.
template <class T>
Outcome<gather_value_t<T>> take_outcome(GatherCore::Slot& s) {
  if (s.child->cancelled()) return Outcome<gather_value_t<T>>::failure(s.child->make_cancelled_error());
  if (std::exception_ptr e = s.child->exception()) return Outcome<gather_value_t<T>>::failure(std::move(e));
  return Outcome<gather_value_t<T>>::success(take_value<T>(s));
}

template <bool ReturnExc, class T>
using gather_item_t = std::conditional_t<ReturnExc, Outcome<gather_value_t<T>>, gather_value_t<T>>;

template <bool ReturnExc, class T>
gather_item_t<ReturnExc, T> take_item(GatherCore::Slot& s) {
  if constexpr (ReturnExc) {
    return take_outcome<T>(s);
  } else {
    return take_value<T>(s);
  }
}

/// The future of gather(args...): a tuple with one element per argument.
template <bool ReturnExc, class... Ts>
class VariadicGather final : public FutureState<std::tuple<gather_item_t<ReturnExc, Ts>...>>, public GatherCore {
 public:
  using result_type = std::tuple<gather_item_t<ReturnExc, Ts>...>;

  explicit VariadicGather(EventLoop& loop) : FutureState<result_type>(&loop), GatherCore(*this, ReturnExc) {
    reserve(sizeof...(Ts));
  }

  bool cancel(std::string message) override { return cancel_children(message); }
  void for_each_awaited(void (*visit)(FutureBase&, void*), void* context) const override {
    visit_children(visit, context);
  }

  using GatherCore::add_child;
  using GatherCore::start;

 private:
  void set_results() override {
    std::optional<result_type> results;
    try {
      results.emplace(build(std::index_sequence_for<Ts...>{}));
    } catch (...) {
      // Copying a value threw (Python cannot fail here): report it through the gather rather than
      // leaving it pending forever.
      this->set_exception(std::current_exception());
      return;
    }
    this->set_result(std::move(*results));
  }

  template <std::size_t... I>
  result_type build(std::index_sequence<I...>) {
    return result_type{take_item<ReturnExc, Ts>(slot(I))...};
  }
};

/// The future of gather(range): a vector with one element per child. Without return_exceptions a
/// value is taken as its child finishes (a value never changes once set), so the end only moves
/// values into the vector instead of visiting every child again; with return_exceptions everything
/// is read at the end, as CPython does (reading earlier would mark exceptions retrieved earlier).
template <bool ReturnExc, class T>
class RangeGather final : public FutureState<std::vector<gather_item_t<ReturnExc, T>>>, public GatherCore {
 public:
  using result_type = std::vector<gather_item_t<ReturnExc, T>>;

  explicit RangeGather(EventLoop& loop) : FutureState<result_type>(&loop), GatherCore(*this, ReturnExc) {}

  bool cancel(std::string message) override { return cancel_children(message); }
  void for_each_awaited(void (*visit)(FutureBase&, void*), void* context) const override {
    visit_children(visit, context);
  }

  using GatherCore::add_child;
  using GatherCore::reserve;

  void start() {
    values_.resize(size());
    GatherCore::start();
  }

 private:
  using Value = gather_value_t<T>;

  bool take_early(std::size_t index, Slot& s) override {
    values_[index].emplace(take_value<T>(s));
    return true;
  }

  void set_results() override {
    result_type results;
    try {
      results.reserve(size());
      for (std::size_t i = 0; i < size(); ++i) {
        if (values_[i]) {
          if constexpr (ReturnExc) {
            results.push_back(Outcome<Value>::success(std::move(*values_[i])));
          } else {
            results.push_back(std::move(*values_[i]));
          }
        } else {
          results.push_back(take_item<ReturnExc, T>(slot(i)));
        }
      }
    } catch (...) {
      this->set_exception(std::current_exception());  // see VariadicGather::set_results
      return;
    }
    values_ = {};
    this->set_result(std::move(results));
  }

  std::vector<std::optional<Value>> values_;
};

/// A range whose elements are gather children.
template <class R>
concept GatherRange = std::ranges::input_range<R> && FlowChild<std::ranges::range_reference_t<R>>;

template <bool ReturnExc, class... As>
auto gather_variadic(As&&... args) {
  using State = VariadicGather<ReturnExc, child_value_t<As>...>;
  using Result = typename State::result_type;
  EventLoop* loop = nullptr;
  // Braced initialisation runs left to right: tasks are created in argument order, and the first
  // child fixes the loop, as in CPython.
  std::tuple<child_handle_t<As>...> children{ensure_child(loop, std::forward<As>(args))...};
  auto* state = new State(*loop);
  Future<Result> outer = Future<Result>::adopt(state);
  std::apply([state](auto&... h) { (state->add_child(h.state_ptr(), child_traits<As>::creates_task), ...); }, children);
  state->start();
  return outer;
}

template <bool ReturnExc, class R>
auto gather_range(R&& range) {
  using Ref = std::ranges::range_reference_t<R>;
  using State = RangeGather<ReturnExc, child_value_t<Ref>>;
  using Result = typename State::result_type;
  EventLoop* loop = nullptr;
  State* state = nullptr;
  Future<Result> outer;
  try {
    for (auto&& element : range) {
      child_handle_t<Ref> child = [&]() -> decltype(auto) {
        if constexpr (is_coro_type<std::remove_cvref_t<Ref>>::value) {
          return ensure_child(loop, std::move(element));  // the range's coroutines are consumed
        } else {
          return ensure_child(loop, element);  // handles and callables are copied
        }
      }();
      if (state == nullptr) {  // the first child fixed the loop
        state = new State(*loop);
        outer = Future<Result>::adopt(state);
        if constexpr (std::ranges::sized_range<R>) state->reserve(static_cast<std::size_t>(std::ranges::size(range)));
      }
      state->add_child(child.state_ptr(), child_traits<Ref>::creates_task);
    }
  } catch (...) {
    if (state != nullptr) state->abandon();
    throw;
  }
  if (state == nullptr) {  // gather of nothing: done at once with nothing
    Future<Result> done = get_running_loop().create_future<Result>();
    done.set_result();
    return done;
  }
  state->start();
  return outer;
}

}  // namespace detail

/// Python's asyncio.gather(*aws): a Future of std::tuple<R...>, one element per argument (void:
/// std::monostate). The first error or cancellation of a child is raised at once; see the top of
/// this file for every rule.
template <class... As>
requires(sizeof...(As) > 0 && (detail::FlowChild<As> && ...)) auto gather(As&&... args) {
  return detail::gather_variadic<false>(std::forward<As>(args)...);
}

/// Python's asyncio.gather(*aws, return_exceptions=True): a Future of std::tuple<Outcome<R>...>.
template <class... As>
requires(sizeof...(As) > 0 && (detail::FlowChild<As> && ...)) auto gather(ReturnExceptions, As&&... args) {
  return detail::gather_variadic<true>(std::forward<As>(args)...);
}

/// Python's asyncio.gather(*range): a Future of std::vector<R> in the range's order. The range's
/// Coros are moved out of it (each becomes a task); handles and callables are copied.
template <class R>
requires detail::GatherRange<R>
auto gather(R&& range) { return detail::gather_range<false>(std::forward<R>(range)); }

/// Python's asyncio.gather(*range, return_exceptions=True): a Future of std::vector<Outcome<R>>.
template <class R>
requires detail::GatherRange<R>
auto gather(ReturnExceptions, R&& range) { return detail::gather_range<true>(std::forward<R>(range)); }

/// Python's asyncio.gather() with no argument: a future already done with an empty tuple, on the
/// running loop (RuntimeError if none runs).
Future<std::tuple<>> gather();
/// gather(return_exceptions) with no child: the same.
Future<std::tuple<>> gather(ReturnExceptions);

}  // namespace asyncio

#pragma once
/// Generator<Y, S, R>: Python's generator, with send, throw, close and `yield from`.
///
///   Generator<int> count(int n) { for (int i = 0; i < n; ++i) co_yield i; }
///   Generator<int, int, std::string> echo() { int got = co_yield 0; ... co_return "done"; }
///   Generator<int, void, int> outer() { int r = co_yield yield_from(inner()); ... }
///
/// Y is what `co_yield` produces, S what `co_yield` receives from send() (void: nothing), R what
/// `co_return` ends with (Python's StopIteration.value). A Generator may not `co_await`.
///
/// Delegation (PEP 380): `co_yield yield_from(sub)` runs `sub` in place of the delegating generator
/// until it returns; its values go to the caller, the caller's send/throw_exception/close go to it,
/// and the expression's value is its return value. The outermost generator (the root) keeps a
/// pointer to the innermost active one (the leaf) and resumes the leaf directly, so a value costs
/// the same at any delegation depth; frames are entered from a loop in the root, never by nested
/// resumption, so a 1,000-deep chain uses no more stack than one generator.
///
/// Invariants (kept by the root promise):
///  - root_->leaf_ is the frame to resume next; every frame between root and leaf is suspended at a
///    `co_yield yield_from(...)` and owns its sub-generator through that expression's awaiter;
///  - root_->value_ is non-null exactly between a `co_yield` and the next resumption;
///  - root_->thrown_ is set only while an exception travels to the leaf's paused `co_yield`;
///  - during close(), in_close_ marks the frames that were on the chain when it began (PEP 380's
///    nested close() calls): a frame started by cleanup code is not one of them, so its return value
///    reaches its delegator normally, and a yield from it is blamed on the nearest marked frame.
///    throw_exception(GeneratorExit) into a delegator marks every frame but the root: the chain
///    below is closed, and the root then receives the exception itself (PEP 380).
///  - yield_from() checks its argument before taking it over: a generator that is running (a
///    frame delegating to itself, or to the generator whose next() runs it) is refused with
///    ValueError and stays with its owner.

#include <concepts>
#include <coroutine>
#include <cstddef>
#include <exception>
#include <iterator>
#include <optional>
#include <type_traits>
#include <utility>

#include "asyncio/detail/exception_is.hpp"
#include "asyncio/detail/frame_pool.hpp"
#include "asyncio/exceptions.hpp"

namespace asyncio {

/// Python's inspect.getgeneratorstate(): GEN_CREATED, GEN_RUNNING, GEN_SUSPENDED, GEN_CLOSED.
enum class GeneratorState { created, running, suspended, closed };

template <class Y, class S = void, class R = void>
class Generator;

/// The operand of `co_yield yield_from(sub)`: Python's `yield from sub`. Made by yield_from().
template <class G>
struct YieldFrom {
  G generator;
};

/// Delegates to `sub` (PEP 380): `R r = co_yield yield_from(std::move(sub));`. `sub` must have the
/// same value and send types as the delegating generator; its return type R may differ. A `sub`
/// that already ended gives its return value again (Python gives None, which an R cannot hold),
/// or InvalidStateError if it ended without one (closed, or ended by an exception).
/// ValueError("generator already executing") if `sub` is running (a generator delegating to
/// itself, or to the generator whose next() is running it), and ValueError for an empty `sub`;
/// either way `sub` is left as it was, since it is checked before it is taken over.
template <class Y, class S, class R>
[[nodiscard]] YieldFrom<Generator<Y, S, R>> yield_from(Generator<Y, S, R>&& sub) {
  auto* p = sub.base_promise();
  if (p == nullptr) throw ValueError("yield_from: the generator is empty (moved from)");
  if (p->running_) throw ValueError("yield_from: generator already executing");
  return {std::move(sub)};
}

namespace detail {

/// Whether `e` holds a GeneratorExit (or a class derived from it), as Python's isinstance check.
inline bool is_generator_exit(const std::exception_ptr& e) noexcept { return exception_is<GeneratorExit>(e); }

template <class S>
struct SentSlot {
  S* sent_ = nullptr;  // root: what send() passed, until the leaf's co_yield takes it
};
template <>
struct SentSlot<void> {};

template <class S>
struct NoneSlot {
  std::optional<S> none_;  // the default S a paused sub-generator receives when delegation starts
};
template <>
struct NoneSlot<void> {};

template <class Y, class S>
class GeneratorPromiseBase : public SentSlot<S> {
  static_assert(std::is_object_v<Y>, "Generator<Y>: Y must be an object type (not a reference or void)");

 public:
  static void* operator new(std::size_t size) { return frame_allocate(size); }
  static void operator delete(void* p, std::size_t size) noexcept { frame_deallocate(p, size); }

  std::suspend_always initial_suspend() noexcept { return {}; }

  struct FinalAwaiter {
    GeneratorPromiseBase* self;
    bool await_ready() noexcept { return false; }
    void await_suspend(std::coroutine_handle<>) noexcept {
      self->finished_ = true;
      if (self->parent_) self->root_->leaf_ = self->parent_;
    }
    void await_resume() noexcept {}
  };
  FinalAwaiter final_suspend() noexcept { return {this}; }

  void unhandled_exception() noexcept { error_ = std::current_exception(); }

  /// The awaiter of `co_yield value`: parks the value where the root's caller reads it, and on
  /// resumption raises what throw_exception()/close() sent, or returns what send() sent.
  class YieldAwaiter {
   public:
    explicit YieldAwaiter(GeneratorPromiseBase* self, Y* value) noexcept : self_(self), value_(value) {}
    bool await_ready() noexcept { return false; }
    void await_suspend(std::coroutine_handle<>) noexcept { self_->root_->value_ = value_; }
    S await_resume() {
      // Read the root now, not when the co_yield ran: yield_from may have re-rooted this frame.
      GeneratorPromiseBase* root = self_->root_;
      if (root->thrown_) std::rethrow_exception(std::exchange(root->thrown_, nullptr));
      if constexpr (!std::is_void_v<S>) return std::move(*root->sent_);
    }

   protected:
    GeneratorPromiseBase* self_;  // the yielding frame
    Y* value_;
  };

  /// `co_yield lvalue` copies the value into the awaiter, so the caller may move from it without
  /// touching the generator's own variable.
  class CopyYieldAwaiter : public YieldAwaiter {
   public:
    CopyYieldAwaiter(GeneratorPromiseBase* self, const Y& value) : YieldAwaiter(self, nullptr), copy_(value) {}
    void await_suspend(std::coroutine_handle<>) noexcept { this->self_->root_->value_ = &copy_; }

   private:
    Y copy_;
  };

  YieldAwaiter yield_value(Y&& value) noexcept { return YieldAwaiter{this, std::addressof(value)}; }
  CopyYieldAwaiter yield_value(const Y& value) requires std::copy_constructible<Y> {
    return CopyYieldAwaiter{this, value};
  }

  /// The awaiter of `co_yield yield_from(sub)`: links `sub` (and, if `sub` is itself paused in a
  /// delegation, its whole chain) below this frame; the chain's leaf becomes the root's leaf.
  template <class R2>
  class YieldFromAwaiter : private NoneSlot<S> {
   public:
    explicit YieldFromAwaiter(Generator<Y, S, R2>&& sub) : sub_(std::move(sub)) {}

    // yield_from() checked `sub` before it was moved here: nothing may throw once this awaiter
    // owns it, or its destruction would destroy a frame that is running.
    bool await_ready() noexcept { return sub_.base_promise()->finished_; }

    template <class P>
    void await_suspend(std::coroutine_handle<P> delegator) noexcept {
      GeneratorPromiseBase& self = delegator.promise();
      GeneratorPromiseBase& sub = *sub_.base_promise();
      GeneratorPromiseBase* leaf = sub.leaf_;
      for (GeneratorPromiseBase* f = leaf; f != &sub; f = f->parent_) f->root_ = self.root_;
      sub.root_ = self.root_;
      sub.parent_ = &self;
      if constexpr (!std::is_void_v<S>) {
        // Python's `yield from` starts with sub.send(None): a paused sub receives the default S.
        if (sub.started_) self.root_->sent_ = &this->none_.emplace();
      }
      sub.started_ = true;
      self.root_->leaf_ = leaf;
      delegator_ = &self;
    }

    R2 await_resume() {
      GeneratorPromiseBase& sub = *sub_.base_promise();
      GeneratorPromiseBase* root = sub.root_;
      const bool exit_pending = delegator_ != nullptr && std::exchange(delegator_->exit_pending_, false);
      if (root->thrown_) std::rethrow_exception(std::exchange(root->thrown_, nullptr));
      std::exception_ptr error = std::exchange(sub.error_, nullptr);
      // PEP 380: once close() ended the sub-generator (it returned, or let GeneratorExit out: close
      // swallows that one, as CPython's gen_close does), the delegator sees a GeneratorExit of its
      // own; the root of a throw_exception(GeneratorExit) sees the very exception it was given.
      if (exit_pending && (!error || is_generator_exit(error))) {
        if (delegator_ == root && root->exit_) std::rethrow_exception(std::exchange(root->exit_, nullptr));
        throw GeneratorExit();
      }
      if (error) std::rethrow_exception(std::move(error));
      if constexpr (!std::is_void_v<R2>) return sub_.take_return_value();
    }

   private:
    Generator<Y, S, R2> sub_;
    GeneratorPromiseBase* delegator_ = nullptr;
  };

  template <class R2>
  YieldFromAwaiter<R2> yield_value(YieldFrom<Generator<Y, S, R2>>&& from) {
    return YieldFromAwaiter<R2>{std::move(from.generator)};
  }

  /// `co_await` has no meaning in a generator (Python forbids `await` in a plain generator too).
  template <class U>
  void await_transform(U&&) = delete;

  // --- state, shared between the frames of one delegation chain ---
  std::coroutine_handle<> handle_;
  GeneratorPromiseBase* root_ = this;
  GeneratorPromiseBase* leaf_ = this;  // meaningful on the root
  GeneratorPromiseBase* parent_ = nullptr;
  Y* value_ = nullptr;         // root: the value the leaf yielded
  std::exception_ptr thrown_;  // root: to raise at the leaf's co_yield
  std::exception_ptr error_;   // this frame: the exception its body ended with
  std::exception_ptr exit_;    // root: the GeneratorExit given to throw_exception while delegating
  bool started_ = false;
  bool running_ = false;       // root: inside next/send/throw_exception/close
  bool finished_ = false;      // this frame: the body ended (or was closed before starting)
  bool closing_ = false;       // root: inside close(), or throw_exception(GeneratorExit) while delegating
  bool in_close_ = false;      // this frame was on the chain when close() began, and is being closed
  bool exit_pending_ = false;  // this frame still gets GeneratorExit when its sub returns
};

template <class Y, class S, class R>
class GeneratorPromise : public GeneratorPromiseBase<Y, S> {
 public:
  Generator<Y, S, R> get_return_object() noexcept;

  template <class U>
  requires std::convertible_to<U, R>
  void return_value(U&& value) { result_.emplace(std::forward<U>(value)); }

  std::optional<R> result_;
};

template <class Y, class S>
class GeneratorPromise<Y, S, void> : public GeneratorPromiseBase<Y, S> {
 public:
  Generator<Y, S, void> get_return_object() noexcept;
  void return_void() noexcept {}
};

}  // namespace detail

template <class Y, class S, class R>
class [[nodiscard]] Generator {
 public:
  using promise_type = detail::GeneratorPromise<Y, S, R>;
  using value_type = Y;
  using send_type = S;
  using return_type = R;

  /// An empty generator (state() == closed); a moved-from generator is empty too.
  Generator() noexcept = default;
  Generator(Generator&& other) noexcept : handle_(std::exchange(other.handle_, nullptr)) {}
  Generator& operator=(Generator&& other) noexcept {
    if (this != &other) {
      destroy();
      handle_ = std::exchange(other.handle_, nullptr);
    }
    return *this;
  }
  Generator(const Generator&) = delete;
  Generator& operator=(const Generator&) = delete;

  /// Destroys the frame without running more of the body: locals are destroyed (RAII is C++'s
  /// `finally`), but no GeneratorExit is raised; call close() first for Python's behaviour on
  /// garbage collection.
  ~Generator() { destroy(); }

  /// created before the first next(), running inside next/send/throw_exception/close, suspended at
  /// a co_yield, closed once the body ended (or it was closed, or it is empty).
  [[nodiscard]] GeneratorState state() const noexcept {
    if (!handle_) return GeneratorState::closed;
    const auto& p = handle_.promise();
    if (p.finished_) return GeneratorState::closed;
    if (p.running_) return GeneratorState::running;
    return p.started_ ? GeneratorState::suspended : GeneratorState::created;
  }

  /// Python's next(gen): runs to the next co_yield and returns its value; empty when the body
  /// ended (the return value is then return_value()). A generator with a send type S receives S{}
  /// at its co_yield, as a Python generator receives None. Exceptions of the body propagate and
  /// close the generator.
  std::optional<Y> next() requires(std::is_void_v<S> || std::default_initializable<S>) {
    if (!advance_default()) return std::nullopt;
    return std::optional<Y>(std::move(*handle_.promise().value_));
  }

  /// Python's gen.send(value): resumes the paused co_yield with `value` and returns the next value.
  /// Throws TypeError on a just-started generator (prime it with next() first, as Python requires
  /// send(None)), ValueError while it runs; on a closed generator returns empty.
  template <class U = S>
  requires(!std::is_void_v<U>) std::optional<Y> send(std::type_identity_t<U> value) {
    if (!handle_ || handle_.promise().finished_) return std::nullopt;
    check_not_running();
    auto& p = handle_.promise();
    if (!p.started_) throw TypeError("can't send a value to a just-started generator; prime it with next()");
    p.sent_ = &value;
    if (!resume()) return std::nullopt;
    return std::optional<Y>(std::move(*p.value_));
  }

  /// Python's gen.throw(exc): raises `exception` at the paused co_yield (of the innermost delegate)
  /// and returns the next value the generator yields, or empty if it returns. If the generator does
  /// not catch it, it propagates out of this call. A generator that never started is closed and the
  /// exception propagates at once: its body never runs.
  std::optional<Y> throw_exception(std::exception_ptr exception) {
    if (!exception) throw TypeError("throw_exception: the exception_ptr is null");
    if (!handle_ || handle_.promise().finished_) std::rethrow_exception(exception);
    check_not_running();
    auto& p = handle_.promise();
    if (!p.started_) {
      p.finished_ = true;
      std::rethrow_exception(exception);
    }
    if (p.leaf_ != &p && detail::is_generator_exit(exception)) {
      // PEP 380: GeneratorExit thrown into a delegator closes its sub-generator (close(), with
      // close's rules for every frame below) and is then raised in the delegator itself.
      p.exit_ = exception;
      if (!resume_closing(/*root_closes=*/false)) return std::nullopt;
      return std::optional<Y>(std::move(*p.value_));
    }
    p.thrown_ = std::move(exception);
    if (!resume()) return std::nullopt;
    return std::optional<Y>(std::move(*p.value_));
  }

  /// throw_exception(std::make_exception_ptr(exception)).
  template <class E>
  requires(!std::is_same_v<std::remove_cvref_t<E>, std::exception_ptr>) std::optional<Y> throw_exception(
      E&& exception) {
    return throw_exception(std::make_exception_ptr(std::forward<E>(exception)));
  }

  /// Python's gen.close(): raises GeneratorExit at the paused co_yield. Returns normally if the
  /// generator returns or lets GeneratorExit propagate; throws RuntimeError if it yields again
  /// ("generator ignored GeneratorExit"); other exceptions propagate. A generator that never started
  /// is closed without running its body; closing a closed generator does nothing.
  void close() {
    if (!handle_ || handle_.promise().finished_) return;
    check_not_running();
    auto& p = handle_.promise();
    if (!p.started_) {
      p.finished_ = true;
      return;
    }
    bool yielded = false;
    try {
      yielded = resume_closing(/*root_closes=*/true);
    } catch (const GeneratorExit&) {
      return;
    }
    if (yielded) {
      p.value_ = nullptr;
      throw RuntimeError("generator ignored GeneratorExit");
    }
  }

  /// The value of the body's `co_return` (Python's StopIteration.value). Throws InvalidStateError
  /// if the body has not returned a value (still running, closed early, or ended by an exception).
  template <class U = R>
  requires(!std::is_void_v<U>) U& return_value() {
    if (!handle_ || !handle_.promise().result_) throw InvalidStateError("the generator has not returned a value");
    return *handle_.promise().result_;
  }

  /// Moves the return value out (used by yield_from).
  template <class U = R>
  requires(!std::is_void_v<U>) U take_return_value() { return std::move(return_value()); }

  // --- iteration: Generator is a std::ranges::input_range ---
  class iterator {
   public:
    using value_type = Y;
    using difference_type = std::ptrdiff_t;
    using iterator_concept = std::input_iterator_tag;

    iterator() noexcept = default;
    explicit iterator(Generator* gen) noexcept : gen_(gen) {}

    Y& operator*() const noexcept { return *gen_->handle_.promise().value_; }
    Y* operator->() const noexcept { return gen_->handle_.promise().value_; }
    iterator& operator++() {
      gen_->advance_default();
      return *this;
    }
    void operator++(int) { ++*this; }
    friend bool operator==(const iterator& it, std::default_sentinel_t) noexcept {
      return it.gen_ == nullptr || it.gen_->state() == GeneratorState::closed;
    }

   private:
    Generator* gen_ = nullptr;
  };

  /// Advances to the next value (as Python's for-loop calls next() first) and returns an iterator
  /// to it; the values are references into the generator, valid until the next advance.
  iterator begin() requires(std::is_void_v<S> || std::default_initializable<S>) {
    advance_default();
    return iterator{this};
  }
  std::default_sentinel_t end() const noexcept { return {}; }

  // For yield_from: the promise seen as the chain's base type (null when empty).
  detail::GeneratorPromiseBase<Y, S>* base_promise() const noexcept { return handle_ ? &handle_.promise() : nullptr; }

 private:
  friend promise_type;
  explicit Generator(std::coroutine_handle<promise_type> h) noexcept : handle_(h) {}

  void destroy() noexcept {
    if (handle_) {
      handle_.destroy();
      handle_ = nullptr;
    }
  }

  void check_not_running() const {
    if (handle_.promise().running_) throw ValueError("generator already executing");
  }

  // next() without building an optional: the value stays in place for the iterator.
  [[gnu::always_inline]] bool advance_default() {
    if (!handle_ || handle_.promise().finished_) return false;
    check_not_running();
    auto& p = handle_.promise();
    if constexpr (!std::is_void_v<S>) {
      if (p.started_) {
        S none{};
        p.sent_ = &none;
        return resume();
      }
    }
    return resume();
  }

  // Runs the chain until a frame yields (true) or the root ends (false, or its exception). Forced
  // inline (with next/send): clang otherwise keeps two calls with register saves per value.
  [[gnu::always_inline]] bool resume() {
    auto& root = handle_.promise();
    root.started_ = true;
    root.running_ = true;
    root.value_ = nullptr;
    for (;;) {
      detail::GeneratorPromiseBase<Y, S>* leaf = root.leaf_;
      leaf->handle_.resume();
      if (root.value_) [[likely]] {
        if (root.closing_) [[unlikely]] {
          if (blame_ignored_close(leaf)) continue;
        }
        root.running_ = false;
        return true;
      }
      if (root.finished_) {
        root.running_ = false;
        if (root.error_) std::rethrow_exception(std::exchange(root.error_, nullptr));
        return false;
      }
    }
  }

  // Raises a fresh GeneratorExit at the leaf, every frame below the root being closed as PEP 380's
  // nested close() calls close it: a delegate that yields instead makes RuntimeError appear in its
  // delegator, one that returns still leaves its delegator with GeneratorExit. With `root_closes`
  // (close()) the root is closed too; without (throw_exception(GeneratorExit) into a delegator)
  // the root gets the exception in root.exit_ once its sub-generator is closed, and may catch it
  // and yield. Returns as resume() does.
  bool resume_closing(bool root_closes) {
    auto& p = handle_.promise();
    p.closing_ = true;
    for (auto* f = p.leaf_; f != nullptr; f = f->parent_) {
      f->in_close_ = root_closes || f != &p;
      f->exit_pending_ = f != p.leaf_;
    }
    struct Clear {
      promise_type& p;
      ~Clear() {
        p.closing_ = false;
        p.exit_ = nullptr;
        for (auto* f = p.leaf_; f != nullptr; f = f->parent_) f->in_close_ = f->exit_pending_ = false;
      }
    } clear{p};
    p.thrown_ = std::make_exception_ptr(GeneratorExit());
    return resume();
  }

  // A frame yielded while the chain was being closed. If the nearest frame being closed is a
  // delegate, PEP 380 raises RuntimeError in its delegator: arrange that and return true (the
  // loop goes on). If it is the root, or no frame above the yield is being closed (the root of a
  // throw_exception(GeneratorExit) caught it and yields), return false: an ordinary yield, which
  // close() reports. Out of line: the hot loop above stays small enough to inline.
  [[gnu::cold, gnu::noinline]] bool blame_ignored_close(detail::GeneratorPromiseBase<Y, S>* leaf) {
    auto& root = handle_.promise();
    detail::GeneratorPromiseBase<Y, S>* closed = leaf;
    while (closed != nullptr && !closed->in_close_) closed = closed->parent_;
    if (closed == nullptr || closed == &root) return false;
    root.value_ = nullptr;
    root.leaf_ = closed->parent_;
    root.thrown_ = std::make_exception_ptr(RuntimeError("generator ignored GeneratorExit"));
    return true;
  }

  std::coroutine_handle<promise_type> handle_;
};

namespace detail {
template <class Y, class S, class R>
Generator<Y, S, R> GeneratorPromise<Y, S, R>::get_return_object() noexcept {
  auto h = std::coroutine_handle<GeneratorPromise>::from_promise(*this);
  this->handle_ = h;
  return Generator<Y, S, R>{h};
}
template <class Y, class S>
Generator<Y, S, void> GeneratorPromise<Y, S, void>::get_return_object() noexcept {
  auto h = std::coroutine_handle<GeneratorPromise>::from_promise(*this);
  this->handle_ = h;
  return Generator<Y, S, void>{h};
}
}  // namespace detail

}  // namespace asyncio

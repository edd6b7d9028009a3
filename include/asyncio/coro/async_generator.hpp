#pragma once
/// AsyncGenerator<Y, S>: Python's asynchronous generator (`async def` with both `await` and
/// `yield`, PEP 525), with asend, athrow and aclose.
///
///   AsyncGenerator<int> ticks(int n) {
///     for (int i = 0; i < n; ++i) {
///       co_await asyncio::sleep(1);
///       co_yield i;
///     }
///   }
///   ...
///   auto gen = ticks(3);
///   while (std::optional<int> i = co_await gen.next()) use(*i);   // Python's `async for i in gen`
///
/// Y is what `co_yield` produces; S what `co_yield` receives from asend() (void: nothing). The
/// body may `co_await` whatever a Coro may (it runs in the task that awaits next(), asend(),
/// athrow() or aclose(), as Python's runs in the task that awaits `__anext__`).
///
/// Iteration: `co_await gen.next()` gives the next value, or an empty optional once the body has
/// ended (Python's `async for` loop ends there); `co_await gen.anext()` gives the value and raises
/// StopAsyncIteration instead, as Python's `anext(gen)`. An exception from the body propagates out
/// of the call that resumed it and ends the generator.
///
/// Cleanup that awaits: C++ allows no `co_await` inside a catch handler, so a body that must await
/// on aclose() (Python's `finally: await conn.close()`) keeps the GeneratorExit and awaits after
/// the handler:
///
///   std::exception_ptr exit;
///   try { ... co_yield row; ... } catch (const GeneratorExit&) { exit = std::current_exception(); }
///   co_await conn.close();
///   if (exit) std::rethrow_exception(exit);
///
/// Finalization, as asyncio's hooks (sys.set_asyncgen_hooks): the first next()/asend() made while
/// a loop runs registers the generator with that loop. An AsyncGenerator destroyed while paused at
/// a `co_yield` (abandoned by a `break`, say) is not destroyed at once: aclose() runs on its loop
/// in a task of its own, so the body's cleanup may still `co_await`; an error from it goes to the
/// loop's exception handler. `asyncio::run` and `Runner` close every generator still paused when
/// the main coroutine ends (`shutdown_asyncgens`). A generator never registered with a loop (never
/// iterated inside one), or destroyed after its loop closed, has its frame destroyed: its locals'
/// destructors run, no more of its body does.
///
/// Invariants (kept by the promise):
///  - running_ is true from the moment an operation resumes the frame until the frame reaches a
///    `co_yield` or its end; an operation begun meanwhile is refused with RuntimeError, as
///    Python's "asynchronous generator is already running";
///  - value_ is non-null exactly between a `co_yield` and the await_resume of the operation that
///    ran to it, which moves the value out;
///  - thrown_ is set only while an exception sent by athrow()/aclose() travels to the paused
///    `co_yield`;
///  - finished_ once the body ended, or an operation ended it before it started (athrow, aclose);
///  - the frame is linked into its loop's registry (AsyncGenNode) from its first operation inside
///    a running loop until it is destroyed or the loop goes.

#include <atomic>
#include <bit>
#include <coroutine>
#include <cstdint>
#include <cstring>
#include <exception>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>

#include "asyncio/coro/coro.hpp"
#include "asyncio/coro/detail/async_gen_registry.hpp"
#include "asyncio/coro/generator.hpp"
#include "asyncio/exceptions.hpp"

namespace asyncio {

template <class Y, class S = void>
class AsyncGenerator;

namespace detail {

template <class S>
struct AsyncSentSlot {
  S* sent_ = nullptr;  // what asend() passed, until the paused co_yield takes it
};
template <>
struct AsyncSentSlot<void> {};

template <class Y, class S>
class AsyncGenPromise final : public CoroPromiseBase, public AsyncGenNode, public AsyncSentSlot<S> {
  static_assert(std::is_object_v<Y>, "AsyncGenerator<Y>: Y must be an object type (not a reference or void)");

 public:
  using handle_type = std::coroutine_handle<AsyncGenPromise>;

  explicit AsyncGenPromise(CoroOrigin origin = CoroOrigin()) noexcept : CoroPromiseBase(origin) {
    make_aclose = &aclose_node;
    closable = &closable_node;
    function = origin.function;
  }
  AsyncGenPromise(const AsyncGenPromise&) = delete;
  AsyncGenPromise& operator=(const AsyncGenPromise&) = delete;
  ~AsyncGenPromise() {
    if (registry != nullptr) registry->remove(*this);
  }

  AsyncGenerator<Y, S> get_return_object() noexcept;
  void return_void() noexcept {}
  void unhandled_exception() noexcept { error_ = std::current_exception(); }

  /// Back to whoever resumed the frame: the operation's awaiter, or the task's driver (which
  /// then resumes the awaiting frame), or the awaiting frame itself when a callback woke this one
  /// outside any task.
  std::coroutine_handle<> hand_back() noexcept {
    running_ = false;
    if (driver_ != nullptr) {
      driver_->current = continuation_;
      return std::noop_coroutine();
    }
    if (resumed_inline_ || !continuation_) return std::noop_coroutine();
    return continuation_;
  }

  struct FinalAwaiter {
    bool await_ready() const noexcept { return false; }
    std::coroutine_handle<> await_suspend(handle_type self) const noexcept {
      self.promise().finished_ = true;
      return self.promise().hand_back();
    }
    void await_resume() const noexcept {}
  };
  FinalAwaiter final_suspend() noexcept { return {}; }

  /// The awaiter of `co_yield value`: parks the value where the operation reads it, and on
  /// resumption raises what athrow()/aclose() sent, or returns what asend() sent.
  class YieldAwaiter {
   public:
    YieldAwaiter(AsyncGenPromise* self, Y* value) noexcept : self_(self), value_(value) {}
    bool await_ready() const noexcept { return false; }
    std::coroutine_handle<> await_suspend(handle_type) noexcept {
      self_->value_ = value_;
      return self_->hand_back();
    }
    S await_resume() {
      if (self_->thrown_) std::rethrow_exception(std::exchange(self_->thrown_, nullptr));
      if constexpr (!std::is_void_v<S>) return std::move(*self_->sent_);
    }

   protected:
    AsyncGenPromise* self_;
    Y* value_;
  };

  /// `co_yield lvalue` copies the value, so the consumer may move from it.
  class CopyYieldAwaiter : public YieldAwaiter {
   public:
    CopyYieldAwaiter(AsyncGenPromise* self, const Y& value) : YieldAwaiter(self, nullptr), copy_(value) {}
    std::coroutine_handle<> await_suspend(handle_type) noexcept {
      this->self_->value_ = &copy_;
      return this->self_->hand_back();
    }

   private:
    Y copy_;
  };

  YieldAwaiter yield_value(Y&& value) noexcept { return YieldAwaiter{this, std::addressof(value)}; }
  CopyYieldAwaiter yield_value(const Y& value) requires std::copy_constructible<Y> {
    return CopyYieldAwaiter{this, value};
  }

  [[nodiscard]] handle_type handle() noexcept { return handle_type::from_promise(*this); }

  Y* value_ = nullptr;
  std::exception_ptr thrown_;  // for the paused co_yield to raise
  std::exception_ptr error_;   // what the body ended with, until an operation reports it
  bool running_ = false;
  bool finished_ = false;
  bool finalizing_ = false;  // owned by the closer a finalizer scheduled: never scheduled twice

 private:
  static Coro<void> aclose_node(AsyncGenNode& node);
  static bool closable_node(const AsyncGenNode& node) noexcept {
    const auto& p = static_cast<const AsyncGenPromise&>(node);
    return p.started_ && !p.running_ && !p.finished_;
  }
};

/// What an operation does to the paused generator.
enum class AsyncGenOpKind { next, send, raise, close };

/// Whether an engaged std::optional<Y> can be made with one store: Y a 4-byte trivially copyable
/// type and the optional laid out as the value then the engaged flag (libstdc++ and libc++ both;
/// tests/coro check it). Built by parts, g++ writes the value and the flag separately and the
/// awaiting coroutine then copies the optional with one 8-byte load, which cannot be forwarded
/// from the two narrower stores: a stall of a dozen cycles on every value.
template <class Y>
inline constexpr bool kPackedOptional = std::endian::native == std::endian::little&& std::is_trivially_copyable_v<Y> &&
                                        sizeof(Y) == 4 &&
                                        sizeof(std::optional<Y>) == 8 && std::is_trivially_copyable_v<std::optional<Y>>;

/// An engaged std::optional<Y> holding `value`, made from one 8-byte word (see kPackedOptional).
template <class Y>
std::optional<Y> packed_optional(const Y& value) noexcept {
  static_assert(kPackedOptional<Y>);
  std::uint64_t bits = std::uint64_t{1} << 32;  // the engaged flag, right after the value
  std::memcpy(&bits, &value, sizeof(Y));        // little-endian: the value's bytes come first
  return std::bit_cast<std::optional<Y>>(bits);
}

/// The awaiter of next(), anext(), asend(), athrow() and aclose(): resumes the generator's frame in
/// place of the awaiting one (as CoroAwaiter starts a Coro), and gives what it yielded, or reports
/// how it ended.
template <class Y, class S, AsyncGenOpKind kind, bool raise_at_end = false>
class AsyncGenOp {
  using promise_type = AsyncGenPromise<Y, S>;
  using handle_type = std::coroutine_handle<promise_type>;
  static constexpr bool sends = !std::is_void_v<S> && (kind == AsyncGenOpKind::send || kind == AsyncGenOpKind::next);
  using sent_type = std::conditional_t<sends, S, char>;

 public:
  static constexpr bool asyncio_awaiter = true;
  using result_type =
      std::conditional_t<kind == AsyncGenOpKind::close, void, std::conditional_t<raise_at_end, Y, std::optional<Y>>>;

  AsyncGenOp(handle_type h, const char* op_name) noexcept : h_(h), op_name_(op_name) {}
  AsyncGenOp(handle_type h, const char* op_name, sent_type sent) : h_(h), op_name_(op_name), sent_(std::move(sent)) {}
  AsyncGenOp(handle_type h, const char* op_name, std::exception_ptr thrown) noexcept
      : h_(h), op_name_(op_name), thrown_(std::move(thrown)) {}

  bool await_ready() {
    if (!h_) throw RuntimeError(std::string(op_name_) + "(): the async generator is empty (moved from)");
    promise_type& p = h_.promise();
    if (p.running_) throw RuntimeError(std::string(op_name_) + "(): asynchronous generator is already running");
    if (p.finished_) {
      ended_ = true;
      return true;
    }
    if (!p.started_) {
      if constexpr (kind == AsyncGenOpKind::send) {
        throw TypeError("can't send a value to a just-started async generator; start it with next()");
      } else if constexpr (kind == AsyncGenOpKind::raise || kind == AsyncGenOpKind::close) {
        // As Python: the body never runs; athrow's exception comes out of the call at once.
        p.finished_ = true;
        ended_ = true;
        if constexpr (kind == AsyncGenOpKind::raise) std::rethrow_exception(thrown_);
        return true;
      } else {
        if (p.registry == nullptr) {
          if (auto hook = asyncgen_firstiter_hook.load(std::memory_order_relaxed)) hook(p);
        }
      }
    }
    return false;
  }

  template <class P>
  bool await_suspend(std::coroutine_handle<P> awaiting) {
    promise_type& p = h_.promise();
    p.started_ = true;
    p.running_ = true;
    p.continuation_ = awaiting;
    if constexpr (sends) p.sent_ = &sent_;
    if constexpr (kind == AsyncGenOpKind::raise || kind == AsyncGenOpKind::close) p.thrown_ = thrown_;
    Driver* d = nullptr;
    if constexpr (std::is_base_of_v<CoroPromiseBase, P>) d = awaiting.promise().driver_;
    p.driver_ = d;
    if (d != nullptr) {
      if (d->inline_budget == 0) {  // deep: the driver's loop resumes the generator
        d->current = h_;
        return true;
      }
      --d->inline_budget;
      h_.resume();
      ++d->inline_budget;
      return p.running_;  // yielded or ended: this frame goes on at once (it is current again)
    }
    p.resumed_inline_ = true;
    h_.resume();
    if (!p.running_) return false;
    p.resumed_inline_ = false;
    return true;
  }

  result_type await_resume() {
    promise_type& p = h_.promise();
    if (!ended_ && !p.finished_) [[likely]] {
      // It yielded.
      Y* value = std::exchange(p.value_, nullptr);
      if constexpr (kind == AsyncGenOpKind::close) {
        (void)value;
        throw RuntimeError("async generator ignored GeneratorExit");
      } else if constexpr (raise_at_end) {
        return std::move(*value);
      } else if constexpr (kPackedOptional<Y>) {
        return packed_optional(*value);
      } else {
        return std::optional<Y>(std::move(*value));
      }
    }
    return ended();
  }

 private:
  // Out of line, so that the value path above is small enough to inline into the awaiting
  // coroutine: returned from a call, g++ builds a std::optional<int> with two narrow stores and
  // reloads it with one wide load, which stalls store forwarding (half the time of a next()).
  [[gnu::noinline]] result_type ended() {
    promise_type& p = h_.promise();
    std::exception_ptr error = std::exchange(p.error_, nullptr);
    if (error) {
      if (exception_is<StopAsyncIteration>(error)) {
        // PEP 479's rule for async generators: a StopAsyncIteration escaping the body is a bug.
        if constexpr (kind == AsyncGenOpKind::close) {
          return;
        } else {
          throw RuntimeError("async generator raised StopAsyncIteration");
        }
      }
      if constexpr (kind == AsyncGenOpKind::close) {
        if (is_generator_exit(error)) return;
      }
      std::rethrow_exception(error);
    }
    if constexpr (kind == AsyncGenOpKind::close) {
      return;
    } else if constexpr (raise_at_end) {
      throw StopAsyncIteration();
    } else {
      return std::nullopt;
    }
  }

  handle_type h_;
  const char* op_name_;
  sent_type sent_{};
  std::exception_ptr thrown_;
  bool ended_ = false;  // finished before this operation: nothing was resumed
};

template <class Y, class S>
Coro<void> AsyncGenPromise<Y, S>::aclose_node(AsyncGenNode& node) {
  auto& p = static_cast<AsyncGenPromise&>(node);
  co_await AsyncGenOp<Y, S, AsyncGenOpKind::close>(p.handle(), "aclose", std::make_exception_ptr(GeneratorExit()));
}

}  // namespace detail

template <class Y, class S>
class [[nodiscard]] AsyncGenerator {
 public:
  using promise_type = detail::AsyncGenPromise<Y, S>;
  using handle_type = std::coroutine_handle<promise_type>;
  using value_type = Y;
  using send_type = S;

  /// An empty generator (state() == closed); a moved-from generator is empty too.
  AsyncGenerator() noexcept = default;
  AsyncGenerator(AsyncGenerator&& other) noexcept : h_(std::exchange(other.h_, nullptr)) {}
  AsyncGenerator& operator=(AsyncGenerator&& other) noexcept {
    if (this != &other) {
      destroy();
      h_ = std::exchange(other.h_, nullptr);
    }
    return *this;
  }
  AsyncGenerator(const AsyncGenerator&) = delete;
  AsyncGenerator& operator=(const AsyncGenerator&) = delete;

  /// A generator paused at a `co_yield` is closed on its loop (aclose() in a task of its own); any
  /// other is destroyed here. See the file comment.
  ~AsyncGenerator() { destroy(); }

  /// created before the first operation, running while an operation runs its body (also while the
  /// body awaits), suspended at a co_yield, closed once the body ended (or it is empty).
  [[nodiscard]] GeneratorState state() const noexcept {
    if (!h_) return GeneratorState::closed;
    const auto& p = h_.promise();
    if (p.finished_) return GeneratorState::closed;
    if (p.running_) return GeneratorState::running;
    return p.started_ ? GeneratorState::suspended : GeneratorState::created;
  }

  /// `co_await gen.next()`: runs the body to its next `co_yield` and gives the value; empty once
  /// the body has ended. A generator with a send type receives S{} at its co_yield (Python's
  /// `__anext__` sends None). RuntimeError while another operation runs the body.
  auto next() requires(std::is_void_v<S> || std::default_initializable<S>) {
    if constexpr (std::is_void_v<S>) {
      return detail::AsyncGenOp<Y, S, detail::AsyncGenOpKind::next>(h_, "anext");
    } else {
      return detail::AsyncGenOp<Y, S, detail::AsyncGenOpKind::next>(h_, "anext", S{});
    }
  }

  /// Python's `await anext(gen)`: as next(), but the end of the body raises StopAsyncIteration.
  auto anext() requires(std::is_void_v<S>) {
    return detail::AsyncGenOp<Y, S, detail::AsyncGenOpKind::next, true>(h_, "anext");
  }

  /// Python's `await gen.asend(value)`: resumes the paused co_yield with `value`; gives the next
  /// value, or empty once the body ended. TypeError on a just-started generator (start it with
  /// next(), as Python requires asend(None) first).
  template <class U = S>
  requires(!std::is_void_v<U>) auto asend(std::type_identity_t<U> value) {
    return detail::AsyncGenOp<Y, S, detail::AsyncGenOpKind::send>(h_, "asend", std::move(value));
  }

  /// Python's `await gen.athrow(exc)`: raises `exception` at the paused co_yield; gives the value
  /// the body yields next, or empty if it ends. An exception the body lets out propagates. On a
  /// just-started generator the body never runs: the exception comes out at once and the
  /// generator is closed. On a closed one: empty.
  auto athrow(std::exception_ptr exception) {
    if (!exception) throw TypeError("athrow: the exception_ptr is null");
    return detail::AsyncGenOp<Y, S, detail::AsyncGenOpKind::raise>(h_, "athrow", std::move(exception));
  }
  template <class E>
  requires(!std::is_same_v<std::decay_t<E>, std::exception_ptr>) auto athrow(E&& exception) {
    return athrow(std::make_exception_ptr(std::forward<E>(exception)));
  }

  /// Python's `await gen.aclose()`: raises GeneratorExit at the paused co_yield and runs the body's
  /// cleanup (which may await). RuntimeError("async generator ignored GeneratorExit") if the body
  /// yields again; another exception from the body propagates. Nothing to do on a generator that
  /// never started (it is closed without running) or has ended.
  auto aclose() {
    return detail::AsyncGenOp<Y, S, detail::AsyncGenOpKind::close>(h_, "aclose",
                                                                   std::make_exception_ptr(GeneratorExit()));
  }

  /// The name of the generator function ("operator()" for a lambda).
  [[nodiscard]] const char* name() const noexcept { return h_ ? h_.promise().origin().function : ""; }

  /// True unless empty.
  [[nodiscard]] explicit operator bool() const noexcept { return static_cast<bool>(h_); }

 private:
  friend promise_type;
  explicit AsyncGenerator(handle_type h) noexcept : h_(h) {}

  static Coro<void> close_abandoned(handle_type h) {
    AsyncGenerator owner(h);  // destroys the frame when the close is done, however it ends
    co_await owner.aclose();
  }

  void destroy() noexcept {
    if (!h_) return;
    promise_type& p = h_.promise();
    if (p.started_ && !p.finished_ && !p.running_ && !p.finalizing_ && p.registry != nullptr) {
      if (auto hook = detail::asyncgen_finalizer_hook.load(std::memory_order_relaxed)) {
        p.finalizing_ = true;
        Coro<void> closer = close_abandoned(h_);
        if (hook(p, closer)) {
          h_ = nullptr;
          return;
        }
        // Not scheduled: the closer never ran, so it owns nothing yet.
        if (auto unstarted = closer.release()) unstarted.destroy();
      }
    }
    h_.destroy();
    h_ = nullptr;
  }

  handle_type h_;
};

namespace detail {
template <class Y, class S>
AsyncGenerator<Y, S> AsyncGenPromise<Y, S>::get_return_object() noexcept {
  return AsyncGenerator<Y, S>{handle()};
}
}  // namespace detail

}  // namespace asyncio

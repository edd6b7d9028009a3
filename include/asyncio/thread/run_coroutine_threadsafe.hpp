#pragma once
/// run_coroutine_threadsafe(coro, loop): Python's asyncio.run_coroutine_threadsafe. From any thread,
/// runs `coro` in a task on `loop` and returns a ConcurrentFuture the calling thread can block on.
/// Cancelling that future cancels the task (on the loop's thread).
///
///   // in a worker thread:
///   auto f = asyncio::run_coroutine_threadsafe(fetch(url), loop);
///   std::string body = f.result();

#include <memory>
#include <string>
#include <utility>

#include "asyncio/coro/coro.hpp"
#include "asyncio/loop/event_loop.hpp"
#include "asyncio/task/task.hpp"
#include "asyncio/thread/concurrent_future.hpp"

namespace asyncio {

template <class T>
ConcurrentFuture<T> run_coroutine_threadsafe(Coro<T> coro, EventLoop& loop) {
  using State = detail::ConcurrentState<T>;
  using Status = typename State::Status;
  auto state = std::make_shared<State>();
  loop.call_soon_threadsafe([state, &loop, coro = std::move(coro)]() mutable {
    {
      std::lock_guard lock(state->mutex);
      if (state->status == Status::cancelled) return;  // cancelled before it could start
    }
    Task<T> task;
    try {
      task = create_task(loop, std::move(coro));
    } catch (...) {
      auto error = std::current_exception();
      state->settle(
          Status::finished, [&] { state->error = error; }, state);
      return;
    }
    // `slot` is read and written on the loop thread only (the posted cancel and the done-callback);
    // the task's count is not atomic, so its reference is taken and dropped there too.
    auto slot = std::make_shared<detail::FutureBase*>(task.state_ptr());
    (*slot)->retain();
    task.add_done_callback([state, slot](Task<T>& t) {
      std::exchange(*slot, nullptr)->release();
      if (t.cancelled()) {
        state->settle(
            Status::cancelled, [] {}, state);
      } else if (auto e = t.exception()) {
        state->settle(
            Status::finished, [&] { state->error = e; }, state);
      } else if constexpr (std::is_void_v<T>) {
        state->settle(
            Status::finished, [] {}, state);
      } else {
        state->settle(
            Status::finished, [&] { state->value.emplace(std::move(t.result())); }, state);
      }
    });
    // "running" and the cancel hook appear together, so a cancel() either finds the future pending
    // (and settles it; the task is then cancelled here) or finds the hook.
    bool cancelled_meanwhile = false;
    {
      std::lock_guard lock(state->mutex);
      if (state->status == Status::cancelled) {
        cancelled_meanwhile = true;
      } else {
        state->status = Status::running;
        state->cancel_hook = [slot, &loop] {
          try {
            loop.call_soon_threadsafe([slot] {
              if (*slot) (*slot)->cancel(std::string());
            });
          } catch (const RuntimeError&) {  // the loop is closed: nothing left to cancel
          }
        };
      }
    }
    if (cancelled_meanwhile) task.cancel();
  });
  return ConcurrentFuture<T>(std::move(state));
}

}  // namespace asyncio

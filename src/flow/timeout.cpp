#include "asyncio/flow/timeout.hpp"

#include <cmath>
#include <cstdio>

#include "asyncio/detail/describe.hpp"

namespace asyncio {

namespace detail {

void raise_timeout_error(std::exception_ptr cause) {
  try {
    std::rethrow_exception(std::move(cause));
  } catch (...) {
    // std::throw_with_nested keeps the CancelledError (current here) inside the TimeoutError.
    std::throw_with_nested(TimeoutError("timeout expired"));
  }
}

}  // namespace detail

namespace {
const char* state_name(int state) {
  // Python's _State values, which repr() and the error messages show.
  static const char* const names[] = {"created", "active", "expiring", "expired", "finished"};
  return names[state];
}
}  // namespace

Timeout::Timeout(std::optional<double> when) : when_(when) {
  if (when_) deadline_ns_ = detail::seconds_to_ns(*when_, "timeout_at");
}

Timeout::~Timeout() { disarm(); }

Timeout timeout(detail::Delay delay) {
  EventLoop& loop = get_running_loop();  // Python's timeout() asks for it even for None
  if (!delay.has_value()) return Timeout(std::nullopt, 0, &loop);
  // when() is Python's float sum; the deadline itself is exact on the loop's clock, so that a
  // timeout(d) and a sleep(d) started together end at the same instant.
  return Timeout(loop.time() + delay.seconds(), detail::add_saturating(detail::LoopAccess::now_ns(loop), delay.ns()),
                 &loop);
}

Timeout timeout_at(std::optional<double> when) { return Timeout(when); }

void Timeout::enter() {
  if (state_ != State::created) throw RuntimeError("Timeout has already been entered");
  EventLoop* loop = detail::running_loop();
  detail::TaskBase* task = loop ? detail::LoopAccess::current_task(*loop) : nullptr;
  if (task == nullptr) throw RuntimeError("Timeout should be used inside a task");
  if (loop_ != nullptr && loop_ != loop) throw RuntimeError("Timeout was created for a different event loop");
  loop_ = loop;
  task_ = task;
  cancelling_ = task->cancelling();
  state_ = State::entered;
  arm();
}

void Timeout::reschedule(std::optional<double> when) {
  if (state_ != State::entered) {
    if (state_ == State::created) throw RuntimeError("Timeout has not been entered");
    throw RuntimeError(std::string("Cannot change state of ") + state_name(static_cast<int>(state_)) + " Timeout");
  }
  std::int64_t deadline = 0;
  if (when) {
    deadline = detail::seconds_to_ns(*when, "reschedule");
    if (detail::running_loop() != loop_) throw RuntimeError("Timeout.reschedule() outside the timeout's event loop");
  }
  when_ = when;
  deadline_ns_ = deadline;
  // A later deadline keeps the timer armed for the earlier one, which re-arms when it fires (or,
  // if both are past, expires the timeout in the next iteration, as arming anew would).
  if (when && handler_ && armed_ns_ <= deadline) return;
  arm();
}

void Timeout::arm() {
  disarm();
  if (!when_) return;
  const std::int64_t now = detail::LoopAccess::now_ns(*loop_);
  armed_ns_ = deadline_ns_;
  if (deadline_ns_ <= now) {
    handler_ = loop_->call_soon([this] { on_timeout(); });
  } else {
    handler_ = loop_->call_later(Duration(deadline_ns_ - now), [this] { on_timeout(); });
  }
}

void Timeout::disarm() noexcept {
  handler_.cancel();
  handler_ = Handle();
}

void Timeout::on_timeout() {
  // Only an entered timeout has a handler: leaving and rescheduling cancel it first. Drop the
  // reference early, as Python does (the loop holds the node while it runs).
  handler_ = Handle();
  if (detail::LoopAccess::now_ns(*loop_) < deadline_ns_) {  // rescheduled later meanwhile
    arm();
    return;
  }
  task_->cancel({});
  state_ = State::expiring;
}

void Timeout::leave(std::exception_ptr error) {
  disarm();
  if (state_ == State::expiring) {
    state_ = State::expired;
    detail::TaskBase* task = std::exchange(task_, nullptr);
    if (task->uncancel() <= cancelling_ && error && detail::is_cancelled_error(error)) {
      // No cancel request beyond our own: this CancelledError is ours to turn into TimeoutError.
      detail::raise_timeout_error(std::move(error));
    }
  } else if (state_ == State::entered) {
    state_ = State::exited;
    task_ = nullptr;
  }
  if (error) std::rethrow_exception(std::move(error));
}

void Timeout::abandon_run() noexcept {
  if (task_ == nullptr) return;  // left normally
  disarm();
  task_ = nullptr;
  state_ = State::exited;
}

std::string Timeout::repr() const {
  std::string text = std::string("<Timeout [") + state_name(static_cast<int>(state_)) + "]";
  if (state_ == State::entered) {
    if (when_) {
      char buf[48];
      std::snprintf(buf, sizeof buf, "%.3f", std::round(*when_ * 1000.0) / 1000.0);
      text += std::string(" when=") + buf;
    } else {
      text += " when=None";
    }
  }
  return text + ">";
}

}  // namespace asyncio

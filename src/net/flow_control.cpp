// FlowControlMixin: CPython 3.13 Lib/asyncio/streams.py FlowControlMixin (and
// StreamReaderProtocol's _closed future).

#include "asyncio/net/flow_control.hpp"

#include <algorithm>
#include <cerrno>
#include <utility>

#include "asyncio/loop/event_loop.hpp"
#include "asyncio/os_error.hpp"

namespace asyncio {

FlowControlMixin::FlowControlMixin() : closed_(get_running_loop()) {}

FlowControlMixin::~FlowControlMixin() {
  if (closed_.done() && !closed_.cancelled()) (void)closed_.exception();
}

void FlowControlMixin::pause_writing() { paused_ = true; }

void FlowControlMixin::resume_writing() {
  paused_ = false;
  for (Future<void>& waiter : drain_waiters_) {
    if (!waiter.done()) waiter.set_result();
  }
}

void FlowControlMixin::connection_lost(std::exception_ptr error) {
  lost_ = true;
  if (!closed_.done()) {
    if (error) {
      closed_.set_exception(error);
    } else {
      closed_.set_result();
    }
  }
  // Drains wait only while paused.
  if (!paused_) return;
  for (Future<void>& waiter : drain_waiters_) {
    if (waiter.done()) continue;
    if (error) {
      waiter.set_exception(error);
    } else {
      waiter.set_result();
    }
  }
}

Coro<void> FlowControlMixin::drain_helper() {
  // Python's ConnectionResetError('Connection lost') has no errno; this library's OSErrors carry
  // one, so it is ECONNRESET and what() reads "Connection lost: [Errno 104] ...".
  if (lost_) throw ConnectionResetError(ECONNRESET, "Connection lost");
  if (!paused_) co_return;

  // Removes this drain's waiter however the wait ends (CPython's `finally`), and marks an error
  // it was given retrieved if the task was cancelled at the same moment (the error is the
  // connection's: wait_closed() and the reader still report it).
  struct Registration {
    FlowControlMixin& self;
    Future<void> waiter;
    ~Registration() {
      auto& waiters = self.drain_waiters_;
      waiters.erase(std::find(waiters.begin(), waiters.end(), waiter));
      if (waiter.done() && !waiter.cancelled()) (void)waiter.exception();
    }
  };
  Future<void> waiter(get_running_loop());
  drain_waiters_.push_back(waiter);
  Registration registration{*this, std::move(waiter)};
  co_await registration.waiter;
}

}  // namespace asyncio

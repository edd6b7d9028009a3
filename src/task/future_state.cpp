#include "asyncio/task/future_state.hpp"

#include "asyncio/task/task_state.hpp"

#include <algorithm>

#include "asyncio/detail/describe.hpp"
#include "asyncio/loop/logger.hpp"

namespace asyncio::detail {

namespace {
thread_local std::uint64_t next_callback_id = 0;

void run_user_callback(void* arg) {
  auto* node = static_cast<UserCallbackNode*>(arg);
  struct Cleanup {
    UserCallbackNode* n;
    ~Cleanup() {
      FutureBase* f = n->future;
      n->destroy(n);
      if (f) f->release();
    }
  } cleanup{node};
  ContextEntry entry;
  if (!entry.enter(node->context)) throw_already_entered(node->context.bits());
  struct Leave {
    ContextEntry& entry;
    ContextRef& held;
    ~Leave() { entry.leave(held); }
  } leave{entry, node->context};
  node->invoke(node);
}

void discard_user_callback(void* arg) noexcept {
  auto* node = static_cast<UserCallbackNode*>(arg);
  FutureBase* f = node->future;
  node->destroy(node);
  if (f) f->release();
}

std::string describe_user_callback(void* arg) {
  auto* node = static_cast<UserCallbackNode*>(arg);
  return "<done-callback of " + (node->future ? node->future->repr() : std::string("a future")) + ">";
}
}  // namespace

const ReadyOps user_callback_ops{&run_user_callback, &discard_user_callback, &describe_user_callback};

FutureBase::~FutureBase() {
  if (!is_task_ && log_traceback_) report_unretrieved("Future exception was never retrieved");
  drop_callbacks();
  anchor_->release();
}

EventLoop& FutureBase::loop() const {
  if (anchor_->loop == nullptr) throw RuntimeError("Event loop is closed (it was destroyed)");
  return *anchor_->loop;
}

FutureBase::Extras& FutureBase::extras() {
  if (!extras_) extras_ = std::make_unique<Extras>();
  return *extras_;
}

const std::string& FutureBase::cancel_message() const noexcept {
  static const std::string empty;
  return extras_ ? extras_->cancel_message : empty;
}

void FutureBase::check_settable(const char* what) const {
  if (status_ != FutureStatus::pending) throw InvalidStateError(std::string(what) + ": " + repr() + " is already done");
  check_can_schedule();
}

void FutureBase::check_can_schedule() const {
  if (waiters_head_ == 0) return;  // nothing to schedule: a closed loop does not matter
  const EventLoop* loop = anchor_->loop;
  if (loop == nullptr || loop->is_closed()) throw RuntimeError("Event loop is closed");
}

void FutureBase::for_each_awaited(void (*)(FutureBase&, void*), void*) const {}

bool FutureBase::cancel(std::string message) {
  log_traceback_ = false;
  if (status_ != FutureStatus::pending) return false;
  mark_cancelled(std::move(message));
  return true;
}

void FutureBase::mark_cancelled(std::string message) {
  check_can_schedule();
  if (!message.empty()) extras().cancel_message = std::move(message);
  status_ = FutureStatus::cancelled;
  schedule_callbacks();
}

void FutureBase::mark_finished() {
  status_ = FutureStatus::finished;
  schedule_callbacks();
}

void FutureBase::set_exception(std::exception_ptr exception) {
  if (!exception) throw TypeError("set_exception: the exception_ptr is null");
  check_settable("set_exception");
  exception_ = std::move(exception);
  log_traceback_ = true;
  mark_finished();
}

std::exception_ptr FutureBase::make_cancelled_error() const {
  return std::make_exception_ptr(CancelledError(cancel_message()));
}

void FutureBase::check_result() {
  if (status_ == FutureStatus::cancelled) std::rethrow_exception(make_cancelled_error());
  if (status_ != FutureStatus::finished) throw InvalidStateError("Result is not ready.");
  log_traceback_ = false;
  if (exception_) std::rethrow_exception(exception_);
}

std::exception_ptr FutureBase::exception() {
  if (status_ == FutureStatus::cancelled) std::rethrow_exception(make_cancelled_error());
  if (status_ != FutureStatus::finished) throw InvalidStateError("Exception is not set.");
  log_traceback_ = false;
  return exception_;
}

std::string FutureBase::status_repr() const {
  switch (status_) {
    case FutureStatus::pending:
      return "pending";
    case FutureStatus::cancelled:
      return "cancelled";
    case FutureStatus::finished:
      return "finished";
  }
  return "?";
}

std::string FutureBase::repr() const {
  std::string text = "<Future " + status_repr();
  if (status_ == FutureStatus::finished && exception_) text += " exception=" + describe_exception(exception_);
  return text + ">";
}

namespace {
constexpr std::uintptr_t kKindMask = 3;

std::uintptr_t tag(WaiterLink* w, WaiterKind kind) noexcept {
  return reinterpret_cast<std::uintptr_t>(w) | static_cast<std::uintptr_t>(kind);
}
WaiterLink* link_of(std::uintptr_t t) noexcept { return reinterpret_cast<WaiterLink*>(t & ~kKindMask); }
WaiterKind kind_of(std::uintptr_t t) noexcept { return static_cast<WaiterKind>(t & kKindMask); }

// Frees a waiter that will not run (tasks are owned by their loop and are not freed here).
void drop_waiter(WaiterLink* w, WaiterKind kind) noexcept {
  if (kind == WaiterKind::user) {
    auto* node = static_cast<UserCallbackNode*>(w);
    node->destroy(node);
  } else if (kind == WaiterKind::resume) {
    delete static_cast<ResumeWaiter*>(w);
  } else if (kind == WaiterKind::ops) {
    auto* node = static_cast<OpsWaiter*>(w);
    node->ops->discard(node);
  }
}
}  // namespace

void FutureBase::add_waiter(WaiterLink& waiter, WaiterKind kind) {
  if (status_ != FutureStatus::pending) {
    schedule_waiter(loop(), waiter, kind);
    return;
  }
  waiter.next_ = 0;
  if (waiters_tail_ != nullptr) {
    waiters_tail_->next_ = tag(&waiter, kind);
  } else {
    waiters_head_ = tag(&waiter, kind);
  }
  waiters_tail_ = &waiter;
}

bool FutureBase::remove_waiter(const WaiterLink& waiter) noexcept {
  WaiterLink* prev = nullptr;
  for (std::uintptr_t t = waiters_head_; t != 0;) {
    WaiterLink* w = link_of(t);
    if (w == &waiter) {
      if (prev != nullptr) {
        prev->next_ = w->next_;
      } else {
        waiters_head_ = w->next_;
      }
      if (waiters_tail_ == w) waiters_tail_ = prev;
      w->next_ = 0;
      return true;
    }
    prev = w;
    t = w->next_;
  }
  return false;
}

std::uint64_t FutureBase::add_user_callback(UserCallbackNode* node) {
  const std::uint64_t id = ++next_callback_id;
  node->id = id;
  try {
    // No context given: a copy of the current one (asyncio's add_done_callback(fn, context=None)).
    if (node->context.bits() == 0 && anchor_->loop != nullptr) {
      node->context = capture_context(LoopAccess::context_cache(*anchor_->loop));
    }
    add_waiter(*node, WaiterKind::user);
  } catch (...) {
    node->destroy(node);
    throw;
  }
  return id;
}

std::size_t FutureBase::remove_callback(std::uint64_t id) noexcept {
  std::size_t removed = 0;
  WaiterLink* prev = nullptr;
  for (std::uintptr_t t = waiters_head_; t != 0;) {
    WaiterLink* w = link_of(t);
    const std::uintptr_t next = w->next_;
    if (kind_of(t) == WaiterKind::user && static_cast<UserCallbackNode*>(w)->id == id) {
      if (prev != nullptr) {
        prev->next_ = next;
      } else {
        waiters_head_ = next;
      }
      if (waiters_tail_ == w) waiters_tail_ = prev;
      drop_waiter(w, WaiterKind::user);
      ++removed;
    } else {
      prev = w;
    }
    t = next;
  }
  return removed;
}

void FutureBase::schedule_waiter(EventLoop& loop, WaiterLink& waiter, WaiterKind kind) {
  switch (kind) {
    case WaiterKind::task:
      LoopAccess::schedule(loop, &task_step_ops, static_cast<TaskBase*>(&waiter));
      return;
    case WaiterKind::user: {
      auto* node = static_cast<UserCallbackNode*>(&waiter);
      retain();
      node->future = this;
      try {
        LoopAccess::schedule(loop, &user_callback_ops, node);
      } catch (...) {
        node->future = nullptr;
        release();
        throw;
      }
      return;
    }
    case WaiterKind::resume:
      LoopAccess::schedule(loop, &resume_handle_ops, static_cast<ResumeWaiter*>(&waiter));
      return;
    case WaiterKind::ops: {
      auto* node = static_cast<OpsWaiter*>(&waiter);
      LoopAccess::schedule(loop, node->ops, node);
      return;
    }
  }
}

void FutureBase::schedule_callbacks() {
  std::uintptr_t t = std::exchange(waiters_head_, 0);
  waiters_tail_ = nullptr;
  if (t == 0) return;
  EventLoop& loop = live_loop();
  try {
    while (t != 0) {
      WaiterLink* w = link_of(t);
      const WaiterKind kind = kind_of(t);
      t = std::exchange(w->next_, 0);
      schedule_waiter(loop, *w, kind);
    }
  } catch (...) {
    // Only memory can fail here; what could not be queued is dropped, not leaked.
    while (t != 0) {
      WaiterLink* w = link_of(t);
      const WaiterKind kind = kind_of(t);
      t = std::exchange(w->next_, 0);
      drop_waiter(w, kind);
    }
    throw;
  }
}

void FutureBase::drop_callbacks() noexcept {
  std::uintptr_t t = std::exchange(waiters_head_, 0);
  waiters_tail_ = nullptr;
  while (t != 0) {
    WaiterLink* w = link_of(t);
    const WaiterKind kind = kind_of(t);
    t = std::exchange(w->next_, 0);
    drop_waiter(w, kind);
  }
}

void FutureBase::report_unretrieved(const char* what) noexcept {
  try {
    ExceptionContext context;
    context.message = what;
    context.exception = exception_;
    context.future = repr();
    if (EventLoop* loop = anchor_->loop) {
      loop->call_exception_handler(context);
    } else {
      log(LogLevel::error,
          context.message + "\nexception: " + describe_exception(exception_) + "\nfuture: " + context.future);
    }
  } catch (...) {
    log(LogLevel::error, what);
  }
}

}  // namespace asyncio::detail

#include "asyncio/task/future_state.hpp"

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
  if (first_.ops == nullptr) return;  // no callback to schedule: a closed loop does not matter
  const EventLoop* loop = anchor_->loop;
  if (loop == nullptr || loop->is_closed()) throw RuntimeError("Event loop is closed");
}

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

void FutureBase::add_callback(DoneCallback cb) {
  if (status_ != FutureStatus::pending) {
    LoopAccess::schedule(loop(), cb.ops, cb.arg);
    return;
  }
  if (first_.ops == nullptr && (!extras_ || extras_->more.empty())) {
    first_ = cb;
  } else {
    extras().more.push_back(cb);
  }
}

std::uint64_t FutureBase::add_user_callback(UserCallbackNode* node) {
  const std::uint64_t id = ++next_callback_id;
  node->id = id;
  try {
    if (status_ != FutureStatus::pending) {
      retain();
      node->future = this;
      try {
        LoopAccess::schedule(loop(), &user_callback_ops, node);
      } catch (...) {
        node->future = nullptr;
        release();
        throw;
      }
    } else {
      add_callback(DoneCallback{&user_callback_ops, node});
    }
  } catch (...) {
    node->destroy(node);
    throw;
  }
  return id;
}

std::size_t FutureBase::remove_callback(std::uint64_t id) noexcept {
  std::size_t removed = 0;
  auto matches = [id](const DoneCallback& cb) {
    return cb.ops == &user_callback_ops && static_cast<UserCallbackNode*>(cb.arg)->id == id;
  };
  auto drop = [&](DoneCallback& cb) {
    auto* node = static_cast<UserCallbackNode*>(cb.arg);
    node->destroy(node);
    ++removed;
  };
  if (extras_) {
    auto& more = extras_->more;
    auto it = std::remove_if(more.begin(), more.end(), [&](DoneCallback& cb) {
      if (!matches(cb)) return false;
      drop(cb);
      return true;
    });
    more.erase(it, more.end());
  }
  if (matches(first_)) {
    drop(first_);
    first_ = {};
  }
  if (first_.ops == nullptr && extras_ && !extras_->more.empty()) {  // keep the order: the next moves up
    first_ = extras_->more.front();
    extras_->more.erase(extras_->more.begin());
  }
  return removed;
}

void FutureBase::remove_waiter(const ReadyOps* ops, void* arg) noexcept {
  if (first_.ops == ops && first_.arg == arg) {
    first_ = {};
  } else if (extras_) {
    auto& more = extras_->more;
    auto it =
        std::find_if(more.begin(), more.end(), [&](const DoneCallback& cb) { return cb.ops == ops && cb.arg == arg; });
    if (it != more.end()) more.erase(it);
  }
  if (first_.ops == nullptr && extras_ && !extras_->more.empty()) {
    first_ = extras_->more.front();
    extras_->more.erase(extras_->more.begin());
  }
}

void FutureBase::schedule_callbacks() {
  std::vector<DoneCallback> more;
  if (extras_) more.swap(extras_->more);
  const DoneCallback first = std::exchange(first_, DoneCallback{});
  auto schedule = [this](const DoneCallback& cb) {
    if (cb.ops == &user_callback_ops) {
      retain();
      static_cast<UserCallbackNode*>(cb.arg)->future = this;
    }
    LoopAccess::schedule(live_loop(), cb.ops, cb.arg);
  };
  if (first.ops != nullptr) schedule(first);
  for (const DoneCallback& cb : more) schedule(cb);
}

void FutureBase::drop_callbacks() noexcept {
  auto drop = [](DoneCallback& cb) {
    if (cb.ops == &user_callback_ops) {
      auto* node = static_cast<UserCallbackNode*>(cb.arg);
      node->destroy(node);
    }
  };
  if (first_.ops != nullptr) drop(first_);
  first_ = {};
  if (extras_) {
    for (DoneCallback& cb : extras_->more) drop(cb);
    extras_->more.clear();
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

#include "asyncio/flow/as_completed.hpp"

#include <algorithm>

namespace asyncio::detail {

namespace {
/// A reference to the core held by the timer's callback (released when the callback goes: after it
/// ran, or when the timer is cancelled).
class CoreRef {
 public:
  explicit CoreRef(AsCompletedCore* core) noexcept : core_(core) { core_->retain(); }
  CoreRef(const CoreRef& other) noexcept : core_(other.core_) { core_->retain(); }
  CoreRef(CoreRef&& other) noexcept : core_(std::exchange(other.core_, nullptr)) {}
  CoreRef& operator=(const CoreRef&) = delete;
  ~CoreRef() {
    if (core_) core_->release();
  }
  AsCompletedCore* operator->() const noexcept { return core_; }

 private:
  AsCompletedCore* core_;
};
}  // namespace

AsCompletedCore::AsCompletedCore(EventLoop* loop, const std::vector<FutureBase*>& futures)
    : loop_(loop), nodes_(futures.size()), todo_count_(futures.size()), todo_left_(futures.size()) {
  for (std::size_t i = 0; i < futures.size(); ++i) {
    Node& n = nodes_[i];
    n.owner = this;
    n.child = futures[i];
    n.index = i;
    n.invoke = &AsCompletedCore::invoke;
    n.destroy = &AsCompletedCore::destroy;
  }
}

AsCompletedCore::~AsCompletedCore() = default;

void AsCompletedCore::start(std::optional<double> timeout) {
  for (Node& n : nodes_) {
    n.in_todo = true;
    retain();                        // the node's reference, dropped by destroy()
    n.child->add_user_callback(&n);  // a future already done schedules it at once
  }
  if (!nodes_.empty() && timeout) {
    CoreRef self(this);
    timeout_ = loop_->call_later(*timeout, [self] { self->handle_timeout(); });
  }
}

void AsCompletedCore::invoke(UserCallbackNode* node) {
  auto* n = static_cast<Node*>(node);
  n->owner->handle_completion(*n);
}

void AsCompletedCore::destroy(UserCallbackNode* node) noexcept { static_cast<Node*>(node)->owner->release(); }

void AsCompletedCore::handle_completion(Node& n) {
  if (todo_count_ == 0 || !n.in_todo) return;  // handle_timeout() was here first
  n.in_todo = false;
  --todo_count_;
  put(n.index);
  if (todo_count_ == 0) timeout_.cancel();
}

void AsCompletedCore::handle_timeout() {
  for (Node& n : nodes_) {
    if (!n.in_todo) continue;
    n.in_todo = false;
    // Python's remove_done_callback: removes the callback unless the future already scheduled it
    // (then it runs later and finds the todo set empty). The timer's reference keeps *this alive.
    if (!n.child->done() && n.child->remove_waiter(n)) release();
    put(kTimedOut);
  }
  todo_count_ = 0;
}

void AsCompletedCore::put(std::size_t index) {
  done_.push_back(index);
  wakeup_next();
}

void AsCompletedCore::wakeup_next() {
  // Queue._wakeup_next: the first getter not already done (a cancelled one is skipped).
  while (!getters_.empty()) {
    Future<void> getter = std::move(getters_.front());
    getters_.pop_front();
    if (!getter.done()) {
      getter.set_result();
      break;
    }
  }
}

void AsCompletedCore::take_turn() {
  if (todo_left_ == 0) throw StopAsyncIteration("as_completed(): every future was handed out");
  --todo_left_;
}

Coro<std::size_t> AsCompletedCore::get() {
  // Queue.get(), CPython 3.13: a getter cancelled after it was woken passes the wake-up on, so no
  // completed future is lost to a cancellation.
  while (done_.empty()) {
    Future<void> getter = loop_->create_future<void>();
    getters_.push_back(getter);
    try {
      co_await getter;
    } catch (...) {
      getter.cancel();  // in case it is not done yet
      auto it = std::find(getters_.begin(), getters_.end(), getter);
      if (it != getters_.end()) getters_.erase(it);
      if (!done_.empty() && !getter.cancelled()) wakeup_next();
      throw;
    }
  }
  const std::size_t index = done_.front();
  done_.pop_front();
  co_return index;
}

void AsCompletedCore::detach() noexcept {
  // Nobody can take from the queue any more: stop listening. Hold a reference meanwhile, since
  // dropping the nodes' references could otherwise free *this under the loop.
  retain();
  timeout_.cancel();
  for (Node& n : nodes_) {
    n.in_todo = false;
    if (!n.child->done() && n.child->remove_waiter(n)) release();
  }
  todo_count_ = 0;
  release();
}

}  // namespace asyncio::detail

#include "asyncio/loop/handle.hpp"

#include "asyncio/loop/event_loop.hpp"

namespace asyncio {

namespace detail {
namespace {
void callback_node_due(TimerNode* n) {
  auto* node = static_cast<CallbackNode*>(n);
  retain(node);  // the ready queue's reference
  LoopAccess::schedule(*node->loop, &callback_ready_ops, node);
}
void callback_node_retain(TimerNode* n) noexcept { retain(static_cast<CallbackNode*>(n)); }
void callback_node_release(TimerNode* n) noexcept { release(static_cast<CallbackNode*>(n)); }
}  // namespace

const TimerOps callback_timer_ops{&callback_node_due, &callback_node_retain, &callback_node_release};

// The context a node runs in sits in what was padding before the callable's aligned buffer.
static_assert(sizeof(void*) != 8 || sizeof(CallbackNode) == 112, "a callback node's size changed");
}  // namespace detail

void Handle::cancel() noexcept {
  if (!node_ || node_->cancelled) return;
  node_->cancelled = true;
  // armed_seq is zero once the heap let go of the node (fired, or the loop closed), so a handle
  // that outlives its loop never touches it.
  if (node_->is_timer && node_->armed_seq != 0) node_->loop->cancel_timer(*node_);
  if (!node_->running) node_->callback.reset();  // else the runner releases it when it returns
}

double TimerHandle::when() const noexcept { return node_ ? detail::ns_to_seconds(node_->when) : 0.0; }

}  // namespace asyncio

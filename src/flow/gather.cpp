#include "asyncio/flow/gather.hpp"

namespace asyncio {

namespace detail {

void throw_different_loop() {
  throw ValueError("The future belongs to a different loop than the one specified as the loop argument");
}

GatherCore::~GatherCore() {
  for (Slot& s : slots_) {
    if (s.child) s.child->release();
  }
}

void GatherCore::add_child(FutureBase* child, bool created) {
  Slot& s = slots_.emplace_back();
  s.core = this;
  s.child = child;
  s.created = created;
  s.ops = &slot_ops;
  child->retain();
  // With the slots fixed, link now: one pass over the children instead of two (each touch of a
  // child is a cache miss when there are many).
  if (fixed_ && !child->done()) link(s);
}

void GatherCore::link(Slot& s) {
  outer_.retain();  // the slot's reference, dropped when it runs or is discarded
  s.linked = true;
  s.child->add_waiter(s, WaiterKind::ops);  // a pending future links it: nothing is scheduled, nothing throws
}

void GatherCore::start() {
  // The slots no longer move: link what is not linked yet. A child already done is accounted for
  // right away, after the outer future exists (CPython 3.12+), so a gather of done children is done
  // when gather() returns.
  if (!fixed_) {
    for (Slot& s : slots_) {
      if (!s.child->done()) link(s);
    }
  }
  for (Slot& s : slots_) {
    if (!s.linked) on_child_done(s);
  }
}

const ReadyOps GatherCore::slot_ops{&GatherCore::run_slot, &GatherCore::discard_slot, &GatherCore::describe_slot};

void GatherCore::run_slot(void* node) {
  auto* s = static_cast<Slot*>(node);
  struct Release {  // the link's reference goes even if the callback throws
    FutureBase& outer;
    ~Release() { outer.release(); }
  } release{s->core->outer_};
  s->core->on_child_done(*s);
}

void GatherCore::discard_slot(void* node) noexcept {
  // Dropped by a closed loop, or with an abandoned task: the link's reference goes. This may free
  // the gather, and with it the slot: nothing touches the node after.
  static_cast<Slot*>(node)->core->outer_.release();
}

std::string GatherCore::describe_slot(void* node) {
  return "<gather's done-callback of " + static_cast<Slot*>(node)->core->outer_.repr() + ">";
}

void GatherCore::on_child_done(Slot& s) {
  FutureBase& child = *s.child;
  ++finished_;
  if (abandoned_ || outer_.done()) {
    // The gather already failed (or was set): mark this child's exception retrieved, so a late
    // error is not reported as "never retrieved" (the gather answered for it).
    if (!child.cancelled()) (void)child.exception();
    return;
  }
  if (!return_exceptions_) {
    if (child.cancelled()) {
      // A cancelled child is an error of the gather, not a cancellation of it: the others go on.
      outer_.set_exception(child.make_cancelled_error());
      return;
    }
    if (std::exception_ptr e = child.exception()) {
      outer_.set_exception(std::move(e));
      return;
    }
    // A value: a state may take it now, and then needs the child no more. The last slot's child
    // stays, for the CancelledError of a cancelled gather (see below).
    if (&s != &slots_.back()) {
      bool taken = false;
      try {
        taken = take_early(static_cast<std::size_t>(&s - slots_.data()), s);
      } catch (...) {
        outer_.set_exception(std::current_exception());  // copying the value threw
        return;
      }
      if (taken) {
        s.child = nullptr;
        child.release();  // after the last use of `child`: this may free it
      }
    }
  }
  if (finished_ < slots_.size()) return;
  if (cancel_requested_) {
    // CPython builds the result list first (marking every exception retrieved), then raises the
    // CancelledError of the *last* child in argument order (its loop variable), whatever it was.
    for (Slot& t : slots_) {
      if (t.child && !t.child->cancelled()) (void)t.child->exception();
    }
    outer_.set_exception(slots_.back().child->make_cancelled_error());
    return;
  }
  set_results();
}

void GatherCore::visit_children(void (*visit)(FutureBase&, void*), void* context) const {
  for (const Slot& s : slots_) {
    if (s.child && !s.child->done()) visit(*s.child, context);
  }
}

bool GatherCore::cancel_children(const std::string& message) {
  if (outer_.done()) return false;
  bool cancelled_any = false;
  for (Slot& s : slots_) {
    if (s.child && s.child->cancel(message)) cancelled_any = true;  // (a released child was done)
  }
  // Only a request that reached a child counts: the gather then ends with CancelledError even with
  // return_exceptions (CPython issue 32684).
  if (cancelled_any) cancel_requested_ = true;
  return cancelled_any;
}

}  // namespace detail

Future<std::tuple<>> gather() {
  Future<std::tuple<>> outer = get_running_loop().create_future<std::tuple<>>();
  outer.set_result();
  return outer;
}

Future<std::tuple<>> gather(ReturnExceptions) { return gather(); }

}  // namespace asyncio

#pragma once
/// detail::WrapLink: what joins a ConcurrentFuture to the Future that wrap_future made for it, across
/// threads (CPython's _chain_future closure). Internal: not for programs.
///
/// Why an object of its own: the Future's reference count is not atomic and its loop may be closed
/// or destroyed before the ConcurrentFuture completes, in another thread. So nothing crosses the
/// thread but a shared_ptr to this link: the completing thread posts the outcome to the loop through
/// it, under its mutex, only while it is linked; the Future's reference and the loop pointer live
/// in the link and are dropped on the loop's thread, by whichever comes first of: the outcome
/// arriving, the Future finishing otherwise (cancelled), or the loop closing (the loop's
/// WrapRegistry unlinks every link it still has, so a late completion finds no loop and is dropped).
///
/// Invariants:
///  - linked (loop_ set) iff dest_ holds one reference to the Future, the loop holds one autojump
///    hold for it (a virtual clock does not jump while another thread may still answer, as for
///    run_in_executor) and the loop's registry holds the link;
///  - loop_ and dest_ change under mutex_, and only on the loop's thread; post() reads them under it
///    from any thread.

#include <memory>
#include <mutex>

#include "asyncio/detail/callback.hpp"
#include "asyncio/loop/event_loop.hpp"
#include "asyncio/task/future_state.hpp"

namespace asyncio::detail {

class WrapRegistry;

class WrapLink {
 public:
  /// Links `dest` (a pending future of `loop`, which gets a reference) on `loop`'s thread.
  /// RuntimeError if the loop is closed.
  static std::shared_ptr<WrapLink> make(EventLoop& loop, FutureBase& dest);

  WrapLink(const WrapLink&) = delete;
  WrapLink& operator=(const WrapLink&) = delete;
  ~WrapLink() = default;

  /// Any thread: queues `deliver` on the loop (call_soon_threadsafe) if still linked; returns
  /// whether it did. A loop closed meanwhile refuses it: it is dropped, as CPython drops it.
  bool post(Callback deliver);

  /// Loop thread: unlinks and hands the caller the Future's reference (null if already unlinked).
  FutureBase* unlink() noexcept;

 private:
  friend class WrapRegistry;
  WrapLink() = default;

  std::mutex mutex_;
  EventLoop* loop_ = nullptr;
  FutureBase* dest_ = nullptr;
  WrapRegistry* registry_ = nullptr;  // loop thread only
};

}  // namespace asyncio::detail

#pragma once
/// detail::LoopExtension: state that a layer above loop/ keeps per loop (net/'s table of open
/// transports), owned by the loop and destroyed by its close(). Internal: not for programs.
///
/// Why the loop owns it: such state must die with the loop it belongs to, on whichever thread
/// closes the loop. A table keyed by the loop's address outside the loop (a thread_local list)
/// outlives a loop closed from another thread and is later found by a new loop at the same address.

namespace asyncio::detail {

/// Base of a per-loop extension. EventLoop::close() destroys the extensions, newest first, after it
/// has dropped every callback (so a destructor may close descriptors and release objects that the
/// loop's callbacks referred to) and while the loop is already closed (so nothing it calls can
/// schedule work).
class LoopExtension {
 public:
  LoopExtension(const LoopExtension&) = delete;
  LoopExtension& operator=(const LoopExtension&) = delete;
  virtual ~LoopExtension() = default;

 protected:
  LoopExtension() = default;
};

}  // namespace asyncio::detail

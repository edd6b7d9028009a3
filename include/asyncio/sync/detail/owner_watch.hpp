#pragma once
/// Lets a coroutine that waits inside a primitive learn, once it resumes, whether the primitive was
/// destroyed meanwhile, so that its way out (cancellation, a wake-up that came too late) touches
/// nothing of it.
///
/// Python cannot destroy an object a task still refers to; C++ can: a Queue or a Barrier local to
/// the main coroutine dies when that coroutine returns, while the tasks asyncio::run() cancels
/// afterwards still wait inside it. Each waiting frame links an OwnerWatch into its primitive's
/// OwnerWatchList (two pointer stores, no allocation); the list's destructor marks every watch still
/// linked, and the frame checks its own before it uses the primitive again.

#include <cstddef>

#include "asyncio/sync/waiter_queue.hpp"

namespace asyncio::detail {

class OwnerWatchList;

/// One frame's (or guard's) watch on its primitive. Moving it moves its place in the list.
class OwnerWatch : private WaitLink {
 public:
  /// Watches nothing.
  OwnerWatch() noexcept = default;
  explicit OwnerWatch(OwnerWatchList& list) noexcept;
  OwnerWatch(OwnerWatch&& other) noexcept : gone_(other.gone_) { take_place_of(other); }
  OwnerWatch& operator=(OwnerWatch&& other) noexcept {
    if (this != &other) {
      unlink();
      gone_ = other.gone_;
      take_place_of(other);
    }
    return *this;
  }
  OwnerWatch(const OwnerWatch&) = delete;
  OwnerWatch& operator=(const OwnerWatch&) = delete;
  ~OwnerWatch() {
    if (prev != nullptr) {
      prev->next = next;
      next->prev = prev;
    }
  }

  /// True once the primitive this frame waits in was destroyed.
  [[nodiscard]] bool owner_gone() const noexcept { return gone_; }

  /// Starts watching the primitive of `list`. Precondition: watches nothing.
  void attach(OwnerWatchList& list) noexcept;

 private:
  friend class OwnerWatchList;
  void unlink() noexcept {
    if (prev == nullptr) return;
    prev->next = next;
    next->prev = prev;
    prev = next = nullptr;
  }
  void take_place_of(OwnerWatch& other) noexcept {
    if (other.prev == nullptr) return;
    prev = other.prev;
    next = other.next;
    prev->next = this;
    next->prev = this;
    other.prev = other.next = nullptr;
  }
  bool gone_ = false;
};

/// The watches of the frames waiting in one primitive: a circular list through a sentinel.
class OwnerWatchList {
 public:
  OwnerWatchList() noexcept { sentinel_.prev = sentinel_.next = &sentinel_; }
  OwnerWatchList(const OwnerWatchList&) = delete;
  OwnerWatchList& operator=(const OwnerWatchList&) = delete;
  /// Marks every watch still linked: its primitive is gone.
  ~OwnerWatchList() {
    for (WaitLink* l = sentinel_.next; l != &sentinel_;) {
      WaitLink* next = l->next;
      auto* watch = static_cast<OwnerWatch*>(l);
      watch->prev = watch->next = nullptr;
      watch->gone_ = true;
      l = next;
    }
  }

  /// True if no frame watches.
  [[nodiscard]] bool empty() const noexcept { return sentinel_.next == &sentinel_; }
  /// How many frames watch (walks the list).
  [[nodiscard]] std::size_t size() const noexcept {
    std::size_t n = 0;
    for (const WaitLink* l = sentinel_.next; l != &sentinel_; l = l->next) ++n;
    return n;
  }

 private:
  friend class OwnerWatch;
  WaitLink sentinel_;
};

inline OwnerWatch::OwnerWatch(OwnerWatchList& list) noexcept { attach(list); }

inline void OwnerWatch::attach(OwnerWatchList& list) noexcept {
  prev = list.sentinel_.prev;
  next = &list.sentinel_;
  list.sentinel_.prev->next = this;
  list.sentinel_.prev = this;
}

/// A guard's watch on a primitive that has one holder at most (a Lock): the primitive keeps a
/// pointer to it, so taking and giving back cost one store each, where a list costs four.
class SoleHolderWatch {
 public:
  SoleHolderWatch() noexcept = default;
  SoleHolderWatch(SoleHolderWatch&& other) noexcept : gone_(other.gone_) {}
  SoleHolderWatch& operator=(SoleHolderWatch&& other) noexcept {
    gone_ = other.gone_;
    return *this;
  }
  SoleHolderWatch(const SoleHolderWatch&) = delete;
  SoleHolderWatch& operator=(const SoleHolderWatch&) = delete;

  /// True once the primitive was destroyed.
  [[nodiscard]] bool owner_gone() const noexcept { return gone_; }
  /// Called by the primitive's destructor.
  void mark_gone() noexcept { gone_ = true; }

 private:
  bool gone_ = false;
};

}  // namespace asyncio::detail

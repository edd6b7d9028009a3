#pragma once
/// The timer heap: deadlines in order, with lazy cancellation that compacts itself.
///
/// Cancelling a timer only marks its entry stale (O(1), as asyncio's TimerHandle.cancel()); stale
/// entries are dropped when they reach the top. So that a program that arms and cancels many
/// timeouts does not grow the heap without bound, the heap is rebuilt without its stale entries as
/// soon as they would be more than half of it.
///
/// A node is "armed" while exactly one live entry for it is in the heap; the entry is live iff its
/// sequence number equals the node's armed_seq. A node can be re-armed while a stale entry for it is
/// still in the heap (a task that cancels a sleep and sleeps again): the old entry stays stale.
/// Entries with equal deadlines fire in the order they were armed.
///
/// A 4-ary heap: half the levels of a binary heap, and the four children of a node share a cache
/// line or two, which matters with a million timers.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

namespace asyncio::detail {

struct TimerNode;

/// How the heap fires and keeps alive a node: a user's TimerHandle, or a task's own sleep timer.
struct TimerOps {
  void (*due)(TimerNode* node);  // the deadline passed: queue the work on the ready queue
  void (*retain)(TimerNode* node) noexcept;
  void (*release)(TimerNode* node) noexcept;
};

struct TimerNode {
  explicit TimerNode(const TimerOps* ops) noexcept : timer_ops(ops) {}
  const TimerOps* timer_ops;
  std::uint64_t armed_seq = 0;  // the sequence number of the live heap entry; 0 when not armed
};

class TimerHeap {
 public:
  struct Entry {
    std::int64_t when;
    std::uint64_t seq;
    TimerNode* node;
  };

  TimerHeap() = default;
  TimerHeap(const TimerHeap&) = delete;
  TimerHeap& operator=(const TimerHeap&) = delete;
  ~TimerHeap() { clear(); }

  /// Entries in the heap, stale ones included.
  [[nodiscard]] std::size_t size() const noexcept { return heap_.size(); }
  /// Entries in the heap whose timer was cancelled.
  [[nodiscard]] std::size_t stale() const noexcept { return stale_; }
  [[nodiscard]] bool empty() const noexcept { return heap_.empty(); }

  /// Arms `node` for `when`. Precondition: the node is not armed.
  void push(TimerNode& node, std::int64_t when) {
    // The only step that can throw comes before any state changes; growth is geometric.
    if (heap_.size() == heap_.capacity()) heap_.reserve(heap_.capacity() < 64 ? 64 : heap_.capacity() * 2);
    node.timer_ops->retain(&node);
    node.armed_seq = ++seq_;
    heap_.push_back(Entry{when, node.armed_seq, &node});
    sift_up(heap_.size() - 1);
  }

  /// Disarms `node`: its entry becomes stale. Returns false if it was not armed.
  bool cancel(TimerNode& node) noexcept {
    if (node.armed_seq == 0) return false;
    node.armed_seq = 0;
    ++stale_;
    if (stale_ * 2 > heap_.size()) compact();
    return true;
  }

  /// The earliest live deadline, dropping stale entries on the way.
  [[nodiscard]] std::optional<std::int64_t> next_deadline() noexcept {
    drop_stale_top();
    if (heap_.empty()) return std::nullopt;
    return heap_.front().when;
  }

  /// Fires, in deadline order, every live entry due at `now`: disarms it and calls its `due`.
  /// Firing shrinks the heap, so the half-stale bound is checked again afterwards.
  void pop_due(std::int64_t now) noexcept {
    for (;;) {
      drop_stale_top();
      if (heap_.empty() || heap_.front().when > now) {
        if (stale_ * 2 > heap_.size()) compact();
        return;
      }
      Entry e = pop_top();
      e.node->armed_seq = 0;
      e.node->timer_ops->due(e.node);
      e.node->timer_ops->release(e.node);
    }
  }

  /// Disarms and releases every entry (loop.close()).
  void clear() noexcept {
    std::vector<Entry> all;
    all.swap(heap_);
    stale_ = 0;
    for (Entry& e : all) {
      if (e.node->armed_seq == e.seq) e.node->armed_seq = 0;
      e.node->timer_ops->release(e.node);
    }
  }

 private:
  static constexpr std::size_t kArity = 4;

  static bool earlier(const Entry& a, const Entry& b) noexcept {
    return a.when < b.when || (a.when == b.when && a.seq < b.seq);
  }
  static bool is_stale(const Entry& e) noexcept { return e.node->armed_seq != e.seq; }

  void sift_up(std::size_t i) noexcept {
    const Entry e = heap_[i];
    while (i > 0) {
      const std::size_t parent = (i - 1) / kArity;
      if (!earlier(e, heap_[parent])) break;
      heap_[i] = heap_[parent];
      i = parent;
    }
    heap_[i] = e;
  }

  void sift_down(std::size_t i) noexcept {
    const std::size_t n = heap_.size();
    const Entry e = heap_[i];
    for (;;) {
      const std::size_t first = kArity * i + 1;
      if (first >= n) break;
      const std::size_t last = first + kArity < n ? first + kArity : n;
      std::size_t best = first;
      for (std::size_t c = first + 1; c < last; ++c) {
        if (earlier(heap_[c], heap_[best])) best = c;
      }
      if (!earlier(heap_[best], e)) break;
      heap_[i] = heap_[best];
      i = best;
    }
    heap_[i] = e;
  }

  Entry pop_top() noexcept {
    const Entry top = heap_.front();
    const Entry last = heap_.back();
    heap_.pop_back();
    if (!heap_.empty()) {
      heap_.front() = last;
      sift_down(0);
    }
    return top;
  }

  void drop_stale_top() noexcept {
    while (!heap_.empty() && is_stale(heap_.front())) {
      Entry e = pop_top();
      --stale_;
      e.node->timer_ops->release(e.node);
    }
  }

  // Releasing a node can run user destructors that cancel other timers, so the heap is made whole
  // before anything is released.
  void compact() noexcept {
    auto live_end = std::partition(heap_.begin(), heap_.end(), [](const Entry& e) { return !is_stale(e); });
    std::vector<Entry> dropped(live_end, heap_.end());
    heap_.erase(live_end, heap_.end());
    for (std::size_t i = heap_.size() / kArity + 1; i-- > 0;) {
      if (i < heap_.size()) sift_down(i);
    }
    stale_ = 0;
    for (Entry& e : dropped) e.node->timer_ops->release(e.node);
  }

  std::vector<Entry> heap_;
  std::size_t stale_ = 0;
  std::uint64_t seq_ = 0;
};

}  // namespace asyncio::detail

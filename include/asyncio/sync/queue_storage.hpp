#pragma once
/// The storages of the queues: first in first out (Queue), last in first out (LifoQueue), and a
/// heap ordered as Python's heapq orders it (PriorityQueue). Python's Queue subclasses override
/// _init, _put and _get; here BasicQueue takes the storage as a template argument.

#include <cstddef>
#include <deque>
#include <functional>
#include <utility>
#include <vector>

namespace asyncio {

/// The orders a queue can keep: what Python's subclasses override (_init, _put, _get). A storage
/// has `push(T&&)`, `T pop()` (precondition: not empty), `size()`, `for_each(fn)` (for repr(), in
/// storage order) and a `static constexpr const char* name`.
namespace queue_storage {

/// First in, first out (Queue).
template <class T>
class Fifo {
 public:
  static constexpr const char* name = "Queue";
  void push(T&& item) { items_.push_back(std::move(item)); }
  T pop() {
    T item = std::move(items_.front());
    items_.pop_front();
    return item;
  }
  [[nodiscard]] std::size_t size() const noexcept { return items_.size(); }
  template <class F>
  void for_each(F&& fn) const {
    for (const T& item : items_) fn(item);
  }

 private:
  std::deque<T> items_;
};

/// Last in, first out (LifoQueue).
template <class T>
class Lifo {
 public:
  static constexpr const char* name = "LifoQueue";
  void push(T&& item) { items_.push_back(std::move(item)); }
  T pop() {
    T item = std::move(items_.back());
    items_.pop_back();
    return item;
  }
  [[nodiscard]] std::size_t size() const noexcept { return items_.size(); }
  template <class F>
  void for_each(F&& fn) const {
    for (const T& item : items_) fn(item);
  }

 private:
  std::vector<T> items_;
};

/// A binary min-heap under `Compare` (PriorityQueue): pop() gives an item no other item is
/// `Compare`-less than. push and pop are Python's heapq.heappush and heapq.heappop step for step
/// (heappop moves the last leaf to the root and sifts it to the bottom, then back up), so items
/// that compare equal come out in the same order as in Python, which std::push_heap/pop_heap do
/// not promise.
template <class T, class Compare = std::less<T>>
class Heap {
 public:
  static constexpr const char* name = "PriorityQueue";
  explicit Heap(Compare compare = Compare()) : less_(std::move(compare)) {}

  void push(T&& item) {
    items_.push_back(std::move(item));
    sift_toward_root(0, items_.size() - 1);
  }

  T pop() {
    T last = std::move(items_.back());
    items_.pop_back();
    if (items_.empty()) return last;
    T top = std::move(items_.front());
    items_.front() = std::move(last);
    sift_to_leaf(0);
    return top;
  }

  [[nodiscard]] std::size_t size() const noexcept { return items_.size(); }
  template <class F>
  void for_each(F&& fn) const {
    for (const T& item : items_) fn(item);
  }

 private:
  // heapq._siftdown: the item at `pos` moves up past every ancestor (below `start`) it is less than.
  void sift_toward_root(std::size_t start, std::size_t pos) {
    T item = std::move(items_[pos]);
    while (pos > start) {
      const std::size_t parent = (pos - 1) / 2;
      if (!less_(item, items_[parent])) break;
      items_[pos] = std::move(items_[parent]);
      pos = parent;
    }
    items_[pos] = std::move(item);
  }

  // heapq._siftup: the item at `pos` sinks to a leaf along the smaller children (the right one on
  // ties), then moves back up to its place. Fewer comparisons than stopping on the way down.
  void sift_to_leaf(std::size_t pos) {
    const std::size_t end = items_.size();
    const std::size_t start = pos;
    T item = std::move(items_[pos]);
    std::size_t child = 2 * pos + 1;
    while (child < end) {
      const std::size_t right = child + 1;
      if (right < end && !less_(items_[child], items_[right])) child = right;
      items_[pos] = std::move(items_[child]);
      pos = child;
      child = 2 * pos + 1;
    }
    items_[pos] = std::move(item);
    sift_toward_root(start, pos);
  }

  std::vector<T> items_;
  [[no_unique_address]] Compare less_;
};

}  // namespace queue_storage

}  // namespace asyncio

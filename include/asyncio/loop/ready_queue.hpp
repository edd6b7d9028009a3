#pragma once
/// The ready queue: what the loop runs in its next iteration, in FIFO order.
///
/// An entry is two words, an operations table and its argument, so that the runtime's own wake-ups
/// (a task whose Future completed, a task yielding with sleep(0)) are queued without allocating;
/// callbacks from users are queued as entries whose argument is a CallbackNode (loop/handle.hpp).
/// Asyncio's ready queue holds Handle objects and checks their cancelled flag when it runs them; an
/// entry's `run` does the same check for the nodes it owns.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>

namespace asyncio::detail {

/// What the loop can do with an entry: run it once, or drop it unrun (loop.close()).
struct ReadyOps {
  void (*run)(void* arg);
  void (*discard)(void* arg) noexcept;
  /// A short description for debug reports ("<Task name='Task-1' ...>"); may be null.
  std::string (*describe)(void* arg);
};

struct ReadyEntry {
  const ReadyOps* ops;
  void* arg;
};

/// A growable ring buffer of entries. Entries are two words, so growing moves nothing that runs.
class ReadyQueue {
 public:
  ReadyQueue() : buf_(std::make_unique<ReadyEntry[]>(kInitial)), mask_(kInitial - 1) {}
  ReadyQueue(const ReadyQueue&) = delete;
  ReadyQueue& operator=(const ReadyQueue&) = delete;

  [[nodiscard]] bool empty() const noexcept { return head_ == tail_; }
  [[nodiscard]] std::size_t size() const noexcept { return static_cast<std::size_t>(tail_ - head_); }

  void push(const ReadyOps* ops, void* arg) {
    if (tail_ - head_ > mask_) grow();
    buf_[tail_ & mask_] = ReadyEntry{ops, arg};
    ++tail_;
  }

  /// Precondition: !empty().
  ReadyEntry pop() noexcept {
    ReadyEntry e = buf_[head_ & mask_];
    ++head_;
    return e;
  }

 private:
  static constexpr std::size_t kInitial = 256;

  void grow() {
    const std::size_t cap = mask_ + 1;
    auto bigger = std::make_unique<ReadyEntry[]>(cap * 2);
    for (std::size_t i = 0; i < cap; ++i) bigger[i] = buf_[(head_ + i) & mask_];
    buf_ = std::move(bigger);
    head_ = 0;
    tail_ = cap;
    mask_ = cap * 2 - 1;
  }

  std::unique_ptr<ReadyEntry[]> buf_;
  std::size_t mask_;
  std::uint64_t head_ = 0;
  std::uint64_t tail_ = 0;
};

}  // namespace asyncio::detail

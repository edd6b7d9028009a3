// detail::TransportTable: see net/transport_table.hpp.

#include "asyncio/net/transport_table.hpp"

#include "asyncio/loop/event_loop.hpp"

namespace asyncio::detail {

namespace {
/// The key the loop finds its table by.
constexpr char kTableKey = 0;
}  // namespace

TransportTable::TransportTable(EventLoop& loop) : loop_(&loop), buffer_(new char[kReadSize]) {}

TransportTable::~TransportTable() {
  // Oldest first (see the header); each abandon() unlinks its entry (and may destroy it, or a
  // newer entry it owned, which unlinks itself as it goes).
  while (tail_ != nullptr) tail_->abandon();
}

TransportTable& TransportTable::of(EventLoop& loop) {
  if (LoopExtension* found = LoopAccess::find_extension(loop, &kTableKey)) {
    return static_cast<TransportTable&>(*found);
  }
  if (loop.is_closed()) throw RuntimeError("Event loop is closed");
  return static_cast<TransportTable&>(
      LoopAccess::add_extension(loop, &kTableKey, std::unique_ptr<LoopExtension>(new TransportTable(loop))));
}

void TransportTable::link(TableEntry& entry) noexcept {
  entry.prev_ = nullptr;
  entry.next_ = head_;
  if (head_ != nullptr) {
    head_->prev_ = &entry;
  } else {
    tail_ = &entry;
  }
  head_ = &entry;
}

void TransportTable::unlink(TableEntry& entry) noexcept {
  const bool linked = entry.prev_ != nullptr || entry.next_ != nullptr || head_ == &entry;
  if (!linked) return;
  if (entry.prev_ != nullptr) {
    entry.prev_->next_ = entry.next_;
  } else {
    head_ = entry.next_;
  }
  if (entry.next_ != nullptr) {
    entry.next_->prev_ = entry.prev_;
  } else {
    tail_ = entry.prev_;
  }
  entry.prev_ = entry.next_ = nullptr;
}

}  // namespace asyncio::detail

#pragma once
/// detail::TransportTable: the per-loop list of open transports, servers and subprocesses (Python's
/// loop._transports), and the read buffer the transports share. Internal to net/ and process/.
///
/// Why it exists: a transport keeps itself alive until its connection_lost has run (the contract of
/// net/transport.hpp), so a transport whose loop is closed under it would never be freed: the loop
/// runs nothing any more, and a transport with reading paused and nothing to write holds no
/// callback of the loop's. The table is a loop extension (loop/loop_extension.hpp): the loop's
/// close() destroys it, which abandons every entry still linked (each closes its descriptor and
/// releases its protocol without calling it), oldest first: a server goes before the connections it
/// accepted, and a subprocess (process/process.hpp links its
/// child when it spawns it, before its pipe transports exist) is killed before its pipes are
/// closed, so a child blocked reading its stdin dies by SIGKILL instead of seeing EOF.
///
/// Loop-thread-only.

#include <cstddef>
#include <memory>
#include <span>

#include "asyncio/loop/loop_extension.hpp"

namespace asyncio {

class EventLoop;

namespace detail {

class TransportTable;

/// What the table links: a transport, a server or a subprocess, which can be abandoned.
class TableEntry {
 public:
  TableEntry(const TableEntry&) = delete;
  TableEntry& operator=(const TableEntry&) = delete;

 protected:
  TableEntry() = default;
  /// Must be unlinked by then (the derived class's release step does it).
  virtual ~TableEntry() = default;

 private:
  friend class TransportTable;
  /// The loop is closing and will run nothing more: close the descriptor, release the protocol
  /// without calling it, drop the self-reference, and unlink (TransportTable::unlink).
  virtual void abandon() noexcept = 0;

  TableEntry* prev_ = nullptr;
  TableEntry* next_ = nullptr;
};

/// Invariants: every linked entry is an open transport, a server or a running subprocess of
/// `loop()`, in a list from `head_` (newest) to `tail_` (oldest); the table is destroyed exactly
/// when its loop closes, and then abandons what is still linked, from the tail. Entries unlink
/// themselves when they release their descriptor.
class TransportTable final : public LoopExtension {
 public:
  /// Bytes a transport reads at most per readiness (Python's max_size: 256 KiB), and the size of
  /// read_buffer().
  static constexpr std::size_t kReadSize = 256 * 1024;

  /// The table of `loop`, made on first use. RuntimeError if the loop is closed.
  static TransportTable& of(EventLoop& loop);

  TransportTable(const TransportTable&) = delete;
  TransportTable& operator=(const TransportTable&) = delete;
  /// Abandons every entry still linked, oldest first.
  ~TransportTable() override;

  /// Links `entry` as the newest.
  void link(TableEntry& entry) noexcept;
  /// Unlinks `entry` (nothing if it is not linked).
  void unlink(TableEntry& entry) noexcept;

  /// A kReadSize buffer shared by the loop's transports: each read fills it and hands the protocol
  /// a view that is valid during the call only.
  [[nodiscard]] std::span<char> read_buffer() const noexcept { return {buffer_.get(), kReadSize}; }

  [[nodiscard]] EventLoop& loop() const noexcept { return *loop_; }

 private:
  explicit TransportTable(EventLoop& loop);

  EventLoop* loop_;
  std::unique_ptr<char[]> buffer_;
  TableEntry* head_ = nullptr;
  TableEntry* tail_ = nullptr;
};

}  // namespace detail
}  // namespace asyncio

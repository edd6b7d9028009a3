#pragma once
/// Per-thread slab pool for coroutine frames and small runtime nodes.
///
/// Why: g++ 12 does not elide coroutine frame allocations, so every `co_await` of a Coro costs a
/// malloc and a free (~13-15 ns measured here, DESIGN section 4), and malloc puts a 16-byte chunk
/// header before each block (a task is two blocks: its state and its frame). Blocks here come from
/// 64 KiB slabs of one size class each, so a block carries no header (its slab is found by masking
/// the address), a burst of new tasks is a pointer bump, and a free on the owning thread is a push.
///
/// Ownership: every slab belongs to one thread's SlabHeap. A block freed on another thread goes to
/// its slab's atomic `remote` list, and the first such block announces the slab on the owner's
/// `remote_slabs` stack; the owner takes those blocks back when it runs out of free ones. A thread
/// that exits abandons its heap (slabs and all) to the next thread that starts allocating, so blocks
/// still alive elsewhere (a frame made by run_coroutine_threadsafe's caller, finished on the loop
/// thread) stay valid and are reclaimed later. A slab whose blocks are all free again is kept in a
/// small per-heap cache; beyond it, the slab goes back to a process-wide pool and its pages are given
/// back to the kernel, so a burst of a million tasks does not stay resident.
///
/// Under AddressSanitizer or ThreadSanitizer frame_allocate bypasses the pool so that the sanitizers
/// see every frame's lifetime (the SlabHeap itself is tested directly in every build); define
/// ASYNCIO_NO_FRAME_POOL to bypass it elsewhere.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <new>

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define ASYNCIO_FRAME_POOL 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define ASYNCIO_FRAME_POOL 0
#endif
#endif
#if !defined(ASYNCIO_FRAME_POOL)
#if defined(ASYNCIO_NO_FRAME_POOL)
#define ASYNCIO_FRAME_POOL 0
#else
#define ASYNCIO_FRAME_POOL 1
#endif
#endif

namespace asyncio::detail {

inline constexpr std::size_t kFrameGranule = 16;
inline constexpr std::size_t kFrameClasses = 64;  // pooled sizes: 16 .. 1024 bytes
inline constexpr std::size_t kFrameMaxPooled = kFrameGranule * kFrameClasses;
inline constexpr std::size_t kSlabSize = std::size_t{64} * 1024;  // a power of two: slab_of masks
inline constexpr std::size_t kSlabHeader = 128;                   // blocks start after it

inline constexpr std::size_t size_class(std::size_t size) noexcept {
  return size == 0 ? 0 : (size - 1) / kFrameGranule;
}
inline constexpr std::size_t class_bytes(std::size_t cls) noexcept { return (cls + 1) * kFrameGranule; }

struct FreeBlock {
  FreeBlock* next;
};

class SlabHeap;

/// Where a slab is in its owner's bookkeeping; decides what a free into it must do.
enum class SlabState : std::uint8_t {
  current,    // the heap allocates from it now (at most one per class)
  available,  // has free blocks, waits in the class's available list
  full,       // every block handed out; a free makes it available again
  cached,     // every block free; kept for any class
};

/// The header at the start of every slab. The first line is the owner's; `remote` and its link sit
/// on their own line so that frees from other threads do not bounce the owner's line.
struct Slab {
  FreeBlock* free;  // blocks freed on the owning thread (owner only)
  char* bump;       // the next block never handed out
  char* end;        // the end of the last whole block
  SlabHeap* owner;
  std::uint32_t used;  // blocks handed out, less those freed locally or taken back from `remote`
  std::uint16_t cls;
  SlabState state;
  Slab* prev;  // the class's available list, or the heap's cache (next only)
  Slab* next;

  alignas(64) std::atomic<FreeBlock*> remote;  // blocks freed on other threads
  Slab* remote_next;                           // link in owner->remote_slabs_, set by the announcer
  Slab* all_prev;                              // every slab of the owner, for stats() and ~SlabHeap
  Slab* all_next;
};
static_assert(sizeof(Slab) <= kSlabHeader);

inline Slab* slab_of(void* block) noexcept {
  return reinterpret_cast<Slab*>(reinterpret_cast<std::uintptr_t>(block) & ~(kSlabSize - 1));
}

/// What a heap holds, for benchmarks and tests.
struct SlabHeapStats {
  std::size_t slabs = 0;         // slabs owned (current, available, full, cached)
  std::size_t cached_slabs = 0;  // of which cached (all blocks free)
  std::size_t used_bytes = 0;    // bytes in blocks handed out (remote frees not yet taken back count)
  std::size_t used_blocks = 0;
};

/// One thread's slabs. Not thread-safe except remote_free(), which any thread may call for a block
/// of this heap. The thread's own heap is reached through frame_allocate/frame_deallocate; tests
/// drive a SlabHeap directly.
class SlabHeap {
 public:
  SlabHeap() noexcept;
  /// Returns every slab to the process-wide pool. Precondition: no block of this heap is alive.
  ~SlabHeap();
  SlabHeap(const SlabHeap&) = delete;
  SlabHeap& operator=(const SlabHeap&) = delete;

  /// A block of class_bytes(cls) bytes (cls < kFrameClasses), 16-byte aligned.
  void* allocate(std::size_t cls) {
    Slab* s = current_[cls];
    if (FreeBlock* b = s->free) {
      s->free = b->next;
      ++s->used;
      return b;
    }
    if (s->bump != s->end) {
      char* b = s->bump;
      s->bump = b + class_bytes(cls);
      ++s->used;
      return b;
    }
    return refill(cls);
  }

  /// Takes back a block of this heap; call on the owning thread only (else remote_free).
  void free_local(Slab* s, void* p) noexcept {
    auto* b = static_cast<FreeBlock*>(p);
    b->next = s->free;
    s->free = b;
    --s->used;
    if (s->state != SlabState::current) [[unlikely]] {
      if (s->state == SlabState::full || s->used == 0) after_free(s);
    }
  }

  /// Takes back a block of slab `s` from a thread that does not own it. Lock-free.
  static void remote_free(Slab* s, void* p) noexcept;

  /// Takes back the blocks other threads freed since the last call (refill does it on its own).
  void collect_remote() noexcept;

  [[nodiscard]] SlabHeapStats stats() const noexcept;

  /// The slabs kept for reuse once all their blocks are free; beyond them a slab goes back to the
  /// process-wide pool (its pages to the kernel).
  static constexpr std::uint32_t kCachedSlabs = 64;

 private:
  void* refill(std::size_t cls);
  void after_free(Slab* s) noexcept;
  void link_available(Slab* s) noexcept;
  void unlink_available(Slab* s) noexcept;
  void retire(Slab* s) noexcept;   // all blocks free: cache it or give it back
  void release(Slab* s) noexcept;  // to the process-wide pool
  Slab* fresh_slab(std::size_t cls);

  Slab* current_[kFrameClasses];
  Slab* available_[kFrameClasses];
  Slab* cached_ = nullptr;
  std::uint32_t cached_count_ = 0;
  Slab* all_ = nullptr;
  std::atomic<Slab*> remote_slabs_{nullptr};  // slabs with blocks in `remote`, announced once each

 public:
  /// Link in the process-wide list of heaps left by exited threads (guarded by its mutex).
  SlabHeap* next_abandoned = nullptr;
};

/// This thread's heap; null until its first pooled allocation, and again once the thread has begun
/// to exit (then its frees are remote frees and its allocations use a locked shared heap).
inline thread_local SlabHeap* tls_slab_heap = nullptr;

/// Slow paths of frame_allocate: adopts or makes this thread's heap, or uses the shared heap while
/// the thread exits.
void* frame_allocate_slow(std::size_t cls);

/// Slabs in the process-wide pool (given back by heaps, pages released); for tests.
std::size_t pooled_free_slabs() noexcept;

/// Allocates `size` bytes for a coroutine frame or runtime node from this thread's pool.
inline void* frame_allocate(std::size_t size) {
#if ASYNCIO_FRAME_POOL
  if (size <= kFrameMaxPooled) {
    const std::size_t c = size_class(size);
    if (SlabHeap* h = tls_slab_heap) [[likely]]
      return h->allocate(c);
    return frame_allocate_slow(c);
  }
#endif
  return ::operator new(size);
}

/// Returns a block obtained from frame_allocate(size) with the same size, on any thread.
inline void frame_deallocate(void* p, [[maybe_unused]] std::size_t size) noexcept {
#if ASYNCIO_FRAME_POOL
  if (size <= kFrameMaxPooled) {
    Slab* s = slab_of(p);
    SlabHeap* h = s->owner;
    if (h == tls_slab_heap) [[likely]] {
      h->free_local(s, p);
      return;
    }
    SlabHeap::remote_free(s, p);
    return;
  }
#endif
  ::operator delete(p);
}

/// Base for runtime nodes (futures, tasks, callback handles) that live in the frame pool.
struct PoolAllocated {
  static void* operator new(std::size_t size) { return frame_allocate(size); }
  static void operator delete(void* p, std::size_t size) noexcept { frame_deallocate(p, size); }
};

}  // namespace asyncio::detail

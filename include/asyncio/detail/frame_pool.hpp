#pragma once
/// Per-thread free lists for coroutine frames and small runtime nodes.
///
/// Why: g++ 12 does not elide coroutine frame allocations, so every `co_await` of a Coro costs a
/// malloc and a free (~13-15 ns measured here, DESIGN section 4). Frames of a program come in a few
/// sizes, so a per-thread free list per 16-byte size class turns that into a pointer pop and push.
///
/// A block freed on another thread than the one that allocated it simply joins that thread's list:
/// every block is an individual ::operator new allocation, so lists never need to give blocks back
/// to their owner. Each list is capped, so a burst (100,000 tasks) does not stay reserved forever.
///
/// Under AddressSanitizer or ThreadSanitizer the pool is bypassed so that the sanitizers see every
/// frame's lifetime; define ASYNCIO_NO_FRAME_POOL to bypass it elsewhere.

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
inline constexpr std::uint32_t kFrameListCap = 4096;  // blocks kept per size class and thread

struct FreeBlock {
  FreeBlock* next;
};

/// The lists of one thread. Trivially constructible and destructible so that the hot path reads a
/// plain thread_local (no TLS init guard); the blocks are released by FramePoolReaper at thread exit.
struct FramePoolLists {
  FreeBlock* head[kFrameClasses];
  std::uint32_t count[kFrameClasses];
  // 0: no reaper registered yet; 1: pooling; 2: the thread is exiting (free directly). One byte, so
  // the hot free path makes one check besides the cap.
  std::uint8_t state;
};
inline constexpr std::uint8_t kPoolUnregistered = 0, kPoolActive = 1, kPoolReaped = 2;

inline thread_local FramePoolLists tls_frame_pool{};

/// Frees one thread's pooled blocks when the thread exits.
struct FramePoolReaper {
  ~FramePoolReaper() {
    FramePoolLists& lists = tls_frame_pool;
    for (std::size_t c = 0; c < kFrameClasses; ++c) {
      while (FreeBlock* b = lists.head[c]) {
        lists.head[c] = b->next;
        ::operator delete(static_cast<void*>(b));
      }
      lists.count[c] = 0;
    }
    lists.state = kPoolReaped;
  }
};

inline void register_frame_pool_reaper() noexcept {
  static thread_local FramePoolReaper reaper;
  (void)&reaper;
  tls_frame_pool.state = kPoolActive;
}

inline constexpr std::size_t size_class(std::size_t size) noexcept {
  return size == 0 ? 0 : (size - 1) / kFrameGranule;
}

/// Allocates `size` bytes for a coroutine frame or runtime node from this thread's pool.
inline void* frame_allocate(std::size_t size) {
#if ASYNCIO_FRAME_POOL
  if (size <= kFrameMaxPooled) {
    const std::size_t c = size_class(size);
    FramePoolLists& lists = tls_frame_pool;
    if (FreeBlock* b = lists.head[c]) {
      lists.head[c] = b->next;
      --lists.count[c];
      return b;
    }
    return ::operator new((c + 1) * kFrameGranule);
  }
#endif
  return ::operator new(size);
}

/// Returns a block obtained from frame_allocate(size) with the same size.
inline void frame_deallocate(void* p, [[maybe_unused]] std::size_t size) noexcept {
#if ASYNCIO_FRAME_POOL
  if (size <= kFrameMaxPooled) {
    const std::size_t c = size_class(size);
    FramePoolLists& lists = tls_frame_pool;
    if (lists.state != kPoolActive) [[unlikely]] {
      if (lists.state == kPoolReaped) {
        ::operator delete(p);
        return;
      }
      register_frame_pool_reaper();
    }
    if (lists.count[c] < kFrameListCap) {
      auto* b = static_cast<FreeBlock*>(p);
      b->next = lists.head[c];
      lists.head[c] = b;
      ++lists.count[c];
      return;
    }
    ::operator delete(p);
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

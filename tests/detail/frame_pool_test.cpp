// The slab pool behind coroutine frames and runtime nodes (detail/frame_pool.hpp). SlabHeap is
// driven directly, so these run in every build, the sanitizer ones included (there frame_allocate
// itself bypasses the pool; the tests through frame_allocate exist only where it does not).

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

#include "asyncio/detail/frame_pool.hpp"

namespace {

using asyncio::detail::class_bytes;
using asyncio::detail::kSlabHeader;
using asyncio::detail::kSlabSize;
using asyncio::detail::Slab;
using asyncio::detail::slab_of;
using asyncio::detail::SlabHeap;

std::size_t capacity(std::size_t cls) { return (kSlabSize - kSlabHeader) / class_bytes(cls); }

std::vector<void*> allocate_n(SlabHeap& heap, std::size_t cls, std::size_t n) {
  std::vector<void*> blocks;
  for (std::size_t i = 0; i < n; ++i) blocks.push_back(heap.allocate(cls));
  return blocks;
}

void free_all(SlabHeap& heap, const std::vector<void*>& blocks) {
  for (void* p : blocks) heap.free_local(slab_of(p), p);
}

TEST(SlabHeap, ABlockLiesPastTheHeaderOfASlabOfItsSizeClass) {
  SlabHeap heap;
  void* p = heap.allocate(3);
  Slab* s = slab_of(p);
  EXPECT_EQ(s->cls, 3u);
  EXPECT_EQ(s->owner, &heap);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(p) % 16, 0u);
  EXPECT_GE(static_cast<char*>(p), reinterpret_cast<char*>(s) + kSlabHeader);
  EXPECT_LE(static_cast<char*>(p) + class_bytes(3), reinterpret_cast<char*>(s) + kSlabSize);
  heap.free_local(s, p);
}

TEST(SlabHeap, TheBlockFreedLastIsTheNextOneHandedOut) {
  SlabHeap heap;
  void* a = heap.allocate(0);
  void* b = heap.allocate(0);
  heap.free_local(slab_of(a), a);
  EXPECT_EQ(heap.allocate(0), a);
  heap.free_local(slab_of(a), a);
  heap.free_local(slab_of(b), b);
}

TEST(SlabHeap, BlocksOfOneClassFillASlabBeforeTheNextSlabIsTaken) {
  SlabHeap heap;
  const std::size_t n = capacity(63);
  auto blocks = allocate_n(heap, 63, n + 1);
  for (std::size_t i = 1; i < n; ++i) EXPECT_EQ(slab_of(blocks[i]), slab_of(blocks[0]));
  EXPECT_NE(slab_of(blocks[n]), slab_of(blocks[0]));
  EXPECT_EQ(heap.stats().slabs, 2u);
  EXPECT_EQ(heap.stats().used_blocks, n + 1);
  free_all(heap, blocks);
}

TEST(SlabHeap, AFullSlabHandsOutAgainTheBlockFreedInItOnceTheCurrentSlabIsFull) {
  SlabHeap heap;
  const std::size_t n = capacity(63);
  auto first = allocate_n(heap, 63, n);   // slab A, full
  auto second = allocate_n(heap, 63, n);  // slab B, full and current
  void* freed = first[5];
  heap.free_local(slab_of(freed), freed);  // A is available again
  void* next = heap.allocate(63);
  EXPECT_EQ(next, freed);
  EXPECT_EQ(heap.stats().slabs, 2u);
  first[5] = next;
  free_all(heap, first);
  free_all(heap, second);
}

TEST(SlabHeap, ASlabWhoseBlocksAreAllFreeIsCachedAndServesAnotherClass) {
  SlabHeap heap;
  const std::size_t n = capacity(0);
  auto blocks = allocate_n(heap, 0, n + 1);  // slab A full, slab B current
  Slab* a = slab_of(blocks[0]);
  blocks.pop_back();
  void* last = heap.allocate(0);
  free_all(heap, blocks);
  EXPECT_EQ(heap.stats().cached_slabs, 1u);
  void* other = heap.allocate(20);
  EXPECT_EQ(slab_of(other), a);
  EXPECT_EQ(a->cls, 20u);
  EXPECT_EQ(heap.stats().cached_slabs, 0u);
  heap.free_local(slab_of(other), other);
  heap.free_local(slab_of(last), last);
}

TEST(SlabHeap, EmptySlabsBeyondTheCacheGoBackToTheProcessWidePool) {
  SlabHeap heap;
  const std::size_t extra = 3;
  const std::size_t n = capacity(63) * (SlabHeap::kCachedSlabs + extra + 1);
  auto blocks = allocate_n(heap, 63, n);
  const std::size_t pooled = asyncio::detail::pooled_free_slabs();
  free_all(heap, blocks);
  EXPECT_EQ(heap.stats().cached_slabs, SlabHeap::kCachedSlabs);
  EXPECT_EQ(asyncio::detail::pooled_free_slabs(), pooled + extra);
}

TEST(SlabHeap, AHeapGivesEverySlabBackWhenDestroyed) {
  std::size_t pooled = 0;
  std::size_t slabs = 0;
  {
    SlabHeap heap;
    auto blocks = allocate_n(heap, 10, capacity(10) * 3);
    free_all(heap, blocks);
    slabs = heap.stats().slabs;
    pooled = asyncio::detail::pooled_free_slabs();
  }
  EXPECT_EQ(slabs, 3u);
  EXPECT_EQ(asyncio::detail::pooled_free_slabs(), pooled + slabs);
}

TEST(SlabHeap, ABlockFreedOnAnotherThreadIsHandedOutAgainByItsOwner) {
  SlabHeap heap;
  void* keep = heap.allocate(2);
  void* p = heap.allocate(2);
  std::thread([p] { SlabHeap::remote_free(slab_of(p), p); }).join();
  EXPECT_EQ(heap.stats().used_blocks, 2u);  // not taken back yet
  heap.collect_remote();
  EXPECT_EQ(heap.stats().used_blocks, 1u);
  EXPECT_EQ(heap.allocate(2), p);
  heap.free_local(slab_of(p), p);
  heap.free_local(slab_of(keep), keep);
}

TEST(SlabHeap, BlocksFreedOnSeveralThreadsAtOnceAreAllTakenBack) {
  SlabHeap heap;
  auto blocks = allocate_n(heap, 4, 20'000);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&blocks, t] {
      for (std::size_t i = static_cast<std::size_t>(t); i < blocks.size(); i += 4)
        SlabHeap::remote_free(slab_of(blocks[i]), blocks[i]);
    });
  }
  for (auto& th : threads) th.join();
  heap.collect_remote();
  EXPECT_EQ(heap.stats().used_blocks, 0u);
}

TEST(SlabHeap, TheOwnerTakingBlocksBackWhileAnotherThreadFreesThemLosesNone) {
  SlabHeap heap;
  auto blocks = allocate_n(heap, 1, 50'000);
  std::atomic<bool> done{false};
  std::thread freer([&blocks, &done] {
    for (void* p : blocks) SlabHeap::remote_free(slab_of(p), p);
    done.store(true, std::memory_order_release);
  });
  while (!done.load(std::memory_order_acquire)) heap.collect_remote();
  freer.join();
  heap.collect_remote();
  EXPECT_EQ(heap.stats().used_blocks, 0u);
}

TEST(SlabHeap, BlocksStayDistinctWhileTheOwnerAllocatesAndAnotherThreadFrees) {
  // The owner hands blocks to a freeing thread through a mutex-free ring of atomics and keeps
  // allocating, taking back freed blocks as it runs out: no block is handed out twice.
  SlabHeap heap;
  constexpr std::size_t kRing = 1024;
  constexpr int kRounds = 50'000;
  std::vector<std::atomic<void*>> ring(kRing);
  std::atomic<bool> done{false};
  std::thread freer([&] {
    std::size_t i = 0;
    for (;;) {
      void* p = ring[i].exchange(nullptr, std::memory_order_acquire);
      if (p == nullptr) {
        if (done.load(std::memory_order_acquire)) break;
        continue;
      }
      EXPECT_EQ(*static_cast<std::uint64_t*>(p), reinterpret_cast<std::uintptr_t>(p));
      *static_cast<std::uint64_t*>(p) = 0;
      SlabHeap::remote_free(slab_of(p), p);
      i = (i + 1) % kRing;
    }
  });
  std::size_t slot = 0;
  for (int r = 0; r < kRounds; ++r) {
    void* p = heap.allocate(1);
    *static_cast<std::uint64_t*>(p) = reinterpret_cast<std::uintptr_t>(p);
    while (ring[slot].load(std::memory_order_acquire) != nullptr) {
    }
    ring[slot].store(p, std::memory_order_release);
    slot = (slot + 1) % kRing;
  }
  done.store(true, std::memory_order_release);
  freer.join();
  for (auto& cell : ring) {
    if (void* p = cell.load()) SlabHeap::remote_free(slab_of(p), p);
  }
  heap.collect_remote();
  EXPECT_EQ(heap.stats().used_blocks, 0u);
}

#if ASYNCIO_FRAME_POOL

TEST(FramePool, AThreadThatExitsLeavesItsHeapToTheNextThreadThatAllocates) {
  SlabHeap* first = nullptr;
  void* p = nullptr;
  std::thread([&] {
    p = asyncio::detail::frame_allocate(48);
    first = asyncio::detail::tls_slab_heap;
  }).join();
  SlabHeap* second = nullptr;
  std::thread([&] {
    void* q = asyncio::detail::frame_allocate(48);
    second = asyncio::detail::tls_slab_heap;
    asyncio::detail::frame_deallocate(q, 48);
  }).join();
  EXPECT_EQ(second, first);
  asyncio::detail::frame_deallocate(p, 48);
}

TEST(FramePool, ABlockFreedAfterItsThreadExitedIsReusedByTheThreadThatTakesTheHeapOver) {
  void* p = nullptr;
  std::thread([&] { p = asyncio::detail::frame_allocate(48); }).join();
  asyncio::detail::frame_deallocate(p, 48);  // a remote free into the abandoned heap
  void* again = nullptr;
  std::thread([&] {
    void* first = asyncio::detail::frame_allocate(16);  // adopts the heap
    asyncio::detail::tls_slab_heap->collect_remote();
    again = asyncio::detail::frame_allocate(48);
    asyncio::detail::frame_deallocate(again, 48);
    asyncio::detail::frame_deallocate(first, 16);
  }).join();
  EXPECT_EQ(again, p);
}

TEST(FramePool, AFrameMadeOnOneThreadAndFreedOnAnotherGoesBackToItsOwner) {
  void* p = asyncio::detail::frame_allocate(200);
  std::thread([p] { asyncio::detail::frame_deallocate(p, 200); }).join();
  asyncio::detail::tls_slab_heap->collect_remote();
  EXPECT_EQ(asyncio::detail::frame_allocate(200), p);
  asyncio::detail::frame_deallocate(p, 200);
}

#endif

}  // namespace

/// Bytes per task idle on a Future, its coroutine frame included.
///
/// This binary replaces the global operator new/delete to count the bytes live on the heap. N tasks
/// are made that each `co_await` one Future (bench::wait_for); once all of them are parked, the
/// growth of the live bytes over N is the cost of one idle task: its state (Future + Task
/// machinery), its coroutine frame, and its entry in the Future's list of waiters.
///
/// Frames and task states come from asyncio::detail::frame_allocate, a per-thread slab pool that
/// does not go through ::operator new; its blocks are counted from the pool's own statistics (a
/// pooled block has no header, so its footprint is its size class). The loop's ready queue (which must hold
/// N task steps once) is grown by a warm-up round of the same workload first: it belongs to the
/// loop, not to the tasks, and keeps its capacity.
///
/// Counters:
///   bytes_per_task         requested bytes (what operator new was asked for) per task
///   malloc_bytes_per_task  the same allocations rounded as glibc malloc does (chunk header + 16-byte
///                          rounding, 32-byte minimum): the real heap footprint
///   blocks_per_task        allocations per task

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <new>

#include "bench_common.hpp"
#include "factories.hpp"

// --- counting allocator ------------------------------------------------------------------------
//
// Every block carries a 16-byte (or `align`-byte) header holding its requested size, so unsized
// deletes (clang does not enable sized deallocation by default) are counted as well.

namespace {

struct Counts {
  std::int64_t live_bytes = 0;   // requested
  std::int64_t live_malloc = 0;  // glibc chunk sizes
  std::int64_t live_blocks = 0;
  bool record = false;  // log sizes into `sizes`
  std::map<std::size_t, std::int64_t>* sizes = nullptr;
};
Counts g_counts;  // the benchmark runs in one thread

std::int64_t glibc_chunk(std::size_t n) {
  const std::size_t c = (n + 8 + 15) & ~std::size_t{15};
  return static_cast<std::int64_t>(std::max<std::size_t>(c, 32));
}

void* counted_alloc(std::size_t size, std::size_t align) {
  const std::size_t header = std::max<std::size_t>(align, 16);
  void* raw = nullptr;
  if (align <= 16) {
    raw = std::malloc(size + header);
  } else if (posix_memalign(&raw, align, size + header) != 0) {
    raw = nullptr;
  }
  if (raw == nullptr) throw std::bad_alloc();
  auto* base = static_cast<unsigned char*>(raw);
  reinterpret_cast<std::size_t*>(base + header)[-1] = size;
  reinterpret_cast<std::size_t*>(base + header)[-2] = header;
  g_counts.live_bytes += static_cast<std::int64_t>(size);
  g_counts.live_malloc += glibc_chunk(size);
  ++g_counts.live_blocks;
  if (g_counts.record && g_counts.sizes) {
    g_counts.record = false;  // the map allocates too
    ++(*g_counts.sizes)[size];
    g_counts.record = true;
  }
  return base + header;
}

void counted_free(void* p) noexcept {
  if (p == nullptr) return;
  auto* user = static_cast<unsigned char*>(p);
  const std::size_t size = reinterpret_cast<std::size_t*>(user)[-1];
  const std::size_t header = reinterpret_cast<std::size_t*>(user)[-2];
  g_counts.live_bytes -= static_cast<std::int64_t>(size);
  g_counts.live_malloc -= glibc_chunk(size);
  --g_counts.live_blocks;
  std::free(user - header);
}

}  // namespace

void* operator new(std::size_t n) { return counted_alloc(n, 16); }
void* operator new[](std::size_t n) { return counted_alloc(n, 16); }
void* operator new(std::size_t n, std::align_val_t a) { return counted_alloc(n, static_cast<std::size_t>(a)); }
void* operator new[](std::size_t n, std::align_val_t a) { return counted_alloc(n, static_cast<std::size_t>(a)); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  try {
    return counted_alloc(n, 16);
  } catch (...) {
    return nullptr;
  }
}
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept {
  try {
    return counted_alloc(n, 16);
  } catch (...) {
    return nullptr;
  }
}
void operator delete(void* p) noexcept { counted_free(p); }
void operator delete[](void* p) noexcept { counted_free(p); }
void operator delete(void* p, std::size_t) noexcept { counted_free(p); }
void operator delete[](void* p, std::size_t) noexcept { counted_free(p); }
void operator delete(void* p, std::align_val_t) noexcept { counted_free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { counted_free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { counted_free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { counted_free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { counted_free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { counted_free(p); }

namespace {

struct Snapshot {
  std::int64_t bytes, malloc, blocks;
};
/// Live bytes and blocks: counted operator new plus this thread's frame pool.
Snapshot snapshot() {
  asyncio::detail::SlabHeapStats pool;
  if (asyncio::detail::tls_slab_heap != nullptr) pool = asyncio::detail::tls_slab_heap->stats();
  const auto bytes = static_cast<std::int64_t>(pool.used_bytes);
  const auto blocks = static_cast<std::int64_t>(pool.used_blocks);
  return {g_counts.live_bytes + bytes, g_counts.live_malloc + bytes, g_counts.live_blocks + blocks};
}

/// Makes n tasks idle on `f` and lets them all reach their co_await.
asyncio::Coro<void> park_tasks(int n, asyncio::Future<void> f) {
  for (int i = 0; i < n; ++i) {
    auto task = asyncio::create_task(bench::wait_for(f));
    benchmark::DoNotOptimize(task);
  }
  co_await asyncio::sleep(0);  // runs after the n first steps: every task is parked on f now
}

/// Wakes them and lets them finish.
asyncio::Coro<void> finish_tasks(asyncio::Future<void> f) {
  f.set_result();
  co_await asyncio::sleep(0);
  co_await asyncio::sleep(0);
}

void BM_TaskIdleOnFuture_Memory(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  Snapshot before{}, after{};
  std::map<std::size_t, std::int64_t> sizes;
  std::size_t residents = 0;
  for (auto _ : state) {
    asyncio::run(
        [&]() -> asyncio::Coro<void> {
          asyncio::EventLoop& loop = asyncio::get_running_loop();
          {  // warm-up: grows the ready queue to hold n steps
            auto warm = loop.create_future<void>();
            co_await park_tasks(n, warm);
            co_await finish_tasks(warm);
          }
          auto f = loop.create_future<void>();
          sizes.clear();
          before = snapshot();
          g_counts.sizes = &sizes;
          g_counts.record = true;
          co_await park_tasks(n, f);
          g_counts.record = false;
          after = snapshot();
          residents = asyncio::all_tasks().size();
          co_await finish_tasks(f);
        },
        bench::loop_options());
  }
  g_counts.sizes = nullptr;
  if (residents != static_cast<std::size_t>(n) + 1) state.SkipWithError("the tasks were not all pending");
  const double dn = n;
  state.counters["bytes_per_task"] = static_cast<double>(after.bytes - before.bytes) / dn;
  state.counters["malloc_bytes_per_task"] = static_cast<double>(after.malloc - before.malloc) / dn;
  state.counters["blocks_per_task"] = static_cast<double>(after.blocks - before.blocks) / dn;
  state.counters["sizeof_TaskState"] = sizeof(asyncio::detail::TaskState<void>);

  static bool printed = false;
  if (!printed) {
    printed = true;
    std::printf("operator new calls (the frame pool aside) while %d tasks parked on one Future (size: count):\n", n);
    for (const auto& [size, count] : sizes) std::printf("  %6zu B: %lld\n", size, static_cast<long long>(count));
  }
}
BENCHMARK(BM_TaskIdleOnFuture_Memory)->Arg(100'000)->Iterations(1)->Unit(benchmark::kMillisecond);

}  // namespace

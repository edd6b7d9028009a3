#include "asyncio/detail/frame_pool.hpp"

#include <sys/mman.h>

#include <cstdint>
#include <mutex>
#include <new>
#include <vector>

namespace asyncio::detail {

namespace {

// Slabs are carved from 2 MiB chunks aligned to 2 MiB: one mmap per 32 slabs, and a chunk can be
// backed by one transparent huge page (fewer page faults when a burst touches fresh memory).
constexpr std::size_t kChunkSize = std::size_t{2} * 1024 * 1024;

/// The current slab of every class of a heap that has not allocated that class yet: no free block
/// and nothing to bump, so the first allocation takes the slow path. Never written.
Slab g_no_slab{};

/// What all threads share: free slabs, the chunk being carved, heaps left by exited threads, and
/// the heap that threads use while they exit. Never destroyed, so that frees during static and
/// thread-local destruction find it.
struct SlabPool {
  std::mutex mutex;
  std::vector<Slab*> free_slabs;  // given back by heaps; their pages were released
  char* chunk_next = nullptr;
  char* chunk_end = nullptr;
  SlabHeap* abandoned = nullptr;
  std::mutex exiting_mutex;  // taken before `mutex`, never after
  SlabHeap exiting_heap;     // allocations of exiting threads, under `exiting_mutex`
};

SlabPool& pool() {
  static SlabPool* const p = new SlabPool;
  return *p;
}

char* map_chunk() {
  // Map twice the size and trim, so that the chunk is aligned to its size.
  void* raw = ::mmap(nullptr, 2 * kChunkSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED) throw std::bad_alloc();
  const auto start = reinterpret_cast<std::uintptr_t>(raw);
  const std::uintptr_t aligned = (start + kChunkSize - 1) & ~(std::uintptr_t{kChunkSize} - 1);
  if (aligned > start) ::munmap(raw, aligned - start);
  const std::uintptr_t tail = start + 2 * kChunkSize - (aligned + kChunkSize);
  if (tail > 0) ::munmap(reinterpret_cast<void*>(aligned + kChunkSize), tail);
  return reinterpret_cast<char*>(aligned);
}

/// A slab for a heap: a given-back one first, else the next of the current chunk.
Slab* take_slab() {
  SlabPool& p = pool();
  std::lock_guard lock(p.mutex);
  if (!p.free_slabs.empty()) {
    Slab* s = p.free_slabs.back();
    p.free_slabs.pop_back();
    return s;
  }
  if (p.chunk_next == p.chunk_end) {
    p.chunk_next = map_chunk();
    p.chunk_end = p.chunk_next + kChunkSize;
  }
  char* s = p.chunk_next;
  p.chunk_next += kSlabSize;
  return reinterpret_cast<Slab*>(s);
}

void give_slab(Slab* s) noexcept {
  // The pages go back to the kernel lazily (MADV_FREE): reused before the kernel needs them, they
  // cost no page fault.
  ::madvise(static_cast<void*>(s), kSlabSize, MADV_FREE);
  SlabPool& p = pool();
  std::lock_guard lock(p.mutex);
  try {
    p.free_slabs.push_back(s);
  } catch (...) {
    // Out of memory for the list: the slab stays mapped and unused; nothing is lost but its pages.
  }
}

/// Sets up `s` (fresh, or cached with every block free) to hand out blocks of class `cls`.
void format_slab(Slab* s, std::size_t cls) noexcept {
  s->free = nullptr;
  s->bump = reinterpret_cast<char*>(s) + kSlabHeader;
  const std::size_t bytes = class_bytes(cls);
  s->end = s->bump + (kSlabSize - kSlabHeader) / bytes * bytes;
  s->used = 0;
  s->cls = static_cast<std::uint16_t>(cls);
  s->prev = s->next = nullptr;
}

thread_local bool t_heap_exiting = false;

/// Abandons this thread's heap when the thread exits: its blocks may still be alive elsewhere.
struct HeapReaper {
  ~HeapReaper() {
    SlabHeap* h = tls_slab_heap;
    tls_slab_heap = nullptr;
    t_heap_exiting = true;
    if (h == nullptr) return;
    SlabPool& p = pool();
    std::lock_guard lock(p.mutex);
    h->next_abandoned = p.abandoned;
    p.abandoned = h;
  }
};

}  // namespace

SlabHeap::SlabHeap() noexcept {
  for (std::size_t c = 0; c < kFrameClasses; ++c) {
    current_[c] = &g_no_slab;
    available_[c] = nullptr;
  }
}

SlabHeap::~SlabHeap() {
  while (all_ != nullptr) release(all_);
}

void* SlabHeap::refill(std::size_t cls) {
  Slab* s = current_[cls];
  if (s != &g_no_slab) s->state = SlabState::full;  // allocate() found no free block and no bump
  if (available_[cls] == nullptr) collect_remote();
  Slab* n = available_[cls];
  if (n != nullptr) {
    unlink_available(n);
  } else if (cached_ != nullptr) {
    n = cached_;
    cached_ = n->next;
    --cached_count_;
    format_slab(n, cls);
  } else {
    n = fresh_slab(cls);
  }
  n->state = SlabState::current;
  current_[cls] = n;
  return allocate(cls);
}

Slab* SlabHeap::fresh_slab(std::size_t cls) {
  Slab* s = ::new (static_cast<void*>(take_slab())) Slab{};
  format_slab(s, cls);
  s->owner = this;
  s->all_prev = nullptr;
  s->all_next = all_;
  if (all_ != nullptr) all_->all_prev = s;
  all_ = s;
  return s;
}

void SlabHeap::release(Slab* s) noexcept {
  if (s->all_prev != nullptr) {
    s->all_prev->all_next = s->all_next;
  } else {
    all_ = s->all_next;
  }
  if (s->all_next != nullptr) s->all_next->all_prev = s->all_prev;
  give_slab(s);
}

void SlabHeap::after_free(Slab* s) noexcept {
  if (s->state == SlabState::full) {
    s->state = SlabState::available;
    link_available(s);
  }
  if (s->used == 0) {
    unlink_available(s);
    retire(s);
  }
}

void SlabHeap::link_available(Slab* s) noexcept {
  Slab*& head = available_[s->cls];
  s->prev = nullptr;
  s->next = head;
  if (head != nullptr) head->prev = s;
  head = s;
}

void SlabHeap::unlink_available(Slab* s) noexcept {
  if (s->prev != nullptr) {
    s->prev->next = s->next;
  } else {
    available_[s->cls] = s->next;
  }
  if (s->next != nullptr) s->next->prev = s->prev;
  s->prev = s->next = nullptr;
}

void SlabHeap::retire(Slab* s) noexcept {
  if (cached_count_ < kCachedSlabs) {
    s->state = SlabState::cached;
    s->next = cached_;
    cached_ = s;
    ++cached_count_;
    return;
  }
  release(s);
}

void SlabHeap::remote_free(Slab* s, void* p) noexcept {
  auto* b = static_cast<FreeBlock*>(p);
  SlabHeap* owner = s->owner;
  FreeBlock* old = s->remote.load(std::memory_order_relaxed);
  // acq_rel: finding `remote` emptied must come after the owner's read of remote_next (collect_remote).
  do {
    b->next = old;
  } while (!s->remote.compare_exchange_weak(old, b, std::memory_order_acq_rel, std::memory_order_relaxed));
  if (old != nullptr) return;  // the slab was announced already and not collected since
  // Until the owner collects this slab, nobody else writes remote_next: only the thread that found
  // `remote` empty announces it.
  Slab* top = owner->remote_slabs_.load(std::memory_order_relaxed);
  do {
    s->remote_next = top;
  } while (!owner->remote_slabs_.compare_exchange_weak(top, s, std::memory_order_release, std::memory_order_relaxed));
}

void SlabHeap::collect_remote() noexcept {
  Slab* s = remote_slabs_.exchange(nullptr, std::memory_order_acquire);
  while (s != nullptr) {
    // Read the link before emptying `remote`: from then on another thread may announce s again.
    Slab* next = s->remote_next;
    FreeBlock* blocks = s->remote.exchange(nullptr, std::memory_order_acq_rel);
    std::uint32_t n = 0;
    FreeBlock* last = nullptr;
    for (FreeBlock* b = blocks; b != nullptr; b = b->next) {
      ++n;
      last = b;
    }
    if (last != nullptr) {
      last->next = s->free;
      s->free = blocks;
      s->used -= n;
      if (s->state != SlabState::current) after_free(s);
    }
    s = next;
  }
}

SlabHeapStats SlabHeap::stats() const noexcept {
  SlabHeapStats st;
  for (const Slab* s = all_; s != nullptr; s = s->all_next) {
    ++st.slabs;
    if (s->state == SlabState::cached) {
      ++st.cached_slabs;
    } else {
      st.used_bytes += static_cast<std::size_t>(s->used) * class_bytes(s->cls);
      st.used_blocks += s->used;
    }
  }
  return st;
}

void* frame_allocate_slow(std::size_t cls) {
  SlabPool& p = pool();
  if (!t_heap_exiting) {
    SlabHeap* h = nullptr;
    {
      std::lock_guard lock(p.mutex);
      h = p.abandoned;
      if (h != nullptr) p.abandoned = h->next_abandoned;
    }
    if (h == nullptr) h = new SlabHeap;
    static thread_local HeapReaper reaper;
    (void)&reaper;
    tls_slab_heap = h;
    return h->allocate(cls);
  }
  std::lock_guard lock(p.exiting_mutex);
  return p.exiting_heap.allocate(cls);
}

std::size_t pooled_free_slabs() noexcept {
  SlabPool& p = pool();
  std::lock_guard lock(p.mutex);
  return p.free_slabs.size();
}

}  // namespace asyncio::detail

// The waiter node the sync primitives share (sync/waiter_queue.hpp): a task waits without a Future,
// and a coroutine outside any task is resumed through the ready queue.

#include <gtest/gtest.h>
#include <asyncio/detail/frame_pool.hpp>
#include <asyncio/sync/event.hpp>
#include <asyncio/sync/lock.hpp>
#include <asyncio/sync/semaphore.hpp>

#include <cstddef>
#include <cstdlib>
#include <new>
#include <string>
#include <vector>

#include "support/test_support.hpp"

namespace {
std::size_t g_allocations = 0;  // global operator new calls, counted for the allocation tests

/// operator new calls so far plus the frame pool's live blocks (pool blocks are not operator new
/// allocations): read while a task is parked, a per-wait Future or frame would show in it.
std::size_t allocation_count() {
  const asyncio::detail::SlabHeap* pool = asyncio::detail::tls_slab_heap;
  return g_allocations + (pool != nullptr ? pool->stats().used_blocks : 0);
}
}  // namespace

// g++ 12 inlines these replacements into the frame pool's calls and then takes free() of a block
// from `operator new` for a mismatch (a false positive: both ends are replaced here).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

void* operator new(std::size_t n) {
  ++g_allocations;
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace {

using asyncio::Coro;
using asyncio::Event;
using asyncio::EventLoop;
using asyncio::Lock;
using asyncio::Semaphore;
using asyncio::Task;
using asyncio::testing::Detached;
using asyncio::testing::run_virtual;
using asyncio::testing::virtual_clock;

Detached run_detached(Coro<void> coro) { co_await std::move(coro); }

TEST(SyncWaiter, ACoroutineOutsideAnyTaskWaitingOnAnEventIsResumedBySet) {
  EventLoop loop(virtual_clock());
  Event event;
  std::vector<std::string> log;
  loop.call_soon([&] {
    run_detached([](Event& e, std::vector<std::string>& out) -> Coro<void> {
      out.push_back("waiting");
      out.push_back(co_await e.wait() ? "woken" : "false");
    }(event, log));
    loop.call_soon([&] {
      log.push_back("set");
      event.set();
      loop.call_soon([&] { loop.stop(); });
    });
  });
  loop.run_forever();
  EXPECT_EQ(log, (std::vector<std::string>{"waiting", "set", "woken"}));
  EXPECT_EQ(event.waiter_count(), 0u);
}

TEST(SyncWaiter, ACoroutineOutsideAnyTaskTakesALockWhenItsHolderReleasesIt) {
  EventLoop loop(virtual_clock());
  Lock lock;
  bool acquired = false;
  loop.call_soon([&] {
    run_detached([](Lock& l) -> Coro<void> { co_await l.acquire(); }(lock));  // free: taken at once
    run_detached([](Lock& l, bool& done) -> Coro<void> { done = co_await l.acquire(); }(lock, acquired));
    EXPECT_FALSE(acquired);
    EXPECT_EQ(lock.waiter_count(), 1u);
    lock.release();
    loop.call_soon([&] { loop.stop(); });
  });
  loop.run_forever();
  EXPECT_TRUE(acquired);
  EXPECT_TRUE(lock.locked());
  EXPECT_EQ(lock.waiter_count(), 0u);
}

TEST(SyncWaiter, ATaskWaitingOnAnEventAllocatesNothing) {
  run_virtual([]() -> Coro<void> {
    Event event;
    std::size_t before = 0;
    std::size_t after = 0;
    Task<void> waiter = asyncio::create_task([](Event& e, std::size_t& start, std::size_t& end) -> Coro<void> {
      start = allocation_count();
      co_await e.wait();
      end = allocation_count();
    }(event, before, after));
    co_await asyncio::sleep(0);  // the waiter is parked now
    const std::size_t parked = allocation_count();
    event.set();
    co_await waiter;
    const std::size_t during_wait = (parked - before) + (after - before);
    EXPECT_EQ(during_wait, 0u);
  });
}

TEST(SyncWaiter, ATaskWaitingOnALockAndASemaphoreAllocatesNothing) {
  run_virtual([]() -> Coro<void> {
    Lock lock;
    Semaphore sem(0);
    co_await lock.acquire();
    std::size_t before = 0;
    std::size_t after = 0;
    Task<void> waiter =
        asyncio::create_task([](Lock& l, Semaphore& s, std::size_t& start, std::size_t& end) -> Coro<void> {
          start = allocation_count();
          co_await l.acquire();
          co_await s.acquire();
          end = allocation_count();
        }(lock, sem, before, after));
    co_await asyncio::sleep(0);  // parked on the lock
    const std::size_t on_lock = allocation_count();
    lock.release();
    co_await asyncio::sleep(0);  // parked on the semaphore
    const std::size_t on_semaphore = allocation_count();
    sem.release();
    co_await waiter;
    const std::size_t during_waits = (on_lock - before) + (on_semaphore - before) + (after - before);
    EXPECT_EQ(during_waits, 0u);
  });
}

TEST(SyncWaiter, ACancelledWaiterCountsAsCancelledUntilItsTaskResumes) {
  // CPython: the cancelled waiter future stays in the deque until its task runs, and a Lock may be
  // taken at once only when every waiter is cancelled.
  run_virtual([]() -> Coro<void> {
    Lock lock;
    co_await lock.acquire();
    Task<bool> waiter = asyncio::create_task(lock.acquire());
    co_await asyncio::sleep(0);
    EXPECT_EQ(lock.waiter_count(), 1u);
    waiter.cancel();
    EXPECT_EQ(lock.waiter_count(), 1u);  // still queued, as a cancelled waiter
    lock.release();
    // The only waiter is cancelled: a newcomer may take the lock at once.
    EXPECT_TRUE(co_await lock.acquire());
    EXPECT_THROW(co_await waiter, asyncio::CancelledError);
    EXPECT_EQ(lock.waiter_count(), 0u);
    lock.release();
  });
}

}  // namespace

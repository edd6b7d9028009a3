// ensure_future: the ensure_future tests of CPython's Lib/test/test_asyncio/test_tasks.py
// (test_ensure_future_coroutine / _future / _task / _awaitable / _neither), with C++'s overloads.

#include <gtest/gtest.h>

#include <asyncio/asyncio.hpp>

#include <string>
#include <type_traits>
#include <utility>

#include "support/test_support.hpp"

namespace {

using asyncio::AnyFuture;
using asyncio::AnyTask;
using asyncio::Coro;
using asyncio::EventLoop;
using asyncio::Future;
using asyncio::RuntimeError;
using asyncio::Task;
using asyncio::TaskRequest;
using asyncio::ValueError;
using asyncio::testing::run_virtual;
using asyncio::testing::virtual_clock;

Coro<std::string> notmuch() { co_return "ok"; }

// What ensure_future takes, and what it refuses, is decided at compile time.
template <class A>
concept Ensurable = requires(A&& a) {
  asyncio::ensure_future(std::forward<A>(a));
};
static_assert(!Ensurable<int>, "neither a future, a coroutine nor an awaitable");
static_assert(!Ensurable<std::string>);
static_assert(!Ensurable<Coro<int>&>, "a Coro becomes the task's: it is passed as an rvalue");
static_assert(Ensurable<Coro<int>>);
static_assert(std::is_same_v<decltype(asyncio::ensure_future(std::declval<Task<int>&>())), Task<int>>,
              "a Task keeps its type");
static_assert(std::is_same_v<decltype(asyncio::ensure_future(std::declval<Future<int>>())), Future<int>>);
static_assert(std::is_same_v<decltype(asyncio::ensure_future(std::declval<AnyFuture&>())), AnyFuture>);
static_assert(std::is_same_v<decltype(asyncio::ensure_future(notmuch())), Task<std::string>>);
static_assert(std::is_same_v<decltype(asyncio::ensure_future(asyncio::sleep(1))), Task<void>>);
static_assert(std::is_same_v<decltype(asyncio::ensure_future(asyncio::sleep(1, 5))), Task<int>>);

TEST(EnsureFuture, ACoroutineOnAGivenLoopBecomesATaskOfThatLoop) {
  EventLoop loop(virtual_clock());
  Task<std::string> t = asyncio::ensure_future(notmuch(), loop);
  EXPECT_TRUE(t.get_loop_ptr() == &loop);
  EXPECT_EQ(loop.run_until_complete(t), "ok");
  EXPECT_TRUE(t.done());
}

TEST(EnsureFuture, ACoroutineWithoutALoopOutsideARunningLoopIsRuntimeError) {
  try {
    (void)asyncio::ensure_future(notmuch());
    FAIL() << "no RuntimeError";
  } catch (const RuntimeError& e) {
    EXPECT_NE(std::string(e.what()).find("no running event loop"), std::string::npos) << e.what();
  }
}

TEST(EnsureFuture, ACoroutineWithoutALoopBecomesATaskOfTheRunningLoop) {
  const std::string got = run_virtual([]() -> Coro<std::string> {
    Task<std::string> t = asyncio::ensure_future(notmuch());
    EXPECT_TRUE(t.get_loop_ptr() == &asyncio::get_running_loop());
    co_return co_await t;
  });
  EXPECT_EQ(got, "ok");
}

TEST(EnsureFuture, ACallableReturningACoroutineIsMovedIntoItsTask) {
  const std::string got = run_virtual([]() -> Coro<std::string> {
    auto make = [text = std::string("a capture long enough to be on the heap, past SSO")]() -> Coro<std::string> {
      co_await asyncio::sleep(1);
      co_return text;
    };
    Task<std::string> t = asyncio::ensure_future(std::move(make));
    co_return co_await t;
  });
  EXPECT_EQ(got, "a capture long enough to be on the heap, past SSO");
}

TEST(EnsureFuture, AFutureIsReturnedAsItIs) {
  EventLoop loop(virtual_clock());
  Future<std::string> original = loop.create_future<std::string>();
  original.set_result("ko");
  Future<std::string> f = asyncio::ensure_future(original);
  EXPECT_TRUE(f == original);
  EXPECT_TRUE(asyncio::ensure_future(original, loop) == original);
  EXPECT_EQ(loop.run_until_complete(f), "ko");
}

TEST(EnsureFuture, AFutureOfAnotherLoopThanTheOneGivenIsValueError) {
  EventLoop loop(virtual_clock());
  EventLoop other(virtual_clock());
  Future<int> f = loop.create_future<int>();
  try {
    (void)asyncio::ensure_future(f, other);
    FAIL() << "no ValueError";
  } catch (const ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("different loop"), std::string::npos) << e.what();
  }
}

TEST(EnsureFuture, ATaskIsReturnedAsItIsAndKeepsItsType) {
  EventLoop loop(virtual_clock());
  EventLoop other(virtual_clock());
  Task<std::string> t = asyncio::create_task(loop, notmuch());
  Task<std::string> same = asyncio::ensure_future(t);
  AnyTask any = t;
  EXPECT_TRUE(same == t);
  EXPECT_TRUE(asyncio::ensure_future(any, loop) == any);
  EXPECT_THROW((void)asyncio::ensure_future(t, other), ValueError);
  EXPECT_EQ(loop.run_until_complete(same), "ok");
}

TEST(EnsureFuture, AnotherAwaitableIsAwaitedInATaskThatGivesItsResult) {
  const int got = run_virtual([]() -> Coro<int> {
    EventLoop& loop = asyncio::get_running_loop();
    const double start = loop.time();
    Task<int> t = asyncio::ensure_future(asyncio::sleep(2, 9));
    EXPECT_FALSE(t.done());
    const int v = co_await t;
    EXPECT_DOUBLE_EQ(loop.time() - start, 2.0);
    co_return v;
  });
  EXPECT_EQ(got, 9);
}

TEST(EnsureFuture, AnAwaitableWithoutAResultGivesATaskOfVoid) {
  run_virtual([]() -> Coro<void> {
    asyncio::Event event;
    Task<void> waiter = asyncio::ensure_future(asyncio::sleep(1));
    Task<bool> waited = asyncio::ensure_future(event.wait());
    event.set();
    co_await waiter;
    EXPECT_TRUE(co_await waited);
  });
}

TEST(EnsureFuture, ACoroutineGoesThroughTheLoopsTaskFactory) {
  EventLoop loop(virtual_clock());
  int made = 0;
  loop.set_task_factory([&made](EventLoop&, TaskRequest& request) {
    ++made;
    return request.create();
  });
  Task<std::string> t = asyncio::ensure_future(notmuch(), loop);
  Task<void> s = asyncio::ensure_future(asyncio::sleep(0), loop);
  EXPECT_EQ(made, 2);
  EXPECT_EQ(loop.run_until_complete(t), "ok");
  loop.run_until_complete(s);
}

}  // namespace

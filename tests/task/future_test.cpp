// Future<T>: Python's asyncio.Future (CPython 3.13 Lib/asyncio/futures.py is the reference).

#include <gtest/gtest.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "support/test_support.hpp"

namespace {

using asyncio::CancelledError;
using asyncio::EventLoop;
using asyncio::Future;
using asyncio::InvalidStateError;
using asyncio::testing::HandlerCapture;
using asyncio::testing::run_virtual;
using asyncio::testing::virtual_clock;

TEST(Future, CreateFutureGivesAPendingFuture) {
  EventLoop loop(virtual_clock());
  Future<int> fut = loop.create_future<int>();
  EXPECT_FALSE(fut.done());
  EXPECT_FALSE(fut.cancelled());
  EXPECT_EQ(&fut.get_loop(), &loop);
}

TEST(Future, ResultOfAPendingFutureIsInvalidStateError) {
  EventLoop loop(virtual_clock());
  Future<int> fut = loop.create_future<int>();
  EXPECT_THROW(fut.result(), InvalidStateError);
}

TEST(Future, ExceptionOfAPendingFutureIsInvalidStateError) {
  EventLoop loop(virtual_clock());
  Future<int> fut = loop.create_future<int>();
  EXPECT_THROW(fut.exception(), InvalidStateError);
}

TEST(Future, SetResultMakesTheFutureDoneWithThatResult) {
  EventLoop loop(virtual_clock());
  Future<int> fut = loop.create_future<int>();
  fut.set_result(42);
  EXPECT_TRUE(fut.done());
  EXPECT_FALSE(fut.cancelled());
  EXPECT_EQ(fut.result(), 42);
  EXPECT_EQ(fut.exception(), nullptr);
}

TEST(Future, SetResultTwiceIsInvalidStateError) {
  EventLoop loop(virtual_clock());
  Future<int> fut = loop.create_future<int>();
  fut.set_result(1);
  EXPECT_THROW(fut.set_result(2), InvalidStateError);
  EXPECT_EQ(fut.result(), 1);
}

TEST(Future, SetExceptionOnADoneFutureIsInvalidStateError) {
  EventLoop loop(virtual_clock());
  Future<int> fut = loop.create_future<int>();
  fut.set_result(1);
  EXPECT_THROW(fut.set_exception(std::runtime_error("late")), InvalidStateError);
}

TEST(Future, SetResultOnACancelledFutureIsInvalidStateError) {
  EventLoop loop(virtual_clock());
  Future<int> fut = loop.create_future<int>();
  fut.cancel();
  EXPECT_THROW(fut.set_result(1), InvalidStateError);
}

TEST(Future, CopiesOfAFutureHandleShareOneState) {
  EventLoop loop(virtual_clock());
  Future<int> fut = loop.create_future<int>();
  Future<int> copy = fut;
  copy.set_result(5);
  EXPECT_TRUE(fut.done());
  EXPECT_EQ(fut.result(), 5);
  EXPECT_TRUE(fut == copy);
}

TEST(Future, ResultRethrowsTheExceptionSetWithSetException) {
  EventLoop loop(virtual_clock());
  Future<int> fut = loop.create_future<int>();
  fut.set_exception(std::runtime_error("boom"));
  EXPECT_TRUE(fut.done());
  EXPECT_FALSE(fut.cancelled());
  try {
    fut.result();
    FAIL() << "result() did not throw";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "boom");
  }
}

TEST(Future, ExceptionReturnsTheExceptionSetWithSetException) {
  EventLoop loop(virtual_clock());
  Future<int> fut = loop.create_future<int>();
  std::exception_ptr error = std::make_exception_ptr(std::runtime_error("boom"));
  fut.set_exception(error);
  EXPECT_EQ(fut.exception(), error);
}

TEST(Future, SetExceptionWithANullPointerIsTypeError) {
  EventLoop loop(virtual_clock());
  Future<int> fut = loop.create_future<int>();
  EXPECT_THROW(fut.set_exception(std::exception_ptr()), asyncio::TypeError);
  EXPECT_FALSE(fut.done());
}

TEST(Future, CancelWithAMessageMakesResultRaiseCancelledErrorCarryingIt) {
  EventLoop loop(virtual_clock());
  Future<int> fut = loop.create_future<int>();
  EXPECT_TRUE(fut.cancel("stop now"));
  EXPECT_TRUE(fut.cancelled());
  EXPECT_TRUE(fut.done());
  try {
    fut.result();
    FAIL() << "result() did not throw";
  } catch (const CancelledError& e) {
    EXPECT_STREQ(e.what(), "stop now");
  }
}

TEST(Future, ExceptionOfACancelledFutureRaisesCancelledError) {
  EventLoop loop(virtual_clock());
  Future<int> fut = loop.create_future<int>();
  fut.cancel("why");
  try {
    (void)fut.exception();
    FAIL() << "exception() did not throw";
  } catch (const CancelledError& e) {
    EXPECT_STREQ(e.what(), "why");
  }
}

TEST(Future, CancelOfAFinishedFutureReturnsFalse) {
  EventLoop loop(virtual_clock());
  Future<int> fut = loop.create_future<int>();
  fut.set_result(3);
  EXPECT_FALSE(fut.cancel());
  EXPECT_FALSE(fut.cancelled());
  EXPECT_EQ(fut.result(), 3);
}

TEST(Future, CancelOfACancelledFutureReturnsFalse) {
  EventLoop loop(virtual_clock());
  Future<int> fut = loop.create_future<int>();
  EXPECT_TRUE(fut.cancel("first"));
  EXPECT_FALSE(fut.cancel("second"));
  try {
    fut.result();
    FAIL() << "result() did not throw";
  } catch (const CancelledError& e) {
    EXPECT_STREQ(e.what(), "first");
  }
}

TEST(Future, DoneCallbacksNeverRunInsideSetResult) {
  EventLoop loop(virtual_clock());
  Future<int> fut = loop.create_future<int>();
  int calls = 0;
  fut.add_done_callback([&](Future<int>&) { ++calls; });
  fut.set_result(1);
  EXPECT_EQ(calls, 0);
  loop.run_once();
  EXPECT_EQ(calls, 1);
}

TEST(Future, DoneCallbacksNeverRunInsideCancel) {
  EventLoop loop(virtual_clock());
  Future<int> fut = loop.create_future<int>();
  int calls = 0;
  fut.add_done_callback([&](Future<int>& f) {
    ++calls;
    EXPECT_TRUE(f.cancelled());
  });
  fut.cancel();
  EXPECT_EQ(calls, 0);
  loop.run_once();
  EXPECT_EQ(calls, 1);
}

TEST(Future, DoneCallbackReceivesTheFuture) {
  EventLoop loop(virtual_clock());
  Future<int> fut = loop.create_future<int>();
  Future<int> seen;
  int value = 0;
  fut.add_done_callback([&](Future<int>& f) {
    seen = f;
    value = f.result();
  });
  fut.set_result(7);
  loop.run_once();
  EXPECT_TRUE(seen == fut);
  EXPECT_EQ(value, 7);
}

TEST(Future, DoneCallbacksRunInTheOrderAdded) {
  EventLoop loop(virtual_clock());
  Future<int> fut = loop.create_future<int>();
  std::vector<int> order;
  for (int i = 0; i < 5; ++i) fut.add_done_callback([&order, i](Future<int>&) { order.push_back(i); });
  fut.set_result(0);
  loop.run_once();
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 4}));
}

TEST(Future, DoneCallbackAddedToADoneFutureIsScheduledNotRunInline) {
  EventLoop loop(virtual_clock());
  Future<int> fut = loop.create_future<int>();
  fut.set_result(1);
  int calls = 0;
  fut.add_done_callback([&](Future<int>&) { ++calls; });
  EXPECT_EQ(calls, 0);
  loop.run_once();
  EXPECT_EQ(calls, 1);
}

TEST(Future, DoneCallbackAddedToADoneFutureRunsAfterCallbacksAlreadyReady) {
  EventLoop loop(virtual_clock());
  Future<int> fut = loop.create_future<int>();
  fut.set_result(1);
  std::vector<std::string> order;
  loop.call_soon([&] { order.emplace_back("call_soon"); });
  fut.add_done_callback([&](Future<int>&) { order.emplace_back("done-callback"); });
  loop.run_once();
  EXPECT_EQ(order, (std::vector<std::string>{"call_soon", "done-callback"}));
}

TEST(Future, RemoveDoneCallbackPreventsItAndReturnsTheCount) {
  EventLoop loop(virtual_clock());
  Future<int> fut = loop.create_future<int>();
  std::vector<int> order;
  fut.add_done_callback([&](Future<int>&) { order.push_back(1); });
  const asyncio::CallbackId id = fut.add_done_callback([&](Future<int>&) { order.push_back(2); });
  fut.add_done_callback([&](Future<int>&) { order.push_back(3); });
  EXPECT_EQ(fut.remove_done_callback(id), 1u);
  fut.set_result(0);
  loop.run_once();
  EXPECT_EQ(order, (std::vector<int>{1, 3}));
}

TEST(Future, RemoveDoneCallbackOfAnUnknownIdReturnsZero) {
  EventLoop loop(virtual_clock());
  Future<int> fut = loop.create_future<int>();
  const asyncio::CallbackId id = fut.add_done_callback([](Future<int>&) {});
  EXPECT_EQ(fut.remove_done_callback(id), 1u);
  EXPECT_EQ(fut.remove_done_callback(id), 0u);
}

TEST(Future, RemovingTheFirstDoneCallbackKeepsTheOrderOfTheOthers) {
  EventLoop loop(virtual_clock());
  Future<int> fut = loop.create_future<int>();
  std::vector<int> order;
  const asyncio::CallbackId first = fut.add_done_callback([&](Future<int>&) { order.push_back(1); });
  fut.add_done_callback([&](Future<int>&) { order.push_back(2); });
  fut.add_done_callback([&](Future<int>&) { order.push_back(3); });
  EXPECT_EQ(fut.remove_done_callback(first), 1u);
  fut.add_done_callback([&](Future<int>&) { order.push_back(4); });
  fut.set_result(0);
  loop.run_once();
  EXPECT_EQ(order, (std::vector<int>{2, 3, 4}));
}

TEST(Future, AwaitingAFutureParksTheTaskUntilTheResultIsSet) {
  const int got = run_virtual([]() -> asyncio::Coro<int> {
    EventLoop& loop = asyncio::get_running_loop();
    Future<int> fut = loop.create_future<int>();
    loop.call_later(5, [fut]() mutable { fut.set_result(11); });
    const int v = co_await fut;
    EXPECT_EQ(loop.time(), 5.0);
    co_return v;
  });
  EXPECT_EQ(got, 11);
}

TEST(Future, AwaitingADoneFutureDoesNotSuspend) {
  const std::vector<std::string> order = run_virtual([]() -> asyncio::Coro<std::vector<std::string>> {
    EventLoop& loop = asyncio::get_running_loop();
    std::vector<std::string> order;
    Future<int> fut = loop.create_future<int>();
    fut.set_result(1);
    loop.call_soon([&order] { order.emplace_back("ready callback"); });
    co_await fut;
    order.emplace_back("after co_await");
    co_await asyncio::sleep(0);
    co_return order;
  });
  EXPECT_EQ(order, (std::vector<std::string>{"after co_await", "ready callback"}));
}

TEST(Future, AwaitingAnLvalueFutureGivesAReferenceToItsResult) {
  run_virtual([]() -> asyncio::Coro<void> {
    Future<int> fut = asyncio::get_running_loop().create_future<int>();
    fut.set_result(9);
    int& ref = co_await fut;
    EXPECT_EQ(&ref, &fut.result());
    ref = 10;
    EXPECT_EQ(fut.result(), 10);
  });
  SUCCEED();
}

TEST(Future, AwaitingAMovedFutureMovesAMoveOnlyResultOut) {
  const bool left_empty = run_virtual([]() -> asyncio::Coro<bool> {
    Future<std::unique_ptr<int>> fut = asyncio::get_running_loop().create_future<std::unique_ptr<int>>();
    Future<std::unique_ptr<int>> keep = fut;
    fut.set_result(std::make_unique<int>(77));
    std::unique_ptr<int> p = co_await std::move(fut);
    EXPECT_EQ(p ? *p : -1, 77);
    co_return keep.result() == nullptr;
  });
  EXPECT_TRUE(left_empty);
}

TEST(Future, AwaitingAFutureWithAnExceptionRethrowsIt) {
  const std::string what = run_virtual([]() -> asyncio::Coro<std::string> {
    Future<int> fut = asyncio::get_running_loop().create_future<int>();
    asyncio::get_running_loop().call_soon([fut]() mutable { fut.set_exception(std::runtime_error("bad")); });
    try {
      co_await fut;
    } catch (const std::runtime_error& e) {
      co_return e.what();
    }
    co_return "no exception";
  });
  EXPECT_EQ(what, "bad");
}

TEST(Future, AwaitingACancelledFutureRaisesCancelledError) {
  const std::string what = run_virtual([]() -> asyncio::Coro<std::string> {
    Future<int> fut = asyncio::get_running_loop().create_future<int>();
    asyncio::get_running_loop().call_soon([fut]() mutable { fut.cancel("gone"); });
    try {
      co_await fut;
    } catch (const CancelledError& e) {
      co_return e.what();
    }
    co_return "no exception";
  });
  EXPECT_EQ(what, "gone");
}

TEST(Future, ExceptionNeverRetrievedIsReportedWhenTheFutureIsDestroyed) {
  EventLoop loop(virtual_clock());
  HandlerCapture handler(loop);
  {
    Future<int> fut = loop.create_future<int>();
    fut.set_exception(std::runtime_error("lost"));
  }
  ASSERT_EQ(handler.contexts().size(), 1u);
  EXPECT_EQ(handler.contexts()[0].message, "Future exception was never retrieved");
  EXPECT_NE(handler.exceptions()[0].find("lost"), std::string::npos);
}

TEST(Future, ExceptionRetrievedByResultIsNotReported) {
  EventLoop loop(virtual_clock());
  HandlerCapture handler(loop);
  {
    Future<int> fut = loop.create_future<int>();
    fut.set_exception(std::runtime_error("seen"));
    EXPECT_THROW(fut.result(), std::runtime_error);
  }
  EXPECT_TRUE(handler.contexts().empty());
}

TEST(Future, ExceptionRetrievedByExceptionIsNotReported) {
  EventLoop loop(virtual_clock());
  HandlerCapture handler(loop);
  {
    Future<int> fut = loop.create_future<int>();
    fut.set_exception(std::runtime_error("seen"));
    EXPECT_NE(fut.exception(), nullptr);
  }
  EXPECT_TRUE(handler.contexts().empty());
}

TEST(Future, DestroyingAFutureWithAResultReportsNothing) {
  EventLoop loop(virtual_clock());
  HandlerCapture handler(loop);
  {
    Future<int> fut = loop.create_future<int>();
    fut.set_result(1);
  }
  EXPECT_TRUE(handler.contexts().empty());
}

TEST(Future, SetResultOnAFutureWhoseLoopWasDestroyedIsRuntimeError) {
  // The future outlives its loop (Python would keep the loop alive and raise "Event loop is
  // closed" when scheduling the callbacks).
  auto loop = std::make_unique<EventLoop>(virtual_clock());
  Future<int> fut = loop->create_future<int>();
  fut.add_done_callback([](Future<int>&) {});
  loop.reset();
  EXPECT_THROW(fut.set_result(1), asyncio::RuntimeError);
}

TEST(Future, VoidFutureSetResultMakesItDone) {
  EventLoop loop(virtual_clock());
  Future<void> fut = loop.create_future<void>();
  EXPECT_THROW(fut.result(), InvalidStateError);
  fut.set_result();
  EXPECT_TRUE(fut.done());
  EXPECT_NO_THROW(fut.result());
  EXPECT_THROW(fut.set_result(), InvalidStateError);
}

TEST(Future, AwaitingAVoidFutureResumesOnceItIsSet) {
  const double woke_at = run_virtual([]() -> asyncio::Coro<double> {
    EventLoop& loop = asyncio::get_running_loop();
    Future<void> fut = loop.create_future<void>();
    loop.call_later(2, [fut]() mutable { fut.set_result(); });
    co_await fut;
    co_return loop.time();
  });
  EXPECT_EQ(woke_at, 2.0);
}

TEST(Future, ReprDescribesTheState) {
  EventLoop loop(virtual_clock());
  Future<int> pending = loop.create_future<int>();
  Future<int> cancelled = loop.create_future<int>();
  cancelled.cancel();
  EXPECT_EQ(pending.repr(), "<Future pending>");
  EXPECT_EQ(cancelled.repr(), "<Future cancelled>");
}

TEST(Future, OperationsOnAnEmptyHandleAreInvalidStateError) {
  Future<int> empty;
  EXPECT_FALSE(static_cast<bool>(empty));
  EXPECT_THROW((void)empty.done(), InvalidStateError);
  EXPECT_THROW(empty.set_result(1), InvalidStateError);
}

}  // namespace

// asyncio::gather (CPython 3.13 Lib/asyncio/tasks.py gather() and _GatheringFuture are the
// reference; Lib/test/test_asyncio/test_tasks.py GatherTestsBase and friends), on the virtual clock.

#include <gtest/gtest.h>

#include <asyncio/flow/gather.hpp>

#include <forward_list>
#include <memory>
#include <ranges>
#include <stdexcept>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "support/test_support.hpp"

namespace {

using asyncio::AnyFuture;
using asyncio::CancelledError;
using asyncio::Coro;
using asyncio::EventLoop;
using asyncio::Future;
using asyncio::Outcome;
using asyncio::Task;
using asyncio::testing::HandlerCapture;
using asyncio::testing::run_virtual;
using asyncio::testing::virtual_clock;

double now() { return asyncio::get_running_loop().time(); }

Coro<int> after(double seconds, int value) {
  co_await asyncio::sleep(seconds);
  co_return value;
}

Coro<void> nap(double seconds) { co_await asyncio::sleep(seconds); }

Coro<int> fail_after(double seconds, std::string message) {
  co_await asyncio::sleep(seconds);
  throw std::runtime_error(message);
}

std::string what_of(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& x) {
    return x.what();
  } catch (const CancelledError& c) {
    return std::string("CancelledError: ") + c.what();
  } catch (...) {
    return "?";
  }
}

TEST(Gather, ResultsFollowTheArgumentsNotTheOrderOfCompletion) {
  const auto [results, t] = run_virtual([]() -> Coro<std::pair<std::tuple<int, int, int>, double>> {
    std::tuple<int, int, int> r = co_await asyncio::gather(after(3, 1), after(1, 2), after(2, 3));
    co_return std::make_pair(r, now());
  });
  EXPECT_EQ(results, std::make_tuple(1, 2, 3));
  EXPECT_EQ(t, 3.0);  // concurrently: the longest child, not the sum
}

TEST(Gather, ARangeOfTasksGivesAVectorInTheRangesOrder) {
  const std::vector<int> got = run_virtual([]() -> Coro<std::vector<int>> {
    std::vector<Task<int>> tasks;
    for (int i = 0; i < 5; ++i) tasks.push_back(asyncio::create_task(after(5 - i, i)));
    co_return co_await asyncio::gather(tasks);
  });
  EXPECT_EQ(got, (std::vector<int>{0, 1, 2, 3, 4}));
}

TEST(Gather, ARangeOfCorosIsWrappedInTasksThatRunConcurrently) {
  const auto [got, t] = run_virtual([]() -> Coro<std::pair<std::vector<int>, double>> {
    std::vector<Coro<int>> coros;
    for (int i = 0; i < 4; ++i) coros.push_back(after(1, i * 10));
    std::vector<int> r = co_await asyncio::gather(coros);
    co_return std::make_pair(r, now());
  });
  EXPECT_EQ(got, (std::vector<int>{0, 10, 20, 30}));
  EXPECT_EQ(t, 1.0);
}

TEST(Gather, ARangeWithoutASizeIsGatheredInItsOrder) {
  const std::vector<int> got = run_virtual([]() -> Coro<std::vector<int>> {
    std::forward_list<Coro<int>> children;  // no size(): the slots are fixed only at the end
    for (int i = 0; i < 3; ++i) children.push_front(after(i + 1, i));
    static_assert(!std::ranges::sized_range<decltype(children)>);
    co_return co_await asyncio::gather(children);
  });
  EXPECT_EQ(got, (std::vector<int>{2, 1, 0}));
}

TEST(Gather, ReturnExceptionsOverARangeGivesAVectorOfOutcomes) {
  const auto got = run_virtual([]() -> Coro<std::vector<Outcome<int>>> {
    std::vector<Task<int>> tasks{asyncio::create_task(after(1, 1)), asyncio::create_task(fail_after(2, "bad")),
                                 asyncio::create_task(after(3, 3))};
    co_return co_await asyncio::gather(asyncio::return_exceptions, tasks);
  });
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].value(), 1);
  EXPECT_EQ(what_of(got[1].exception()), "bad");
  EXPECT_EQ(got[2].value(), 3);
}

TEST(Gather, VoidChildrenGiveMonostateInTheirPositions) {
  const auto got = run_virtual([]() -> Coro<std::tuple<std::monostate, int, std::monostate>> {
    co_return co_await asyncio::gather(nap(1), after(2, 5), nap(3));
  });
  static_assert(std::is_same_v<std::remove_const_t<decltype(got)>, std::tuple<std::monostate, int, std::monostate>>);
  EXPECT_EQ(std::get<1>(got), 5);
}

TEST(Gather, ARangeOfVoidTasksGivesAVectorOfMonostate) {
  const std::size_t n = run_virtual([]() -> Coro<std::size_t> {
    std::vector<Task<void>> tasks;
    for (int i = 0; i < 3; ++i) tasks.push_back(asyncio::create_task(nap(i)));
    std::vector<std::monostate> r = co_await asyncio::gather(tasks);
    co_return r.size();
  });
  EXPECT_EQ(n, 3u);
}

TEST(Gather, ReturnExceptionsCollectsAnErrorAsAnOutcomeBesideTheValues) {
  const auto [a, b, c] = run_virtual([]() -> Coro<std::tuple<Outcome<int>, Outcome<int>, Outcome<std::monostate>>> {
    co_return co_await asyncio::gather(asyncio::return_exceptions, after(1, 1), fail_after(2, "boom"), nap(3));
  });
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a.value(), 1);
  ASSERT_FALSE(b.has_value());
  EXPECT_EQ(what_of(b.exception()), "boom");
  EXPECT_FALSE(b.cancelled());
  EXPECT_THROW((void)b.value(), std::runtime_error);
  EXPECT_TRUE(c.has_value());
}

TEST(Gather, ReturnExceptionsCollectsACancelledChildAsCancelledErrorWithItsMessage) {
  const auto [first, second, t] = run_virtual([]() -> Coro<std::tuple<Outcome<int>, Outcome<int>, double>> {
    Task<int> slow = asyncio::create_task(after(10, 1));
    Task<int> other = asyncio::create_task(after(3, 2));
    auto g = asyncio::gather(asyncio::return_exceptions, slow, other);
    co_await asyncio::sleep(1);
    slow.cancel("not needed");
    auto [a, b] = co_await std::move(g);
    co_return std::make_tuple(std::move(a), std::move(b), now());
  });
  EXPECT_TRUE(first.cancelled());
  EXPECT_EQ(what_of(first.exception()), "CancelledError: not needed");
  EXPECT_EQ(second.value(), 2);
  EXPECT_EQ(t, 3.0);  // the gather still waited for the other child
}

TEST(Gather, TheFirstErrorIsRaisedAtOnceWhileTheOtherChildrenKeepRunning) {
  const auto [error, raised_at, other_done_then, other_value, other_at] =
      run_virtual([]() -> Coro<std::tuple<std::string, double, bool, int, double>> {
        Task<int> other = asyncio::create_task(after(3, 7));
        std::string error;
        double raised_at = -1;
        try {
          (void)co_await asyncio::gather(fail_after(1, "first"), other);
        } catch (const std::runtime_error& e) {
          error = e.what();
          raised_at = now();
        }
        const bool other_done_then = other.done();
        const int v = co_await other;
        co_return std::make_tuple(error, raised_at, other_done_then, v, now());
      });
  EXPECT_EQ(error, "first");
  EXPECT_EQ(raised_at, 1.0);
  EXPECT_FALSE(other_done_then);
  EXPECT_EQ(other_value, 7);
  EXPECT_EQ(other_at, 3.0);
}

TEST(Gather, ALaterErrorOfAnotherChildIsMarkedRetrievedNotReported) {
  EventLoop loop(virtual_clock());
  HandlerCapture capture(loop);
  const std::string error = loop.run_until_complete([]() -> Coro<std::string> {
    std::string error;
    try {
      (void)co_await asyncio::gather(fail_after(1, "first"), fail_after(2, "second"));
    } catch (const std::runtime_error& e) {
      error = e.what();
    }
    co_await asyncio::sleep(5);  // the second child fails meanwhile; nobody holds it but the gather
    co_return error;
  }());
  EXPECT_EQ(error, "first");
  EXPECT_TRUE(capture.contexts().empty());
}

TEST(Gather, CancellingTheGatherCancelsThePendingChildrenAndItEndsWithCancelledError) {
  struct Seen {
    bool cancel_returned = false;
    std::string raised;
    bool fast_cancelled = true, slow_cancelled = false, gather_done = false, gather_cancelled = true;
  };
  const Seen seen = run_virtual([]() -> Coro<Seen> {
    Seen s;
    Task<int> fast = asyncio::create_task(after(1, 1));
    Task<int> slow = asyncio::create_task(after(5, 2));
    Future<std::tuple<int, int>> g = asyncio::gather(fast, slow);
    co_await asyncio::sleep(2);
    s.cancel_returned = g.cancel("enough");
    try {
      (void)co_await g;
    } catch (const CancelledError& e) {
      s.raised = e.what();
    }
    s.fast_cancelled = fast.cancelled();
    s.slow_cancelled = slow.cancelled();
    s.gather_done = g.done();
    s.gather_cancelled = g.cancelled();
    co_return s;
  });
  EXPECT_TRUE(seen.cancel_returned);
  EXPECT_EQ(seen.raised, "enough");
  EXPECT_FALSE(seen.fast_cancelled);  // already done: left alone
  EXPECT_TRUE(seen.slow_cancelled);
  EXPECT_TRUE(seen.gather_done);
  EXPECT_FALSE(seen.gather_cancelled);  // CPython: finished with a CancelledError, not cancelled()
}

TEST(Gather, CancellingTheTaskThatAwaitsAGatherCancelsTheChildrenAndTheTaskEndsCancelled) {
  const auto [task_cancelled, a_cancelled, b_cancelled, proof] =
      run_virtual([]() -> Coro<std::tuple<bool, bool, bool, int>> {
        auto proof = std::make_shared<int>(0);
        Task<int> a = asyncio::create_task(after(5, 1));
        Task<int> b = asyncio::create_task(after(5, 2));
        Task<void> outer = asyncio::create_task([a, b, proof]() -> Coro<void> {
          (void)co_await asyncio::gather(a, b);
          *proof += 100;
        });
        co_await asyncio::sleep(1);
        outer.cancel();
        try {
          co_await outer;
        } catch (const CancelledError&) {
        }
        co_return std::make_tuple(outer.cancelled(), a.cancelled(), b.cancelled(), *proof);
      });
  EXPECT_TRUE(task_cancelled);
  EXPECT_TRUE(a_cancelled);
  EXPECT_TRUE(b_cancelled);
  EXPECT_EQ(proof, 0);
}

TEST(Gather, CancellingAGatherOfGathersCancelsTheGrandchildren) {
  const auto [returned, a_cancelled, b_cancelled, c_cancelled] =
      run_virtual([]() -> Coro<std::tuple<bool, bool, bool, bool>> {
        Task<int> a = asyncio::create_task(after(5, 1));
        Task<int> b = asyncio::create_task(after(5, 2));
        Task<int> c = asyncio::create_task(after(5, 3));
        auto outer = asyncio::gather(asyncio::gather(a, b), c);
        co_await asyncio::sleep(1);
        const bool returned = outer.cancel();
        try {
          (void)co_await outer;
        } catch (const CancelledError&) {
        }
        co_return std::make_tuple(returned, a.cancelled(), b.cancelled(), c.cancelled());
      });
  EXPECT_TRUE(returned);
  EXPECT_TRUE(a_cancelled);
  EXPECT_TRUE(b_cancelled);
  EXPECT_TRUE(c_cancelled);
}

TEST(Gather, ACancelledGatherRaisesCancelledErrorEvenWithReturnExceptions) {
  const std::string raised = run_virtual([]() -> Coro<std::string> {
    auto g = asyncio::gather(asyncio::return_exceptions, after(5, 1), after(5, 2));
    co_await asyncio::sleep(1);
    g.cancel("stop");
    try {
      (void)co_await g;
    } catch (const CancelledError& e) {
      co_return std::string("CancelledError: ") + e.what();
    }
    co_return "no error";
  });
  EXPECT_EQ(raised, "CancelledError: stop");
}

TEST(Gather, AChildCancelledWithoutReturnExceptionsMakesTheGatherRaiseCancelledError) {
  const auto [raised, gather_cancelled, other_cancelled, other_value] =
      run_virtual([]() -> Coro<std::tuple<std::string, bool, bool, int>> {
        Task<int> victim = asyncio::create_task(after(5, 1));
        Task<int> other = asyncio::create_task(after(2, 2));
        auto g = asyncio::gather(victim, other);
        co_await asyncio::sleep(1);
        victim.cancel("child only");
        std::string raised;
        try {
          (void)co_await g;
        } catch (const CancelledError& e) {
          raised = e.what();
        }
        // The awaiting task was not cancelled: it goes on, and so does the other child.
        const int v = co_await other;
        co_return std::make_tuple(raised, g.cancelled(), other.cancelled(), v);
      });
  EXPECT_EQ(raised, "child only");
  EXPECT_FALSE(gather_cancelled);
  EXPECT_FALSE(other_cancelled);
  EXPECT_EQ(other_value, 2);
}

TEST(Gather, GatherOfFuturesAlreadyDoneIsDoneWhenGatherReturns) {
  EventLoop loop(virtual_clock());
  Future<int> a = loop.create_future<int>();
  Future<std::string> b = loop.create_future<std::string>();
  a.set_result(1);
  b.set_result("two");
  auto g = asyncio::gather(a, b);  // no loop iteration needed, nor a running loop
  ASSERT_TRUE(g.done());
  EXPECT_EQ(g.result(), std::make_tuple(1, std::string("two")));
}

TEST(Gather, GatherOfAFutureThatAlreadyFailedIsDoneWithItsException) {
  EventLoop loop(virtual_clock());
  Future<int> a = loop.create_future<int>();
  Future<int> b = loop.create_future<int>();
  a.set_result(1);
  b.set_exception(std::runtime_error("early"));
  auto g = asyncio::gather(a, b);
  ASSERT_TRUE(g.done());
  EXPECT_EQ(what_of(g.exception()), "early");
}

TEST(Gather, GatherOfNothingIsDoneAtOnceWithAnEmptyTuple) {
  const bool done = run_virtual([]() -> Coro<bool> {
    Future<std::tuple<>> g = asyncio::gather();
    Future<std::tuple<>> h = asyncio::gather(asyncio::return_exceptions);
    co_return g.done() && h.done();
  });
  EXPECT_TRUE(done);
}

TEST(Gather, GatherOfAnEmptyRangeIsDoneAtOnceWithAnEmptyVector) {
  const auto [done, size] = run_virtual([]() -> Coro<std::pair<bool, std::size_t>> {
    std::vector<Task<int>> none;
    auto g = asyncio::gather(none);
    const bool was_done = g.done();
    std::vector<int> r = co_await g;
    co_return std::make_pair(was_done, r.size());
  });
  EXPECT_TRUE(done);
  EXPECT_EQ(size, 0u);
}

TEST(Gather, GatherOfNothingOutsideARunningLoopRaisesRuntimeError) {
  EXPECT_THROW((void)asyncio::gather(), asyncio::RuntimeError);
}

TEST(Gather, TasksFuturesCorosAndAnyFuturesMixInOneGather) {
  const auto got = run_virtual([]() -> Coro<std::tuple<int, std::string, int, std::monostate>> {
    EventLoop& loop = asyncio::get_running_loop();
    Task<int> task = asyncio::create_task(after(2, 1));
    Future<std::string> future = loop.create_future<std::string>();
    Future<double> untyped = loop.create_future<double>();
    loop.call_later(1, [future]() mutable { future.set_result("set"); });
    loop.call_later(3, [untyped]() mutable { untyped.set_result(2.5); });
    co_return co_await asyncio::gather(task, future, after(1, 3), AnyFuture(untyped));
  });
  EXPECT_EQ(got, std::make_tuple(1, std::string("set"), 3, std::monostate{}));
}

TEST(Gather, ARangeOfAnyFutureMixesTasksAndFutures) {
  const std::size_t n = run_virtual([]() -> Coro<std::size_t> {
    EventLoop& loop = asyncio::get_running_loop();
    Future<int> f = loop.create_future<int>();
    loop.call_later(2, [f]() mutable { f.set_result(1); });
    std::vector<AnyFuture> all{asyncio::create_task(after(1, 1)), f, asyncio::create_task(nap(3))};
    std::vector<std::monostate> r = co_await asyncio::gather(all);
    co_return r.size();
  });
  EXPECT_EQ(n, 3u);
}

TEST(Gather, ACallableChildIsMovedIntoItsTaskSoItsCapturesOutliveTheFirstSuspension) {
  const std::size_t got = run_virtual([]() -> Coro<std::size_t> {
    // Named first: g++ 12 destroys a closure temporary written inside a co_await expression twice.
    auto child = [text = std::string("a string long enough to live on the heap, not in SSO")]() -> Coro<std::size_t> {
      co_await asyncio::sleep(1);
      co_return text.size();
    };
    auto [n] = co_await asyncio::gather(std::move(child));
    co_return n;
  });
  EXPECT_EQ(got, std::string("a string long enough to live on the heap, not in SSO").size());
}

TEST(Gather, TheSameFutureTwiceFillsBothPositions) {
  const auto got = run_virtual([]() -> Coro<std::tuple<int, int, int>> {
    Task<int> t = asyncio::create_task(after(1, 4));
    co_return co_await asyncio::gather(t, after(2, 5), t);
  });
  EXPECT_EQ(got, std::make_tuple(4, 5, 4));
}

TEST(Gather, YourTasksKeepTheirValuesWhileValuesOfTasksGatherMadeAreMoved) {
  const auto [kept, gathered, moved_only] = run_virtual([]() -> Coro<std::tuple<std::string, std::string, int>> {
    const std::string text = "a string long enough to live on the heap, not in SSO";
    Task<std::string> mine = asyncio::create_task([text]() -> Coro<std::string> { co_return text; });
    auto [copy, unique] = co_await asyncio::gather(mine, []() -> Coro<std::unique_ptr<int>> {
      co_await asyncio::sleep(1);
      co_return std::make_unique<int>(9);
    });
    co_return std::make_tuple(mine.result(), copy, *unique);
  });
  EXPECT_EQ(kept, "a string long enough to live on the heap, not in SSO");
  EXPECT_EQ(gathered, kept);
  EXPECT_EQ(moved_only, 9);
}

TEST(Gather, CancelOfAGatherAlreadyDoneReturnsFalse) {
  const bool cancelled = run_virtual([]() -> Coro<bool> {
    auto g = asyncio::gather(after(1, 1));
    (void)co_await g;
    co_return g.cancel();
  });
  EXPECT_FALSE(cancelled);
}

TEST(Gather, CancelOnceEveryChildIsDoneReturnsFalseAndTheResultStands) {
  // CPython issue 26923: the children are done but their callbacks have not run yet.
  EventLoop loop(virtual_clock());
  Future<int> f = loop.create_future<int>();
  auto g = asyncio::gather(f);
  f.set_result(42);
  EXPECT_FALSE(g.done());
  EXPECT_FALSE(g.cancel());
  loop.run_until_complete(g);
  EXPECT_EQ(std::get<0>(g.result()), 42);
}

TEST(Gather, AFutureOfAnotherLoopRaisesValueError) {
  EventLoop other(virtual_clock());
  Future<int> foreign = other.create_future<int>();
  const bool raised = run_virtual([foreign]() -> Coro<bool> {
    Future<int> mine = asyncio::get_running_loop().create_future<int>();
    try {
      (void)asyncio::gather(mine, foreign);
    } catch (const asyncio::ValueError&) {
      co_return true;
    }
    co_return false;
  });
  EXPECT_TRUE(raised);
}

TEST(Gather, ARangeWithAFutureOfAnotherLoopRaisesValueErrorAndTheOthersGoOn) {
  EventLoop other(virtual_clock());
  Future<int> foreign = other.create_future<int>();
  const auto [raised, value] = run_virtual([foreign]() -> Coro<std::pair<bool, int>> {
    Task<int> mine = asyncio::create_task(after(1, 5));
    std::vector<Future<int>> children{mine, foreign};
    bool raised = false;
    try {
      (void)asyncio::gather(children);  // `mine` was linked before `foreign` was seen
    } catch (const asyncio::ValueError&) {
      raised = true;
    }
    const int v = co_await mine;
    co_return std::make_pair(raised, v);
  });
  EXPECT_TRUE(raised);
  EXPECT_EQ(value, 5);
}

}  // namespace

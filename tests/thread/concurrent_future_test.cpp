// ConcurrentFuture completed by hand: create, set_running_or_notify_cancel, set_result,
// set_exception and cancel, as concurrent.futures.Future (CPython's
// Lib/test/test_concurrent_futures/test_future.py).

#include <gtest/gtest.h>

#include <asyncio/asyncio.hpp>

#include <stdexcept>
#include <string>
#include <thread>

namespace {

using asyncio::CancelledError;
using asyncio::ConcurrentFuture;
using asyncio::InvalidStateError;
using asyncio::RuntimeError;
using asyncio::TypeError;

TEST(ConcurrentFuture, CreateMakesAPendingFuture) {
  ConcurrentFuture<int> f = ConcurrentFuture<int>::create();
  EXPECT_TRUE(f);
  EXPECT_FALSE(f.done());
  EXPECT_FALSE(f.running());
  EXPECT_FALSE(f.cancelled());
}

TEST(ConcurrentFuture, SetResultInAnotherThreadWakesResult) {
  ConcurrentFuture<std::string> f = ConcurrentFuture<std::string>::create();
  std::thread worker([f]() mutable { f.set_result("done"); });
  EXPECT_EQ(f.result(), "done");
  worker.join();
}

TEST(ConcurrentFuture, SetExceptionMakesResultRaiseIt) {
  ConcurrentFuture<void> f = ConcurrentFuture<void>::create();
  f.set_exception(std::make_exception_ptr(std::runtime_error("boom")));
  EXPECT_THROW(f.result(), std::runtime_error);
  EXPECT_TRUE(f.exception() != nullptr);
}

TEST(ConcurrentFuture, SetResultOnADoneFutureIsInvalidStateError) {
  ConcurrentFuture<int> f = ConcurrentFuture<int>::create();
  f.set_result(1);
  EXPECT_THROW(f.set_result(2), InvalidStateError);
  EXPECT_THROW(f.set_exception(std::make_exception_ptr(std::runtime_error("late"))), InvalidStateError);
  EXPECT_EQ(f.result(), 1);
}

TEST(ConcurrentFuture, SetResultOnACancelledFutureIsInvalidStateError) {
  ConcurrentFuture<int> f = ConcurrentFuture<int>::create();
  EXPECT_TRUE(f.cancel());
  EXPECT_THROW(f.set_result(2), InvalidStateError);
}

TEST(ConcurrentFuture, SetExceptionOfANullPointerIsTypeError) {
  ConcurrentFuture<int> f = ConcurrentFuture<int>::create();
  EXPECT_THROW(f.set_exception(nullptr), TypeError);
  EXPECT_FALSE(f.done());
}

TEST(ConcurrentFuture, SetRunningOrNotifyCancelOnACancelledFutureReturnsFalse) {
  ConcurrentFuture<int> f = ConcurrentFuture<int>::create();
  f.cancel();
  EXPECT_FALSE(f.set_running_or_notify_cancel());
}

TEST(ConcurrentFuture, SetRunningOrNotifyCancelTwiceIsRuntimeError) {
  ConcurrentFuture<int> f = ConcurrentFuture<int>::create();
  EXPECT_TRUE(f.set_running_or_notify_cancel());
  EXPECT_TRUE(f.running());
  EXPECT_THROW(f.set_running_or_notify_cancel(), RuntimeError);
}

TEST(ConcurrentFuture, ARunningFutureRefusesCancel) {
  ConcurrentFuture<int> f = ConcurrentFuture<int>::create();
  ASSERT_TRUE(f.set_running_or_notify_cancel());
  EXPECT_FALSE(f.cancel());
  EXPECT_FALSE(f.cancelled());
  f.set_result(3);
  EXPECT_EQ(f.result(), 3);
}

TEST(ConcurrentFuture, CancelOfACancelledFutureReturnsTrue) {
  ConcurrentFuture<int> f = ConcurrentFuture<int>::create();
  EXPECT_TRUE(f.cancel());
  EXPECT_TRUE(f.cancel());
  EXPECT_THROW(f.result(), CancelledError);
}

TEST(ConcurrentFuture, ACallbackAddedBeforeCompletionRunsInTheCompletingThread) {
  ConcurrentFuture<int> f = ConcurrentFuture<int>::create();
  std::thread::id ran_in;
  f.add_done_callback([&ran_in](ConcurrentFuture<int>&) { ran_in = std::this_thread::get_id(); });
  std::thread worker([f]() mutable { f.set_result(1); });
  const std::thread::id worker_id = worker.get_id();
  worker.join();
  EXPECT_EQ(ran_in, worker_id);
}

}  // namespace

// Tests of asyncio::Generator<Y, S, R> and yield_from (coro/generator.hpp). The reference is
// CPython 3.13's generators and PEP 380 (`yield from`); each test names the Python behaviour it checks.

#include <gtest/gtest.h>

#include <asyncio/coro/generator.hpp>
#include <asyncio/exceptions.hpp>

#include <algorithm>
#include <iterator>
#include <memory>
#include <optional>
#include <ranges>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace {

using asyncio::Generator;
using asyncio::GeneratorExit;
using asyncio::GeneratorState;
using asyncio::InvalidStateError;
using asyncio::RuntimeError;
using asyncio::TypeError;
using asyncio::ValueError;
using asyncio::yield_from;

// --- generators used by several tests ---

Generator<int> count_to(int n) {
  for (int i = 0; i < n; ++i) co_yield i;
}

Generator<int> count_from_to(int first, int last) {
  for (int i = first; i < last; ++i) co_yield i;
}

// Runs `g` with next() until it is exhausted.
template <class Y, class S, class R>
std::vector<Y> drain(Generator<Y, S, R>& g) {
  std::vector<Y> out;
  while (auto v = g.next()) out.push_back(std::move(*v));
  return out;
}

// Sets *flag when the body starts, then yields 1.
Generator<int> flag_on_start(bool* flag) {
  *flag = true;
  co_yield 1;
}

// Sets a flag when destroyed: a local whose destruction shows that a frame unwound.
struct SetOnDestroy {
  bool* flag;
  ~SetOnDestroy() { *flag = true; }
};

// Python:  def acc():  total = 0;  while True: total += yield total
Generator<int, int> accumulator() {
  int total = 0;
  for (;;) {
    int got = co_yield total;
    total += got;
  }
}

// ===================================== Generator =====================================

static_assert(std::ranges::input_range<Generator<int>>);
static_assert(std::ranges::input_range<Generator<std::string, int, double>>);
static_assert(std::ranges::input_range<Generator<std::unique_ptr<int>>>);

TEST(Generator, RangeForVisitsEveryYieldedValueInOrder) {
  std::vector<int> seen;
  for (int v : count_to(4)) seen.push_back(v);
  EXPECT_EQ(seen, (std::vector<int>{0, 1, 2, 3}));
}

// (Not views::transform: clang 14 cannot compile libstdc++ 12's views at all, even over a vector.)
TEST(Generator, IsAStdRangesInputRangeThatRangesAlgorithmsAccept) {
  static_assert(std::ranges::input_range<Generator<int>>);
  auto g = count_to(4);
  std::vector<int> copied;
  std::ranges::copy(g, std::back_inserter(copied));
  EXPECT_EQ(copied, (std::vector<int>{0, 1, 2, 3}));
}

TEST(Generator, RangesFindStopsAtTheFirstMatchAndLeavesTheRestUnconsumed) {
  auto g = count_to(5);
  auto it = std::ranges::find(g, 2);
  ASSERT_NE(it, std::ranges::end(g));
  EXPECT_EQ(*it, 2);
  EXPECT_EQ(g.next(), 3);
}

TEST(Generator, RangeForOverAPartiallyConsumedGeneratorContinuesIt) {
  auto g = count_to(4);
  ASSERT_EQ(g.next(), 0);
  std::vector<int> seen;
  for (int v : g) seen.push_back(v);
  EXPECT_EQ(seen, (std::vector<int>{1, 2, 3}));
}

TEST(Generator, NextReturnsTheYieldedValuesThenEmptyWhenExhausted) {
  auto g = count_to(3);
  EXPECT_EQ(g.next(), 0);
  EXPECT_EQ(g.next(), 1);
  EXPECT_EQ(g.next(), 2);
  EXPECT_EQ(g.next(), std::nullopt);
  EXPECT_EQ(g.next(), std::nullopt);  // Python: StopIteration again, every time
}

TEST(Generator, AGeneratorThatYieldsNothingIsExhaustedAtTheFirstNext) {
  auto g = count_to(0);
  EXPECT_EQ(g.next(), std::nullopt);
  EXPECT_EQ(g.state(), GeneratorState::closed);
}

TEST(Generator, StateIsCreatedBeforeTheFirstNext) {
  auto g = count_to(3);
  EXPECT_EQ(g.state(), GeneratorState::created);
}

Generator<int> record_own_state(Generator<int>* const* self, GeneratorState* seen) {
  *seen = (*self)->state();
  co_yield 1;
}

TEST(Generator, StateIsRunningWhenObservedFromInsideTheBody) {
  Generator<int>* self = nullptr;
  GeneratorState seen = GeneratorState::closed;
  auto g = record_own_state(&self, &seen);
  self = &g;
  ASSERT_EQ(g.next(), 1);
  EXPECT_EQ(seen, GeneratorState::running);
}

TEST(Generator, StateIsSuspendedWhilePausedAtACoYield) {
  auto g = count_to(3);
  ASSERT_EQ(g.next(), 0);
  EXPECT_EQ(g.state(), GeneratorState::suspended);
}

TEST(Generator, StateIsClosedOnceTheBodyReturned) {
  auto g = count_to(1);
  ASSERT_EQ(g.next(), 0);
  ASSERT_EQ(g.next(), std::nullopt);
  EXPECT_EQ(g.state(), GeneratorState::closed);
}

TEST(Generator, ADefaultConstructedGeneratorIsClosedAndYieldsNothing) {
  Generator<int> g;
  EXPECT_EQ(g.state(), GeneratorState::closed);
  EXPECT_EQ(g.next(), std::nullopt);
}

TEST(Generator, AMovedFromGeneratorIsClosedAndTheNewOwnerContinues) {
  auto g = count_to(3);
  ASSERT_EQ(g.next(), 0);
  auto h = std::move(g);
  EXPECT_EQ(g.state(), GeneratorState::closed);  // NOLINT(bugprone-use-after-move): moved-from is specified
  EXPECT_EQ(h.next(), 1);
}

Generator<int, void, std::string> yield_then_return(std::string result) {
  co_yield 1;
  co_return result;
}

TEST(Generator, ReturnValueIsWhatTheBodyCoReturned) {
  auto g = yield_then_return("done");
  ASSERT_EQ(drain(g), (std::vector<int>{1}));
  EXPECT_EQ(g.return_value(), "done");
}

TEST(Generator, ReturnValueBeforeTheBodyReturnedIsAnInvalidStateError) {
  auto g = yield_then_return("done");
  ASSERT_EQ(g.next(), 1);
  EXPECT_THROW((void)g.return_value(), InvalidStateError);
}

TEST(Generator, ReturnValueOfAGeneratorClosedBeforeItReturnedIsAnInvalidStateError) {
  auto g = yield_then_return("done");
  ASSERT_EQ(g.next(), 1);
  g.close();
  EXPECT_THROW((void)g.return_value(), InvalidStateError);
}

TEST(Generator, SendDeliversTheValueAsTheResultOfCoYield) {
  auto g = accumulator();
  ASSERT_EQ(g.next(), 0);
  EXPECT_EQ(g.send(5), 5);
  EXPECT_EQ(g.send(3), 8);
}

// Yields back what each co_yield received, as Python's `x = yield x` echoes None for next().
std::string describe(const std::optional<int>& v) { return v ? std::to_string(*v) : std::string("None"); }

// (Not `co_yield got ? a : b`: g++ 12 miscompiles a conditional of two prvalues as a co_yield
// operand, the value's destructor then frees an address inside the frame.)
Generator<std::string, std::optional<int>> describe_received() {
  std::optional<int> got = co_yield "start";
  for (;;) got = co_yield describe(got);
}

TEST(Generator, NextOnAGeneratorWithASendTypeDeliversADefaultConstructedValue) {
  auto g = describe_received();
  ASSERT_EQ(g.next(), "start");
  EXPECT_EQ(g.next(), "None");  // std::optional<int>{}: Python's None
  EXPECT_EQ(g.send(7), "7");
}

TEST(Generator, SendOfAValueIntoAJustStartedGeneratorIsATypeError) {
  auto g = accumulator();
  EXPECT_THROW((void)g.send(1), TypeError);
  EXPECT_EQ(g.state(), GeneratorState::created);  // the body did not run
}

TEST(Generator, SendIntoAnExhaustedGeneratorReturnsEmpty) {
  bool started = false;
  auto g = [](bool* s) -> Generator<int, int> {
    *s = true;
    co_return;
  }(&started);
  ASSERT_EQ(g.next(), std::nullopt);
  ASSERT_TRUE(started);
  EXPECT_EQ(g.send(1), std::nullopt);
}

Generator<int> call_next_on_self(Generator<int>* const* self, bool* value_error) {
  try {
    (void)(*self)->next();
  } catch (const ValueError&) {
    *value_error = true;
  }
  co_yield 1;
}

TEST(Generator, NextCalledFromInsideTheRunningGeneratorIsAValueError) {
  Generator<int>* self = nullptr;
  bool value_error = false;
  auto g = call_next_on_self(&self, &value_error);
  self = &g;
  ASSERT_EQ(g.next(), 1);
  EXPECT_TRUE(value_error);
}

Generator<int> close_self(Generator<int>* const* self, bool* value_error) {
  try {
    (*self)->close();
  } catch (const ValueError&) {
    *value_error = true;
  }
  co_yield 1;
}

TEST(Generator, CloseCalledFromInsideTheRunningGeneratorIsAValueError) {
  Generator<int>* self = nullptr;
  bool value_error = false;
  auto g = close_self(&self, &value_error);
  self = &g;
  ASSERT_EQ(g.next(), 1);
  EXPECT_TRUE(value_error);
}

// Python:  try: yield 1  except RuntimeError as e: caught = str(e);  yield 2
Generator<int> catch_runtime_error(std::string* caught) {
  try {
    co_yield 1;
  } catch (const std::runtime_error& e) {
    *caught = e.what();
  }
  co_yield 2;
}

TEST(Generator, ThrowExceptionAtAPausedCoYieldCanBeCaughtAndReturnsTheNextValue) {
  std::string caught;
  auto g = catch_runtime_error(&caught);
  ASSERT_EQ(g.next(), 1);
  EXPECT_EQ(g.throw_exception(std::runtime_error("boom")), 2);
  EXPECT_EQ(caught, "boom");
}

TEST(Generator, ThrowExceptionOfAnExceptionPtrRaisesThatException) {
  std::string caught;
  auto g = catch_runtime_error(&caught);
  ASSERT_EQ(g.next(), 1);
  EXPECT_EQ(g.throw_exception(std::make_exception_ptr(std::runtime_error("ptr"))), 2);
  EXPECT_EQ(caught, "ptr");
}

TEST(Generator, ThrowExceptionCaughtByABodyThatThenReturnsGivesEmpty) {
  auto g = [](bool* caught) -> Generator<int> {
    try {
      co_yield 1;
    } catch (const std::logic_error&) {
      *caught = true;
    }
  };
  bool caught = false;
  auto gen = g(&caught);
  ASSERT_EQ(gen.next(), 1);
  EXPECT_EQ(gen.throw_exception(std::logic_error("stop")), std::nullopt);
  EXPECT_TRUE(caught);
  EXPECT_EQ(gen.state(), GeneratorState::closed);
}

TEST(Generator, AnUncaughtThrownExceptionPropagatesOutOfThrowExceptionAndClosesTheGenerator) {
  auto g = count_to(3);
  ASSERT_EQ(g.next(), 0);
  EXPECT_THROW((void)g.throw_exception(std::out_of_range("nobody catches this")), std::out_of_range);
  EXPECT_EQ(g.state(), GeneratorState::closed);
  EXPECT_EQ(g.next(), std::nullopt);
}

TEST(Generator, ThrowIntoACreatedGeneratorNeverRunsItsBodyAndClosesIt) {
  bool started = false;
  auto g = flag_on_start(&started);
  EXPECT_THROW((void)g.throw_exception(std::runtime_error("early")), std::runtime_error);
  EXPECT_FALSE(started);
  EXPECT_EQ(g.state(), GeneratorState::closed);
}

TEST(Generator, ThrowIntoAClosedGeneratorRaisesTheExceptionAtOnce) {
  auto g = count_to(0);
  ASSERT_EQ(g.next(), std::nullopt);
  EXPECT_THROW((void)g.throw_exception(std::runtime_error("late")), std::runtime_error);
}

TEST(Generator, ThrowExceptionOfANullExceptionPtrIsATypeError) {
  auto g = count_to(3);
  ASSERT_EQ(g.next(), 0);
  EXPECT_THROW((void)g.throw_exception(std::exception_ptr()), TypeError);
  EXPECT_EQ(g.state(), GeneratorState::suspended);
}

// Python:  try: yield 1  except GeneratorExit: saw = True; return
Generator<int> note_generator_exit(bool* saw) {
  try {
    co_yield 1;
  } catch (const GeneratorExit&) {
    *saw = true;
    co_return;
  }
  co_yield 2;
}

TEST(Generator, CloseRaisesGeneratorExitAtThePausedCoYield) {
  bool saw = false;
  auto g = note_generator_exit(&saw);
  ASSERT_EQ(g.next(), 1);
  EXPECT_NO_THROW(g.close());
  EXPECT_TRUE(saw);
  EXPECT_EQ(g.state(), GeneratorState::closed);
}

TEST(Generator, CloseOfASuspendedGeneratorThatLetsGeneratorExitPropagateReturnsNormally) {
  auto g = count_to(3);
  ASSERT_EQ(g.next(), 0);
  EXPECT_NO_THROW(g.close());
  EXPECT_EQ(g.state(), GeneratorState::closed);
  EXPECT_EQ(g.next(), std::nullopt);
}

TEST(Generator, GeneratorExitIsNotCaughtByACatchOfStdException) {
  bool caught_as_std_exception = false;
  auto g = [](bool* caught) -> Generator<int> {
    try {
      co_yield 1;
    } catch (const std::exception&) {
      *caught = true;
    }
    co_yield 2;
  }(&caught_as_std_exception);
  ASSERT_EQ(g.next(), 1);
  EXPECT_NO_THROW(g.close());
  EXPECT_FALSE(caught_as_std_exception);
}

// Python:  try: yield 1  except GeneratorExit: pass;  yield 2
Generator<int> ignore_generator_exit() {
  try {
    co_yield 1;
  } catch (const GeneratorExit&) {
  }
  co_yield 2;
}

TEST(Generator, CloseOfAGeneratorThatYieldsAgainIsARuntimeError) {
  auto g = ignore_generator_exit();
  ASSERT_EQ(g.next(), 1);
  try {
    g.close();
    ADD_FAILURE() << "close() returned normally";
  } catch (const RuntimeError& e) {
    EXPECT_STREQ(e.what(), "generator ignored GeneratorExit");
  }
}

TEST(Generator, CloseLetsAnotherExceptionRaisedByTheBodyPropagate) {
  auto g = []() -> Generator<int> {
    try {
      co_yield 1;
    } catch (const GeneratorExit&) {
      throw std::length_error("cleanup failed");
    }
  }();
  ASSERT_EQ(g.next(), 1);
  EXPECT_THROW(g.close(), std::length_error);
  EXPECT_EQ(g.state(), GeneratorState::closed);
}

TEST(Generator, AValueReturnedDuringCloseIsTheReturnValue) {
  // Python 3.13: gen.close() returns the value the generator returned on GeneratorExit.
  auto g = []() -> Generator<int, void, int> {
    try {
      co_yield 1;
    } catch (const GeneratorExit&) {
      co_return 7;
    }
    co_return 0;
  }();
  ASSERT_EQ(g.next(), 1);
  g.close();
  EXPECT_EQ(g.return_value(), 7);
}

TEST(Generator, CloseOfACreatedGeneratorNeverRunsItsBody) {
  bool started = false;
  auto g = flag_on_start(&started);
  g.close();
  EXPECT_FALSE(started);
  EXPECT_EQ(g.state(), GeneratorState::closed);
  EXPECT_EQ(g.next(), std::nullopt);
}

TEST(Generator, CloseOfAClosedGeneratorDoesNothing) {
  bool saw = false;
  auto g = note_generator_exit(&saw);
  ASSERT_EQ(g.next(), 1);
  g.close();
  ASSERT_TRUE(saw);
  saw = false;
  EXPECT_NO_THROW(g.close());
  EXPECT_FALSE(saw);
  EXPECT_EQ(g.state(), GeneratorState::closed);
}

Generator<int> raise_after(int n) {
  for (int i = 0; i < n; ++i) co_yield i;
  throw std::domain_error("body failed");
}

TEST(Generator, AnExceptionFromTheBodyPropagatesOutOfNext) {
  auto g = raise_after(1);
  ASSERT_EQ(g.next(), 0);
  try {
    (void)g.next();
    ADD_FAILURE() << "next() returned normally";
  } catch (const std::domain_error& e) {
    EXPECT_STREQ(e.what(), "body failed");
  }
}

TEST(Generator, AGeneratorIsClosedAfterItsBodyRaised) {
  auto g = raise_after(0);
  EXPECT_THROW((void)g.next(), std::domain_error);
  EXPECT_EQ(g.state(), GeneratorState::closed);
  EXPECT_EQ(g.next(), std::nullopt);  // Python: StopIteration, the exception is not raised twice
}

TEST(Generator, AnExceptionFromTheBodyPropagatesOutOfRangeFor) {
  std::vector<int> seen;
  auto loop = [&seen] {
    for (int v : raise_after(2)) seen.push_back(v);
  };
  EXPECT_THROW(loop(), std::domain_error);
  EXPECT_EQ(seen, (std::vector<int>{0, 1}));
}

Generator<std::string> yield_lvalue(std::string* after) {
  std::string s = "kept";
  co_yield s;
  *after = s;
}

TEST(Generator, CoYieldOfAnLvalueCopiesItSoTheGeneratorsVariableIsNotMovedFrom) {
  std::string after;
  auto g = yield_lvalue(&after);
  EXPECT_EQ(g.next(), "kept");  // next() moves the value out to the caller
  EXPECT_EQ(g.next(), std::nullopt);
  EXPECT_EQ(after, "kept");
}

TEST(Generator, CoYieldOfAnLvalueSeenThroughRangeForIsACopy) {
  std::string after;
  auto g = yield_lvalue(&after);
  for (std::string& v : g) v = "changed by the caller";
  EXPECT_EQ(after, "kept");
}

Generator<std::unique_ptr<int>> boxes(int n) {
  for (int i = 0; i < n; ++i) co_yield std::make_unique<int>(i);
  auto last = std::make_unique<int>(100);
  co_yield std::move(last);
}

TEST(Generator, AMoveOnlyValueTypeIsMovedOutByNext) {
  auto g = boxes(2);
  std::vector<int> seen;
  while (std::optional<std::unique_ptr<int>> box = g.next()) {
    ASSERT_NE(*box, nullptr);
    seen.push_back(**box);
  }
  EXPECT_EQ(seen, (std::vector<int>{0, 1, 100}));
}

TEST(Generator, AMoveOnlyValueTypeCanBeTakenThroughRangeFor) {
  std::vector<std::unique_ptr<int>> taken;
  for (std::unique_ptr<int>& box : boxes(2)) taken.push_back(std::move(box));
  ASSERT_EQ(taken.size(), 3u);
  EXPECT_EQ(*taken[2], 100);
}

TEST(Generator, DestroyingASuspendedGeneratorDestroysItsLocalsWithoutRaisingGeneratorExit) {
  bool destroyed = false;
  bool saw_generator_exit = false;
  {
    auto g = [](bool* d, bool* saw) -> Generator<int> {
      SetOnDestroy guard{d};
      try {
        co_yield 1;
      } catch (const GeneratorExit&) {
        *saw = true;
      }
    }(&destroyed, &saw_generator_exit);
    ASSERT_EQ(g.next(), 1);
    ASSERT_FALSE(destroyed);
  }
  EXPECT_TRUE(destroyed);
  EXPECT_FALSE(saw_generator_exit);
}

// ===================================== yield_from =====================================

Generator<int> around(Generator<int> sub) {
  co_yield -1;
  co_yield yield_from(std::move(sub));
  co_yield -2;
}

TEST(YieldFrom, TheSubGeneratorsValuesPassThrough) {
  auto g = around(count_from_to(1, 4));
  EXPECT_EQ(drain(g), (std::vector<int>{-1, 1, 2, 3, -2}));
}

TEST(YieldFrom, NestedDelegationPassesValuesThroughEveryLevel) {
  auto g = around(around(around(count_from_to(10, 12))));
  EXPECT_EQ(drain(g), (std::vector<int>{-1, -1, -1, 10, 11, -2, -2, -2}));
}

Generator<int, int> delegate_to_accumulator() { co_yield yield_from(accumulator()); }

TEST(YieldFrom, SendPassesThroughToTheSubGenerator) {
  auto g = delegate_to_accumulator();
  ASSERT_EQ(g.next(), 0);
  EXPECT_EQ(g.send(10), 10);
  EXPECT_EQ(g.send(5), 15);
}

TEST(YieldFrom, NextOfADelegatorWithASendTypeDeliversADefaultConstructedValueToTheSubGenerator) {
  auto g = []() -> Generator<std::string, std::optional<int>> { co_yield yield_from(describe_received()); }();
  ASSERT_EQ(g.next(), "start");
  EXPECT_EQ(g.next(), "None");
  EXPECT_EQ(g.send(3), "3");
}

TEST(YieldFrom, ThrowExceptionPassesThroughAndCanBeCaughtInTheSubGenerator) {
  std::string caught;
  auto g = [](std::string* c) -> Generator<int> { co_yield yield_from(catch_runtime_error(c)); }(&caught);
  ASSERT_EQ(g.next(), 1);
  EXPECT_EQ(g.throw_exception(std::runtime_error("into the sub")), 2);
  EXPECT_EQ(caught, "into the sub");
}

Generator<int> catch_what_the_sub_lets_through(std::string* caught) {
  try {
    co_yield yield_from(count_to(3));
  } catch (const std::runtime_error& e) {
    *caught = e.what();
  }
  co_yield 50;
}

TEST(YieldFrom, AThrownExceptionTheSubGeneratorDoesNotCatchPropagatesIntoTheDelegator) {
  std::string caught;
  auto g = catch_what_the_sub_lets_through(&caught);
  ASSERT_EQ(g.next(), 0);
  EXPECT_EQ(g.throw_exception(std::runtime_error("through")), 50);
  EXPECT_EQ(caught, "through");
}

// The sub notes GeneratorExit and returns; the delegator notes what reaches it.
struct CloseObservations {
  bool sub_saw_generator_exit = false;
  bool delegator_saw_generator_exit = false;
  bool delegator_continued = false;
};

Generator<int> sub_returns_on_generator_exit(CloseObservations* o) {
  try {
    co_yield 1;
  } catch (const GeneratorExit&) {
    o->sub_saw_generator_exit = true;
    co_return;
  }
  co_yield 2;
}

Generator<int> delegator_observing_close(CloseObservations* o) {
  try {
    co_yield yield_from(sub_returns_on_generator_exit(o));
    o->delegator_continued = true;
  } catch (const GeneratorExit&) {
    o->delegator_saw_generator_exit = true;
    throw;
  }
  co_yield 3;
}

TEST(YieldFrom, ClosePassesThroughAndTheSubGeneratorSeesGeneratorExit) {
  CloseObservations o;
  auto g = delegator_observing_close(&o);
  ASSERT_EQ(g.next(), 1);
  EXPECT_NO_THROW(g.close());
  EXPECT_TRUE(o.sub_saw_generator_exit);
  EXPECT_EQ(g.state(), GeneratorState::closed);
}

TEST(YieldFrom, WhenTheSubGeneratorReturnsDuringCloseTheDelegatorStillSeesGeneratorExit) {
  CloseObservations o;
  auto g = delegator_observing_close(&o);
  ASSERT_EQ(g.next(), 1);
  g.close();
  ASSERT_TRUE(o.sub_saw_generator_exit);
  EXPECT_TRUE(o.delegator_saw_generator_exit);
  EXPECT_FALSE(o.delegator_continued);
}

Generator<int> delegator_catching_runtime_error(std::string* caught) {
  try {
    co_yield yield_from(ignore_generator_exit());
  } catch (const RuntimeError& e) {
    *caught = e.what();
  }
}

TEST(YieldFrom, ASubGeneratorThatYieldsDuringCloseMakesRuntimeErrorAppearInTheDelegator) {
  std::string caught;
  auto g = delegator_catching_runtime_error(&caught);
  ASSERT_EQ(g.next(), 1);
  EXPECT_NO_THROW(g.close());  // the delegator caught the RuntimeError and returned
  EXPECT_EQ(caught, "generator ignored GeneratorExit");
  EXPECT_EQ(g.state(), GeneratorState::closed);
}

TEST(YieldFrom, ASubGeneratorIgnoringCloseMakesCloseOfADelegatorThatDoesNotCatchARuntimeError) {
  auto g = []() -> Generator<int> { co_yield yield_from(ignore_generator_exit()); }();
  ASSERT_EQ(g.next(), 1);
  EXPECT_THROW(g.close(), RuntimeError);
  EXPECT_EQ(g.state(), GeneratorState::closed);
}

TEST(YieldFrom, AnExceptionRaisedByTheSubGeneratorDuringClosePropagatesOutOfClose) {
  auto g = []() -> Generator<int> {
    co_yield yield_from([]() -> Generator<int> {
      try {
        co_yield 1;
      } catch (const GeneratorExit&) {
        throw std::length_error("sub cleanup failed");
      }
    }());
  }();
  ASSERT_EQ(g.next(), 1);
  EXPECT_THROW(g.close(), std::length_error);
  EXPECT_EQ(g.state(), GeneratorState::closed);
}

Generator<int, void, int> return_at_once(int r) { co_return r; }

// Python:  def cleanup(): return 5; yield
//          def g():
//              try: yield 1
//              except GeneratorExit: pass
//              got = yield from cleanup()      # 5: cleanup was not being closed
// g.close() returns normally after g recorded 5.
Generator<int> delegate_to_a_returning_cleanup_on_close(int* got) {
  try {
    co_yield 1;
  } catch (const GeneratorExit&) {
  }
  *got = co_yield yield_from(return_at_once(5));
}

TEST(YieldFrom, ASubGeneratorStartedDuringCloseThatReturnsGivesItsValueToTheDelegator) {
  int got = 0;
  auto g = delegate_to_a_returning_cleanup_on_close(&got);
  ASSERT_EQ(g.next(), 1);
  EXPECT_NO_THROW(g.close());
  EXPECT_EQ(got, 5);
}

// Python:  def cleanup(): yield 99
//          def g():
//              try: yield 1
//              except GeneratorExit: pass
//              try: yield from cleanup()
//              except RuntimeError: caught = True
// g.close() raises RuntimeError("generator ignored GeneratorExit") to its caller: cleanup() was not
// being closed, its `yield 99` is simply a yield of g during close. g never sees a RuntimeError.
Generator<int> yield_from_cleanup_on_close(bool* delegator_caught_runtime_error) {
  try {
    co_yield 1;
  } catch (const GeneratorExit&) {
  }
  try {
    co_yield yield_from(count_from_to(99, 100));
  } catch (const RuntimeError&) {
    *delegator_caught_runtime_error = true;
  }
}

TEST(YieldFrom, AYieldDuringCloseFromASubGeneratorStartedByTheCleanupIsARuntimeErrorFromClose) {
  bool delegator_caught_runtime_error = false;
  auto g = yield_from_cleanup_on_close(&delegator_caught_runtime_error);
  ASSERT_EQ(g.next(), 1);
  EXPECT_THROW(g.close(), RuntimeError);
  EXPECT_FALSE(delegator_caught_runtime_error);
}

Generator<int, void, int> yield_two_return_int(int r) {
  co_yield 1;
  co_yield 2;
  co_return r;
}

Generator<int, void, std::string> middle_returns_string() {
  int r = co_yield yield_from(yield_two_return_int(21));
  co_yield 3;
  co_return std::string(static_cast<std::size_t>(r), 'x');
}

Generator<int, void, std::size_t> top_returns_size() {
  std::string s = co_yield yield_from(middle_returns_string());
  co_return s.size();
}

TEST(YieldFrom, TheExpressionsValueIsTheSubGeneratorsReturnValue) {
  auto g = top_returns_size();
  EXPECT_EQ(drain(g), (std::vector<int>{1, 2, 3}));
  EXPECT_EQ(g.return_value(), 21u);
}

TEST(YieldFrom, AMoveOnlyReturnValueIsMovedIntoTheDelegator) {
  auto g = []() -> Generator<int, void, int> {
    std::unique_ptr<int> box = co_yield yield_from([]() -> Generator<int, void, std::unique_ptr<int>> {
      co_yield 1;
      co_return std::make_unique<int>(5);
    }());
    co_return *box;
  }();
  EXPECT_EQ(drain(g), (std::vector<int>{1}));
  EXPECT_EQ(g.return_value(), 5);
}

TEST(YieldFrom, ASubGeneratorThatCatchesAThrownExceptionAndReturnsGivesItsValueToTheDelegator) {
  auto g = []() -> Generator<int, void, int> {
    int r = co_yield yield_from([]() -> Generator<int, void, int> {
      try {
        co_yield 1;
      } catch (const std::runtime_error&) {
        co_return 8;
      }
      co_return 0;
    }());
    co_yield r;
    co_return r;
  }();
  ASSERT_EQ(g.next(), 1);
  EXPECT_EQ(g.throw_exception(std::runtime_error("stop the sub")), 8);
}

Generator<int> catch_the_subs_exception(std::string* caught) {
  try {
    co_yield yield_from(raise_after(2));
  } catch (const std::domain_error& e) {
    *caught = e.what();
  }
  co_yield 10;
}

TEST(YieldFrom, AnExceptionRaisedByTheSubGeneratorCanBeCaughtInTheDelegator) {
  std::string caught;
  auto g = catch_the_subs_exception(&caught);
  EXPECT_EQ(drain(g), (std::vector<int>{0, 1, 10}));
  EXPECT_EQ(caught, "body failed");
}

TEST(YieldFrom, AnExceptionRaisedByTheSubGeneratorThatNobodyCatchesPropagatesOutOfNext) {
  auto g = around(raise_after(1));
  ASSERT_EQ(g.next(), -1);
  ASSERT_EQ(g.next(), 0);
  EXPECT_THROW((void)g.next(), std::domain_error);
  EXPECT_EQ(g.state(), GeneratorState::closed);
}

TEST(YieldFrom, OfAPartiallyConsumedGeneratorContinuesIt) {
  auto sub = count_to(5);
  ASSERT_EQ(sub.next(), 0);
  ASSERT_EQ(sub.next(), 1);
  auto g = around(std::move(sub));
  EXPECT_EQ(drain(g), (std::vector<int>{-1, 2, 3, 4, -2}));
}

TEST(YieldFrom, OfAPartiallyConsumedDelegatingGeneratorContinuesItsWholeChain) {
  auto sub = around(around(count_from_to(1, 3)));
  ASSERT_EQ(sub.next(), -1);
  ASSERT_EQ(sub.next(), -1);
  ASSERT_EQ(sub.next(), 1);  // sub is now paused two delegations deep
  auto g = around(std::move(sub));
  EXPECT_EQ(drain(g), (std::vector<int>{-1, 2, -2, -2, -2}));
}

TEST(YieldFrom, OfAPartiallyConsumedGeneratorWithASendTypeResumesItWithADefaultConstructedValue) {
  // PEP 380: `yield from` starts with sub.send(None).
  auto sub = describe_received();
  ASSERT_EQ(sub.next(), "start");
  auto g = [](Generator<std::string, std::optional<int>> s) -> Generator<std::string, std::optional<int>> {
    co_yield yield_from(std::move(s));
  }(std::move(sub));
  EXPECT_EQ(g.next(), "None");
  EXPECT_EQ(g.send(4), "4");
}

TEST(YieldFrom, OfAnExhaustedGeneratorReturnsAtOnce) {
  auto sub = count_to(2);
  ASSERT_EQ(drain(sub), (std::vector<int>{0, 1}));
  auto g = around(std::move(sub));
  EXPECT_EQ(drain(g), (std::vector<int>{-1, -2}));
}

TEST(YieldFrom, OfAMovedFromGeneratorIsAValueError) {
  auto sub = count_to(2);
  auto keep = std::move(sub);
  auto g = around(std::move(sub));  // NOLINT(bugprone-use-after-move): the point of the test
  ASSERT_EQ(g.next(), -1);
  EXPECT_THROW((void)g.next(), ValueError);
}

// Delegates first, then yields: at the deepest point all `depth` frames are linked at once.
Generator<int, void, int> chain(int depth) {
  if (depth == 0) {
    co_yield 0;
    co_return 0;
  }
  int below = co_yield yield_from(chain(depth - 1));
  co_yield depth;
  co_return below + 1;
}

TEST(YieldFrom, AThousandDeepChainYieldsItsValuesAndReturns) {
  constexpr int kDepth = 1000;
  auto g = chain(kDepth);
  std::vector<int> expected;
  for (int i = 0; i <= kDepth; ++i) expected.push_back(i);
  EXPECT_EQ(drain(g), expected);
  EXPECT_EQ(g.return_value(), kDepth);
}

TEST(YieldFrom, ClosingAThousandDeepChainPausedAtItsDeepestPointClosesEveryFrame) {
  constexpr int kDepth = 1000;
  auto g = chain(kDepth);
  ASSERT_EQ(g.next(), 0);  // the leaf, 1000 delegations down
  EXPECT_NO_THROW(g.close());
  EXPECT_EQ(g.state(), GeneratorState::closed);
}

TEST(YieldFrom, DestroyingAThousandDeepChainPausedAtItsDeepestPointDestroysEveryFrame) {
  constexpr int kDepth = 1000;
  int destroyed = 0;
  struct Count {
    int* n;
    ~Count() { ++*n; }
  };
  struct Rec {
    static Generator<int> down(int depth, int* destroyed) {
      Count c{destroyed};
      if (depth == 0) {
        co_yield 0;
      } else {
        co_yield yield_from(down(depth - 1, destroyed));
      }
    }
  };
  {
    auto g = Rec::down(kDepth, &destroyed);
    ASSERT_EQ(g.next(), 0);
    ASSERT_EQ(destroyed, 0);
  }
  EXPECT_EQ(destroyed, kDepth + 1);
}

// ----- yield_from of a generator that is running -----

// Python:  def g(): yield from me[0]   ->   ValueError: generator already executing
struct SelfDelegation {
  Generator<int> self;
  std::string caught;
};

Generator<int> delegate_to_itself(SelfDelegation* s) {
  try {
    co_yield yield_from(std::move(s->self));
  } catch (const ValueError& e) {
    s->caught = e.what();
  }
  co_yield 7;
}

TEST(YieldFrom, DelegatingToItselfIsAValueErrorAndLeavesTheGeneratorRunning) {
  SelfDelegation s;
  s.self = delegate_to_itself(&s);
  EXPECT_EQ(s.self.next(), 7);
  EXPECT_EQ(s.caught, "yield_from: generator already executing");
  EXPECT_EQ(s.self.state(), GeneratorState::suspended);
  EXPECT_EQ(s.self.next(), std::nullopt);
}

// A's body runs b.next(); B's body delegates to A, which is running that next().
struct CrossDelegation {
  Generator<int> a;
  Generator<int> b;
  std::string caught_in_b;
};

Generator<int> a_runs_b(CrossDelegation* c) {
  auto v = c->b.next();
  co_yield v.value_or(-1);
  co_yield 2;
}

Generator<int> b_delegates_to_a(CrossDelegation* c) {
  try {
    co_yield yield_from(std::move(c->a));
  } catch (const ValueError& e) {
    c->caught_in_b = e.what();
  }
  co_yield 1;
}

TEST(YieldFrom, DelegatingToTheGeneratorWhoseNextIsRunningIsAValueErrorAndLeavesBothIntact) {
  CrossDelegation c;
  c.a = a_runs_b(&c);
  c.b = b_delegates_to_a(&c);
  EXPECT_EQ(c.a.next(), 1);  // b caught the ValueError and yielded 1, which a yields on
  EXPECT_EQ(c.caught_in_b, "yield_from: generator already executing");
  EXPECT_EQ(c.a.next(), 2);
  EXPECT_EQ(c.b.state(), GeneratorState::suspended);
}

TEST(YieldFrom, DelegatingToAnEmptyGeneratorIsAValueError) {
  auto g = []() -> Generator<int> {
    Generator<int> empty;
    co_yield yield_from(std::move(empty));
  }();
  EXPECT_THROW(g.next(), ValueError);
}

// ----- throw_exception(GeneratorExit) into a delegator (PEP 380) -----

TEST(YieldFrom, ThrowingGeneratorExitIntoADelegatorWhoseSubYieldsAgainIsARuntimeError) {
  // Python: the sub is closed; it yields 2 instead, so close() raises RuntimeError in the delegator.
  auto g = []() -> Generator<int> { co_yield yield_from(ignore_generator_exit()); }();
  ASSERT_EQ(g.next(), 1);
  try {
    g.throw_exception(GeneratorExit());
    ADD_FAILURE() << "throw_exception returned";
  } catch (const RuntimeError& e) {
    EXPECT_STREQ(e.what(), "generator ignored GeneratorExit");
  }
  EXPECT_EQ(g.state(), GeneratorState::closed);
}

TEST(YieldFrom, ThrowingGeneratorExitIntoADelegatorWhoseSubReturnsRaisesGeneratorExitInTheDelegator) {
  CloseObservations o;
  auto g = delegator_observing_close(&o);
  ASSERT_EQ(g.next(), 1);
  EXPECT_THROW(g.throw_exception(GeneratorExit()), GeneratorExit);
  EXPECT_TRUE(o.sub_saw_generator_exit);
  EXPECT_TRUE(o.delegator_saw_generator_exit);
  EXPECT_FALSE(o.delegator_continued);
  EXPECT_EQ(g.state(), GeneratorState::closed);
}

// Python:  def g():
//              try: yield from sub()
//              except GeneratorExit as e: got = str(e)
//              yield 9
// g.throw(GeneratorExit("bye")) closes sub, then g catches the exception it was given and yields 9.
Generator<int> delegator_catching_generator_exit(bool* sub_closed, std::string* got) {
  try {
    co_yield yield_from([](bool* closed) -> Generator<int> {
      SetOnDestroy mark{closed};
      co_yield 1;
      co_yield 2;
    }(sub_closed));
  } catch (const GeneratorExit& e) {
    *got = e.what();
  }
  co_yield 9;
}

TEST(YieldFrom, ADelegatorThatCatchesAThrownGeneratorExitMayYieldAndThrowExceptionReturnsTheValue) {
  bool sub_closed = false;
  std::string got;
  auto g = delegator_catching_generator_exit(&sub_closed, &got);
  ASSERT_EQ(g.next(), 1);
  EXPECT_EQ(g.throw_exception(GeneratorExit("bye")), 9);
  EXPECT_TRUE(sub_closed);
  EXPECT_EQ(got, "bye");
  EXPECT_EQ(g.state(), GeneratorState::suspended);
}

TEST(YieldFrom, AGeneratorExitThrownThroughTwoDelegationsClosesTheMiddleAndTheLeafFirst) {
  std::vector<std::string> log;
  struct Gens {
    static Generator<int> leaf(std::vector<std::string>* log) {
      try {
        co_yield 1;
      } catch (const GeneratorExit&) {
        log->push_back("leaf closed");
        throw;
      }
    }
    static Generator<int> middle(std::vector<std::string>* log) {
      try {
        co_yield yield_from(leaf(log));
      } catch (const GeneratorExit&) {
        log->push_back("middle closed");
        throw;
      }
    }
    static Generator<int> top(std::vector<std::string>* log) {
      try {
        co_yield yield_from(middle(log));
      } catch (const GeneratorExit&) {
        log->push_back("top got GeneratorExit");
      }
      co_yield 5;
    }
  };
  auto g = Gens::top(&log);
  ASSERT_EQ(g.next(), 1);
  EXPECT_EQ(g.throw_exception(GeneratorExit()), 5);
  EXPECT_EQ(log, (std::vector<std::string>{"leaf closed", "middle closed", "top got GeneratorExit"}));
}

TEST(YieldFrom, ThrowingGeneratorExitIntoAGeneratorThatIsNotDelegatingRaisesItAtItsCoYield) {
  auto g = ignore_generator_exit();
  ASSERT_EQ(g.next(), 1);
  EXPECT_EQ(g.throw_exception(GeneratorExit()), 2);  // Python: throw() returns what it yields next
}

TEST(YieldFrom, ADelegatorBeingClosedSeesAFreshGeneratorExitNotTheOneItsSubLetOut) {
  // Python: close() of the sub swallows the GeneratorExit("mine") the sub raises, and the delegator
  // gets GeneratorExit() of its own.
  std::string seen = "nothing";
  auto g = [](std::string* seen) -> Generator<int> {
    try {
      co_yield yield_from([]() -> Generator<int> {
        try {
          co_yield 1;
        } catch (const GeneratorExit&) {
          throw GeneratorExit("mine");
        }
      }());
    } catch (const GeneratorExit& e) {
      *seen = e.what();
      throw;
    }
  }(&seen);
  ASSERT_EQ(g.next(), 1);
  EXPECT_NO_THROW(g.close());
  EXPECT_NE(seen, "mine");
  EXPECT_NE(seen, "nothing");
}

}  // namespace

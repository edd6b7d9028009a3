// asyncio::TaskGroup: CPython 3.13 Lib/asyncio/taskgroups.py (and cancel() from CPython's main
// branch) is the reference; many tests follow Lib/test/test_asyncio/test_taskgroups.py. All run on
// the virtual clock, so the times checked are exact.

#include <gtest/gtest.h>
#include <asyncio/flow/exception_group.hpp>
#include <asyncio/flow/task_group.hpp>

#include <exception>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "support/test_support.hpp"

namespace {

using asyncio::AnyTask;
using asyncio::CancelledError;
using asyncio::Coro;
using asyncio::EventLoop;
using asyncio::ExceptionGroup;
using asyncio::Future;
using asyncio::RuntimeError;
using asyncio::Task;
using asyncio::TaskGroup;
using asyncio::TaskOptions;
using asyncio::ValueError;
using asyncio::testing::HandlerCapture;
using asyncio::testing::run_virtual;
using asyncio::testing::virtual_clock;

double now() { return asyncio::get_running_loop().time(); }
int parent_cancelling() { return asyncio::current_task().cancelling(); }

Coro<int> value_after(double delay, int value) {
  co_await asyncio::sleep(delay);
  co_return value;
}

Coro<void> fail_after(double delay, std::string message) {
  co_await asyncio::sleep(delay);
  throw ValueError(message);
}

/// A user's BaseException (not an error: control flow, like Python's KeyboardInterrupt).
class Stop : public asyncio::BaseException {
 public:
  using BaseException::BaseException;
  [[nodiscard]] const char* name() const noexcept override { return "Stop"; }
};

/// "ValueError:boom" for each item; nested groups as "group[...]".
std::string describe(const std::exception_ptr& item);
std::vector<std::string> items(const ExceptionGroup& eg) {
  std::vector<std::string> out;
  for (const std::exception_ptr& item : eg.exceptions()) out.push_back(describe(item));
  return out;
}
std::string describe(const std::exception_ptr& item) {
  try {
    std::rethrow_exception(item);
  } catch (const ExceptionGroup& eg) {
    std::string text = "group[";
    for (const std::string& s : items(eg)) text += s + ";";
    return text + "]";
  } catch (const ValueError& e) {
    return std::string("ValueError:") + e.what();
  } catch (const RuntimeError& e) {
    return std::string("RuntimeError:") + e.what();
  } catch (const std::exception& e) {
    return std::string("exception:") + e.what();
  } catch (...) {
    return "?";
  }
}

/// Runs `fn` (a Coro-returning callable) and returns the items of the ExceptionGroup it raised;
/// fails the test if it raised none.
template <class F>
Coro<std::vector<std::string>> group_items_of(F fn) {
  std::optional<std::vector<std::string>> got;
  try {
    co_await fn();
  } catch (const ExceptionGroup& eg) {
    EXPECT_EQ(eg.message(), "unhandled errors in a TaskGroup");
    got = items(eg);
  }
  if (!got) ADD_FAILURE() << "no ExceptionGroup was raised";
  co_return got.value_or(std::vector<std::string>{});
}

// --- the basics -------------------------------------------------------------------------------

TEST(TaskGroup, ChildrenRunAndTheirResultsAreAvailableAfterRun) {
  run_virtual([]() -> Coro<void> {
    TaskGroup tg;
    Task<int> t1;
    Task<int> t2;
    co_await tg.run([&](TaskGroup& g) -> Coro<void> {
      t1 = g.create_task(value_after(0.1, 42));
      t2 = g.create_task(value_after(0.2, 11));
      co_return;
    });
    EXPECT_EQ(now(), 0.2);  // run() waited for the slower child
    EXPECT_TRUE(t1.done());
    EXPECT_TRUE(t2.done());
    EXPECT_EQ(t1.result(), 42);
    EXPECT_EQ(t2.result(), 11);
  });
}

TEST(TaskGroup, ChildrenCreatedWhileTheBodyRunsAreWaitedForToo) {
  run_virtual([]() -> Coro<void> {
    TaskGroup tg;
    Task<int> late;
    co_await tg.run([&](TaskGroup& g) -> Coro<void> {
      g.create_task(value_after(0.1, 1));
      co_await asyncio::sleep(0.15);
      late = g.create_task(value_after(0.2, 2));
    });
    EXPECT_DOUBLE_EQ(now(), 0.35);
    EXPECT_EQ(late.result(), 2);
  });
}

TEST(TaskGroup, RunReturnsTheBodysValue) {
  const int v = run_virtual([]() -> Coro<int> {
    TaskGroup tg;
    const int got = co_await tg.run([](TaskGroup& g) -> Coro<int> {
      Task<int> t = g.create_task(value_after(1, 20));
      co_return co_await t + 1;
    });
    co_return got;
  });
  EXPECT_EQ(v, 21);
}

TEST(TaskGroup, ABodyTakingNoArgumentIsAccepted) {
  run_virtual([]() -> Coro<void> {
    TaskGroup tg;
    Task<int> t;
    co_await tg.run([&]() -> Coro<void> {
      t = tg.create_task(value_after(1, 3));
      co_return;
    });
    EXPECT_EQ(t.result(), 3);
  });
}

TEST(TaskGroup, ACallableChildIsMovedIntoItsTaskSoItsCapturesOutliveTheBody) {
  run_virtual([]() -> Coro<void> {
    TaskGroup tg;
    Task<std::size_t> t;
    co_await tg.run([&](TaskGroup& g) -> Coro<void> {
      std::string text = "captured by value";
      t = g.create_task([text]() -> Coro<std::size_t> {
        co_await asyncio::sleep(1);
        co_return text.size();
      });
      co_return;  // `text` is gone; the child's copy is not
    });
    EXPECT_EQ(t.result(), std::string("captured by value").size());
  });
}

TEST(TaskGroup, CreateTaskPassesTheTaskOptions) {
  run_virtual([]() -> Coro<void> {
    TaskGroup tg;
    std::string seen;
    co_await tg.run([&](TaskGroup& g) -> Coro<void> {
      Task<void> t = g.create_task(
          [&]() -> Coro<void> {
            seen = asyncio::current_task().get_name();
            co_return;
          },
          TaskOptions{.name = "example name"});
      EXPECT_EQ(t.get_name(), "example name");
      co_return;
    });
    EXPECT_EQ(seen, "example name");
  });
}

TEST(TaskGroup, ChildrenMayCreateMoreChildrenInTheirGroup) {
  run_virtual([]() -> Coro<void> {
    TaskGroup tg;
    int done = 0;
    co_await tg.run([&](TaskGroup& g) -> Coro<void> {
      g.create_task([&]() -> Coro<void> {
        co_await asyncio::sleep(0.1);
        for (int i = 1; i <= 2; ++i) {
          g.create_task([&done, i]() -> Coro<void> {
            co_await asyncio::sleep(0.1 * i);
            ++done;
          });
        }
      });
      co_return;
    });
    EXPECT_EQ(done, 2);
    EXPECT_DOUBLE_EQ(now(), 0.3);
  });
}

TEST(TaskGroup, AChildCancelledOnItsOwnIsNotAnError) {
  run_virtual([]() -> Coro<void> {
    TaskGroup tg;
    Task<int> t1;
    Task<int> t2;
    co_await tg.run([&](TaskGroup& g) -> Coro<void> {
      t1 = g.create_task(value_after(1, 42));
      co_await asyncio::sleep(0.15);
      t1.cancel();
      t2 = g.create_task(value_after(0.2, 11));
    });
    EXPECT_TRUE(t1.cancelled());
    EXPECT_EQ(t2.result(), 11);
  });
}

// --- errors -----------------------------------------------------------------------------------

TEST(TaskGroup, AChildErrorCancelsTheSiblingsAndTheBodysPendingAwaitAndRaisesAGroupWithIt) {
  run_virtual([]() -> Coro<void> {
    bool sibling_saw_cancel = false;
    bool body_saw_cancel = false;
    bool body_went_on = false;
    Task<void> sibling;
    TaskGroup tg;
    const std::vector<std::string> got = co_await group_items_of([&]() -> Coro<void> {
      co_await tg.run([&](TaskGroup& g) -> Coro<void> {
        g.create_task(fail_after(0.1, "boom"));
        sibling = g.create_task([&]() -> Coro<void> {
          try {
            co_await asyncio::sleep(5);
          } catch (const CancelledError&) {
            sibling_saw_cancel = true;
            throw;
          }
        });
        try {
          co_await asyncio::sleep(10);
        } catch (const CancelledError&) {
          body_saw_cancel = true;
          throw;
        }
        body_went_on = true;
      });
    });
    EXPECT_EQ(got, (std::vector<std::string>{"ValueError:boom"}));
    EXPECT_TRUE(sibling_saw_cancel);
    EXPECT_TRUE(sibling.cancelled());
    EXPECT_TRUE(body_saw_cancel);
    EXPECT_FALSE(body_went_on);
    EXPECT_EQ(now(), 0.1);
  });
}

TEST(TaskGroup, AfterAGroupErrorTheParentIsNotLeftCancelled) {
  // test_cancelling_level_preserved / test_cancellation_does_not_leak_out_of_tg.
  run_virtual([]() -> Coro<void> {
    TaskGroup tg;
    try {
      co_await tg.run([](TaskGroup& g) -> Coro<void> {
        g.create_task(fail_after(0, "boom"));
        co_await asyncio::sleep(10);
      });
    } catch (const ExceptionGroup&) {
    }
    EXPECT_EQ(parent_cancelling(), 0);
    co_await asyncio::sleep(1);  // would raise CancelledError if the group's cancel leaked out
    EXPECT_EQ(now(), 1.0);
  });
}

TEST(TaskGroup, TwoChildErrorsAreBothInTheGroupInTheOrderTheyFailed) {
  run_virtual([]() -> Coro<void> {
    TaskGroup tg;
    const std::vector<std::string> got = co_await group_items_of([&]() -> Coro<void> {
      co_await tg.run([](TaskGroup& g) -> Coro<void> {
        g.create_task(fail_after(0.1, "first"));
        g.create_task(fail_after(0.1, "second"));  // fails in the same iteration, before any cancel
        g.create_task(value_after(5, 0));
        co_return;
      });
    });
    EXPECT_EQ(got, (std::vector<std::string>{"ValueError:first", "ValueError:second"}));
    EXPECT_EQ(now(), 0.1);
  });
}

TEST(TaskGroup, ASiblingFailingWhileItIsCancelledAddsItsErrorToTheGroup) {
  run_virtual([]() -> Coro<void> {
    TaskGroup tg;
    const std::vector<std::string> got = co_await group_items_of([&]() -> Coro<void> {
      co_await tg.run([](TaskGroup& g) -> Coro<void> {
        g.create_task(fail_after(0.1, "boom"));
        g.create_task([]() -> Coro<void> {
          try {
            co_await asyncio::sleep(10);
          } catch (const CancelledError&) {
            throw RuntimeError("cleanup failed");
          }
        });
        co_return;
      });
    });
    EXPECT_EQ(got, (std::vector<std::string>{"ValueError:boom", "RuntimeError:cleanup failed"}));
  });
}

TEST(TaskGroup, RunRaisesOnlyAfterEveryChildFinishedCancelling) {
  run_virtual([]() -> Coro<void> {
    TaskGroup tg;
    bool slow_child_finished = false;
    const std::vector<std::string> got = co_await group_items_of([&]() -> Coro<void> {
      co_await tg.run([&](TaskGroup& g) -> Coro<void> {
        g.create_task(fail_after(0.1, "boom"));
        g.create_task([&]() -> Coro<void> {
          std::exception_ptr cancelled;
          try {
            co_await asyncio::sleep(10);
          } catch (const CancelledError&) {
            cancelled = std::current_exception();
          }
          co_await asyncio::sleep(0.5);  // takes its time to clean up
          slow_child_finished = true;
          std::rethrow_exception(cancelled);
        });
        co_return;
      });
    });
    EXPECT_EQ(got.size(), 1u);
    EXPECT_TRUE(slow_child_finished);
    EXPECT_DOUBLE_EQ(now(), 0.6);
  });
}

TEST(TaskGroup, TheBodyRaisingWhileChildrenRunCancelsThemAndTheGroupHoldsTheBodysError) {
  run_virtual([]() -> Coro<void> {
    TaskGroup tg;
    Task<int> t1;
    Task<int> t2;
    const std::vector<std::string> got = co_await group_items_of([&]() -> Coro<void> {
      co_await tg.run([&](TaskGroup& g) -> Coro<void> {
        t1 = g.create_task(value_after(1, 42));
        t2 = g.create_task(value_after(2, 11));
        co_await asyncio::sleep(0.1);
        throw ValueError("body");
      });
    });
    EXPECT_EQ(got, (std::vector<std::string>{"ValueError:body"}));
    EXPECT_TRUE(t1.cancelled());
    EXPECT_TRUE(t2.cancelled());
    EXPECT_EQ(now(), 0.1);
  });
}

TEST(TaskGroup, TheBodyRaisingBeforeAnyChildRanCancelsThemBeforeTheirFirstStep) {
  run_virtual([]() -> Coro<void> {
    TaskGroup tg;
    bool child_ran = false;
    Task<void> t;
    const std::vector<std::string> got = co_await group_items_of([&]() -> Coro<void> {
      co_await tg.run([&](TaskGroup& g) -> Coro<void> {
        t = g.create_task([&]() -> Coro<void> {
          child_ran = true;
          co_return;
        });
        throw ValueError("at once");
        co_return;
      });
    });
    EXPECT_EQ(got, (std::vector<std::string>{"ValueError:at once"}));
    EXPECT_TRUE(t.cancelled());
    EXPECT_FALSE(child_ran);
  });
}

TEST(TaskGroup, ChildErrorsComeFirstAndTheBodysErrorLast) {
  // test_taskgroup_19: the body's cleanup raises after a child failed.
  run_virtual([]() -> Coro<void> {
    TaskGroup tg;
    const std::vector<std::string> got = co_await group_items_of([&]() -> Coro<void> {
      co_await tg.run([](TaskGroup& g) -> Coro<void> {
        g.create_task(fail_after(0.1, "child"));
        try {
          co_await asyncio::sleep(10);
        } catch (const CancelledError&) {
          throw RuntimeError("body cleanup");
        }
      });
    });
    EXPECT_EQ(got, (std::vector<std::string>{"ValueError:child", "RuntimeError:body cleanup"}));
  });
}

TEST(TaskGroup, AChildThatCatchesItsCancellationAndFinishesNormallyKeepsItsResult) {
  run_virtual([]() -> Coro<void> {
    TaskGroup tg;
    Task<int> stubborn;
    const std::vector<std::string> got = co_await group_items_of([&]() -> Coro<void> {
      co_await tg.run([&](TaskGroup& g) -> Coro<void> {
        g.create_task(fail_after(0.1, "boom"));
        stubborn = g.create_task([]() -> Coro<int> {
          try {
            co_await asyncio::sleep(10);
          } catch (const CancelledError&) {
            co_return 5;  // swallows the cancellation
          }
          co_return 0;
        });
        co_return;
      });
    });
    EXPECT_EQ(got, (std::vector<std::string>{"ValueError:boom"}));
    EXPECT_TRUE(stubborn.done());
    EXPECT_FALSE(stubborn.cancelled());
    EXPECT_EQ(stubborn.result(), 5);
  });
}

TEST(TaskGroup, ABodyThatSwallowsTheGroupsCancellationStillGetsTheGroupRaised) {
  run_virtual([]() -> Coro<void> {
    TaskGroup tg;
    bool body_finished = false;
    const std::vector<std::string> got = co_await group_items_of([&]() -> Coro<void> {
      co_await tg.run([&](TaskGroup& g) -> Coro<void> {
        g.create_task(fail_after(0.1, "boom"));
        try {
          co_await asyncio::sleep(10);
        } catch (const CancelledError&) {
        }
        body_finished = true;
      });
    });
    EXPECT_TRUE(body_finished);
    EXPECT_EQ(got, (std::vector<std::string>{"ValueError:boom"}));
    EXPECT_EQ(parent_cancelling(), 0);
  });
}

// --- cancellation from outside ----------------------------------------------------------------

TEST(TaskGroup, AnOutsideCancelOfTheParentPropagatesCancelledErrorAfterTheChildrenFinishedCancelling) {
  run_virtual([]() -> Coro<void> {
    int children_cancelled = 0;
    Task<void> runner = asyncio::create_task([&]() -> Coro<void> {
      TaskGroup tg;
      co_await tg.run([&](TaskGroup& g) -> Coro<void> {
        for (int i = 0; i < 5; ++i) {
          g.create_task([&]() -> Coro<void> {
            std::exception_ptr cancelled;
            try {
              co_await asyncio::sleep(5);
            } catch (const CancelledError&) {
              cancelled = std::current_exception();
            }
            co_await asyncio::sleep(0.5);
            ++children_cancelled;
            std::rethrow_exception(cancelled);
          });
        }
        co_return;
      });
      ADD_FAILURE() << "run() returned normally";
    });
    co_await asyncio::sleep(0.1);
    EXPECT_FALSE(runner.done());
    runner.cancel("test");
    std::string message = "<no CancelledError>";
    try {
      co_await runner;
    } catch (const CancelledError& e) {
      message = e.what();
    }
    EXPECT_EQ(message, "test");
    EXPECT_TRUE(runner.cancelled());
    EXPECT_EQ(children_cancelled, 5);
    EXPECT_DOUBLE_EQ(now(), 0.6);
  });
}

TEST(TaskGroup, AnOutsideCancelDuringTheBodysAwaitCancelsTheBodyAndTheChildren) {
  // test_taskgroup_07.
  run_virtual([]() -> Coro<void> {
    int cancelled = 0;
    Task<void> runner = asyncio::create_task([&]() -> Coro<void> {
      TaskGroup tg;
      co_await tg.run([&](TaskGroup& g) -> Coro<void> {
        for (int i = 0; i < 3; ++i) {
          g.create_task([&]() -> Coro<void> {
            try {
              co_await asyncio::sleep(5);
            } catch (const CancelledError&) {
              ++cancelled;
              throw;
            }
          });
        }
        try {
          co_await asyncio::sleep(10);
        } catch (const CancelledError&) {
          cancelled += 10;
          throw;
        }
      });
    });
    co_await asyncio::sleep(0.1);
    runner.cancel();
    try {
      co_await runner;
    } catch (const CancelledError&) {
    }
    EXPECT_TRUE(runner.cancelled());
    EXPECT_EQ(cancelled, 13);
  });
}

TEST(TaskGroup, RepeatedOutsideCancelsNeverLetRunReturnBeforeTheChildren) {
  run_virtual([]() -> Coro<void> {
    bool child_done = false;
    double returned_at = -1;
    Task<void> runner = asyncio::create_task([&]() -> Coro<void> {
      TaskGroup tg;
      try {
        co_await tg.run([&](TaskGroup& g) -> Coro<void> {
          g.create_task([&]() -> Coro<void> {
            for (int i = 0; i < 3; ++i) {
              try {
                co_await asyncio::sleep(1);
              } catch (const CancelledError&) {
              }
            }
            child_done = true;
          });
          co_return;
        });
      } catch (const CancelledError&) {
        returned_at = now();
        throw;
      }
    });
    co_await asyncio::sleep(0.1);
    runner.cancel();
    co_await asyncio::sleep(0.1);
    runner.cancel();
    co_await asyncio::sleep(0.1);
    runner.cancel();
    try {
      co_await runner;
    } catch (const CancelledError&) {
    }
    EXPECT_TRUE(child_done);
    // The child shrugged off one cancel at 0.1, slept 1 from there, and one more second after that.
    EXPECT_DOUBLE_EQ(returned_at, 2.1);
  });
}

TEST(TaskGroup, ErrorsWinOverAnOutsideCancelAndTheParentStaysCancelled) {
  // test_taskgroup_18 and test_error_and_cancel: the group is raised, and the parent's next await
  // is cancelled, so the outside cancellation is not lost.
  run_virtual([]() -> Coro<void> {
    int cancelling_after_group = -1;
    bool next_await_cancelled = false;
    Task<void> runner = asyncio::create_task([&]() -> Coro<void> {
      TaskGroup tg;
      try {
        co_await tg.run([](TaskGroup& g) -> Coro<void> {
          g.create_task(value_after(10, 0));
          try {
            co_await asyncio::sleep(10);
          } catch (const CancelledError&) {
            throw ValueError("raised instead");
          }
        });
      } catch (const ExceptionGroup& eg) {
        EXPECT_EQ(items(eg), (std::vector<std::string>{"ValueError:raised instead"}));
        cancelling_after_group = parent_cancelling();
      }
      try {
        co_await asyncio::sleep(1);
      } catch (const CancelledError&) {
        next_await_cancelled = true;
        throw;
      }
    });
    co_await asyncio::sleep(0.1);
    runner.cancel();
    try {
      co_await runner;
    } catch (const CancelledError&) {
    }
    EXPECT_EQ(cancelling_after_group, 1);
    EXPECT_TRUE(next_await_cancelled);
    EXPECT_TRUE(runner.cancelled());
  });
}

// --- nesting ----------------------------------------------------------------------------------

TEST(TaskGroup, NestedGroupsInnerChildFailsOnlyTheInnerGroupRaises) {
  run_virtual([]() -> Coro<void> {
    TaskGroup outer;
    Task<int> outer_child;
    std::vector<std::string> inner_items;
    co_await outer.run([&](TaskGroup& g1) -> Coro<void> {
      outer_child = g1.create_task(value_after(1, 7));
      TaskGroup inner;
      try {
        co_await inner.run([](TaskGroup& g2) -> Coro<void> {
          g2.create_task(fail_after(0.1, "inner"));
          co_await asyncio::sleep(10);
        });
      } catch (const ExceptionGroup& eg) {
        inner_items = items(eg);
      }
      EXPECT_EQ(parent_cancelling(), 0);
      co_await asyncio::sleep(0.2);  // the outer group's body is not cancelled
    });
    EXPECT_EQ(inner_items, (std::vector<std::string>{"ValueError:inner"}));
    EXPECT_EQ(outer_child.result(), 7);
    EXPECT_EQ(now(), 1.0);
  });
}

TEST(TaskGroup, AnInnerGroupsErrorPropagatingFailsTheOuterGroupWithANestedGroup) {
  // test_taskgroup_14.
  run_virtual([]() -> Coro<void> {
    TaskGroup outer;
    Task<void> outer_child;
    const std::vector<std::string> got = co_await group_items_of([&]() -> Coro<void> {
      co_await outer.run([&](TaskGroup& g1) -> Coro<void> {
        outer_child = g1.create_task(fail_after(10, "outer"));
        TaskGroup inner;
        co_await inner.run([](TaskGroup& g2) -> Coro<void> {
          g2.create_task(fail_after(0.1, "inner"));
          co_return;
        });
      });
    });
    EXPECT_EQ(got, (std::vector<std::string>{"group[ValueError:inner;]"}));
    EXPECT_TRUE(outer_child.cancelled());
    EXPECT_EQ(now(), 0.1);
  });
}

TEST(TaskGroup, NestedGroupsEachWithdrawOnlyTheirOwnCancellation) {
  // test_nested_groups_both_cancelled: both groups cancel the same parent in the same iteration.
  run_virtual([]() -> Coro<void> {
    TaskGroup outer;
    int cancelling_between = -1;
    const std::vector<std::string> got = co_await group_items_of([&]() -> Coro<void> {
      co_await outer.run([&](TaskGroup& outer_g) -> Coro<void> {
        TaskGroup inner;
        try {
          co_await inner.run([&](TaskGroup& inner_g) -> Coro<void> {
            inner_g.create_task(fail_after(0, "inner"));
            outer_g.create_task(fail_after(0, "outer"));
            co_await asyncio::sleep(10);
          });
          ADD_FAILURE() << "the inner group raised nothing";
        } catch (const ExceptionGroup& eg) {
          EXPECT_EQ(items(eg), (std::vector<std::string>{"ValueError:inner"}));
        }
        cancelling_between = parent_cancelling();  // the outer group's request is still there
      });
    });
    EXPECT_EQ(got, (std::vector<std::string>{"ValueError:outer"}));
    EXPECT_EQ(cancelling_between, 1);
    EXPECT_EQ(parent_cancelling(), 0);
  });
}

TEST(TaskGroup, AnOutsideCancelThroughNestedGroupsPropagatesCancelledError) {
  // test_taskgroup_12.
  run_virtual([]() -> Coro<void> {
    Task<void> runner = asyncio::create_task([]() -> Coro<void> {
      TaskGroup outer;
      co_await outer.run([](TaskGroup& g1) -> Coro<void> {
        g1.create_task(value_after(10, 0));
        TaskGroup inner;
        co_await inner.run([](TaskGroup& g2) -> Coro<void> {
          for (int i = 0; i < 3; ++i) g2.create_task(fail_after(0.1 + i, "late"));
          co_await asyncio::sleep(10);
        });
      });
    });
    co_await asyncio::sleep(0.05);
    runner.cancel();
    try {
      co_await runner;
    } catch (const CancelledError&) {
    }
    EXPECT_TRUE(runner.cancelled());
    EXPECT_EQ(now(), 0.05);
  });
}

// --- create_task refused ----------------------------------------------------------------------

TEST(TaskGroup, CreateTaskAfterTheGroupFinishedRaisesRuntimeError) {
  run_virtual([]() -> Coro<void> {
    TaskGroup tg;
    co_await tg.run([](TaskGroup&) -> Coro<void> { co_return; });
    bool ran = false;
    try {
      tg.create_task([&]() -> Coro<void> {
        ran = true;
        co_return;
      });
      ADD_FAILURE() << "create_task did not raise";
    } catch (const RuntimeError& e) {
      EXPECT_NE(std::string(e.what()).find("is finished"), std::string::npos) << e.what();
    }
    co_await asyncio::sleep(0);
    EXPECT_FALSE(ran);
  });
}

TEST(TaskGroup, CreateTaskBeforeRunRaisesRuntimeErrorAndClosesTheCoroWithoutANeverAwaitedReport) {
  asyncio::testing::LogCapture logs;
  EventLoop loop(asyncio::LoopOptions{.clock = asyncio::ClockKind::virtual_time, .debug = true});
  std::string refused;
  loop.run_until_complete([&]() -> Coro<void> {
    TaskGroup tg;
    try {
      tg.create_task(value_after(0, 1));
      ADD_FAILURE() << "create_task did not raise";
    } catch (const RuntimeError& e) {
      refused = e.what();
    }
    co_return;
  });
  EXPECT_EQ(refused, "TaskGroup <TaskGroup> has not been entered");
  EXPECT_EQ(logs.count("never awaited"), 0u);
}

TEST(TaskGroup, CreateTaskWhileTheGroupIsShuttingDownRaisesRuntimeError) {
  // test_taskgroup_no_create_task_after_failure.
  run_virtual([]() -> Coro<void> {
    TaskGroup tg;
    std::string refused;
    const std::vector<std::string> got = co_await group_items_of([&]() -> Coro<void> {
      co_await tg.run([&](TaskGroup& g) -> Coro<void> {
        g.create_task(fail_after(0.001, "boom"));
        g.create_task([&]() -> Coro<void> {
          try {
            co_await asyncio::sleep(1);
          } catch (const CancelledError&) {
            try {
              g.create_task(fail_after(0, "never"));
            } catch (const RuntimeError& e) {
              refused = e.what();
            }
            throw;
          }
        });
        co_return;
      });
    });
    EXPECT_EQ(got, (std::vector<std::string>{"ValueError:boom"}));
    EXPECT_NE(refused.find("is shutting down"), std::string::npos) << refused;
  });
}

TEST(TaskGroup, RunningAGroupTwiceRaisesRuntimeError) {
  run_virtual([]() -> Coro<void> {
    TaskGroup tg;
    co_await tg.run([](TaskGroup&) -> Coro<void> { co_return; });
    try {
      co_await tg.run([](TaskGroup&) -> Coro<void> { co_return; });
      ADD_FAILURE() << "run() did not raise";
    } catch (const RuntimeError& e) {
      EXPECT_NE(std::string(e.what()).find("has already been entered"), std::string::npos) << e.what();
    }
  });
}

// --- eager children ---------------------------------------------------------------------------

TEST(TaskGroup, AnEagerChildFailingAtOnceCancelsTheBodyOnlyAtItsNextAwait) {
  // gh-128550: the done-callback is always scheduled, never run inside create_task.
  run_virtual([]() -> Coro<void> {
    TaskGroup tg;
    bool created_after = false;
    bool body_cancelled = false;
    const std::vector<std::string> got = co_await group_items_of([&]() -> Coro<void> {
      co_await tg.run([&](TaskGroup& g) -> Coro<void> {
        Task<void> t = g.create_task(
            []() -> Coro<void> {
              throw ValueError("eager");
              co_return;
            },
            TaskOptions{.name = {}, .eager_start = true});
        EXPECT_TRUE(t.done());
        g.create_task(value_after(1, 0));  // the group is not shutting down yet
        created_after = true;
        try {
          co_await asyncio::sleep(1);
        } catch (const CancelledError&) {
          body_cancelled = true;
          throw;
        }
      });
    });
    EXPECT_EQ(got, (std::vector<std::string>{"ValueError:eager"}));
    EXPECT_TRUE(created_after);
    EXPECT_TRUE(body_cancelled);
  });
}

TEST(TaskGroup, AnEagerChildThatCancelsTheGroupInItsFirstStepIsCancelledToo) {
  // gh-155418: the child was not in the group yet when cancel() cancelled the others.
  run_virtual([]() -> Coro<void> {
    TaskGroup tg;
    Task<int> t;
    co_await tg.run([&](TaskGroup& g) -> Coro<void> {
      t = g.create_task(
          [&]() -> Coro<int> {
            g.cancel();
            co_await asyncio::sleep(10);
            co_return 1;
          },
          TaskOptions{.name = {}, .eager_start = true});
      co_await asyncio::sleep(10);
    });
    EXPECT_TRUE(t.cancelled());
    EXPECT_EQ(now(), 0.0);
  });
}

// --- cancel() (CPython main) -------------------------------------------------------------------

TEST(TaskGroup, CancelEndsTheGroupWithoutErrorAndCancelsTheChildrenAndTheBody) {
  run_virtual([]() -> Coro<void> {
    TaskGroup tg;
    Task<int> slow;
    bool body_cancelled = false;
    co_await tg.run([&](TaskGroup& g) -> Coro<void> {
      slow = g.create_task(value_after(10, 1));
      g.create_task([&]() -> Coro<void> {
        co_await asyncio::sleep(0.1);
        g.cancel();
      });
      try {
        co_await asyncio::sleep(10);
      } catch (const CancelledError&) {
        body_cancelled = true;
        throw;
      }
    });
    EXPECT_TRUE(slow.cancelled());
    EXPECT_TRUE(body_cancelled);
    EXPECT_EQ(now(), 0.1);
    EXPECT_EQ(parent_cancelling(), 0);
    co_await asyncio::sleep(1);  // the parent is not cancelled
    EXPECT_DOUBLE_EQ(now(), 1.1);
  });
}

TEST(TaskGroup, CancelFromTheBodyItselfEndsTheGroupAtTheBodysNextAwait) {
  run_virtual([]() -> Coro<void> {
    TaskGroup tg;
    Task<int> child;
    bool after_cancel = false;
    bool after_await = false;
    co_await tg.run([&](TaskGroup& g) -> Coro<void> {
      child = g.create_task(value_after(10, 1));
      g.cancel();
      after_cancel = true;
      co_await asyncio::sleep(1);
      after_await = true;
    });
    EXPECT_TRUE(after_cancel);
    EXPECT_FALSE(after_await);
    EXPECT_TRUE(child.cancelled());
    EXPECT_EQ(parent_cancelling(), 0);
  });
}

TEST(TaskGroup, CancelBeforeRunCancelsTheGroupWhenItIsEntered) {
  run_virtual([]() -> Coro<void> {
    TaskGroup tg;
    tg.cancel();
    bool reached = false;
    std::string refused;
    co_await tg.run([&](TaskGroup& g) -> Coro<void> {
      try {
        g.create_task(value_after(1, 1));
      } catch (const RuntimeError& e) {
        refused = e.what();
      }
      co_await asyncio::sleep(1);
      reached = true;
    });
    EXPECT_FALSE(reached);
    EXPECT_NE(refused.find("is shutting down"), std::string::npos) << refused;
    EXPECT_EQ(now(), 0.0);
    EXPECT_EQ(parent_cancelling(), 0);
  });
}

TEST(TaskGroup, CancelIsIdempotentAndDoesNothingOnceTheGroupFinished) {
  run_virtual([]() -> Coro<void> {
    TaskGroup tg;
    co_await tg.run([&](TaskGroup& g) -> Coro<void> {
      g.create_task(value_after(10, 1));
      g.cancel();
      g.cancel();
      EXPECT_EQ(parent_cancelling(), 1);  // one request, however many calls
      co_return;
    });
    tg.cancel();
    EXPECT_EQ(parent_cancelling(), 0);
    co_await asyncio::sleep(1);
    EXPECT_EQ(now(), 1.0);
  });
}

TEST(TaskGroup, AChildThatCatchesTheGroupsCancelAndFinishesNormallyKeepsItsResult) {
  run_virtual([]() -> Coro<void> {
    TaskGroup tg;
    Task<int> stubborn;
    co_await tg.run([&](TaskGroup& g) -> Coro<void> {
      stubborn = g.create_task([]() -> Coro<int> {
        try {
          co_await asyncio::sleep(10);
        } catch (const CancelledError&) {
        }
        co_await asyncio::sleep(0.5);  // and it still sleeps afterwards
        co_return 9;
      });
      co_await asyncio::sleep(0.1);
      g.cancel();
    });
    EXPECT_EQ(stubborn.result(), 9);
    EXPECT_DOUBLE_EQ(now(), 0.6);
  });
}

TEST(TaskGroup, ChildErrorsAreStillRaisedAfterCancel) {
  run_virtual([]() -> Coro<void> {
    TaskGroup tg;
    const std::vector<std::string> got = co_await group_items_of([&]() -> Coro<void> {
      co_await tg.run([](TaskGroup& g) -> Coro<void> {
        g.create_task([]() -> Coro<void> {
          try {
            co_await asyncio::sleep(10);
          } catch (const CancelledError&) {
            throw ValueError("cleanup");
          }
        });
        co_await asyncio::sleep(0.1);
        g.cancel();
      });
    });
    EXPECT_EQ(got, (std::vector<std::string>{"ValueError:cleanup"}));
    EXPECT_EQ(parent_cancelling(), 0);
  });
}

TEST(TaskGroup, AnOutsideCancelDuringCancelIsNotSwallowed) {
  // gh-155433: the group's own request is withdrawn, the outside one propagates.
  run_virtual([]() -> Coro<void> {
    Task<void> runner = asyncio::create_task([]() -> Coro<void> {
      TaskGroup tg;
      co_await tg.run([](TaskGroup& g) -> Coro<void> {
        g.create_task([]() -> Coro<void> {
          try {
            co_await asyncio::sleep(10);
          } catch (const CancelledError&) {
          }
          co_await asyncio::sleep(1);  // slow to finish
        });
        co_await asyncio::sleep(0.1);
        g.cancel();
      });
      ADD_FAILURE() << "the outside cancellation was swallowed";
    });
    co_await asyncio::sleep(0.5);
    runner.cancel("outside");
    std::string message;
    try {
      co_await runner;
    } catch (const CancelledError& e) {
      message = e.what();
    }
    EXPECT_TRUE(runner.cancelled());
    EXPECT_EQ(message, "outside");
    EXPECT_DOUBLE_EQ(now(), 1.1);
  });
}

TEST(TaskGroup, AValueBodyCutShortByCancelHasNoValueSoRunRaisesRuntimeError) {
  run_virtual([]() -> Coro<void> {
    TaskGroup tg;
    try {
      (void)co_await tg.run([](TaskGroup& g) -> Coro<int> {
        g.cancel();
        co_await asyncio::sleep(1);
        co_return 1;
      });
      ADD_FAILURE() << "run() returned a value";
    } catch (const RuntimeError& e) {
      EXPECT_NE(std::string(e.what()).find("before it returned a value"), std::string::npos) << e.what();
    }
    EXPECT_EQ(parent_cancelling(), 0);
  });
}

// --- BaseExceptions ---------------------------------------------------------------------------

TEST(TaskGroup, ABaseExceptionFromTheBodyPropagatesAsItselfAndChildErrorsAreReported) {
  // test_taskgroup_20 with CPython main's gh-135736: nothing is lost silently.
  EventLoop loop(virtual_clock());
  HandlerCapture handler(loop);
  std::string raised;
  loop.run_until_complete([&]() -> Coro<void> {
    TaskGroup tg;
    try {
      co_await tg.run([](TaskGroup& g) -> Coro<void> {
        g.create_task(fail_after(0.1, "child"));
        try {
          co_await asyncio::sleep(10);
        } catch (const CancelledError&) {
          throw Stop("stop");
        }
      });
    } catch (const Stop& e) {
      raised = e.what();
    }
    EXPECT_EQ(parent_cancelling(), 0);
  });
  EXPECT_EQ(raised, "stop");
  ASSERT_EQ(handler.contexts().size(), 1u);
  EXPECT_NE(handler.contexts()[0].message.find("was not propagated"), std::string::npos);
  EXPECT_NE(handler.exceptions()[0].find("child"), std::string::npos) << handler.exceptions()[0];
}

TEST(TaskGroup, ABaseExceptionFromAChildPropagatesAsItselfAfterTheOthersFinished) {
  run_virtual([]() -> Coro<void> {
    TaskGroup tg;
    Task<int> other;
    std::string raised;
    try {
      co_await tg.run([&](TaskGroup& g) -> Coro<void> {
        g.create_task([]() -> Coro<void> {
          co_await asyncio::sleep(0.1);
          throw Stop("child stop");
        });
        other = g.create_task(value_after(10, 1));
        co_await asyncio::sleep(10);
      });
    } catch (const Stop& e) {
      raised = e.what();
    }
    EXPECT_EQ(raised, "child stop");
    EXPECT_TRUE(other.cancelled());
    EXPECT_EQ(now(), 0.1);
  });
}

// --- lifetime ---------------------------------------------------------------------------------

TEST(TaskGroup, ALoopDestroyedWhileTheGroupWaitsForItsChildrenUnwindsCleanly) {
  struct Flag {
    bool* set;
    ~Flag() { *set = true; }
  };
  bool unwound = false;
  std::optional<EventLoop> loop;
  loop.emplace(virtual_clock());
  HandlerCapture handler(*loop);
  Future<void> never = loop->create_future<void>();
  asyncio::create_task(*loop, [&]() -> Coro<void> {
    Flag flag{&unwound};
    TaskGroup tg;
    co_await tg.run([&](TaskGroup& g) -> Coro<void> {
      for (int i = 0; i < 2; ++i) g.create_task([&]() -> Coro<void> { co_await never; });
      co_return;
    });
  });
  loop->run_once();  // the parent enters the group and waits for the children
  loop->run_once();  // the children wait for `never`
  EXPECT_FALSE(unwound);
  loop.reset();
  EXPECT_TRUE(unwound);
  EXPECT_EQ(handler.contexts().size(), 3u);  // "Task was destroyed but it is pending!" for each
}

}  // namespace

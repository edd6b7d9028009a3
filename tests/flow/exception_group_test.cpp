// asyncio::ExceptionGroup: Python's ExceptionGroup (PEP 654; CPython's Objects/exceptions.c and
// Lib/test/test_exception_group.py are the reference for construction, split and subgroup).

#include <gtest/gtest.h>
#include <asyncio/flow/exception_group.hpp>

#include <exception>
#include <stdexcept>
#include <string>
#include <vector>

#include "support/test_support.hpp"

namespace {

using asyncio::CancelledError;
using asyncio::ExceptionGroup;
using asyncio::RuntimeError;
using asyncio::TypeError;
using asyncio::ValueError;

template <class E>
std::exception_ptr make(const char* message) {
  return std::make_exception_ptr(E(message));
}

std::exception_ptr group(std::string message, std::vector<std::exception_ptr> items) {
  return std::make_exception_ptr(ExceptionGroup(std::move(message), std::move(items)));
}

/// A readable form of a group's structure: "msg[ValueError:a, inner[RuntimeError:b]]".
std::string shape(const std::exception_ptr& item);
std::string shape(const ExceptionGroup& eg) {
  std::string out = eg.message() + "[";
  for (std::size_t i = 0; i < eg.exceptions().size(); ++i) {
    if (i > 0) out += ", ";
    out += shape(eg.exceptions()[i]);
  }
  return out + "]";
}
std::string shape(const std::exception_ptr& item) {
  try {
    std::rethrow_exception(item);
  } catch (const ExceptionGroup& eg) {
    return shape(eg);
  } catch (const ValueError& e) {
    return std::string("ValueError:") + e.what();
  } catch (const RuntimeError& e) {
    return std::string("RuntimeError:") + e.what();
  } catch (const std::exception& e) {
    return std::string("exception:") + e.what();
  } catch (int n) {
    return "int:" + std::to_string(n);
  }
}

/// eg("top", [ValueError a, RuntimeError b, eg("inner", [ValueError c, RuntimeError d]), eg("values", [ValueError e])])
ExceptionGroup sample() {
  return ExceptionGroup("top", {make<ValueError>("a"), make<RuntimeError>("b"),
                                group("inner", {make<ValueError>("c"), make<RuntimeError>("d")}),
                                group("values", {make<ValueError>("e")})});
}

TEST(ExceptionGroup, AnEmptyListIsValueError) { EXPECT_THROW(ExceptionGroup("empty", {}), ValueError); }

TEST(ExceptionGroup, ANullItemIsValueError) {
  EXPECT_THROW(ExceptionGroup("null", {make<ValueError>("a"), nullptr}), ValueError);
}

TEST(ExceptionGroup, ACancelledErrorItemIsTypeErrorSoStdExceptionHandlersNeverSwallowOne) {
  try {
    ExceptionGroup eg("cancel", {std::make_exception_ptr(CancelledError("x"))});
    FAIL() << "no TypeError";
  } catch (const TypeError& e) {
    EXPECT_STREQ(e.what(), "Cannot nest BaseExceptions in an ExceptionGroup");
  }
}

TEST(ExceptionGroup, WhatGivesTheMessageAndTheNumberOfSubExceptions) {
  const ExceptionGroup one("one", {make<ValueError>("a")});
  const ExceptionGroup two("two", {make<ValueError>("a"), make<RuntimeError>("b")});
  EXPECT_STREQ(one.what(), "one (1 sub-exception)");
  EXPECT_STREQ(two.what(), "two (2 sub-exceptions)");
  EXPECT_EQ(two.message(), "two");
  ASSERT_EQ(two.exceptions().size(), 2u);
}

TEST(ExceptionGroup, AGroupIsCaughtAsAStdException) {
  try {
    throw ExceptionGroup("boom", {make<ValueError>("a")});
  } catch (const std::exception& e) {
    EXPECT_STREQ(e.what(), "boom (1 sub-exception)");
    return;
  }
  FAIL() << "not caught";
}

TEST(ExceptionGroup, ItemsOfAnyThrownTypeAreAllowed) {
  const ExceptionGroup eg("mixed", {std::make_exception_ptr(7), make<ValueError>("a")});
  EXPECT_EQ(shape(eg), "mixed[int:7, ValueError:a]");
}

TEST(ExceptionGroup, SplitByTypeSplitsNestedGroupsRecursivelyKeepingTheirStructure) {
  const auto [match, rest] = sample().split<ValueError>();
  ASSERT_TRUE(match.has_value());
  ASSERT_TRUE(rest.has_value());
  EXPECT_EQ(shape(*match), "top[ValueError:a, inner[ValueError:c], values[ValueError:e]]");
  EXPECT_EQ(shape(*rest), "top[RuntimeError:b, inner[RuntimeError:d]]");
}

TEST(ExceptionGroup, SplitMatchesDerivedTypes) {
  const auto [match, rest] = sample().split<std::invalid_argument>();  // ValueError derives from it
  ASSERT_TRUE(match.has_value());
  EXPECT_EQ(shape(*match), "top[ValueError:a, inner[ValueError:c], values[ValueError:e]]");
  ASSERT_TRUE(rest.has_value());
}

TEST(ExceptionGroup, SplitWithNoMatchGivesNoMatchingPartAndEverythingAsTheRest) {
  const auto [match, rest] = sample().split<TypeError>();
  EXPECT_FALSE(match.has_value());
  ASSERT_TRUE(rest.has_value());
  EXPECT_EQ(shape(*rest), shape(sample()));
}

TEST(ExceptionGroup, SplitByATypeTheGroupItselfHasTakesTheWholeGroup) {
  const auto [by_group, none] = sample().split<ExceptionGroup>();
  ASSERT_TRUE(by_group.has_value());
  EXPECT_FALSE(none.has_value());
  EXPECT_EQ(shape(*by_group), shape(sample()));
  const auto [by_exception, none2] = sample().split<std::exception>();
  ASSERT_TRUE(by_exception.has_value());
  EXPECT_FALSE(none2.has_value());
}

TEST(ExceptionGroup, SubgroupIsTheMatchingPartOfSplit) {
  const auto sub = sample().subgroup<RuntimeError>();
  ASSERT_TRUE(sub.has_value());
  EXPECT_EQ(shape(*sub), "top[RuntimeError:b, inner[RuntimeError:d]]");
  EXPECT_FALSE(sample().subgroup<TypeError>().has_value());
}

TEST(ExceptionGroup, SplitWithAStdExceptionPredicateTestsEachLeaf) {
  const auto [match, rest] = sample().split([](const std::exception& e) {
    const std::string m = e.what();
    return m == "a" || m == "d";
  });
  ASSERT_TRUE(match.has_value());
  ASSERT_TRUE(rest.has_value());
  EXPECT_EQ(shape(*match), "top[ValueError:a, inner[RuntimeError:d]]");
  EXPECT_EQ(shape(*rest), "top[RuntimeError:b, inner[ValueError:c], values[ValueError:e]]");
}

TEST(ExceptionGroup, APredicateIsAppliedToNestedGroupsTooAndAMatchingGroupIsTakenWhole) {
  // As in Python: the condition sees groups as well as leaves, outside in.
  const auto sub = sample().subgroup([](const std::exception& e) {
    const auto* g = dynamic_cast<const ExceptionGroup*>(&e);
    return g != nullptr && g->message() == "inner";
  });
  ASSERT_TRUE(sub.has_value());
  EXPECT_EQ(shape(*sub), "top[inner[ValueError:c, RuntimeError:d]]");
}

TEST(ExceptionGroup, APredicateMatchingTheGroupItselfTakesItWhole) {
  const auto [match, rest] =
      sample().split([](const std::exception& e) { return std::string(e.what()).rfind("top", 0) == 0; });
  ASSERT_TRUE(match.has_value());
  EXPECT_FALSE(rest.has_value());
  EXPECT_EQ(shape(*match), shape(sample()));
}

TEST(ExceptionGroup, AnExceptionPtrPredicateSeesItemsOfEveryType) {
  const ExceptionGroup eg("mixed", {std::make_exception_ptr(7), make<ValueError>("a"), std::make_exception_ptr(8)});
  const auto [ints, rest] = eg.split([](const std::exception_ptr& p) {
    try {
      std::rethrow_exception(p);
    } catch (int) {
      return true;
    } catch (...) {
      return false;
    }
  });
  ASSERT_TRUE(ints.has_value());
  ASSERT_TRUE(rest.has_value());
  EXPECT_EQ(shape(*ints), "mixed[int:7, int:8]");
  EXPECT_EQ(shape(*rest), "mixed[ValueError:a]");
}

TEST(ExceptionGroup, HandleCallsTheHandlerForEachMatchDepthFirstAndReturnsTheRest) {
  std::vector<std::string> seen;
  const auto rest = sample().handle<ValueError>([&](const ValueError& e) { seen.emplace_back(e.what()); });
  EXPECT_EQ(seen, (std::vector<std::string>{"a", "c", "e"}));
  ASSERT_TRUE(rest.has_value());
  EXPECT_EQ(shape(*rest), "top[RuntimeError:b, inner[RuntimeError:d]]");
}

TEST(ExceptionGroup, HandleOfEverythingReturnsNoRest) {
  int calls = 0;
  const auto rest = sample().handle<std::exception>([&](const std::exception& e) {
    ++calls;
    EXPECT_STREQ(e.what(), "top (4 sub-exceptions)");
  });
  EXPECT_EQ(calls, 1);
  EXPECT_FALSE(rest.has_value());
}

TEST(ExceptionGroup, DeriveKeepsTheMessageWithOtherItems) {
  const ExceptionGroup d = sample().derive({make<RuntimeError>("z")});
  EXPECT_EQ(shape(d), "top[RuntimeError:z]");
}

TEST(ExceptionGroup, CopiesShareTheItems) {
  const ExceptionGroup a = sample();
  const ExceptionGroup b = a;  // NOLINT(performance-unnecessary-copy-initialization): the copy is the test
  ASSERT_EQ(a.exceptions().size(), b.exceptions().size());
  EXPECT_EQ(a.exceptions()[0], b.exceptions()[0]);
  EXPECT_EQ(&a.exceptions(), &b.exceptions());
}

}  // namespace

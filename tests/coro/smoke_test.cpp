#include <gtest/gtest.h>

#include "support/test_support.hpp"

TEST(Smoke, RunReturnsTheCoroutinesResult) {
  auto main = []() -> asyncio::Coro<int> { co_return 42; };
  EXPECT_EQ(asyncio::testing::run_virtual(main), 42);
}

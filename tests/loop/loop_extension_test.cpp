// detail::LoopExtension: per-loop state of the layers above loop/, owned by the loop and destroyed
// by close(), on whichever thread closes it.

#include "asyncio/loop/loop_extension.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "asyncio/loop/event_loop.hpp"
#include "support/test_support.hpp"

using asyncio::EventLoop;
using asyncio::detail::LoopAccess;
using asyncio::detail::LoopExtension;

namespace {

struct Recorder final : LoopExtension {
  Recorder(std::vector<std::string>& log, std::string name, const EventLoop& loop, const void* key)
      : log(log), name(std::move(name)), loop(loop), key(key) {}
  ~Recorder() override {
    // By now the loop is closed and this extension is no longer found under its key.
    log.push_back(name + (loop.is_closed() ? " closed" : " open") +
                  (LoopAccess::find_extension(loop, key) == nullptr ? " unlisted" : " listed"));
  }
  std::vector<std::string>& log;
  std::string name;
  const EventLoop& loop;
  const void* key;
};

constexpr char kFirst = 0;
constexpr char kSecond = 0;

}  // namespace

TEST(LoopExtension, IsFoundByItsKeyUntilTheLoopCloses) {
  EventLoop loop(asyncio::testing::virtual_clock());
  std::vector<std::string> log;
  EXPECT_EQ(LoopAccess::find_extension(loop, &kFirst), nullptr);
  LoopExtension& added =
      LoopAccess::add_extension(loop, &kFirst, std::make_unique<Recorder>(log, "first", loop, &kFirst));
  EXPECT_EQ(LoopAccess::find_extension(loop, &kFirst), &added);
  EXPECT_EQ(LoopAccess::find_extension(loop, &kSecond), nullptr);
  loop.close();
  EXPECT_EQ(LoopAccess::find_extension(loop, &kFirst), nullptr);
  EXPECT_EQ(log, (std::vector<std::string>{"first closed unlisted"}));
}

TEST(LoopExtension, CloseDestroysTheNewestFirst) {
  EventLoop loop(asyncio::testing::virtual_clock());
  std::vector<std::string> log;
  LoopAccess::add_extension(loop, &kFirst, std::make_unique<Recorder>(log, "first", loop, &kFirst));
  LoopAccess::add_extension(loop, &kSecond, std::make_unique<Recorder>(log, "second", loop, &kSecond));
  loop.close();
  EXPECT_EQ(log, (std::vector<std::string>{"second closed unlisted", "first closed unlisted"}));
}

TEST(LoopExtension, DestroyingAnUnclosedLoopDestroysItsExtensions) {
  std::vector<std::string> log;
  {
    EventLoop loop(asyncio::testing::virtual_clock());
    LoopAccess::add_extension(loop, &kFirst, std::make_unique<Recorder>(log, "first", loop, &kFirst));
  }
  EXPECT_EQ(log, (std::vector<std::string>{"first closed unlisted"}));
}

TEST(LoopExtension, ALoopClosedFromAnotherThreadDestroysItsExtensionsThere) {
  auto loop = std::make_unique<EventLoop>(asyncio::testing::virtual_clock());
  std::vector<std::string> log;
  LoopAccess::add_extension(*loop, &kFirst, std::make_unique<Recorder>(log, "first", *loop, &kFirst));
  std::thread([&] { loop->close(); }).join();
  EXPECT_EQ(log, (std::vector<std::string>{"first closed unlisted"}));
  // A new loop (possibly at the same address) starts with no extension.
  loop.reset();
  EventLoop fresh(asyncio::testing::virtual_clock());
  EXPECT_EQ(LoopAccess::find_extension(fresh, &kFirst), nullptr);
}

TEST(LoopExtension, AddingToAClosedLoopRaisesRuntimeError) {
  EventLoop loop(asyncio::testing::virtual_clock());
  loop.close();
  std::vector<std::string> log;
  EXPECT_THROW(LoopAccess::add_extension(loop, &kFirst, std::make_unique<Recorder>(log, "first", loop, &kFirst)),
               asyncio::RuntimeError);
  EXPECT_EQ(log, (std::vector<std::string>{"first closed unlisted"}));
}

// Many short children: every one is reaped (no zombie is left) and no descriptor stays open, with
// and without stdout pipes (a pipe transport and a StreamReader each).

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <asyncio/process/process.hpp>

#include <filesystem>
#include <string>
#include <vector>

#include "support/test_support.hpp"

namespace {

using asyncio::Coro;
using asyncio::Process;
using asyncio::ProcessOptions;
using asyncio::Stdio;

int open_descriptors() {
  int n = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) ++n;
  return n;
}

Coro<int> run_true() {
  Process p = co_await asyncio::create_subprocess_exec("/bin/true");
  co_return co_await p.wait();
}

TEST(Reap, AThousandShortChildrenAreAllReapedAndLeaveNoDescriptorOpen) {
  const int before = open_descriptors();
  constexpr int total = 1000;
  constexpr int batch = 50;  // children alive at once
  int zero_exits = 0;
  asyncio::run([&]() -> Coro<void> {
    for (int started = 0; started < total; started += batch) {
      std::vector<asyncio::Task<int>> tasks;
      for (int i = 0; i < batch; ++i) tasks.push_back(asyncio::create_task(run_true()));
      for (auto& t : tasks) zero_exits += (co_await t) == 0 ? 1 : 0;
    }
  });
  EXPECT_EQ(zero_exits, total);
  siginfo_t info{};
  EXPECT_EQ(::waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT), -1);  // no child at all...
  EXPECT_EQ(errno, ECHILD);                                               // ...not even a zombie
  EXPECT_EQ(open_descriptors(), before);
}

Coro<std::string> run_echo(int i) {
  Process p =
      co_await asyncio::create_subprocess_exec("/bin/echo", std::to_string(i), ProcessOptions{.out = Stdio::pipe()});
  std::string line = co_await p.out()->readline();
  const int code = co_await p.wait();  // also waits for the stdout transport to close
  co_return code == 0 ? line : std::string("exit ") + std::to_string(code);
}

TEST(Reap, AThousandShortChildrenWithStdoutPipesAreAllReapedAndLeaveNoDescriptorOpen) {
  const int before = open_descriptors();
  constexpr int total = 1000;
  constexpr int batch = 50;
  int right_lines = 0;
  asyncio::run([&]() -> Coro<void> {
    for (int started = 0; started < total; started += batch) {
      std::vector<asyncio::Task<std::string>> tasks;
      for (int i = 0; i < batch; ++i) tasks.push_back(asyncio::create_task(run_echo(started + i)));
      for (int i = 0; i < batch; ++i) {
        right_lines += (co_await tasks[static_cast<std::size_t>(i)]) == std::to_string(started + i) + "\n" ? 1 : 0;
      }
    }
  });
  EXPECT_EQ(right_lines, total);
  siginfo_t info{};
  EXPECT_EQ(::waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT), -1);  // no child, not even a zombie
  EXPECT_EQ(errno, ECHILD);
  EXPECT_EQ(open_descriptors(), before);
}

TEST(Reap, AChildNobodyWaitsForIsReapedByTheLoop) {
  asyncio::run([]() -> Coro<void> {
    Process p = co_await asyncio::create_subprocess_exec("/bin/true");
    Process q = co_await asyncio::create_subprocess_exec("/bin/true");
    co_await q.wait();                                   // p is never waited for
    while (!p.returncode()) co_await asyncio::sleep(0);  // the loop reaps it in an iteration soon
    EXPECT_EQ(p.returncode(), 0);
  });
  siginfo_t info{};
  EXPECT_EQ(::waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT), -1);
}

}  // namespace

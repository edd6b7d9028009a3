#include <asyncio/asyncio.hpp>
#include <cstdio>
#include <string>

asyncio::Coro<void> main_coro() {
  std::string name = "first";

  // Right: create_task takes the lambda itself and keeps it, with its captures, for the task's life.
  auto right = asyncio::create_task([name]() -> asyncio::Coro<void> {
    co_await asyncio::sleep(0.1);
    std::printf("%s\n", name.c_str());  // the task's own copy of `name`
  });

  // Right: a named coroutine function takes its arguments by value into its frame.
  auto greet = [](std::string who) -> asyncio::Coro<void> {
    co_await asyncio::sleep(0.2);
    std::printf("hello, %s\n", who.c_str());
  };
  auto also_right = asyncio::create_task(greet(name));

  // Wrong (do not write this): calling the lambda in place makes a coroutine that refers to the
  // lambda object, a temporary destroyed at the end of the statement, so its captures are gone
  // when the coroutine resumes after its first co_await:
  //   asyncio::create_task([name]() -> asyncio::Coro<void> { co_await sleep(1); use(name); }());
  // Wrong too: [&] captures in a task that outlives the scope they refer to.

  name = "changed";  // neither task sees this
  co_await right;
  co_await also_right;
}

int main() { asyncio::run(main_coro()); }

#include <asyncio/asyncio.hpp>
#include <cstdio>

asyncio::Coro<int> small_step() {
  co_await asyncio::sleep(0.1);  // parks this task; the loop runs others
  co_return 123;
}

asyncio::Coro<int> big_step() {
  int r = co_await small_step();  // Python's `await small_step()`
  co_return r * 1000;
}

asyncio::Coro<void> main_coro() {
  auto task = asyncio::create_task(big_step());               // runs concurrently; the loop keeps it alive
  int slow = co_await asyncio::to_thread([] { return 42; });  // blocking work on a thread
  int fast = co_await task;
  std::printf("%d %d\n", fast, slow);
}

int main() {
  try {
    asyncio::run(main_coro());         // a loop that runs main_coro() and all it starts
  } catch (const std::exception& e) {  // what main_coro() lets out, and misuse (RuntimeError)
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}

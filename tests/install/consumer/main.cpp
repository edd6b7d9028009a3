// A program outside the project that uses the installed package.
#include <asyncio/asyncio.hpp>

#include <cstdio>

asyncio::Coro<int> small_step() {
  co_await asyncio::sleep(0);
  co_return 123;
}

asyncio::Coro<int> big_step() { co_return co_await small_step() * 1000; }

int main() {
  std::printf("consumer: %d\n", asyncio::run(big_step()));
  return 0;
}

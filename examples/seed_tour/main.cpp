#include <asyncio/asyncio.hpp>
#include <cstdio>
asyncio::Coro<int> small_step() { co_await asyncio::sleep(0.01); co_return 123; }
asyncio::Coro<int> big_step() { int r = co_await small_step(); co_return r * 1000; }
int main() {
  int v = asyncio::run(big_step());
  std::printf("%d\n", v);
}

#include "factories.hpp"

namespace bench {

[[gnu::noinline]] asyncio::Generator<int> count_from(int start) {
  for (int i = start;; ++i) co_yield i;
}

[[gnu::noinline]] asyncio::AsyncGenerator<int> async_count_from(int start) {
  for (int i = start;; ++i) co_yield i;
}

[[gnu::noinline]] asyncio::Generator<int> delegate(int depth, int start) {
  if (depth <= 1) {
    co_yield asyncio::yield_from(count_from(start));
  } else {
    co_yield asyncio::yield_from(delegate(depth - 1, start));
  }
}

[[gnu::noinline]] asyncio::Generator<int, int> running_sum(int start) {
  int total = start;
  for (;;) total += co_yield total;
}

[[gnu::noinline]] asyncio::Coro<int> ready_value(int x) { co_return x; }

[[gnu::noinline]] asyncio::Coro<void> wait_for(asyncio::Future<void> f) { co_await f; }

}  // namespace bench

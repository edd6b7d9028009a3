#pragma once
/// Coroutine factories for the benchmarks, defined in factories.cpp (a separate library without
/// LTO) and marked noinline, so that no benchmark loop can see into the coroutine it drives: the
/// optimiser must build a real frame and resume it through its handle, as in a program whose
/// coroutines live in other files.

#include <asyncio/asyncio.hpp>

namespace bench {

/// Yields start, start + 1, ... forever.
asyncio::Generator<int> count_from(int start);

/// `depth` (>= 1) generators each delegating with `co_yield yield_from(...)` to the next; the
/// innermost, count_from(start), produces the values. A value crosses `depth` delegations.
asyncio::Generator<int> delegate(int depth, int start);

/// Yields the running sum of what send() passes (starting at `start`), forever.
asyncio::Generator<int, int> running_sum(int start);

/// The async generator yielding start, start + 1, ... forever, without awaiting.
asyncio::AsyncGenerator<int> async_count_from(int start);

/// A Coro that completes at once with `x` (never suspends).
asyncio::Coro<int> ready_value(int x);

/// Waits for `f` (a task idle on a Future).
asyncio::Coro<void> wait_for(asyncio::Future<void> f);

}  // namespace bench

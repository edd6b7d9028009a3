#pragma once
/// The coroutine the Asio workloads await, defined in factories.cpp (built without LTO, noinline),
/// so that no loop can see into it: the same opacity as asyncio-cpp's bench/factories.cpp.

#include <asio/awaitable.hpp>

namespace asio_peer {

/// An awaitable that completes at once with `x` (never suspends).
asio::awaitable<int> ready_value(int x);

}  // namespace asio_peer

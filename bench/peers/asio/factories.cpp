#include "factories.hpp"

namespace asio_peer {

[[gnu::noinline]] asio::awaitable<int> ready_value(int x) { co_return x; }

}  // namespace asio_peer

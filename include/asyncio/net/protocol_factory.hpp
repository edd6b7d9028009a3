#pragma once
/// Protocol factories: what create_connection and create_server take (Python's protocol_factory),
/// a callable returning a std::shared_ptr to a new Protocol or BufferedProtocol.
///
///   auto [transport, protocol] = co_await create_connection([] { return std::make_shared<Echo>(); },
///                                                           "127.0.0.1", 8080);
///
/// g++ 12 destroys a closure temporary whose destructor is not trivial (a lambda capturing a
/// shared_ptr, a string, ...) twice when it is written inside a co_await expression: build such a
/// factory in a variable first, then pass it (`auto f = [state] {...}; co_await create_server(f, ...)`).

#include <concepts>
#include <memory>
#include <type_traits>
#include <utility>

#include "asyncio/net/protocol.hpp"

namespace asyncio {

/// The protocol type a factory makes: P for a callable returning std::shared_ptr<P>.
template <class F>
using protocol_of_t = typename std::invoke_result_t<F&>::element_type;

/// A callable returning std::shared_ptr<P>, P a Protocol or a BufferedProtocol (the transports
/// of net/ are stream transports).
template <class F>
concept StreamProtocolFactory = std::invocable<F&> && requires {
  typename std::invoke_result_t<F&>::element_type;
} && std::same_as<std::invoke_result_t<F&>, std::shared_ptr<protocol_of_t<F>>> &&
    (std::derived_from<protocol_of_t<F>, Protocol> || std::derived_from<protocol_of_t<F>, BufferedProtocol>);

namespace detail {

/// A protocol factory with its type erased (a server calls it once per accepted connection, so a
/// virtual call is all it costs). Move-only: the factory may hold move-only state.
class ProtocolFactory {
 public:
  template <class F>
  requires(!std::same_as<std::remove_cvref_t<F>, ProtocolFactory>) explicit ProtocolFactory(F f)
      : impl_(std::make_unique<Impl<F>>(std::move(f))) {}

  /// A new protocol (null if the factory returned null).
  std::shared_ptr<BaseProtocol> operator()() const { return impl_->make(); }

 private:
  struct Base {
    virtual ~Base() = default;
    virtual std::shared_ptr<BaseProtocol> make() = 0;
  };
  template <class F>
  struct Impl final : Base {
    explicit Impl(F fn) : f(std::move(fn)) {}
    std::shared_ptr<BaseProtocol> make() override { return f(); }
    F f;
  };
  std::unique_ptr<Base> impl_;
};

}  // namespace detail
}  // namespace asyncio

#pragma once
/// Servers: Python's loop.create_server / loop.create_unix_server and asyncio.Server (CPython 3.13
/// base_events.py, selector_events.py's _accept_connection, unix_events.py).
///
///   struct Echo : asyncio::Protocol {
///     asyncio::Transport* t = nullptr;
///     void connection_made(asyncio::BaseTransport& tr) override { t = dynamic_cast<asyncio::Transport*>(&tr); }
///     void data_received(std::string_view data) override { t->write(data); }
///   };
///   auto server = co_await asyncio::create_server([] { return std::make_shared<Echo>(); }, "127.0.0.1", 8080);
///   co_await server->serve_forever();
///
/// Accepting: each time a listening socket is readable, up to `backlog` connections are accepted
/// at once (Python's _accept_connection); each gets a new protocol from the factory and a
/// SocketTransport (connection_made runs in the next iteration). If accept fails for want of
/// descriptors or memory (EMFILE, ENFILE, ENOBUFS, ENOMEM), the error goes to the loop's exception
/// handler ("socket.accept() out of system resource"), the socket stops being watched and is
/// watched again after kAcceptRetryDelay seconds (Python's ACCEPT_RETRY_DELAY), so the loop
/// neither spins on a readable socket it cannot serve nor gives up. ECONNABORTED (a client gone
/// before its turn) is skipped.
///
/// Lifetime: a serving Server is kept alive by the loop (its readers hold it), so dropping the last
/// std::shared_ptr does not stop it: close() does. Its connections keep it alive too (Python's
/// transports hold their server) until their connection_lost. If the loop closes first, the server
/// closes its listening sockets and stops touching the loop (it learns of the close through the
/// loop's table of transports, see net/socket_transport.hpp).
///
/// Differences from CPython:
///  - several hosts are a std::vector<std::string> (Python takes any sequence); port is a number.
///    The hosts are resolved one after the other (Python gathers the lookups).
///  - an exception thrown by the protocol factory for an accepted connection is reported to the
///    exception handler always ("Error on transport creation for incoming connection"); CPython
///    reports it only in debug mode. No task is created per accepted connection: the factory runs
///    in the accept callback (CPython runs it in a task's first step, one iteration later).
///  - sockets() gives the listening Sockets themselves (borrowed: never close them), not
///    TransportSocket wrappers.
///
/// Invariants: `sockets_` is empty once closed; a socket is watched (`watched_[i]`) only while
/// serving and not backing off; `clients_` counts the transports attached (linked through their
/// client links). Loop-thread-only.

#include <netdb.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "asyncio/coro/coro.hpp"
#include "asyncio/loop/handle.hpp"
#include "asyncio/net/protocol_factory.hpp"
#include "asyncio/net/socket.hpp"
#include "asyncio/net/transport_table.hpp"
#include "asyncio/task/future.hpp"

namespace asyncio {

class EventLoop;
class SocketTransport;

/// The keyword arguments of Python's create_server. Trivially destructible (it is passed into
/// coroutines; see net/dns.hpp's AddrInfoHints for why).
struct ServerOptions {
  int family = AF_UNSPEC;     ///< AF_INET, AF_INET6 or AF_UNSPEC (both)
  int flags = AI_PASSIVE;     ///< getaddrinfo flags
  int backlog = 100;          ///< listen() backlog, and connections accepted per readiness at most
  bool reuse_address = true;  ///< SO_REUSEADDR (Python's default on POSIX)
  bool reuse_port = false;    ///< SO_REUSEPORT (IP sockets only): several servers on one port
  bool keep_alive = false;    ///< SO_KEEPALIVE on the listening sockets (inherited by connections)
  bool start_serving = true;  ///< listen and accept at once; else start_serving()/serve_forever()
};

/// The keyword arguments of Python's create_unix_server.
struct UnixServerOptions {
  int backlog = 100;
  bool start_serving = true;
  /// Remove the socket file when the server closes, if it is still the one bound (Python 3.13).
  bool cleanup_socket = true;
};

/// Python's asyncio.Server.
class Server : public std::enable_shared_from_this<Server>, private detail::TableEntry {
  struct Private {};

 public:
  /// Seconds before accepting again after running out of descriptors (ACCEPT_RETRY_DELAY).
  static constexpr double kAcceptRetryDelay = 1.0;

  /// Use create_server / create_unix_server.
  Server(Private, EventLoop& loop, std::vector<Socket> sockets, detail::ProtocolFactory factory, int backlog);
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;
  /// Closes the listening sockets if close() was not called.
  ~Server();

  /// Python's Server.sockets: the listening sockets (empty once closed). Borrowed: use them for
  /// getsockname(), never close or move them.
  [[nodiscard]] const std::vector<Socket>& sockets() const noexcept { return sockets_; }
  /// Python's is_serving(): accepting connections.
  [[nodiscard]] bool is_serving() const noexcept { return serving_; }
  /// Python's get_loop(). Precondition: the loop still exists.
  [[nodiscard]] EventLoop& get_loop() const noexcept;

  /// Python's start_serving(): listen and accept (nothing if already serving); returns after one
  /// iteration. RuntimeError if the server is closed.
  Coro<void> start_serving();

  /// Python's serve_forever(): starts serving and waits until cancelled (or until close() is
  /// called, which also ends it with CancelledError, as in Python). Cancelled, it closes the
  /// server and waits for wait_closed() before letting the CancelledError out - so it returns
  /// only once every connection has closed (3.12+). RuntimeError if another serve_forever() is
  /// running or the server is closed.
  Coro<void> serve_forever();

  /// Python's close(): stops listening (the listening sockets are closed at once; a Unix socket's
  /// file is removed, see UnixServerOptions). Connections stay open. Idempotent.
  void close();

  /// Python's wait_closed() (3.12.1+ semantics): returns once the server is closed and every
  /// connection it accepted has been lost, in whichever order these happen.
  Coro<void> wait_closed();

  /// Python's close_clients(): close() every connection (their buffers are flushed first).
  void close_clients();
  /// Python's abort_clients(): abort() every connection.
  void abort_clients();

  /// Connections accepted and not yet lost.
  [[nodiscard]] std::size_t client_count() const noexcept { return clients_; }

  /// "<Server sockets=[127.0.0.1:8080]>".
  [[nodiscard]] std::string describe() const;

  /// For create_server's implementation: a new server owning `sockets` (not yet listening).
  static std::shared_ptr<Server> make(EventLoop& loop, std::vector<Socket> sockets, detail::ProtocolFactory factory,
                                      int backlog);
  /// For create_unix_server: remove `path` when closing if it is still the inode `inode`.
  void set_unix_cleanup(std::string path, ino_t inode);
  /// start_serving() without the coroutine: listen and watch the sockets now.
  void start_serving_now();

 private:
  friend class SocketTransport;

  EventLoop* loop() const noexcept;
  void abandon() noexcept override;
  void attach(SocketTransport& t) noexcept;
  void detach(SocketTransport& t) noexcept;
  void watch(std::size_t index);
  void accept_ready(std::size_t index);
  void accept_connection(Socket conn, const SocketAddress& peer);
  void retry_accept(std::size_t index);
  void stop_listening() noexcept;
  void wakeup();
  template <class Fn>
  void for_each_client(Fn fn);

  static Coro<void> start_serving_impl(std::shared_ptr<Server> self);
  static Coro<void> serve_forever_impl(std::shared_ptr<Server> self);
  static Coro<void> wait_closed_impl(std::shared_ptr<Server> self);

  EventLoop* home_;                // get_loop()
  EventLoop* loop_;                // null once the loop closed (the table tells)
  detail::TransportTable* table_;  // the loop's table, which links this server; null once abandoned
  std::vector<Socket> sockets_;
  std::vector<bool> watched_;
  std::vector<TimerHandle> retry_;
  detail::ProtocolFactory factory_;
  int backlog_;
  bool serving_ = false;
  bool closed_ = false;
  bool woken_ = false;  // Python's `_waiters is None`: wait_closed() returns at once
  Future<void> serving_forever_fut_;
  std::vector<Future<void>> waiters_;
  SocketTransport* clients_head_ = nullptr;
  std::size_t clients_ = 0;
  std::string unix_path_;
  ino_t unix_inode_ = 0;
  bool unix_cleanup_ = false;
};

namespace detail {
Coro<std::shared_ptr<Server>> create_server(ProtocolFactory factory, std::string host, std::uint16_t port,
                                            ServerOptions options);
Coro<std::shared_ptr<Server>> create_server(ProtocolFactory factory, std::vector<std::string> hosts, std::uint16_t port,
                                            ServerOptions options);
Coro<std::shared_ptr<Server>> create_server(ProtocolFactory factory, Socket sock, ServerOptions options);
Coro<std::shared_ptr<Server>> create_unix_server(ProtocolFactory factory, std::string path, UnixServerOptions options);
}  // namespace detail

/// Python's loop.create_server(protocol_factory, host, port, ...): a TCP server on the running
/// loop. `host` may be a name (resolved in the executor), a numeric address (no resolution), or ""
/// for every interface (0.0.0.0 and ::, one socket each; IPv6 sockets are IPV6_V6ONLY). Port 0
/// picks a free port: read it from sockets()[0].getsockname(). Every address of the host is bound
/// (one listening socket each); addresses that cannot be assigned (EADDRNOTAVAIL: the family is
/// not configured) are skipped. OSError if binding fails ("bind(127.0.0.1:80): [Errno 98] Address
/// already in use") or nothing could be bound.
template <StreamProtocolFactory F>
Coro<std::shared_ptr<Server>> create_server(F protocol_factory, std::string host, std::uint16_t port,
                                            ServerOptions options = {}) {
  return detail::create_server(detail::ProtocolFactory(std::move(protocol_factory)), std::move(host), port, options);
}

/// Python's loop.create_server(protocol_factory, host=[...], port): one server listening on every
/// address of every host in `hosts` (names resolved as above; an address several hosts share is
/// bound once): `create_server(f, std::vector<std::string>{"127.0.0.1", "::1"}, 8080)`. With port
/// 0 each socket gets its own free port. ValueError if `hosts` is empty.
template <StreamProtocolFactory F>
Coro<std::shared_ptr<Server>> create_server(F protocol_factory, std::vector<std::string> hosts, std::uint16_t port,
                                            ServerOptions options = {}) {
  return detail::create_server(detail::ProtocolFactory(std::move(protocol_factory)), std::move(hosts), port, options);
}

/// Python's create_server(protocol_factory, sock=sock): serves on an already bound stream socket.
/// ValueError unless it is a SOCK_STREAM socket. `options` gives backlog and start_serving (the
/// other fields apply to sockets create_server makes itself).
template <StreamProtocolFactory F>
Coro<std::shared_ptr<Server>> create_server(F protocol_factory, Socket sock, ServerOptions options = {}) {
  return detail::create_server(detail::ProtocolFactory(std::move(protocol_factory)), std::move(sock), options);
}

/// Python's loop.create_unix_server(protocol_factory, path): a Unix stream socket server bound to
/// `path` (a '\0' first byte: the Linux abstract namespace). A stale socket file at `path` is
/// removed first, as Python does; any other file there gives OSError EADDRINUSE.
template <StreamProtocolFactory F>
Coro<std::shared_ptr<Server>> create_unix_server(F protocol_factory, std::string path, UnixServerOptions options = {}) {
  return detail::create_unix_server(detail::ProtocolFactory(std::move(protocol_factory)), std::move(path), options);
}

}  // namespace asyncio

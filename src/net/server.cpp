// Server, create_server, create_unix_server: CPython 3.13 base_events.py (Server, create_server),
// selector_events.py (_start_serving, _accept_connection, _stop_serving) and unix_events.py
// (create_unix_server, the socket file's cleanup).

#include "asyncio/net/server.hpp"

#include <netinet/in.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <utility>

#include "asyncio/exceptions.hpp"
#include "asyncio/flow/sleep.hpp"
#include "asyncio/loop/event_loop.hpp"
#include "asyncio/loop/logger.hpp"
#include "asyncio/net/connection.hpp"
#include "asyncio/net/socket_transport.hpp"
#include "asyncio/os_error.hpp"

namespace asyncio {

// --- Server --------------------------------------------------------------------------------------

std::shared_ptr<Server> Server::make(EventLoop& loop, std::vector<Socket> sockets, detail::ProtocolFactory factory,
                                     int backlog) {
  return std::make_shared<Server>(Private{}, loop, std::move(sockets), std::move(factory), backlog);
}

Server::Server(Private, EventLoop& loop, std::vector<Socket> sockets, detail::ProtocolFactory factory, int backlog)
    : home_(&loop),
      loop_(&loop),
      table_(&detail::TransportTable::of(loop)),
      sockets_(std::move(sockets)),
      watched_(sockets_.size(), false),
      retry_(sockets_.size()),
      factory_(std::move(factory)),
      backlog_(backlog) {
  table_->link(*this);
}

Server::~Server() {
  // Nobody holds the server: no reader or timer of the loop (they hold it), no connection.
  stop_listening();
  if (table_ != nullptr) table_->unlink(*this);
}

EventLoop* Server::loop() const noexcept { return loop_ != nullptr && !loop_->is_closed() ? loop_ : nullptr; }

EventLoop& Server::get_loop() const noexcept { return *home_; }

void Server::abandon() noexcept {
  // The loop is closing and has dropped its callbacks: close the sockets, forget the loop.
  std::exchange(table_, nullptr)->unlink(*this);
  loop_ = nullptr;
  serving_ = false;
  stop_listening();
}

void Server::set_unix_cleanup(std::string path, ino_t inode) {
  unix_path_ = std::move(path);
  unix_inode_ = inode;
  unix_cleanup_ = true;
}

std::string Server::describe() const {
  std::string text = "<Server sockets=[";
  for (std::size_t i = 0; i < sockets_.size(); ++i) {
    if (i != 0) text += ", ";
    text += sockets_[i].describe();
  }
  return text + "]>";
}

void Server::attach(SocketTransport& t) noexcept {
  t.client_prev_ = nullptr;
  t.client_next_ = clients_head_;
  if (clients_head_ != nullptr) clients_head_->client_prev_ = &t;
  clients_head_ = &t;
  ++clients_;
}

void Server::detach(SocketTransport& t) noexcept {
  if (t.client_prev_ != nullptr) {
    t.client_prev_->client_next_ = t.client_next_;
  } else {
    clients_head_ = t.client_next_;
  }
  if (t.client_next_ != nullptr) t.client_next_->client_prev_ = t.client_prev_;
  t.client_prev_ = t.client_next_ = nullptr;
  --clients_;
  if (clients_ == 0 && closed_) wakeup();
}

void Server::wakeup() {
  if (woken_) return;
  woken_ = true;
  std::vector<Future<void>> waiters = std::move(waiters_);
  if (loop() == nullptr) return;  // a closed loop runs nobody: the waiting tasks are unwound
  for (Future<void>& w : waiters) {
    if (!w.done()) w.set_result();
  }
}

void Server::start_serving_now() {
  if (closed_) throw RuntimeError("start_serving(): server " + describe() + " is closed");
  if (serving_) return;
  if (loop() == nullptr) throw RuntimeError("Event loop is closed");
  for (Socket& s : sockets_) s.listen(backlog_);
  serving_ = true;
  for (std::size_t i = 0; i < sockets_.size(); ++i) watch(i);
}

void Server::watch(std::size_t index) {
  loop()->add_reader(sockets_[index].fileno(), [self = shared_from_this(), index] { self->accept_ready(index); });
  watched_[index] = true;
}

void Server::accept_ready(std::size_t index) {
  EventLoop* l = loop();
  if (l == nullptr || closed_) return;
  // Several connections may wait: accept up to `backlog` of them now (bpo-27906).
  for (int n = 0; n < backlog_; ++n) {
    std::optional<std::pair<Socket, SocketAddress>> conn;
    try {
      conn = sockets_[index].try_accept();
    } catch (const OSError& e) {
      const int err = e.errno_value();
      if (err == ECONNABORTED) continue;  // that client gave up; the next may be there
      if (err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM) {
        // Linux keeps reporting the socket readable: stop watching it for a while, or the loop
        // would spin on it.
        l->call_exception_handler(ExceptionContext{"socket.accept() out of system resource",
                                                   std::current_exception(),
                                                   {},
                                                   "<socket " + sockets_[index].describe() + ">"});
        l->remove_reader(sockets_[index].fileno());
        watched_[index] = false;
        retry_[index] =
            l->call_later(kAcceptRetryDelay, [self = shared_from_this(), index] { self->retry_accept(index); });
        return;
      }
      throw;  // the loop reports it ("Exception in callback") and calls again next time
    }
    if (!conn) return;
    accept_connection(std::move(conn->first), conn->second);
    if (closed_) return;  // a protocol factory closed the server
  }
}

void Server::retry_accept(std::size_t index) {
  retry_[index] = TimerHandle();
  if (closed_ || !serving_ || watched_[index]) return;
  watch(index);
}

void Server::accept_connection(Socket conn, const SocketAddress& peer) {
  EventLoop* l = loop();
  try {
    std::shared_ptr<BaseProtocol> protocol = factory_();
    if (!protocol) throw TypeError("the protocol factory returned a null protocol");
    SocketTransport::create(*l, std::move(conn), std::move(protocol), {}, peer, shared_from_this());
  } catch (...) {
    l->call_exception_handler(ExceptionContext{
        "Error on transport creation for incoming connection", std::current_exception(), {}, describe()});
  }
}

void Server::stop_listening() noexcept {
  EventLoop* l = loop();
  for (std::size_t i = 0; i < sockets_.size(); ++i) {
    retry_[i].cancel();
    if (watched_[i] && l != nullptr) {
      try {
        l->remove_reader(sockets_[i].fileno());
      } catch (...) {  // the descriptor is closed next anyway
      }
    }
    watched_[i] = false;
    sockets_[i].close();
  }
  sockets_.clear();
  if (unix_cleanup_) {
    // Python 3.13's _stop_serving: remove the file if it is still our socket.
    unix_cleanup_ = false;
    struct stat st {};
    if (::stat(unix_path_.c_str(), &st) == 0) {
      if (st.st_ino == unix_inode_) (void)::unlink(unix_path_.c_str());
    } else if (errno != ENOENT) {
      log(LogLevel::error, "Unable to clean up listening UNIX socket " + unix_path_);
    }
  }
}

void Server::close() {
  if (closed_) return;
  // The readers being removed hold the server: it must outlive this call.
  const std::shared_ptr<Server> keep = weak_from_this().lock();
  closed_ = true;
  serving_ = false;
  stop_listening();
  if (serving_forever_fut_ && !serving_forever_fut_.done() && loop() != nullptr) serving_forever_fut_.cancel();
  serving_forever_fut_ = Future<void>();
  if (clients_ == 0) wakeup();
}

template <class Fn>
void Server::for_each_client(Fn fn) {
  // A copy: the list may change under the calls (it does not today: close() and abort() detach
  // nothing synchronously).
  std::vector<SocketTransport*> clients;
  clients.reserve(clients_);
  for (SocketTransport* t = clients_head_; t != nullptr; t = t->client_next_) clients.push_back(t);
  for (SocketTransport* t : clients) fn(*t);
}

void Server::close_clients() {
  for_each_client([](SocketTransport& t) { t.close(); });
}

void Server::abort_clients() {
  for_each_client([](SocketTransport& t) { t.abort(); });
}

Coro<void> Server::start_serving() { return start_serving_impl(shared_from_this()); }
Coro<void> Server::serve_forever() { return serve_forever_impl(shared_from_this()); }
Coro<void> Server::wait_closed() { return wait_closed_impl(shared_from_this()); }

Coro<void> Server::start_serving_impl(std::shared_ptr<Server> self) {
  self->start_serving_now();
  // One iteration, so that the readers are in place (Python's sleep(0)).
  co_await sleep(0);
}

Coro<void> Server::serve_forever_impl(std::shared_ptr<Server> self) {
  if (self->serving_forever_fut_) {
    throw RuntimeError("server " + self->describe() + " is already being awaited on serve_forever()");
  }
  if (self->closed_) throw RuntimeError("server " + self->describe() + " is closed");
  self->start_serving_now();
  Future<void> fut = self->get_loop().create_future<void>();
  self->serving_forever_fut_ = fut;
  std::exception_ptr error;
  bool cancelled = false;
  try {
    co_await fut;
  } catch (const CancelledError&) {
    cancelled = true;
    error = std::current_exception();
  } catch (...) {
    error = std::current_exception();
  }
  if (self->serving_forever_fut_ == fut) self->serving_forever_fut_ = Future<void>();
  if (cancelled) {
    self->close();
    try {
      co_await wait_closed_impl(self);
    } catch (...) {  // cancelled again: the first CancelledError is what goes out
    }
  }
  if (error) std::rethrow_exception(error);
}

Coro<void> Server::wait_closed_impl(std::shared_ptr<Server> self) {
  if (self->woken_) co_return;
  Future<void> waiter = self->get_loop().create_future<void>();
  self->waiters_.push_back(waiter);
  co_await waiter;
}

// --- create_server / create_unix_server ----------------------------------------------------------

namespace detail {

namespace {

bool same_address(const AddrInfo& a, const AddrInfo& b) {
  return a.family == b.family && a.type == b.type && a.protocol == b.protocol && a.address == b.address;
}

Coro<std::shared_ptr<Server>> finish(EventLoop& loop, std::vector<Socket> sockets, ProtocolFactory factory, int backlog,
                                     bool start, std::string unix_path, ino_t inode, bool cleanup) {
  std::shared_ptr<Server> server = Server::make(loop, std::move(sockets), std::move(factory), backlog);
  if (cleanup) server->set_unix_cleanup(std::move(unix_path), inode);
  if (start) {
    server->start_serving_now();
    co_await sleep(0);  // Python: one iteration, so that every add_reader went through
  }
  co_return server;
}

}  // namespace

Coro<std::shared_ptr<Server>> create_server(ProtocolFactory factory, std::string host, std::uint16_t port,
                                            ServerOptions options) {
  std::vector<std::string> hosts;
  hosts.push_back(std::move(host));
  co_return co_await create_server(std::move(factory), std::move(hosts), port, options);
}

Coro<std::shared_ptr<Server>> create_server(ProtocolFactory factory, std::vector<std::string> hosts, std::uint16_t port,
                                            ServerOptions options) {
  EventLoop& loop = get_running_loop();
  if (hosts.empty()) {
    throw ValueError("create_server: the list of hosts is empty (give \"\" for every interface)");
  }
  std::vector<AddrInfo> infos;  // of every host, without duplicates (Python makes a set of them)
  for (std::string& host : hosts) {
    std::vector<AddrInfo> found =
        co_await resolve_stream(std::move(host), port, options.family, 0, options.flags | AI_PASSIVE);
    for (AddrInfo& info : found) {
      bool seen = false;
      for (const AddrInfo& other : infos) seen = seen || same_address(info, other);
      if (!seen) infos.push_back(std::move(info));
    }
  }
  std::vector<Socket> sockets;
  std::string tried;
  for (const AddrInfo& info : infos) {
    if (!tried.empty()) tried += ", ";
    tried += info.address.to_string();
    Socket sock;
    try {
      sock = Socket(info.family, info.type, info.protocol);
    } catch (const OSError&) {
      continue;  // Python: assume this family/type/protocol combination is not supported here
    }
    if (options.reuse_address) sock.set_reuse_address();
    if (options.reuse_port && (info.family == AF_INET || info.family == AF_INET6)) sock.set_reuse_port();
    if (options.keep_alive) sock.set_option(SOL_SOCKET, SO_KEEPALIVE, 1);
    // One socket per family: no IPv4-mapped addresses on the IPv6 one (Linux's default is both).
    if (info.family == AF_INET6) sock.set_option(IPPROTO_IPV6, IPV6_V6ONLY, 1);
    try {
      sock.bind(info.address);
    } catch (const OSError& e) {
      if (e.errno_value() == EADDRNOTAVAIL) continue;  // the family is not enabled (bpo-30945)
      throw;
    }
    sockets.push_back(std::move(sock));
  }
  if (sockets.empty())
    throw_os_error(EADDRNOTAVAIL, "create_server(could not bind on any address out of " + tried + ")");
  co_return co_await finish(loop, std::move(sockets), std::move(factory), options.backlog, options.start_serving, {}, 0,
                            false);
}

Coro<std::shared_ptr<Server>> create_server(ProtocolFactory factory, Socket sock, ServerOptions options) {
  EventLoop& loop = get_running_loop();
  check_stream_socket(sock, "create_server");
  std::vector<Socket> sockets;
  sockets.push_back(std::move(sock));
  co_return co_await finish(loop, std::move(sockets), std::move(factory), options.backlog, options.start_serving, {}, 0,
                            false);
}

Coro<std::shared_ptr<Server>> create_unix_server(ProtocolFactory factory, std::string path, UnixServerOptions options) {
  EventLoop& loop = get_running_loop();
  const SocketAddress address = SocketAddress::from_path(path);
  Socket sock(AF_UNIX, SOCK_STREAM);
  if (!address.is_abstract()) {
    // A socket file left by a server that died is in the way of bind: remove it (Python does).
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0) {
      if (S_ISSOCK(st.st_mode)) (void)::unlink(path.c_str());
    } else if (errno != ENOENT) {
      log(LogLevel::error, "Unable to check or remove stale UNIX socket " + path);
    }
  }
  sock.bind(address);
  ino_t inode = 0;
  bool cleanup = false;
  if (options.cleanup_socket && !address.is_abstract()) {
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0) {
      inode = st.st_ino;
      cleanup = true;
    }
  }
  std::vector<Socket> sockets;
  sockets.push_back(std::move(sock));
  co_return co_await finish(loop, std::move(sockets), std::move(factory), options.backlog, options.start_serving,
                            std::move(path), inode, cleanup);
}

}  // namespace detail
}  // namespace asyncio

// create_connection's attempts: CPython 3.13 base_events.py (_interleave_addrinfos, _connect_sock,
// the error handling of create_connection) and staggered.py (staggered_race).

#include "asyncio/net/detail/happy_eyeballs.hpp"

#include <memory>
#include <string>
#include <utility>

#include "asyncio/exceptions.hpp"
#include "asyncio/flow/exception_group.hpp"
#include "asyncio/loop/event_loop.hpp"
#include "asyncio/net/connection.hpp"
#include "asyncio/net/sock_ops.hpp"
#include "asyncio/os_error.hpp"
#include "asyncio/task/future.hpp"
#include "asyncio/task/task.hpp"

namespace asyncio::detail {

namespace {

std::string what_of(const std::exception_ptr& error) {
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    return e.what();
  } catch (...) {
    return {};
  }
}

std::exception_ptr os_error(int err, const std::string& operation) {
  try {
    throw_os_error(err, operation);
  } catch (...) {
    return std::current_exception();
  }
}

/// Binds `sock` to the first local address of its family that accepts it. Each refusal is kept in
/// `errors` (with the address in its text); when none binds, the last refusal is raised (and taken
/// back out of `errors`: the caller records what it raises).
void bind_local(Socket& sock, const AddrInfo& remote, const std::vector<AddrInfo>& local,
                std::vector<std::exception_ptr>& errors) {
  bool tried = false;
  for (const AddrInfo& l : local) {
    if (l.family != remote.family) continue;
    tried = true;
    try {
      sock.bind(l.address);
      return;
    } catch (const OSError& e) {
      errors.push_back(os_error(e.errno_value(), "error while attempting to bind on address " + l.address.to_string()));
    }
  }
  if (tried) {
    std::exception_ptr last = std::move(errors.back());
    errors.pop_back();
    std::rethrow_exception(last);
  }
  throw_os_error(EADDRNOTAVAIL, "no matching local address with family=" + family_name(remote.family) +
                                    " found to bind to before connecting to " + remote.address.to_string());
}

/// Python's _connect_sock: a new socket for `info`, bound if asked, connected. Every OSError is
/// appended to `errors` (the attempt's list) and raised; the socket closes with the frame.
Coro<Socket> connect_one(const AddrInfo& info, const ConnectAttempts& attempts,
                         std::vector<std::exception_ptr>& errors) {
  try {
    Socket sock(info.family, info.type, info.protocol);
    if (attempts.bind_local) bind_local(sock, info, attempts.local, errors);
    co_await sock_connect(sock, info.address);
    co_return sock;
  } catch (const OSError&) {
    errors.push_back(std::current_exception());
    throw;
  }
}

Coro<std::pair<Socket, SocketAddress>> connect_in_turn(std::vector<AddrInfo> infos, ConnectAttempts attempts) {
  std::vector<std::exception_ptr> errors;
  for (const AddrInfo& info : infos) {
    std::optional<Socket> sock;
    try {
      sock = co_await connect_one(info, attempts, errors);
    } catch (const OSError&) {
      continue;
    }
    co_return std::pair{std::move(*sock), info.address};
  }
  raise_connect_errors(std::move(errors), attempts.all_errors);
}

/// What the attempts of a staggered race share with the coroutine that runs it. Held by both, so
/// the winner's socket outlives whichever ends first.
struct Race {
  Race(std::vector<AddrInfo> i, ConnectAttempts a)
      : infos(std::move(i)), attempts(std::move(a)), errors(infos.size()) {}

  std::vector<AddrInfo> infos;
  ConnectAttempts attempts;
  std::vector<std::vector<std::exception_ptr>> errors;  // each attempt's, in address order
  std::optional<std::pair<Socket, SocketAddress>> winner;
  std::exception_ptr unexpected;  // the first error that was not an OSError
  Future<void> wake;              // what the race waits on: an attempt ended, or its timer fired

  void poke() {
    if (wake && !wake.done()) wake.set_result();
  }
};

Coro<void> run_attempt(std::shared_ptr<Race> race, std::size_t index) {
  try {
    Socket sock = co_await connect_one(race->infos[index], race->attempts, race->errors[index]);
    // Two attempts may connect in the same iteration: the later one's socket closes here.
    if (!race->winner) race->winner.emplace(std::move(sock), race->infos[index].address);
  } catch (const OSError&) {  // recorded in the attempt's errors
  } catch (const std::exception&) {
    if (!race->unexpected) race->unexpected = std::current_exception();
  }
}

bool all_done(const std::vector<Task<void>>& tasks) {
  for (const Task<void>& t : tasks) {
    if (!t.done()) return false;
  }
  return true;
}

/// staggered_race specialised to connecting: see connect_any.
Coro<std::pair<Socket, SocketAddress>> connect_staggered(std::vector<AddrInfo> infos, ConnectAttempts attempts) {
  EventLoop& loop = get_running_loop();
  const double delay = attempts.delay->count();
  const auto race = std::make_shared<Race>(std::move(infos), std::move(attempts));
  const std::size_t n = race->infos.size();
  std::vector<Task<void>> tasks;
  tasks.reserve(n);
  std::exception_ptr cancelled;

  const auto start = [&](std::size_t index) {
    Task<void> task = create_task(loop, run_attempt(race, index));
    task.add_done_callback([race](AnyFuture&) { race->poke(); });
    tasks.push_back(std::move(task));
  };

  for (std::size_t i = 0; i < n && !race->winner; ++i) {
    start(i);
    if (i + 1 == n) break;
    // The next attempt starts when this one fails or after the delay, whichever comes first.
    const double deadline = loop.time() + delay;
    while (!race->winner && !tasks[i].done() && loop.time() < deadline) {
      Future<void> wake = loop.create_future<void>();
      race->wake = wake;
      TimerHandle timer = loop.call_at(deadline, [race] { race->poke(); });
      try {
        co_await wake;
      } catch (const CancelledError&) {
        cancelled = std::current_exception();
      }
      timer.cancel();
      if (cancelled) break;
    }
    if (cancelled) break;
  }
  while (!cancelled && !race->winner && !all_done(tasks)) {
    Future<void> wake = loop.create_future<void>();
    race->wake = wake;
    try {
      co_await wake;
    } catch (const CancelledError&) {
      cancelled = std::current_exception();
    }
  }
  // Whatever ended the race, no attempt outlives it: the losers are cancelled (their sockets close
  // as their frames unwind) and waited for, even if this coroutine is cancelled meanwhile.
  for (Task<void>& t : tasks) {
    if (!t.done()) t.cancel();
  }
  while (!all_done(tasks)) {
    Future<void> wake = loop.create_future<void>();
    race->wake = wake;
    try {
      co_await wake;
    } catch (const CancelledError&) {
      if (!cancelled) cancelled = std::current_exception();
    }
  }
  race->wake = Future<void>();
  if (cancelled) std::rethrow_exception(cancelled);
  if (race->winner) co_return std::move(*race->winner);
  if (race->unexpected) std::rethrow_exception(race->unexpected);
  std::vector<std::exception_ptr> errors;
  for (std::vector<std::exception_ptr>& attempt_errors : race->errors) {
    for (std::exception_ptr& e : attempt_errors) errors.push_back(std::move(e));
  }
  raise_connect_errors(std::move(errors), race->attempts.all_errors);
}

}  // namespace

std::vector<AddrInfo> interleave_addrinfos(std::vector<AddrInfo> infos, int first_family_count) {
  if (first_family_count < 1) {
    throw ValueError("interleave must be at least 1 (got " + std::to_string(first_family_count) +
                     "): it is how many addresses of the first family come before the others");
  }
  std::vector<std::vector<AddrInfo>> by_family;
  for (AddrInfo& info : infos) {
    std::vector<AddrInfo>* group = nullptr;
    for (std::vector<AddrInfo>& g : by_family) {
      if (g.front().family == info.family) group = &g;
    }
    if (group == nullptr) group = &by_family.emplace_back();
    group->push_back(std::move(info));
  }
  std::vector<AddrInfo> out;
  out.reserve(infos.size());
  std::vector<std::size_t> next(by_family.size(), 0);
  if (!by_family.empty()) {
    const auto lead = std::min(by_family.front().size(), static_cast<std::size_t>(first_family_count - 1));
    for (; next[0] < lead; ++next[0]) out.push_back(std::move(by_family[0][next[0]]));
  }
  for (bool more = true; more;) {
    more = false;
    for (std::size_t f = 0; f < by_family.size(); ++f) {
      if (next[f] < by_family[f].size()) {
        out.push_back(std::move(by_family[f][next[f]++]));
        more = true;
      }
    }
  }
  return out;
}

Coro<std::pair<Socket, SocketAddress>> connect_any(std::vector<AddrInfo> infos, ConnectAttempts attempts) {
  if (attempts.delay && attempts.delay->count() < 0) {
    throw ValueError("happy_eyeballs_delay must not be negative (got " + std::to_string(attempts.delay->count()) +
                     " s); leave it unset to try the addresses one after the other");
  }
  if (infos.empty()) throw_os_error(EADDRNOTAVAIL, "create_connection: no address to connect to");
  if (attempts.delay) co_return co_await connect_staggered(std::move(infos), std::move(attempts));
  co_return co_await connect_in_turn(std::move(infos), std::move(attempts));
}

void raise_connect_errors(std::vector<std::exception_ptr> errors, bool all_errors) {
  // CPython raises TimeoutError when no attempt left an error behind.
  if (errors.empty()) throw TimeoutError("create_connection failed");
  if (all_errors) throw ExceptionGroup("create_connection failed", std::move(errors));
  // One error, or several with the same text, is raised as it is; else all are listed.
  const std::string model = what_of(errors.front());
  bool same = true;
  for (const std::exception_ptr& e : errors) same = same && what_of(e) == model;
  if (same) std::rethrow_exception(errors.front());
  throw CreateConnectionError(std::move(errors));
}

}  // namespace asyncio::detail

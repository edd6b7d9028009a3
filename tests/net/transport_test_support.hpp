#pragma once
/// What the transport and server tests share: a protocol that records every call, an echo
/// protocol, a way to wait for a condition without sleeping, and descriptor counting.

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <asyncio/detail/describe.hpp>
#include <asyncio/net/connection.hpp>
#include <asyncio/net/protocol.hpp>
#include <asyncio/net/server.hpp>
#include <asyncio/net/socket_transport.hpp>
#include <asyncio/net/transport.hpp>

#include <cstddef>
#include <exception>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "support/test_support.hpp"

/// ASSERT_* for coroutine bodies (gtest's ASSERT_* `return`, which a coroutine cannot).
#define NETT_CO_ASSERT_TRUE(c)  \
  do {                          \
    const bool nett_ok = (c);   \
    EXPECT_TRUE(nett_ok) << #c; \
    if (!nett_ok) co_return;    \
  } while (0)
#define NETT_CO_ASSERT_FALSE(c) NETT_CO_ASSERT_TRUE(!(c))
#define NETT_CO_ASSERT_EQ(a, b)   \
  do {                            \
    EXPECT_EQ(a, b);              \
    if (!((a) == (b))) co_return; \
  } while (0)
#define NETT_CO_ASSERT_NE(a, b) \
  do {                          \
    EXPECT_NE(a, b);            \
    if ((a) == (b)) co_return;  \
  } while (0)
#define NETT_CO_ASSERT_GT(a, b)  \
  do {                           \
    EXPECT_GT(a, b);             \
    if (!((a) > (b))) co_return; \
  } while (0)

namespace nett {

using asyncio::BaseTransport;
using asyncio::Coro;
using asyncio::Transport;

/// Open descriptors of this process.
inline std::size_t open_descriptors() {
  std::size_t n = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) ++n;
  return n;
}

/// `n` bytes of a pattern that shows misordered or lost bytes.
inline std::string pattern(std::size_t n, char base = 'a') {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>(base + (i * 7 + i / 251) % 23);
  return s;
}

/// Lets the loop run until `done()` holds (each round is one loop iteration: sleep(0)). The tests
/// wrap their bodies in wait_for, so a condition that never comes fails instead of hanging.
inline Coro<void> until(std::function<bool()> done) {
  while (!done()) co_await asyncio::sleep(0);
}

/// Runs `body` (a callable returning Coro<void>) with asyncio::run on the monotonic clock, failing
/// with TimeoutError after `limit` seconds.
template <class F>
void run_io(F body, double limit = 20.0) {
  asyncio::run([body = std::move(body), limit]() mutable -> Coro<void> { co_await asyncio::wait_for(body(), limit); });
}

/// A Protocol that records what the transport calls. Hooks let a test act inside a call.
struct Recorder : asyncio::Protocol {
  Transport* transport = nullptr;
  std::string data;
  std::size_t received = 0;  // bytes, also when `keep_data` is false
  bool keep_data = true;
  int made = 0;
  int eofs = 0;
  int lost = 0;
  int pauses = 0;
  int resumes = 0;
  std::exception_ptr error;
  std::vector<std::string> calls;  // "made", "data" (once per run of data), "eof", "pause", "resume", "lost"
  std::size_t buffer_at_lost = 0;
  std::size_t buffer_at_resume = 0;
  bool keep_open_on_eof = false;
  bool pause_on_made = false;
  std::function<void(Recorder&)> on_made;
  std::function<void(Recorder&, std::string_view)> on_data;
  std::function<void(Recorder&)> on_eof;

  void note(const char* what) {
    if (std::string_view(what) == "data" && !calls.empty() && calls.back() == "data") return;
    calls.emplace_back(what);
  }
  void connection_made(BaseTransport& t) override {
    transport = dynamic_cast<Transport*>(&t);
    ++made;
    note("made");
    if (pause_on_made) transport->pause_reading();
    if (on_made) on_made(*this);
  }
  void data_received(std::string_view d) override {
    received += d.size();
    if (keep_data) data.append(d);
    note("data");
    if (on_data) on_data(*this, d);
  }
  bool eof_received() override {
    ++eofs;
    note("eof");
    if (on_eof) on_eof(*this);
    return keep_open_on_eof;
  }
  void connection_lost(std::exception_ptr e) override {
    ++lost;
    error = e;
    buffer_at_lost = transport != nullptr ? transport->get_write_buffer_size() : 0;
    note("lost");
  }
  void pause_writing() override {
    ++pauses;
    note("pause");
  }
  void resume_writing() override {
    ++resumes;
    buffer_at_resume = transport->get_write_buffer_size();
    note("resume");
  }
};

/// Echoes every byte back.
struct Echo : asyncio::Protocol {
  Transport* transport = nullptr;
  void connection_made(BaseTransport& t) override { transport = dynamic_cast<Transport*>(&t); }
  void data_received(std::string_view d) override { transport->write(d); }
};

/// A factory of Recorders that keeps every one it made (the server side of a test).
struct RecorderFactory {
  std::shared_ptr<std::vector<std::shared_ptr<Recorder>>> made =
      std::make_shared<std::vector<std::shared_ptr<Recorder>>>();
  std::function<void(Recorder&)> setup;
  std::shared_ptr<Recorder> operator()() const {
    auto r = std::make_shared<Recorder>();
    if (setup) setup(*r);
    made->push_back(r);
    return r;
  }
};

inline std::uint16_t port_of(const asyncio::Server& server) { return server.sockets().at(0).getsockname().port(); }

inline Coro<std::shared_ptr<asyncio::Server>> echo_server() {
  co_return co_await asyncio::create_server([] { return std::make_shared<Echo>(); }, "127.0.0.1", 0);
}

/// The describe_exception() text of `e` ("" for null).
inline std::string text_of(const std::exception_ptr& e) {
  return e ? asyncio::detail::describe_exception(e) : std::string();
}

/// Restores RLIMIT_NOFILE when it goes.
class NofileLimit {
 public:
  NofileLimit() { ::getrlimit(RLIMIT_NOFILE, &saved_); }
  ~NofileLimit() { restore(); }
  NofileLimit(const NofileLimit&) = delete;
  NofileLimit& operator=(const NofileLimit&) = delete;
  [[nodiscard]] rlim_t soft() const noexcept { return saved_.rlim_cur; }
  [[nodiscard]] rlim_t hard() const noexcept { return saved_.rlim_max; }
  bool set_soft(rlim_t value) {
    rlimit r = saved_;
    r.rlim_cur = value;
    return ::setrlimit(RLIMIT_NOFILE, &r) == 0;
  }
  void restore() { ::setrlimit(RLIMIT_NOFILE, &saved_); }

 private:
  rlimit saved_{};
};

}  // namespace nett

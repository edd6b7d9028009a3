#pragma once
// FakeTransport: an asyncio::Transport with no descriptor behind it, for testing the streams
// against the abstract Transport only. It records what it is asked to do (writes, pause/resume of
// reading, close, write_eof) and lets a test play the transport's side of the protocol contract:
// connection_made, data_received, eof_received, pause_writing/resume_writing, connection_lost.
//
// Like a real transport (and CPython's), close() reports connection_lost(null) from the loop, in a
// later iteration, and only once. Writing after write_eof() raises RuntimeError, and after close()
// the data is dropped (recorded in `dropped`), as net/transport.hpp specifies.

#include <any>
#include <cstddef>
#include <exception>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include <asyncio/exceptions.hpp>
#include <asyncio/loop/event_loop.hpp>
#include <asyncio/net/protocol.hpp>
#include <asyncio/net/transport.hpp>

namespace asyncio::testing {

class FakeTransport : public Transport, public std::enable_shared_from_this<FakeTransport> {
 public:
  explicit FakeTransport(std::shared_ptr<Protocol> protocol, bool can_write_eof = true)
      : protocol_(std::move(protocol)), can_write_eof_(can_write_eof) {}

  // --- what the transport was asked to do ---
  std::string written;
  std::string dropped;  // written after close()
  int pause_reading_calls = 0;
  int resume_reading_calls = 0;
  int close_calls = 0;
  bool eof_written = false;
  bool aborted = false;
  std::map<std::string, std::any, std::less<>> extra;

  /// True once connection_lost was delivered.
  [[nodiscard]] bool lost() const noexcept { return lost_; }

  // --- the transport's side of the protocol contract ---
  void connect() { protocol_->connection_made(*this); }
  void receive(std::string_view data) { protocol_->data_received(data); }
  bool receive_eof() { return protocol_->eof_received(); }
  void pause_writing() { protocol_->pause_writing(); }
  void resume_writing() { protocol_->resume_writing(); }
  /// Delivers connection_lost(error) now (the connection broke).
  void lose(std::exception_ptr error = nullptr) {
    if (lost_) return;
    closing_ = true;
    lost_ = true;
    protocol_->connection_lost(std::move(error));
  }

  // --- BaseTransport ---
  [[nodiscard]] std::any get_extra_info(std::string_view name) const override {
    auto it = extra.find(name);
    return it == extra.end() ? std::any() : it->second;
  }
  [[nodiscard]] bool is_closing() const noexcept override { return closing_; }
  void close() override {
    ++close_calls;
    if (closing_) return;
    closing_ = true;
    schedule_lost();
  }
  void set_protocol(std::shared_ptr<BaseProtocol> protocol) override {
    protocol_ = std::dynamic_pointer_cast<Protocol>(std::move(protocol));
  }
  [[nodiscard]] std::shared_ptr<BaseProtocol> get_protocol() const override { return protocol_; }

  // --- ReadTransport ---
  [[nodiscard]] bool is_reading() const noexcept override { return reading_; }
  void pause_reading() override {
    ++pause_reading_calls;
    reading_ = false;
  }
  void resume_reading() override {
    ++resume_reading_calls;
    reading_ = true;
  }

  // --- WriteTransport ---
  void write(std::string_view data) override {
    if (eof_written) throw RuntimeError("Cannot call write() after write_eof()");
    if (closing_) {
      dropped.append(data);
      return;
    }
    written.append(data);
  }
  void writelines(std::span<const std::string_view> data) override {
    for (std::string_view d : data) write(d);
  }
  void write_eof() override {
    if (!can_write_eof_) throw RuntimeError("this transport cannot write EOF");
    eof_written = true;
  }
  [[nodiscard]] bool can_write_eof() const noexcept override { return can_write_eof_; }
  void abort() override {
    aborted = true;
    closing_ = true;
    schedule_lost();
  }
  [[nodiscard]] std::size_t get_write_buffer_size() const noexcept override { return 0; }
  void set_write_buffer_limits(std::size_t high, std::size_t low) override {
    high_ = high;
    low_ = low;
  }
  using WriteTransport::set_write_buffer_limits;
  [[nodiscard]] std::pair<std::size_t, std::size_t> get_write_buffer_limits() const noexcept override {
    return {low_, high_};
  }

 private:
  void schedule_lost() {
    get_running_loop().call_soon([self = shared_from_this()] { self->lose(); });
  }

  std::shared_ptr<Protocol> protocol_;
  bool can_write_eof_;
  bool closing_ = false;
  bool lost_ = false;
  bool reading_ = true;
  std::size_t high_ = 64 * 1024;
  std::size_t low_ = 16 * 1024;
};

}  // namespace asyncio::testing

// StreamWriter: CPython 3.13 Lib/asyncio/streams.py StreamWriter.

#include "asyncio/net/stream_writer.hpp"

#include <string>
#include <typeinfo>
#include <utility>

#include "asyncio/detail/describe.hpp"
#include "asyncio/exceptions.hpp"
#include "asyncio/flow/sleep.hpp"
#include "asyncio/loop/event_loop.hpp"

namespace asyncio {

namespace {

/// CPython's drain() past the fast path. Takes what it needs by value: the writer may be moved
/// while this waits.
Coro<void> drain_coro(std::shared_ptr<FlowControlMixin> protocol, std::shared_ptr<StreamReader> reader,
                      WriteTransport* transport) {
  if (reader != nullptr) {
    if (std::exception_ptr error = reader->exception()) std::rethrow_exception(error);
  }
  if (!protocol->transport_usable() || transport->is_closing()) {
    // Let connection_lost() run: otherwise a `write(); co_await drain();` loop on a closed
    // connection would never see the error.
    co_await sleep(0);
  }
  co_await protocol->drain_helper();
}

Coro<void> await_close(Future<void> closed) { co_await closed; }

}  // namespace

StreamWriter::StreamWriter(WriteTransport& transport, std::shared_ptr<FlowControlMixin> protocol,
                           std::shared_ptr<StreamReader> reader)
    : transport_(&transport), protocol_(std::move(protocol)), reader_(std::move(reader)) {
  if (protocol_ == nullptr) throw ValueError("StreamWriter needs a protocol");
  can_write_eof_ = transport.can_write_eof();
}

void StreamWriter::replace_transport(WriteTransport& transport) {
  check_not_empty();
  transport_ = &transport;
  can_write_eof_ = transport.can_write_eof();
}

StreamWriter::StreamWriter(StreamWriter&& other) noexcept
    : transport_(std::exchange(other.transport_, nullptr)),
      protocol_(std::move(other.protocol_)),
      reader_(std::move(other.reader_)),
      can_write_eof_(other.can_write_eof_) {}

StreamWriter& StreamWriter::operator=(StreamWriter&& other) noexcept {
  if (this != &other) {
    close_if_open();
    transport_ = std::exchange(other.transport_, nullptr);
    protocol_ = std::move(other.protocol_);
    reader_ = std::move(other.reader_);
    can_write_eof_ = other.can_write_eof_;
  }
  return *this;
}

StreamWriter::~StreamWriter() { close_if_open(); }

void StreamWriter::close_if_open() noexcept {
  // A closed loop may already have abandoned its transports (without connection_lost): leave them.
  if (protocol_ == nullptr || !protocol_->transport_usable()) return;
  try {
    if (!transport_->is_closing()) transport_->close();
  } catch (...) {
    ExceptionContext context;
    context.message = "Error closing a StreamWriter's transport";
    context.exception = std::current_exception();
    protocol_->loop_or_null()->call_exception_handler(context);
  }
}

void StreamWriter::throw_empty() { throw InvalidStateError("empty StreamWriter (moved from)"); }

WriteTransport* StreamWriter::transport() const { return live(); }

void StreamWriter::writelines(std::span<const std::string_view> data) {
  if (WriteTransport* t = live()) t->writelines(data);
}

void StreamWriter::write_eof() {
  if (WriteTransport* t = live()) t->write_eof();
}

bool StreamWriter::can_write_eof() const {
  check_not_empty();
  return can_write_eof_;
}

void StreamWriter::close() {
  if (WriteTransport* t = live()) t->close();
}

bool StreamWriter::is_closing() const {
  WriteTransport* t = live();
  return t == nullptr || t->is_closing();
}

Coro<void> StreamWriter::wait_closed() const {
  check_not_empty();
  return await_close(protocol_->close_waiter());
}

std::any StreamWriter::get_extra_info(std::string_view name, std::any default_value) const {
  WriteTransport* t = live();
  if (t == nullptr) return default_value;
  std::any info = t->get_extra_info(name);
  return info.has_value() ? info : default_value;
}

Coro<void> StreamWriter::drain_slowly() const {
  check_not_empty();
  return drain_coro(protocol_, reader_, transport_);
}

std::string StreamWriter::repr() const {
  if (protocol_ == nullptr) return "<StreamWriter empty>";
  std::string s = "<StreamWriter transport=";
  if (WriteTransport* t = live()) {
    s += "<" + detail::type_name(typeid(*t)) + (t->is_closing() ? " closing>" : ">");
  } else {
    s += "<lost>";
  }
  if (reader_ != nullptr) s += " reader=" + reader_->repr();
  s += ">";
  return s;
}

}  // namespace asyncio

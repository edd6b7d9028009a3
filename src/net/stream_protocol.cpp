// StreamReaderProtocol: CPython 3.13 Lib/asyncio/streams.py StreamReaderProtocol.

#include "asyncio/net/stream_protocol.hpp"

#include <string>
#include <utility>

#include "asyncio/exceptions.hpp"
#include "asyncio/loop/event_loop.hpp"
#include "asyncio/net/transport.hpp"

namespace asyncio {

namespace {

void report_client_error(EventLoop& loop, std::exception_ptr error, const std::string& task_repr) {
  ExceptionContext context;
  context.message = "Unhandled exception in client_connected_cb";
  context.exception = std::move(error);
  context.future = task_repr;
  loop.call_exception_handler(context);
}

}  // namespace

StreamReaderProtocol::StreamReaderProtocol(std::shared_ptr<StreamReader> reader) : reader_(std::move(reader)) {}

StreamReaderProtocol::StreamReaderProtocol(std::shared_ptr<StreamReader> reader,
                                           std::shared_ptr<const ClientConnectedCallback> callback)
    : reader_(std::move(reader)), callback_(std::move(callback)) {}

void StreamReaderProtocol::connection_made(BaseTransport& transport) {
  transport_ = &transport;
  over_ssl_ = transport.get_extra_info("sslcontext").has_value();
  // A pipe's transport may be write-only: the reader then cannot pause it (CPython forgets a
  // transport whose pause_reading raises NotImplementedError, to the same effect).
  if (reader_ != nullptr) reader_->set_transport(dynamic_cast<ReadTransport*>(&transport));
  if (callback_ == nullptr) return;

  auto* write_transport = dynamic_cast<WriteTransport*>(&transport);
  if (write_transport == nullptr) {
    client_failed(std::make_exception_ptr(TypeError("client_connected_cb needs a writable transport")), "");
    return;
  }
  StreamWriter writer(*write_transport, shared_from_this(), reader_);
  if (!callback_->is_coroutine_function()) {
    try {
      callback_->call_plain(reader_, std::move(writer));
    } catch (...) {
      client_failed(std::current_exception(), "");
    }
    return;
  }
  // The task owns the callback (shared) for as long as the coroutine may use the lambda's captures.
  task_ =
      create_task(get_running_loop(), [callback = callback_, reader = reader_, writer = std::move(writer)]() mutable {
        return callback->call_coroutine(std::move(reader), std::move(writer));
      });
  // A weak reference: the protocol holds the task while it runs, and the task's frame holds the
  // writer, which holds the protocol.
  task_.add_done_callback([weak = weak_from_this()](Task<void>& task) {
    std::shared_ptr<StreamReaderProtocol> self = weak.lock();
    // A task keeps its coroutine frame (and so the handler's writer) until the last handle goes:
    // let go, so that the writer closes the connection if the handler left it open.
    if (self != nullptr && self->task_ == task) self->task_ = Task<void>();
    if (task.cancelled()) {
      if (self != nullptr) self->client_failed(nullptr, task.repr());
      return;
    }
    std::exception_ptr error = task.exception();
    if (error == nullptr) return;
    if (self != nullptr) {
      self->client_failed(error, task.repr());
    } else {
      report_client_error(task.get_loop(), error, task.repr());
    }
  });
}

void StreamReaderProtocol::client_failed(std::exception_ptr error, const std::string& task_repr) {
  if (error != nullptr) {
    if (EventLoop* loop = loop_or_null()) report_client_error(*loop, std::move(error), task_repr);
  }
  if (transport_ != nullptr && transport_usable()) transport_->close();
}

void StreamReaderProtocol::connection_lost(std::exception_ptr error) {
  if (reader_ != nullptr) {
    if (error) {
      reader_->set_exception(error);
    } else {
      reader_->feed_eof();
    }
    // The transport may be destroyed once this returns.
    reader_->set_transport(nullptr);
  }
  FlowControlMixin::connection_lost(error);
  reader_.reset();
  task_ = Task<void>();
  transport_ = nullptr;
}

void StreamReaderProtocol::data_received(std::string_view data) {
  if (reader_ != nullptr) reader_->feed_data(data);
}

void StreamReaderProtocol::replace_transport(BaseTransport& transport) {
  transport_ = &transport;
  over_ssl_ = transport.get_extra_info("sslcontext").has_value();
}

bool StreamReaderProtocol::eof_received() {
  if (reader_ != nullptr) reader_->feed_eof();
  return !over_ssl_;
}

}  // namespace asyncio

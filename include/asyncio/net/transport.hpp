#pragma once
/// The transports of asyncio (Python's asyncio/transports.py): the abstract interfaces a protocol
/// writes to. Socket transports (net/socket_transport.hpp), pipe transports and datagram
/// transports implement them; streams (net/streams.hpp) are written against these interfaces only.
///
/// Ownership: the loop keeps a transport alive while its connection is open (until it has called
/// connection_lost), so a protocol may hold a plain reference; anyone else holds a
/// std::shared_ptr. A transport holds its protocol by std::shared_ptr.
///
/// Flow control, as in Python: when the write buffer grows above the high-water mark the
/// transport calls protocol.pause_writing(); when it drains to the low-water mark it calls
/// resume_writing(). Defaults: high 64 KiB, low high / 4.

#include <any>
#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <string_view>
#include <utility>

#include "asyncio/net/socket_address.hpp"

namespace asyncio {

class BaseProtocol;

/// Python's asyncio.BaseTransport.
class BaseTransport {
 public:
  virtual ~BaseTransport() = default;

  /// Python's get_extra_info(name): "peername", "sockname" (SocketAddress), "socket" (const
  /// Socket*: borrow it, never close it), "pipe" (int fd), ... An empty std::any when the
  /// transport has no such information. std::any_cast<T> reads it.
  [[nodiscard]] virtual std::any get_extra_info(std::string_view name) const = 0;

  /// Python's is_closing(): close() or abort() was called, or the connection is being lost.
  [[nodiscard]] virtual bool is_closing() const noexcept = 0;

  /// Python's close(): flushes the write buffer, then closes; the protocol's connection_lost(null)
  /// runs in a later iteration. Calling it again does nothing.
  virtual void close() = 0;

  /// Python's set_protocol(protocol) / get_protocol().
  virtual void set_protocol(std::shared_ptr<BaseProtocol> protocol) = 0;
  [[nodiscard]] virtual std::shared_ptr<BaseProtocol> get_protocol() const = 0;
};

/// Python's asyncio.ReadTransport.
class ReadTransport : public virtual BaseTransport {
 public:
  /// Python's is_reading().
  [[nodiscard]] virtual bool is_reading() const noexcept = 0;
  /// Python's pause_reading(): no data_received until resume_reading(). Idempotent.
  virtual void pause_reading() = 0;
  /// Python's resume_reading(). Idempotent.
  virtual void resume_reading() = 0;
};

/// Python's asyncio.WriteTransport.
class WriteTransport : public virtual BaseTransport {
 public:
  /// Python's write(data): sends what it can now and buffers the rest (copied: `data` may go
  /// away after the call). Never blocks. As CPython's: after close(), data still goes out behind
  /// what is buffered (close() waits for that), and is dropped once the connection is lost (after
  /// abort(), an error, or a close() with nothing buffered), a warning logged from the fifth such
  /// write on. After write_eof(), RuntimeError on a socket (a pipe drops it).
  virtual void write(std::string_view data) = 0;

  /// Python's writelines(list_of_data): as one write of their concatenation.
  virtual void writelines(std::span<const std::string_view> data) = 0;

  /// Python's write_eof(): shuts down the write side once the buffer is flushed (the peer reads
  /// EOF); the read side stays open. RuntimeError if can_write_eof() is false.
  virtual void write_eof() = 0;

  /// Python's can_write_eof().
  [[nodiscard]] virtual bool can_write_eof() const noexcept = 0;

  /// Python's abort(): closes at once, dropping the write buffer; connection_lost(null) follows.
  virtual void abort() = 0;

  /// Python's get_write_buffer_size(): bytes buffered, not yet handed to the kernel.
  [[nodiscard]] virtual std::size_t get_write_buffer_size() const noexcept = 0;

  /// Python's set_write_buffer_limits(high, low): low defaults to high / 4, high to 64 KiB (4 *
  /// low when only low is given). ValueError unless high >= low >= 0.
  virtual void set_write_buffer_limits(std::size_t high, std::size_t low) = 0;
  void set_write_buffer_limits(std::size_t high) { set_write_buffer_limits(high, high / 4); }

  /// Python's get_write_buffer_limits(): {low, high}.
  [[nodiscard]] virtual std::pair<std::size_t, std::size_t> get_write_buffer_limits() const noexcept = 0;
};

/// Python's asyncio.Transport: a stream transport, readable and writable.
class Transport : public ReadTransport, public WriteTransport {};

/// Python's asyncio.DatagramTransport.
class DatagramTransport : public virtual BaseTransport {
 public:
  /// Python's sendto(data, addr): `address` may be omitted (std::nullopt) on a connected endpoint.
  /// The datagram is sent now or buffered (copied); errors go to error_received.
  virtual void sendto(std::string_view data, const std::optional<SocketAddress>& address = std::nullopt) = 0;

  /// Python's abort().
  virtual void abort() = 0;

  /// Python's get_write_buffer_size().
  [[nodiscard]] virtual std::size_t get_write_buffer_size() const noexcept = 0;
};

}  // namespace asyncio

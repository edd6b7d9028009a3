#pragma once
/// The protocols of asyncio (Python's asyncio/protocols.py): what a transport calls when bytes
/// arrive, the peer closes, or its write buffer crosses a water mark. A user derives from one of
/// them and overrides what it needs; the defaults do nothing, as Python's do.
///
/// Differences from Python, forced by C++ and chosen for speed:
///  - data_received gets a std::string_view into the transport's read buffer: valid only during
///    the call (copy what must outlive it). Python hands over a new bytes object per call.
///  - connection_lost gets a std::exception_ptr: null for a normal close or EOF, else the error.
///  - Transports hold their protocol by std::shared_ptr; protocol factories return one.
///
/// Call order (the transports promise it, as Python's do): connection_made exactly once, first;
/// then any number of data_received / get_buffer+buffer_updated; eof_received at most once; and
/// connection_lost exactly once, last. pause_writing and resume_writing alternate, starting with
/// pause_writing, and only between connection_made and connection_lost.

#include <cstddef>
#include <exception>
#include <span>
#include <string_view>

#include "asyncio/net/socket_address.hpp"

namespace asyncio {

class BaseTransport;
class Transport;
class DatagramTransport;

/// Python's asyncio.BaseProtocol: the calls every protocol gets.
class BaseProtocol {
 public:
  virtual ~BaseProtocol() = default;

  /// The connection is up: `transport` is the protocol's for the rest of the connection (it stays
  /// valid until connection_lost has returned; keep it by reference or through get_protocol()).
  virtual void connection_made(BaseTransport& transport) { (void)transport; }

  /// The connection is gone: `error` is null for a close or an EOF, else what ended it.
  virtual void connection_lost(std::exception_ptr error) { (void)error; }

  /// The transport's write buffer went above its high-water mark: stop writing until
  /// resume_writing() (StreamWriter.drain() waits for that).
  virtual void pause_writing() {}

  /// The write buffer drained to its low-water mark (or below).
  virtual void resume_writing() {}
};

/// Python's asyncio.Protocol: a stream protocol (TCP, Unix stream sockets, pipes).
class Protocol : public BaseProtocol {
 public:
  /// Bytes arrived. `data` is valid only during the call.
  virtual void data_received(std::string_view data) { (void)data; }

  /// The peer will send nothing more (it shut down its write side). Return true to keep the
  /// connection half-open (the transport then stays writable, and the protocol closes it later);
  /// false (the default) lets the transport close itself.
  virtual bool eof_received() { return false; }
};

/// Python's asyncio.BufferedProtocol: the transport reads straight into the protocol's buffer.
class BufferedProtocol : public BaseProtocol {
 public:
  /// A buffer to receive into; `size_hint` is what the transport would like (may be ignored, but
  /// the span must not be empty).
  virtual std::span<char> get_buffer(std::size_t size_hint) = 0;

  /// `n` bytes were written at the start of the last buffer get_buffer() returned.
  virtual void buffer_updated(std::size_t n) = 0;

  /// As Protocol::eof_received.
  virtual bool eof_received() { return false; }
};

/// Python's asyncio.DatagramProtocol: UDP and Unix datagram sockets.
class DatagramProtocol : public BaseProtocol {
 public:
  /// A datagram arrived from `address`. `data` is valid only during the call.
  virtual void datagram_received(std::string_view data, const SocketAddress& address) {
    (void)data;
    (void)address;
  }

  /// A send or receive failed (for example ECONNREFUSED from an ICMP message); the endpoint stays
  /// open, as in Python.
  virtual void error_received(std::exception_ptr error) { (void)error; }
};

}  // namespace asyncio

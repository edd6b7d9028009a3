#pragma once
/// The exceptions of asyncio, in one place as in Python's asyncio/exceptions.py. Layer 0: every layer
/// may include this header; it includes only the standard library and os_error.hpp (TimeoutError is
/// an OSError, as in Python 3.11+).
///
/// Two families, as in Python:
///  - BaseException and what derives from it (CancelledError, GeneratorExit) do NOT derive from
///    std::exception, for the reason Python made them BaseException: `catch (const std::exception&)`
///    must not swallow a cancellation or a generator's close.
///  - Everything else (RuntimeError, ValueError, LookupError, TypeError, InvalidStateError) derives from a
///    standard exception, so ordinary C++ error handling sees it.

#include <cerrno>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

#include "asyncio/os_error.hpp"

namespace asyncio {

/// Python's BaseException: the root of exceptions that control flow rather than report errors.
/// Catch it only to clean up and rethrow.
class BaseException {
 public:
  explicit BaseException(std::string message = {}) : message_(std::move(message)) {}
  virtual ~BaseException() = default;
  BaseException(const BaseException&) = default;
  BaseException& operator=(const BaseException&) = default;

  /// The message given at construction; empty when none was given.
  [[nodiscard]] virtual const char* what() const noexcept { return message_.c_str(); }
  /// The Python name of the exception class, e.g. "CancelledError".
  [[nodiscard]] virtual const char* name() const noexcept = 0;

 private:
  std::string message_;
};

/// Raised inside a generator at its paused `co_yield` by Generator::close(). A generator may catch
/// it to clean up, then must return (or let it propagate); yielding again is a RuntimeError.
class GeneratorExit final : public BaseException {
 public:
  using BaseException::BaseException;
  [[nodiscard]] const char* name() const noexcept override { return "GeneratorExit"; }
};

/// Raised at a task's `co_await` when the task is cancelled, and by Future::result() of a cancelled
/// future. The message is the one given to cancel(msg).
class CancelledError : public BaseException {
 public:
  using BaseException::BaseException;
  [[nodiscard]] const char* name() const noexcept override { return "CancelledError"; }
};

/// Python's RuntimeError: an operation not allowed in the current state (a closed loop, a loop already
/// running, a generator that ignored GeneratorExit, no running event loop).
class RuntimeError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Python's StopAsyncIteration: raised by AsyncGenerator::anext() once the generator has ended
/// (next() gives an empty optional instead), and by as_completed's next() once every future was
/// handed out (check done() first). A generator body that lets one out gets RuntimeError,
/// as in Python (PEP 479).
class StopAsyncIteration : public std::runtime_error {
 public:
  StopAsyncIteration() : std::runtime_error("StopAsyncIteration") {}
  using std::runtime_error::runtime_error;
};

/// Python's EOFError: input ended before what was asked for was complete (the base of
/// IncompleteReadError, as in Python).
class EOFError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Python's ValueError: an argument of the right type but an unacceptable value (a generator already
/// executing, a negative pool size).
class ValueError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

/// Python's LookupError: a key or index that is not there. ContextVar::get() raises it, naming the
/// variable, when the variable has no value in the current context and no default.
class LookupError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Python's KeyError, a LookupError: Context's operator[] for a variable the context has no value
/// for.
class KeyError : public LookupError {
 public:
  using LookupError::LookupError;
};

/// Python's TypeError: an operation applied to an object that does not support it in this form
/// (sending a value into a just-started generator).
class TypeError : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

/// asyncio.InvalidStateError: an operation on a Future in the wrong state (result() of a pending
/// future, set_result() of a finished one).
class InvalidStateError : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

/// Python's TimeoutError: an operation did not finish in time (asyncio.timeout, wait_for,
/// ConcurrentFuture::result(timeout), the TLS timeouts), or a system call failed with ETIMEDOUT.
/// As in Python 3.11+, an OSError: `catch (const OSError&)` sees it. errno_value() is ETIMEDOUT
/// either way (Python's asyncio TimeoutError has errno None, which an int cannot say).
class TimeoutError : public OSError {
 public:
  /// An asyncio timeout: what() is `message`, operation() is empty.
  explicit TimeoutError(const std::string& message) : OSError(ETIMEDOUT, std::string_view(), message) {}
  explicit TimeoutError(const char* message) : TimeoutError(std::string(message)) {}
  /// A system call that failed with ETIMEDOUT: what() as every OSError's.
  TimeoutError(int errno_value, std::string_view operation) : OSError(errno_value, operation) {}
};

}  // namespace asyncio

#pragma once
/// What the loop tells its exception handler: Python's context dict, with the keys asyncio-cpp fills.

#include <exception>
#include <functional>
#include <string>

namespace asyncio {

class EventLoop;

/// Python's exception-handler context: {'message', 'exception', 'future'/'task', 'handle'}.
struct ExceptionContext {
  /// What happened, e.g. "Exception in callback" or "Task exception was never retrieved".
  std::string message;
  /// The exception, when there is one.
  std::exception_ptr exception;
  /// A description of the Future or Task concerned, e.g. "<Task finished name='Task-1' ...>".
  std::string future;
  /// A description of the callback concerned, e.g. "<Handle main::{lambda()#1}>".
  std::string handle;
};

/// Python's loop.set_exception_handler(handler): handler(loop, context).
using ExceptionHandler = std::function<void(EventLoop&, const ExceptionContext&)>;

}  // namespace asyncio

#pragma once
/// StackFrame: one entry of Task::get_stack(), Python's frame objects reduced to what a C++
/// coroutine frame records about itself.

#include <cstdint>
#include <string>

namespace asyncio {

/// A coroutine frame as Task::get_stack() lists it: the coroutine function's name (as the compiler
/// spells it, e.g. "asyncio::Coro<int> fetch(std::string)") and the line of its definition. A C++
/// frame does not record where it is suspended, nor its file: the line is where the function
/// begins, not Python's line of the pending `await`.
struct StackFrame {
  std::string function;
  std::uint32_t line = 0;
};

}  // namespace asyncio

#pragma once
/// Human-readable names of exceptions and types, for reports ("RuntimeError: boom").

#include <exception>
#include <string>
#include <typeinfo>

namespace asyncio::detail {

/// The demangled name of a type ("main()::{lambda()#1}").
std::string type_name(const std::type_info& type);

/// "<type>: <message>" for an exception: the Python name for asyncio's BaseExceptions
/// ("CancelledError: msg"), the demangled class name and what() for std::exception, the demangled
/// type for anything else. "<no exception>" for a null pointer.
std::string describe_exception(const std::exception_ptr& exception);

/// True if `exception` holds an asyncio::CancelledError (or a class derived from it).
bool is_cancelled_error(const std::exception_ptr& exception) noexcept;

}  // namespace asyncio::detail

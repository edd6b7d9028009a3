#include "asyncio/detail/describe.hpp"

#include <cxxabi.h>

#include <cstdlib>
#include <memory>

#include "asyncio/exceptions.hpp"

namespace asyncio::detail {

namespace {
std::string demangle(const char* mangled) {
  int status = 0;
  std::unique_ptr<char, void (*)(void*)> out(abi::__cxa_demangle(mangled, nullptr, nullptr, &status), std::free);
  return status == 0 && out ? std::string(out.get()) : std::string(mangled);
}

std::string current_type_name() {
  const std::type_info* t = abi::__cxa_current_exception_type();
  return t ? demangle(t->name()) : std::string("<unknown exception>");
}
}  // namespace

std::string type_name(const std::type_info& type) { return demangle(type.name()); }

std::string describe_exception(const std::exception_ptr& exception) {
  if (!exception) return "<no exception>";
  try {
    std::rethrow_exception(exception);
  } catch (const BaseException& e) {
    std::string text = e.name();
    if (*e.what()) text += std::string(": ") + e.what();
    return text;
  } catch (const std::exception& e) {
    std::string text = current_type_name();
    if (*e.what()) text += std::string(": ") + e.what();
    return text;
  } catch (...) {
    return current_type_name();
  }
}

bool is_cancelled_error(const std::exception_ptr& exception) noexcept {
  if (!exception) return false;
  try {
    std::rethrow_exception(exception);
  } catch (const CancelledError&) {
    return true;
  } catch (...) {
    return false;
  }
}

}  // namespace asyncio::detail

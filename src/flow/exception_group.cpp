#include "asyncio/flow/exception_group.hpp"

#include "asyncio/exceptions.hpp"

namespace asyncio {

struct ExceptionGroup::Data {
  std::string message;
  std::vector<std::exception_ptr> exceptions;
  std::string text;  // what(): built once, so what() never allocates
};

namespace {

/// Python's item check: every item must be an exception, and an ExceptionGroup (ours derives from
/// std::exception) must not hold a BaseException.
void check_item(const std::exception_ptr& item, std::size_t index) {
  if (!item) {
    throw ValueError("Item " + std::to_string(index) + " of second argument (exceptions) is not an exception");
  }
  bool base = false;
  try {
    std::rethrow_exception(item);
  } catch (const BaseException&) {
    base = true;
  } catch (...) {
  }
  if (base) throw TypeError("Cannot nest BaseExceptions in an ExceptionGroup");
}

}  // namespace

ExceptionGroup::ExceptionGroup(std::string message, std::vector<std::exception_ptr> exceptions) {
  if (exceptions.empty()) throw ValueError("second argument (exceptions) must be a non-empty sequence");
  for (std::size_t i = 0; i < exceptions.size(); ++i) check_item(exceptions[i], i);
  auto data = std::make_shared<Data>();
  const std::size_t n = exceptions.size();
  data->text = message + " (" + std::to_string(n) + (n == 1 ? " sub-exception)" : " sub-exceptions)");
  data->message = std::move(message);
  data->exceptions = std::move(exceptions);
  data_ = std::move(data);
}

const char* ExceptionGroup::what() const noexcept { return data_->text.c_str(); }

const std::string& ExceptionGroup::message() const noexcept { return data_->message; }

const std::vector<std::exception_ptr>& ExceptionGroup::exceptions() const noexcept { return data_->exceptions; }

ExceptionGroup ExceptionGroup::derive(std::vector<std::exception_ptr> exceptions) const {
  return ExceptionGroup(data_->message, std::move(exceptions));
}

ExceptionGroup::Split ExceptionGroup::split_items(detail::GroupMatcher match, bool want_rest) const {
  std::vector<std::exception_ptr> matching;
  std::vector<std::exception_ptr> rest;
  for (const std::exception_ptr& item : data_->exceptions) {
    if (match(item)) {  // a leaf, or a nested group taken whole (Python tests groups too)
      matching.push_back(item);
      continue;
    }
    bool is_group = false;
    try {
      std::rethrow_exception(item);
    } catch (const ExceptionGroup& nested) {
      is_group = true;
      Split parts = nested.split_items(match, want_rest);
      if (parts.first) matching.push_back(std::make_exception_ptr(std::move(*parts.first)));
      if (parts.second) rest.push_back(std::make_exception_ptr(std::move(*parts.second)));
    } catch (...) {
    }
    if (!is_group && want_rest) rest.push_back(item);
  }
  Split result;
  if (!matching.empty()) result.first = derive(std::move(matching));
  if (!rest.empty()) result.second = derive(std::move(rest));
  return result;
}

}  // namespace asyncio

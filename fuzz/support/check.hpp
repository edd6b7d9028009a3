#pragma once
/// FUZZ_CHECK(condition, message): a harness's assertion. On failure it prints where, what and the
/// message, then aborts, which libFuzzer reports as a crash (saving the input) and the corpus replay
/// in the test suite reports as a failed test.

#include <cstdio>
#include <cstdlib>
#include <string>

namespace asyncio_fuzz {

[[noreturn]] inline void check_failed(const char* file, int line, const char* condition, const std::string& message) {
  std::fprintf(stderr, "%s:%d: FUZZ_CHECK(%s) failed: %s\n", file, line, condition, message.c_str());
  std::fflush(stderr);
  std::abort();
}

}  // namespace asyncio_fuzz

#define FUZZ_CHECK(condition, message)                                                         \
  do {                                                                                         \
    if (!(condition)) ::asyncio_fuzz::check_failed(__FILE__, __LINE__, #condition, (message)); \
  } while (false)

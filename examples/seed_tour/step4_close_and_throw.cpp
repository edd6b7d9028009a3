// Step 4: a coroutine is a task rather than a data stream, so it needs ending from outside: close()
// raises GeneratorExit at the paused co_yield, throw_exception() raises any exception there.

#include <asyncio/asyncio.hpp>

#include <cstdio>
#include <optional>
#include <string>

#include "tour.hpp"

namespace {

// Python's KeyboardInterrupt, which the seed throws in: a BaseException, not an error, so catch
// clauses for std::exception let it through.
class KeyboardInterrupt final : public asyncio::BaseException {
 public:
  using BaseException::BaseException;
  [[nodiscard]] const char* name() const noexcept override { return "KeyboardInterrupt"; }
};

// The seed's task(): yields 1, 2, 3.
asyncio::Generator<int> task() {
  co_yield 1;
  co_yield 2;
  co_yield 3;
}

// The seed's gen(): prints what it is sent until close() raises GeneratorExit at its co_yield; it
// catches that to clean up, then returns, which is how a coroutine agrees to end. It also survives a
// KeyboardInterrupt thrown into it.
asyncio::Generator<tour::None, std::string> gen() {
  for (;;) {
    try {
      std::string x = co_yield nullptr;
      std::printf("  received \"%s\"\n", x.c_str());
    } catch (const asyncio::GeneratorExit&) {
      std::printf("  GeneratorExit raised at the co_yield: clean up and return\n");
      co_return;
    } catch (const KeyboardInterrupt& e) {
      std::printf("  caught %s inside the generator: \"%s\"; carrying on\n", e.name(), e.what());
    }
  }
}

// Refuses to end: keeps yielding after GeneratorExit.
asyncio::Generator<int> stubborn() {
  for (;;) {
    try {
      co_yield 0;
    } catch (const asyncio::GeneratorExit&) {
      std::printf("  stubborn: ignores GeneratorExit and yields again\n");
    }
  }
}

}  // namespace

namespace tour {

void step4_close_and_throw() {
  heading(4, "Ending a coroutine, with exceptions", "结束协程也是使用异常实现");

  auto a = task();
  std::optional<int> v = a.next();
  std::printf("a = task(); next(a) -> %d; a.close(); ", *v);
  a.close();
  v = a.next();
  std::printf("next(a) -> %s (Python: StopIteration)\n", v ? "a value" : "nothing");

  auto g = gen();
  std::printf("g = gen(); next(g) primes it\n");
  (void)g.next();
  std::printf("g.send(\"a\"):\n");
  (void)g.send("a");
  std::printf("g.throw_exception(KeyboardInterrupt(\"Ctrl-C\")) (Python's g.throw; throw is a C++ keyword):\n");
  std::optional<None> next_value = g.throw_exception(KeyboardInterrupt("Ctrl-C"));
  std::printf("  -> the generator yielded again: %s\n", next_value ? "yes" : "no");
  std::printf("g.send(\"b\"):\n");
  (void)g.send("b");
  std::printf("g.close():\n");
  g.close();
  std::optional<None> after = g.send("c");
  std::printf("g.send(\"c\") after close -> %s; close() returned normally\n", after ? "a value" : "nothing");

  auto s = stubborn();
  (void)s.next();
  std::printf("close() on a generator that will not end:\n");
  try {
    s.close();
  } catch (const asyncio::RuntimeError& e) {
    std::printf("  RuntimeError: %s\n", e.what());
  }
}

}  // namespace tour

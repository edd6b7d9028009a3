// Step 3: `x = yield` is an expression: send(v) resumes the generator with v as its value. A generator
// must first be primed with next() (Python: send(None)) so that it waits at a yield to receive it.

#include <asyncio/asyncio.hpp>

#include <cstdio>
#include <optional>
#include <string>

#include "tour.hpp"

namespace {

// The seed's show(): `x = yield` prints what it was sent. It yields None and receives strings.
asyncio::Generator<tour::None, std::string> show() {
  std::printf("  开始 (start)\n");
  std::string x = co_yield nullptr;
  std::printf("  received \"%s\"\n", x.c_str());
}

}  // namespace

namespace tour {

void step3_yield_expression() {
  heading(3, "Generator-based coroutines: the yield expression", "基于生成器的协程: yield表达式");

  auto g = show();
  std::printf("g.send(\"hello\") into the just-created generator:\n");
  try {
    (void)g.send("hello");
  } catch (const asyncio::TypeError& e) {
    std::printf("  TypeError: %s\n", e.what());
  }

  std::printf("next(g) primes it: runs to the first yield\n");
  (void)g.next();
  std::printf("g.send(\"hello\"): the yield expression takes the value\n");
  std::optional<None> after = g.send("hello");
  std::printf("  -> %s: the body ended (Python: StopIteration)\n", after ? "a value" : "nothing");

  auto h = show();
  std::printf("with next() instead of send(), as an iterator is driven:\n");
  (void)h.next();
  (void)h.next();
  std::printf("  next() sends the default value, as Python's next() sends None\n");
}

}  // namespace tour

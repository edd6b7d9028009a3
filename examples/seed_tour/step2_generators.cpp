// Step 2: generator functions. Calling one runs nothing; next() runs it to its next co_yield; the
// co_return value is what Python carries in StopIteration.

#include <asyncio/asyncio.hpp>

#include <cstdio>
#include <optional>

#include "tour.hpp"

namespace {

const char* state_name(asyncio::GeneratorState state) {
  switch (state) {
    case asyncio::GeneratorState::created:
      return "created (GEN_CREATED)";
    case asyncio::GeneratorState::running:
      return "running (GEN_RUNNING)";
    case asyncio::GeneratorState::suspended:
      return "suspended (GEN_SUSPENDED)";
    case asyncio::GeneratorState::closed:
      return "closed (GEN_CLOSED)";
  }
  return "?";
}

// The seed's gen(meet): yields int, receives nothing, returns int.
asyncio::Generator<int, void, int> gen(bool meet) {
  std::printf("  1\n");
  if (meet) {
    std::printf("  2\n");
    co_yield 666;
    std::printf("  3\n");
  }
  std::printf("  4\n");
  co_return 5;
}

// A generator can only be "running" while its own body runs, so it has to look at itself. Its
// Generator object exists only once the call has returned, hence the pointer filled in afterwards.
asyncio::Generator<int> look_at_myself(const asyncio::Generator<int>* const& self) {
  std::printf("  inside the body: state = %s\n", state_name(self->state()));
  co_yield 0;
}

// The seed's gen_foo yields inspect.currentframe() and finds the same frame every time. A local's
// address shows the same: the coroutine frame is allocated once, at the call, and kept between steps.
asyncio::Generator<const void*> frame_address() {
  int local = 0;
  for (int i = 0; i < 3; ++i) co_yield &local;
}

}  // namespace

namespace tour {

void step2_generators() {
  heading(2, "The yield keyword makes a generator", "yield关键字定义生成器");

  std::printf("before g = gen(true)\n");
  auto g = gen(true);
  std::printf("after: the body has not run (nothing printed); state = %s\n", state_name(g.state()));

  std::printf("next(g):\n");
  std::optional<int> value = g.next();
  std::printf("  -> %d, paused at the co_yield; state = %s\n", *value, state_name(g.state()));

  std::printf("next(g):\n");
  value = g.next();
  std::printf("  -> %s (Python: StopIteration: 5)\n", value ? "a value" : "nothing");
  std::printf("  g.return_value() = %d, the co_return value; state = %s\n", g.return_value(), state_name(g.state()));
  value = g.next();
  std::printf("next(g) once more -> %s (Python: a bare StopIteration)\n", value ? "a value" : "nothing");

  subheading("the running state, seen from inside");
  const asyncio::Generator<int>* self = nullptr;
  auto watched = look_at_myself(self);
  self = &watched;
  (void)watched.next();
  std::printf("  outside, between steps: state = %s\n", state_name(watched.state()));

  subheading("one frame for the whole life of a generator");
  auto frames = frame_address();
  std::optional<const void*> first;
  bool same = true;
  for (const void* address : frames) {
    if (!first) first = address;
    same = same && address == *first;
  }
  std::printf("  three steps, a local's address each time: %s (%p)\n", same ? "always the same" : "different", *first);
}

}  // namespace tour

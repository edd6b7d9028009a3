// Step 6: `yield from`, first as the seed expands it, then as the way a blocking call travels up a
// chain of generators (普通函数到协程: from plain functions to coroutines).

#include <asyncio/asyncio.hpp>

#include <cstdio>
#include <optional>
#include <string>

#include "tour.hpp"

namespace {

using tour::Request;
namespace sim = tour::sim;

asyncio::Generator<int, void, std::string> inner() {
  co_yield 1;
  co_yield 2;
  co_return "inner's result";
}

// The seed's expansion of `result = yield from expr`: pass each value up, then take the return value.
// It forwards only next(); yield_from also forwards send(), throw_exception() and close().
asyncio::Generator<int, void, std::string> outer_by_hand() {
  auto sub = inner();
  while (std::optional<int> y = sub.next()) co_yield *y;
  std::string result = sub.return_value();
  co_return "outer got \"" + result + "\"";
}

asyncio::Generator<int, void, std::string> outer_yield_from() {
  std::string result = co_yield asyncio::yield_from(inner());
  co_return "outer got \"" + result + "\"";
}

void show_values(const char* label, asyncio::Generator<int, void, std::string> outer) {
  std::printf("%s: yields", label);
  for (int v : outer) std::printf(" %d", v);
  std::printf(", returns %s\n", outer.return_value().c_str());
}

// small_step must wait 2 s but cannot make time pass: it yields the request to whoever drives it,
// then checks that the time really passed, as the seed's assert does.
asyncio::Generator<Request, void, int> small_step() {
  std::printf("      模拟阻塞 (blocking: small_step asks for sleep, 2)\n");
  const double t1 = sim::time();
  co_yield Request{"sleep", sim::sleep, 2};
  if (sim::time() - t1 < 2) throw tour::AssertionError("睡眠时间不足 (slept too little)");
  std::printf("      努力工作中 (working hard)\n");
  co_return 123;
}

// First try: big_step drives small_step and drops its request (the seed's `else: pass`).
int big_step_drops() {
  std::printf("    begin small_step\n");
  auto small = small_step();
  while (small.next()) {
  }
  const int small_result = small.return_value();
  std::printf("    end small_step with %d\n", small_result);
  return small_result * 1000;
}

void one_task_drops() {
  std::printf("begin task\n");
  std::printf("  begin big_step\n");
  const int big_result = big_step_drops();
  std::printf("  end big_step with %d\n", big_result);
  std::printf("end task\n");
}

// Then: big_step cannot sleep either, so it passes the request up (the seed's `else: yield x`,
// which is `yield from`).
asyncio::Generator<Request, void, int> big_step() {
  std::printf("    begin small_step\n");
  const int small_result = co_yield asyncio::yield_from(small_step());
  std::printf("    end small_step with %d\n", small_result);
  co_return small_result * 1000;
}

// one_task, still a plain function, finally does the waiting: `func, arg = x; func(arg)`.
void one_task_sleeps() {
  std::printf("begin task\n");
  std::printf("  begin big_step\n");
  auto big = big_step();
  while (std::optional<Request> x = big.next()) x->func(x->arg);
  const int big_result = big.return_value();
  std::printf("  end big_step with %d\n", big_result);
  std::printf("end task\n");
}

}  // namespace

namespace tour {

void step6_yield_from() {
  heading(6, "yield and yield from; from plain functions to coroutines", "yield与yield from; 普通函数到协程");

  show_values("the seed's loop, by hand     ", outer_by_hand());
  show_values("co_yield yield_from(inner())", outer_yield_from());

  subheading("small_step yields its request; big_step drops it");
  try {
    one_task_drops();
  } catch (const AssertionError& e) {
    std::printf("AssertionError: %s: nobody slept, the blocking was lost on the way up\n", e.what());
  }

  subheading("big_step passes the request up with yield_from; one_task does the sleeping");
  one_task_sleeps();
  std::printf(
      "The coroutines did not remove the blocking, they handed it up; one_task still blocks. Passing it\n"
      "further makes one_task a generator too, and then something must drive it: the Task of step 7.\n");
}

}  // namespace tour

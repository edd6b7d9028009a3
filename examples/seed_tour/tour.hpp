#pragma once
// What the steps of the seed tour share: headings, Python's None, and a pretend clock.

#include <cstddef>
#include <stdexcept>

namespace tour {

// "Step 3. The yield expression (yield表达式)": the English title, then the seed's own, so that
// the output can be read beside the seed.
void heading(int step, const char* english, const char* chinese);
void subheading(const char* text);

// What a bare Python `yield` produces. A Generator must yield an object type, and nullptr_t is
// C++'s closest thing to None.
using None = std::nullptr_t;

// Steps 5 to 7 wait for "sleep, 2" many times over; a pretend clock lets them wait for real (the
// seed's assert checks the time really passed) without the program taking seconds. It counts whole
// milliseconds so that ten 0.2 s steps add up to exactly 2 s.
namespace sim {
double time();
void sleep(double seconds);       // what a task asks for: says so, then moves the clock
void other_work(double seconds);  // the caller's own work between two steps of a task: silent
}  // namespace sim

// The seed's `yield sleep, 2`: what a generator-based coroutine waits for, as the (function,
// argument) pair whoever drives it unpacks and calls: `func, arg = x; func(arg)`.
struct Request {
  const char* name;
  void (*func)(double);
  double arg;
};

// The seed's `assert time.time() - t1 > 2, '睡眠时间不足'`.
struct AssertionError : std::logic_error {
  using std::logic_error::logic_error;
};

void step1_iterators();
void step2_generators();
void step3_yield_expression();
void step4_close_and_throw();
void step5_three_styles();
void step6_yield_from();
void step7_task();
void step8_event_loop();
void step9_futures();

}  // namespace tour

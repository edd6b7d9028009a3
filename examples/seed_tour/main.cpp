// The seed tour: the project's seed (a walk-through, in Chinese, of how Python's asyncio is built from
// iterators up to an event loop with futures) retold step by step with asyncio-cpp. Each step prints
// the seed's section title, so the output can be read beside the seed; each step's code is in its
// own file, named after the step.

#include <cmath>
#include <cstdio>

#include "tour.hpp"

namespace tour {

void heading(int step, const char* english, const char* chinese) {
  std::printf("\n=== Step %d. %s (%s) ===\n", step, english, chinese);
}

void subheading(const char* text) { std::printf("\n--- %s\n", text); }

namespace sim {
namespace {
long long now_ms = 0;
long long to_ms(double seconds) { return std::llround(seconds * 1000.0); }
}  // namespace

double time() { return static_cast<double>(now_ms) / 1000.0; }

void sleep(double seconds) {
  const double before = time();
  now_ms += to_ms(seconds);
  std::printf("        [sleep(%g) blocks: simulated clock %g s -> %g s]\n", seconds, before, time());
}

void other_work(double seconds) { now_ms += to_ms(seconds); }
}  // namespace sim

}  // namespace tour

int main() {
  std::printf("asyncio-cpp: the seed tour (asyncio协程), from iterators to an event loop\n");
  tour::step1_iterators();
  tour::step2_generators();
  tour::step3_yield_expression();
  tour::step4_close_and_throw();
  tour::step5_three_styles();
  tour::step6_yield_from();
  tour::step7_task();
  tour::step8_event_loop();
  tour::step9_futures();
  std::printf("\nEnd of the tour.\n");
  return 0;
}

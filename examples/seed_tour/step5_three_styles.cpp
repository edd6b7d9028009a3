// Step 5: the three ways to use a generator. Pull and push are driven by data; the task style, the
// one asyncio is built on, is driven by what the generator waits for.

#include <asyncio/asyncio.hpp>

#include <cstdio>
#include <optional>
#include <string>
#include <string_view>

#include "tour.hpp"

namespace {

// pull: produces data while it has some; the consumer pulls (next(), range-for). A stream: one word
// at a time, never the whole list.
asyncio::Generator<std::string> pull_style(std::string text) {
  std::string_view rest = text;
  while (!rest.empty()) {
    const std::size_t space = rest.find(' ');
    co_yield std::string(rest.substr(0, space));
    rest = space == std::string_view::npos ? std::string_view() : rest.substr(space + 1);
  }
}

// push: `input = yield output`. The caller pushes numbers in with send() and gets the running
// average back out.
asyncio::Generator<double, double> push_style() {
  double total = 0;
  int count = 0;
  double average = 0;
  for (;;) {
    const double input = co_yield average;
    total += input;
    ++count;
    average = total / count;
  }
}

// task: what it yields is what it waits for. The four questions of the seed: it yields when it must
// wait; the driver takes the request; the driver makes the wait happen; the driver resumes it.
asyncio::Generator<tour::Request> make_tea() {
  std::printf("  make_tea: boil the water\n");
  co_yield tour::Request{"sleep", tour::sim::sleep, 3};
  std::printf("  make_tea: steep the leaves\n");
  co_yield tour::Request{"sleep", tour::sim::sleep, 2};
  std::printf("  make_tea: tea is ready at %g s\n", tour::sim::time());
}

}  // namespace

namespace tour {

void step5_three_styles() {
  heading(5, "The three styles of generator", "生成器的3种模式");

  std::printf("pull (data out):");
  for (const std::string& word : pull_style("one word at a time")) std::printf(" [%s]", word.c_str());
  std::printf("\n");

  std::printf("push (data in): ");
  auto averager = push_style();
  (void)averager.next();
  for (double x : {10.0, 20.0, 60.0}) {
    std::optional<double> average = averager.send(x);
    std::printf(" send(%g) -> average %g;", x, *average);
  }
  std::printf("\n");

  std::printf("task (yields what it waits for):\n");
  for (const Request& request : make_tea()) {
    std::printf("  driver: the task waits for (%s, %g); the driver does the waiting\n", request.name, request.arg);
    request.func(request.arg);
  }
}

}  // namespace tour

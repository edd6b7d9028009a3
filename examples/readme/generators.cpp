#include <asyncio/asyncio.hpp>
#include <cstdio>

// Python: def inner(): yield 1; yield 2; return 3
asyncio::Generator<int, void, int> inner() {
  co_yield 1;
  co_yield 2;
  co_return 3;
}

// Python: def outer(): r = yield from inner(); yield r
asyncio::Generator<int> outer() {
  int r = co_yield asyncio::yield_from(inner());
  co_yield r;
}

// Python: def averager():
//             total, n = 0, 0
//             while True: total += yield (total / n if n else 0); n += 1
asyncio::Generator<double, double> averager() {
  double total = 0;
  int n = 0;
  for (;;) {
    total += co_yield (n ? total / n : 0.0);
    ++n;
  }
}

int main() {
  for (int v : outer()) std::printf("%d ", v);  // a Generator is a range: next() until exhausted
  std::printf("\n");
  auto avg = averager();
  avg.next();  // prime it, as Python's next(avg)
  avg.send(10);
  std::printf("%.1f\n", *avg.send(20));  // send() returns the next yielded value
  avg.close();                           // GeneratorExit at the paused co_yield
}

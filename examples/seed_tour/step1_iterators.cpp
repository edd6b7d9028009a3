// Step 1: the seed's myiterator, and the class with __next__ but no __iter__.

#include <cstddef>
#include <cstdio>
#include <iterator>
#include <optional>
#include <ranges>

#include "tour.hpp"

namespace {

// The seed's myiterator, a small range(max_index). next() is __next__: an empty optional stands for
// StopIteration. begin()/end() are __iter__: what range-for asks for before calling next().
class MyIterator {
 public:
  explicit MyIterator(int max_index) : max_index_(max_index) {}

  std::optional<int> next() {
    ++index_;
    if (index_ < max_index_) return index_;
    return std::nullopt;
  }

  // Python's __iter__ returns self; the cursor likewise keeps no progress of its own, only a pointer
  // back here. So this is an iterator, not a re-iterable like list: a second loop finds it used up.
  class Cursor {
   public:
    using value_type = int;
    using difference_type = std::ptrdiff_t;

    Cursor() = default;
    explicit Cursor(MyIterator* self) : self_(self), current_(self->next()) {}

    int operator*() const { return *current_; }
    Cursor& operator++() {
      current_ = self_->next();
      return *this;
    }
    void operator++(int) { ++*this; }
    friend bool operator==(const Cursor& cursor, std::default_sentinel_t) { return !cursor.current_; }

   private:
    MyIterator* self_ = nullptr;
    std::optional<int> current_;
  };

  Cursor begin() { return Cursor(this); }
  std::default_sentinel_t end() const { return {}; }

 private:
  int index_ = -1;
  int max_index_;
};

// The seed's second class: __next__ without __iter__.
class NextOnly {
 public:
  explicit NextOnly(int max_index) : max_index_(max_index) {}

  std::optional<int> next() {
    ++index_;
    if (index_ < max_index_) return index_;
    return std::nullopt;
  }

 private:
  int index_ = -1;
  int max_index_;
};

static_assert(std::ranges::range<MyIterator>);

// Python's `for i in myiterators` fails only when it runs ("TypeError: 'myiterator' object is not
// iterable"). C++ refuses it when it compiles: without begin()/end(), range-for has no way to start.
//   for (int i : NextOnly(3)) {}   // error: no begin() for NextOnly
static_assert(!std::ranges::range<NextOnly>);

}  // namespace

namespace tour {

void step1_iterators() {
  heading(1, "Iterators", "迭代器");

  MyIterator it(3);
  std::printf("for (int i : MyIterator(3)):");
  for (int i : it) std::printf(" %d", i);
  std::printf("\nthe same object again:");
  for (int i : it) std::printf(" %d", i);
  std::printf(" (nothing: an iterator is used up after one pass; a list would start over)\n");

  std::printf(
      "NextOnly (the seed's class without __iter__) is no range: static_assert(!std::ranges::range<NextOnly>).\n"
      "  Python's for raises TypeError when it runs; C++ refuses the range-for when it compiles.\n");
  NextOnly manual(3);
  std::printf("  it can still be stepped by hand, calling next() until it says stop:");
  while (std::optional<int> i = manual.next()) std::printf(" %d", *i);
  std::printf("\n");
}

}  // namespace tour

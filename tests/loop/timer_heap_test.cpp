// asyncio::detail::TimerHeap on its own: deadline order, lazy cancellation, compaction and the
// references it holds on its nodes.

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <random>
#include <tuple>
#include <vector>

#include <asyncio/loop/timer_heap.hpp>

using asyncio::detail::TimerHeap;
using asyncio::detail::TimerNode;
using asyncio::detail::TimerOps;

namespace {

std::vector<int>* g_fired = nullptr;  // where due() records the ids of fired nodes

struct TestNode : TimerNode {
  explicit TestNode(int i);
  int id;
  int refs = 0;  // references the heap holds: one per entry, live or stale
};

void test_due(TimerNode* n) {
  if (g_fired) g_fired->push_back(static_cast<TestNode*>(n)->id);
}
void test_retain(TimerNode* n) noexcept { ++static_cast<TestNode*>(n)->refs; }
void test_release(TimerNode* n) noexcept { --static_cast<TestNode*>(n)->refs; }
constexpr TimerOps test_ops{&test_due, &test_retain, &test_release};

TestNode::TestNode(int i) : TimerNode(&test_ops), id(i) {}

bool armed(const TestNode& n) { return n.armed_seq != 0; }

// Checks that size() and stale() agree with the references the nodes hold.
void expect_accounting(const TimerHeap& heap, const std::vector<std::unique_ptr<TestNode>>& nodes) {
  std::size_t entries = 0;
  std::size_t live = 0;
  for (const auto& n : nodes) {
    ASSERT_GE(n->refs, 0);
    entries += static_cast<std::size_t>(n->refs);
    if (armed(*n)) {
      ASSERT_GE(n->refs, 1) << "an armed node has no entry";
      ++live;
    }
  }
  EXPECT_EQ(heap.size(), entries);
  EXPECT_EQ(heap.stale(), entries - live);
}

std::vector<std::unique_ptr<TestNode>> make_nodes(int count) {
  std::vector<std::unique_ptr<TestNode>> nodes;
  for (int i = 0; i < count; ++i) nodes.push_back(std::make_unique<TestNode>(i));
  return nodes;
}

struct FiredLog {
  std::vector<int> ids;
  FiredLog() { g_fired = &ids; }
  ~FiredLog() { g_fired = nullptr; }
  FiredLog(const FiredLog&) = delete;
  FiredLog& operator=(const FiredLog&) = delete;
};

}  // namespace

TEST(TimerHeap, PopDueFiresInDeadlineOrder) {
  FiredLog fired;
  auto nodes = make_nodes(1000);
  TimerHeap heap;  // declared after the nodes: it releases them when destroyed
  std::mt19937_64 rng(12345);
  std::vector<std::tuple<std::int64_t, int>> expected;  // (when, arm order == id)
  for (auto& n : nodes) {
    const auto when = static_cast<std::int64_t>(rng() % 100);  // many equal deadlines
    heap.push(*n, when);
    expected.emplace_back(when, n->id);
  }
  std::sort(expected.begin(), expected.end());
  heap.pop_due(100);
  ASSERT_EQ(fired.ids.size(), expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) EXPECT_EQ(fired.ids[i], std::get<1>(expected[i])) << "at " << i;
  EXPECT_TRUE(heap.empty());
}

TEST(TimerHeap, EntriesWithEqualDeadlinesFireInTheOrderTheyWereArmed) {
  FiredLog fired;
  auto nodes = make_nodes(50);
  TimerHeap heap;
  for (auto& n : nodes) heap.push(*n, 7);
  heap.pop_due(7);
  ASSERT_EQ(fired.ids.size(), 50u);
  for (int i = 0; i < 50; ++i) EXPECT_EQ(fired.ids[static_cast<std::size_t>(i)], i);
}

TEST(TimerHeap, PopDueFiresOnlyWhatIsDue) {
  FiredLog fired;
  auto nodes = make_nodes(3);
  TimerHeap heap;
  heap.push(*nodes[0], 30);
  heap.push(*nodes[1], 10);
  heap.push(*nodes[2], 20);
  heap.pop_due(20);
  EXPECT_EQ(fired.ids, (std::vector<int>{1, 2}));
  EXPECT_EQ(heap.next_deadline(), std::optional<std::int64_t>(30));
  EXPECT_TRUE(armed(*nodes[0]));
  EXPECT_FALSE(armed(*nodes[1]));
  EXPECT_FALSE(armed(*nodes[2]));
}

TEST(TimerHeap, PopDueReleasesWhatItFires) {
  FiredLog fired;
  auto nodes = make_nodes(2);
  TimerHeap heap;
  heap.push(*nodes[0], 1);
  heap.push(*nodes[1], 2);
  EXPECT_EQ(nodes[0]->refs, 1);
  heap.pop_due(1);
  EXPECT_EQ(nodes[0]->refs, 0);
  EXPECT_EQ(nodes[1]->refs, 1);
}

TEST(TimerHeap, ACancelledEntryNeverFires) {
  FiredLog fired;
  auto nodes = make_nodes(3);
  TimerHeap heap;
  for (auto& n : nodes) heap.push(*n, 5);
  EXPECT_TRUE(heap.cancel(*nodes[1]));
  heap.pop_due(100);
  EXPECT_EQ(fired.ids, (std::vector<int>{0, 2}));
  expect_accounting(heap, nodes);
}

TEST(TimerHeap, CancelOfANodeThatIsNotArmedReturnsFalse) {
  TestNode n(0);
  TimerHeap heap;
  EXPECT_FALSE(heap.cancel(n));
  heap.push(n, 1);
  EXPECT_TRUE(heap.cancel(n));
  EXPECT_FALSE(heap.cancel(n));
  heap.clear();
  EXPECT_EQ(n.refs, 0);
}

TEST(TimerHeap, NextDeadlineSkipsCancelledEntries) {
  auto nodes = make_nodes(3);
  TimerHeap heap;
  heap.push(*nodes[0], 1);
  heap.push(*nodes[1], 2);
  heap.push(*nodes[2], 3);
  heap.cancel(*nodes[0]);
  EXPECT_EQ(heap.next_deadline(), std::optional<std::int64_t>(2));
  EXPECT_EQ(nodes[0]->refs, 0);  // the stale top was dropped and released
  expect_accounting(heap, nodes);
}

TEST(TimerHeap, NextDeadlineOfAnEmptyOrAllCancelledHeapIsEmpty) {
  TestNode n(0);
  TimerHeap heap;
  EXPECT_EQ(heap.next_deadline(), std::nullopt);
  heap.push(n, 1);
  heap.cancel(n);
  EXPECT_EQ(heap.next_deadline(), std::nullopt);
  EXPECT_EQ(n.refs, 0);
}

TEST(TimerHeap, ANodeReArmedWhileItsStaleEntryRemainsFiresOnceAtItsNewDeadline) {
  FiredLog fired;
  auto nodes = make_nodes(4);
  TimerHeap heap;
  // Keep enough live entries that cancelling one does not compact the heap.
  heap.push(*nodes[1], 1);
  heap.push(*nodes[2], 2);
  heap.push(*nodes[3], 3);
  heap.push(*nodes[0], 5);
  heap.cancel(*nodes[0]);
  ASSERT_EQ(heap.stale(), 1u);
  heap.push(*nodes[0], 50);
  EXPECT_EQ(nodes[0]->refs, 2);  // the stale entry and the live one
  expect_accounting(heap, nodes);
  heap.pop_due(10);
  EXPECT_EQ(fired.ids, (std::vector<int>{1, 2, 3}));
  EXPECT_EQ(nodes[0]->refs, 1);
  heap.pop_due(50);
  EXPECT_EQ(fired.ids, (std::vector<int>{1, 2, 3, 0}));
  EXPECT_EQ(nodes[0]->refs, 0);
}

TEST(TimerHeap, CancellingMoreThanHalfCompactsTheHeap) {
  auto nodes = make_nodes(10);
  TimerHeap heap;
  for (auto& n : nodes) heap.push(*n, 100 + n->id);
  for (int i = 0; i < 5; ++i) heap.cancel(*nodes[static_cast<std::size_t>(i)]);
  EXPECT_EQ(heap.size(), 10u);
  EXPECT_EQ(heap.stale(), 5u);
  heap.cancel(*nodes[5]);  // 6 stale of 10: rebuilt
  EXPECT_EQ(heap.size(), 4u);
  EXPECT_EQ(heap.stale(), 0u);
  expect_accounting(heap, nodes);
}

TEST(TimerHeap, StaleEntriesNeverExceedHalfTheHeapAcrossRandomArmAndCancelSequences) {
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    SCOPED_TRACE(seed);
    auto nodes = make_nodes(200);
    TimerHeap heap;
    std::mt19937_64 rng(seed);
    for (int step = 0; step < 5000; ++step) {
      TestNode& n = *nodes[rng() % nodes.size()];
      const auto op = rng() % 8;
      if (op < 4) {
        if (!armed(n)) heap.push(n, static_cast<std::int64_t>(rng() % 1000));
      } else if (op < 7) {
        heap.cancel(n);
      } else {
        (void)heap.next_deadline();
      }
      ASSERT_LE(heap.stale() * 2, heap.size()) << "step " << step;
      if (step % 97 == 0) {
        expect_accounting(heap, nodes);
        if (::testing::Test::HasFailure()) return;
      }
    }
    expect_accounting(heap, nodes);
    heap.clear();
    for (const auto& node : nodes) {
      EXPECT_EQ(node->refs, 0);
      EXPECT_FALSE(armed(*node));
    }
  }
}

TEST(TimerHeap, RandomArmCancelAndPopSequencesFireEachLiveTimerOnceInOrder) {
  FiredLog fired;
  auto nodes = make_nodes(300);
  TimerHeap heap;
  std::vector<std::int64_t> deadline(nodes.size(), 0);
  std::mt19937_64 rng(2024);
  std::int64_t now = 0;
  std::size_t checked = 0;
  for (int step = 0; step < 20000; ++step) {
    const std::size_t i = rng() % nodes.size();
    TestNode& n = *nodes[i];
    const auto op = rng() % 10;
    if (op < 5) {
      if (!armed(n)) {
        deadline[i] = now + static_cast<std::int64_t>(rng() % 500);
        heap.push(n, deadline[i]);
      }
    } else if (op < 8) {
      heap.cancel(n);
    } else {
      now += static_cast<std::int64_t>(rng() % 50);
      heap.pop_due(now);
      // Everything fired since the last check was due, in non-decreasing deadline order, and
      // nothing still armed is overdue.
      std::int64_t previous = std::numeric_limits<std::int64_t>::min();
      for (; checked < fired.ids.size(); ++checked) {
        const std::int64_t d = deadline[static_cast<std::size_t>(fired.ids[checked])];
        ASSERT_LE(d, now);
        ASSERT_GE(d, previous);
        previous = d;
      }
      for (std::size_t k = 0; k < nodes.size(); ++k) {
        if (armed(*nodes[k])) {
          ASSERT_GT(deadline[k], now) << "node " << k << " is overdue";
        }
      }
    }
  }
  expect_accounting(heap, nodes);
  heap.clear();
  for (const auto& node : nodes) EXPECT_EQ(node->refs, 0);
}

TEST(TimerHeap, StaleEntriesStayAtMostHalfTheHeapAfterPopDue) {
  // Documented invariant (timer_heap.hpp, docs/design.md): the heap is rebuilt "as soon as" stale
  // entries would be more than half of it. Firing live entries also shrinks the heap.
  FiredLog fired;
  auto nodes = make_nodes(7);
  TimerHeap heap;
  for (int i = 0; i < 3; ++i) heap.push(*nodes[static_cast<std::size_t>(i)], 1);  // fire soon
  heap.push(*nodes[3], 5);                                                        // live, later
  for (int i = 4; i < 7; ++i) heap.push(*nodes[static_cast<std::size_t>(i)], 9);  // to cancel
  for (int i = 4; i < 7; ++i) heap.cancel(*nodes[static_cast<std::size_t>(i)]);   // 3 of 7: kept
  ASSERT_EQ(heap.stale(), 3u);
  heap.pop_due(1);
  ASSERT_EQ(fired.ids, (std::vector<int>{0, 1, 2}));
  (void)heap.next_deadline();
  EXPECT_LE(heap.stale() * 2, heap.size()) << heap.stale() << " stale entries in a heap of " << heap.size();
}

TEST(TimerHeap, ClearReleasesEveryEntryAndDisarmsEveryNode) {
  auto nodes = make_nodes(10);
  TimerHeap heap;
  for (auto& n : nodes) heap.push(*n, n->id);
  heap.cancel(*nodes[3]);
  heap.push(*nodes[3], 100);  // a stale and a live entry for one node
  heap.clear();
  EXPECT_TRUE(heap.empty());
  EXPECT_EQ(heap.stale(), 0u);
  for (const auto& n : nodes) {
    EXPECT_EQ(n->refs, 0);
    EXPECT_FALSE(armed(*n));
  }
}

TEST(TimerHeap, DestroyingTheHeapReleasesItsEntries) {
  auto nodes = make_nodes(5);
  {
    TimerHeap heap;
    for (auto& n : nodes) heap.push(*n, 1);
  }
  for (const auto& n : nodes) EXPECT_EQ(n->refs, 0);
}

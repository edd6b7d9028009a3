#pragma once
/// What the C++ core-workload programs share (bench/core_workloads.cpp for asyncio-cpp,
/// bench/peers/asio/core.cpp for Asio): the command line, the counts, the output format, the
/// random delays of (e), peak RSS, and running a measurement in a fresh process. The Python peer
/// (bench/peers/python/core.py) implements the same contract; bench/run reads all of them alike.
///
/// Command line:
///   --workload NAME[,NAME...]|all   a workload group (a_generator_send, b_await_ready_coro,
///                                   c_task_create_await, d_sleep0_pingpong, e_sleeping_tasks,
///                                   f_idle_task_memory, g_gather, g_queue) or one of its rows
///                                   (a_generator_next selects group a, e_sleeping_tasks_rss group e;
///                                   a_generator is group a too)
///   --repeat N                      measurements per workload (default 5), each printed
///   --quick                         every count / 10
///   --count N                       every count = N (for callgrind: runs with N and 2N operations)
///   --list                          print the rows this program produces, one per line, and exit
/// Output: one JSON object per line on stdout and nothing else,
///   {"workload": "c_task_create_await", "system": "asyncio-cpp", "value": 98.1, "unit": "ns/task", "rep": 0}
/// Errors go to stderr with exit status 1 (a check failed) or 2 (bad command line).
///
/// Peak RSS, (e) and (f): every measurement runs in a child process (this program again, with the
/// hidden option --child), which prints its figures on a pipe. The child reads VmHWM from
/// /proc/self/status rather than getrusage's ru_maxrss: Linux carries ru_maxrss across fork and
/// exec (the signal struct keeps the largest RSS of any address space the process had), so a child
/// of a parent that had grown would report the parent's peak. VmHWM is the peak of the child's own
/// address space, which for a process started from a small launcher is exactly what ru_maxrss gives.

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace core_bench {

/// The counts of the full run (--quick divides each by 10).
struct Counts {
  std::int64_t generator_values = 5'000'000;  // (a), each of next and send
  std::int64_t ready_awaits = 2'000'000;      // (b)
  std::int64_t tasks = 1'000'000;             // (c)
  std::int64_t switches = 1'000'000;          // (d), both tasks together
  std::int64_t sleeping_tasks = 1'000'000;    // (e)
  std::int64_t idle_tasks = 100'000;          // (f)
  std::int64_t gather_tasks = 100'000;        // (g) gather
  std::int64_t queue_items = 1'000'000;       // (g) queue

  void set_all(std::int64_t n) {
    for (std::int64_t* c : {&generator_values, &ready_awaits, &tasks, &switches, &sleeping_tasks, &idle_tasks,
                            &gather_tasks, &queue_items}) {
      *c = n;
    }
  }

  void quick() {
    for (std::int64_t* c : {&generator_values, &ready_awaits, &tasks, &switches, &sleeping_tasks, &idle_tasks,
                            &gather_tasks, &queue_items}) {
      *c /= 10;
    }
  }
};

/// The workload groups, in the order of `all`, and the rows each prints.
struct Group {
  std::string_view name;
  std::vector<std::string_view> rows;
};
inline const std::vector<Group>& groups() {
  static const std::vector<Group> g = {
      {"a_generator_send", {"a_generator_next", "a_generator_send"}},
      {"b_await_ready_coro", {"b_await_ready_coro"}},
      {"c_task_create_await", {"c_task_create_await"}},
      {"d_sleep0_pingpong", {"d_sleep0_pingpong"}},
      {"e_sleeping_tasks", {"e_sleeping_tasks_time", "e_sleeping_tasks_rss"}},
      {"f_idle_task_memory", {"f_idle_task_memory"}},
      {"g_gather", {"g_gather"}},
      {"g_queue", {"g_queue"}},
  };
  return g;
}

[[noreturn]] inline void fail(const std::string& what, int status = 1) {
  std::fprintf(stderr, "error: %s\n", what.c_str());
  std::exit(status);
}

inline void check(bool ok, const char* what) {
  if (!ok) fail(std::string("check failed: ") + what);
}

/// The parsed command line.
struct Options {
  std::vector<std::string> groups;  // group names to run, in order
  int repeat = 5;
  bool quick = false;
  bool list = false;
  std::string child;  // hidden: run one measurement of this group in this process
  std::int64_t child_tasks = -1;
  Counts counts;
};

inline std::string_view group_of(std::string_view name) {
  if (name == "a_generator") return groups()[0].name;
  for (const Group& g : groups()) {
    if (g.name == name) return g.name;
    for (std::string_view r : g.rows)
      if (r == name) return g.name;
  }
  return {};
}

inline Options parse(int argc, char** argv) {
  Options o;
  std::string workload = "all";
  std::int64_t count = 0;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) fail(std::string("missing value after ") + std::string(a), 2);
      return argv[++i];
    };
    if (a == "--workload") {
      workload = value();
    } else if (a == "--repeat") {
      o.repeat = std::atoi(value().c_str());
      if (o.repeat < 1) fail("--repeat needs a number >= 1", 2);
    } else if (a == "--quick") {
      o.quick = true;
    } else if (a == "--count") {
      count = std::atoll(value().c_str());
      if (count < 1) fail("--count needs a number >= 1", 2);
    } else if (a == "--list") {
      o.list = true;
    } else if (a == "--child") {
      o.child = value();
    } else if (a == "--child-tasks") {
      o.child_tasks = std::atoll(value().c_str());
    } else {
      fail("unknown argument " + std::string(a) +
               " (usage: --workload NAME[,NAME...]|all --repeat N --quick --count N --list)",
           2);
    }
  }
  if (o.quick) o.counts.quick();
  if (count > 0) o.counts.set_all(count);
  std::vector<std::string> wanted;
  if (workload == "all") {
    for (const Group& g : groups()) wanted.emplace_back(g.name);
  } else {
    std::size_t start = 0;
    while (start <= workload.size()) {
      std::size_t comma = workload.find(',', start);
      if (comma == std::string::npos) comma = workload.size();
      std::string name = workload.substr(start, comma - start);
      std::string_view g = group_of(name);
      if (g.empty()) fail("unknown workload " + name, 2);
      wanted.emplace_back(g);
      start = comma + 1;
    }
  }
  // Keep the order of `all`, each group once.
  for (const Group& g : groups()) {
    for (const std::string& w : wanted) {
      if (w == g.name) {
        o.groups.emplace_back(g.name);
        break;
      }
    }
  }
  return o;
}

/// Prints one result row. Flushed at once, so that rows and the output of child processes never
/// interleave out of order.
inline void emit(std::string_view workload, std::string_view system, double value, std::string_view unit, int rep) {
  std::printf("{\"workload\": \"%.*s\", \"system\": \"%.*s\", \"value\": %.6g, \"unit\": \"%.*s\", \"rep\": %d}\n",
              static_cast<int>(workload.size()), workload.data(), static_cast<int>(system.size()), system.data(), value,
              static_cast<int>(unit.size()), unit.data(), rep);
  std::fflush(stdout);
}

using Clock = std::chrono::steady_clock;

inline double ns_between(Clock::time_point t0, Clock::time_point t1) {
  return static_cast<double>(std::chrono::duration_cast<std::chrono::nanoseconds>(t1 - t0).count());
}

/// The delays of (e): uniform in [0, 100) ms, from a fixed seed, in nanoseconds. Drawn before the
/// measured region.
inline std::vector<std::int64_t> sleep_delays_ns(std::int64_t n) {
  std::mt19937_64 rng(20261123);
  std::uniform_real_distribution<double> ms(0.0, 100.0);
  std::vector<std::int64_t> d(static_cast<std::size_t>(n));
  for (auto& x : d) x = static_cast<std::int64_t>(ms(rng) * 1e6);
  return d;
}

/// Peak resident set of this process's address space, in KiB (VmHWM; see the top of this file).
inline double peak_rss_kib() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::strtod(line.c_str() + 6, nullptr);
  }
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_maxrss);
}

/// Runs this program again as `--child group [--child-tasks n] [--quick]` and returns the numbers it
/// printed (whitespace-separated). The child starts from exec, so its address space is fresh.
inline std::vector<double> run_child(const Options& o, const std::string& group, std::int64_t tasks) {
  std::array<char, 4096> exe{};
  const ssize_t len = readlink("/proc/self/exe", exe.data(), exe.size() - 1);
  if (len <= 0) fail("cannot read /proc/self/exe");
  std::string tasks_arg = std::to_string(tasks);
  std::vector<const char*> args = {exe.data(), "--child", group.c_str(), "--child-tasks", tasks_arg.c_str()};
  if (o.quick) args.push_back("--quick");
  args.push_back(nullptr);

  int fds[2];
  if (pipe(fds) != 0) fail("pipe");
  std::fflush(stdout);
  const pid_t pid = fork();
  if (pid < 0) fail("fork");
  if (pid == 0) {
    dup2(fds[1], STDOUT_FILENO);
    close(fds[0]);
    close(fds[1]);
    execv(exe.data(), const_cast<char* const*>(args.data()));
    _exit(127);
  }
  close(fds[1]);
  std::string out;
  char buf[256];
  for (ssize_t r; (r = read(fds[0], buf, sizeof buf)) > 0;) out.append(buf, static_cast<std::size_t>(r));
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) fail("child " + group + " failed");
  std::vector<double> numbers;
  const char* p = out.c_str();
  for (char* end = nullptr;; p = end) {
    const double v = std::strtod(p, &end);
    if (end == p) break;
    numbers.push_back(v);
  }
  return numbers;
}

/// The measurements a program provides. A null function: the system has no such workload (no rows).
struct Workloads {
  std::string_view system;
  // (a): ns per value of next() and of send().
  std::function<double(std::int64_t)> generator_next, generator_send;
  // (b), (c), (d), (g): ns per operation.
  std::function<double(std::int64_t)> await_ready, task_create_await, sleep0_pingpong, gather, queue;
  // (e): wall seconds for n sleeping tasks (runs in a child, which then reads its peak RSS).
  std::function<double(std::int64_t)> sleeping_tasks;
  // (f): n tasks parked on one event; returns once all are parked and the peak RSS was read
  // (in a child process), in KiB.
  std::function<double(std::int64_t)> idle_tasks_peak_rss_kib;
};

/// Parses the command line and runs what it asks with `w`; returns main's exit status.
inline int main(int argc, char** argv, const Workloads& w) {
  const Options o = parse(argc, argv);
  const Counts& c = o.counts;
  const std::string_view sys = w.system;

  if (!o.child.empty()) {  // one measurement in a fresh process: print its numbers
    if (o.child == "e_sleeping_tasks") {
      const double seconds = w.sleeping_tasks(o.child_tasks);
      std::printf("%.9g %.9g\n", seconds, peak_rss_kib());
    } else if (o.child == "f_idle_task_memory") {
      std::printf("%.9g\n", w.idle_tasks_peak_rss_kib(o.child_tasks));
    } else {
      fail("bad --child " + o.child, 2);
    }
    return 0;
  }

  auto has = [&](std::string_view group) {
    if (group == "a_generator_send") return static_cast<bool>(w.generator_next);
    if (group == "b_await_ready_coro") return static_cast<bool>(w.await_ready);
    if (group == "c_task_create_await") return static_cast<bool>(w.task_create_await);
    if (group == "d_sleep0_pingpong") return static_cast<bool>(w.sleep0_pingpong);
    if (group == "e_sleeping_tasks") return static_cast<bool>(w.sleeping_tasks);
    if (group == "f_idle_task_memory") return static_cast<bool>(w.idle_tasks_peak_rss_kib);
    if (group == "g_gather") return static_cast<bool>(w.gather);
    return static_cast<bool>(w.queue);
  };

  if (o.list) {
    for (const Group& g : groups())
      if (has(g.name))
        for (std::string_view r : g.rows) std::printf("%.*s\n", static_cast<int>(r.size()), r.data());
    return 0;
  }

  for (const std::string& g : o.groups) {
    if (!has(g)) continue;  // e.g. Asio has no generator
    for (int rep = 0; rep < o.repeat; ++rep) {
      if (g == "a_generator_send") {
        emit("a_generator_next", sys, w.generator_next(c.generator_values), "ns/value", rep);
        emit("a_generator_send", sys, w.generator_send(c.generator_values), "ns/value", rep);
      } else if (g == "b_await_ready_coro") {
        emit(g, sys, w.await_ready(c.ready_awaits), "ns/await", rep);
      } else if (g == "c_task_create_await") {
        emit(g, sys, w.task_create_await(c.tasks), "ns/task", rep);
      } else if (g == "d_sleep0_pingpong") {
        emit(g, sys, w.sleep0_pingpong(c.switches), "ns/switch", rep);
      } else if (g == "e_sleeping_tasks") {
        const std::vector<double> r = run_child(o, g, c.sleeping_tasks);
        check(r.size() == 2, "e_sleeping_tasks child output");
        emit("e_sleeping_tasks_time", sys, r[0], "s", rep);
        emit("e_sleeping_tasks_rss", sys, r[1] / 1024.0, "MiB", rep);
      } else if (g == "f_idle_task_memory") {
        // The empty run and the full run, each in its own process.
        const std::vector<double> empty = run_child(o, g, 0);
        const std::vector<double> full = run_child(o, g, c.idle_tasks);
        check(empty.size() == 1 && full.size() == 1, "f_idle_task_memory child output");
        emit(g, sys, (full[0] - empty[0]) * 1024.0 / static_cast<double>(c.idle_tasks), "bytes/task", rep);
      } else if (g == "g_gather") {
        emit(g, sys, w.gather(c.gather_tasks), "ns/task", rep);
      } else if (g == "g_queue") {
        emit(g, sys, w.queue(c.queue_items), "ns/item", rep);
      }
    }
  }
  return 0;
}

}  // namespace core_bench

// Fuzzes asyncio::StreamReader: random chunks fed into a reader with a small limit, read by many
// concurrent tasks of every kind (read(n), read(0), read(-1), readexactly, readline, readuntil with
// one or several separators, read_view, readline_view) on every path a read can take (awaited
// directly in a task, where a line read parks on the task itself; as a Coro awaited in a task;
// under wait_for; as a task of its own), with cancellations, set_exception, EOF, timeouts and a
// transport that records pause/resume. The loop runs on the virtual clock and is stepped one
// iteration at a time from outside, so the fuzzer chooses the interleaving.
//
// The model is CPython 3.13's Lib/asyncio/streams.py StreamReader, with a buffer that is rescanned
// from its start on every look (the library's contract: a wake-up is a hint, a read that finds its
// data gone waits again), plus the library's promise that a read that does not complete takes
// nothing (read(-1), which takes bytes as they come, puts them back). It keeps the bytes the reader
// must hold, the bytes a pending read(-1) has taken, EOF and the exception, and checks:
//  1. Conservation: every read that ends is replayed on the model at the point it ended (the state
//     it ended in is exactly known: only the harness feeds, and only between those points) and must
//     take exactly the bytes CPython's read takes from that buffer; after each replay the reader's
//     buffered() must equal the model's. So every fed byte is returned once, in order, or dropped
//     only where CPython drops it (readline's ValueError, IncompleteReadError's partial).
//  2. Each outcome is the one CPython's code computes from that buffer: value, or exception type
//     and exact message (IncompleteReadError's partial/expected, LimitOverrunError's consumed);
//     CancelledError only after cancel(), TimeoutError only after the deadline, the set exception
//     only once set; anything else, or a call of the loop's exception handler, is a failure.
//  3. Liveness at quiescence (nothing left to run): a read still pending must need more data than
//     is buffered; after EOF no read may be pending, nor after set_exception reached a waiting read,
//     nor a wait_for past its deadline. The script ends with EOF and every read must then end.
//  4. One waiter: RuntimeError "... called while another coroutine is already waiting for incoming
//     data" only from a read that has to wait while another read is pending, and never two reads
//     waiting at quiescence.
//  5. Flow control: the transport is paused only by a feed that leaves more than 2 * limit
//     buffered, resumed only when the buffer is down to the limit or a read is about to wait, and
//     never left paused while a read waits.
//
// Reads that complete inside a task the harness does not write (create_task(reader.readline())) are
// only seen once done, possibly after other reads; a read(-1) takes bytes unseen too. Each check
// point therefore replays those events in every order (and with the take at every place), and the
// model becomes the set of states some order leads to that hold what the reader actually holds:
// usually one, several only while later events have not yet told them apart (what a read(-1)
// holds is kept as a list of alternatives within one state, settled by its value).
//
// The kTolerate* switches below can make the model accept CPython's own faults in this area (all
// off: the library is held to better); each has a regression-* input in the corpus.
//
// Not covered: two read(-1) at once (their takes could not be told apart; CPython's would lose
// data anyway), views read after the reader was used again (the contract forbids it), more than one
// set_exception, set_transport(nullptr), StreamReaderProtocol.

#include <algorithm>
#include <any>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <exception>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <typeinfo>
#include <utility>
#include <vector>

#include <asyncio/coro/coro.hpp>
#include <asyncio/exceptions.hpp>
#include <asyncio/flow/wait_for.hpp>
#include <asyncio/loop/event_loop.hpp>
#include <asyncio/net/stream_errors.hpp>
#include <asyncio/net/stream_reader.hpp>
#include <asyncio/net/transport.hpp>
#include <asyncio/task/task.hpp>

#include "support/check.hpp"
#include "support/fuzz_input.hpp"

namespace {

using asyncio_fuzz::FuzzInput;

constexpr std::size_t kMaxSteps = 64;
constexpr std::size_t kMaxReads = 24;  // ids fit State::tainted
// Reads in tasks of their own are seen only once done, in an order the check points search for.
constexpr std::size_t kMaxBareTasks = 2;
// The model states consistent with everything seen (more than one only when the order of unseen
// events matters and later events have not told them apart yet).
constexpr std::size_t kMaxCandidates = 64;
constexpr std::size_t kMaxHeldAlternatives = 64;
constexpr std::size_t kMaxScanLengths = 64;
// More iterations than any chain of wake-ups in a script needs; beyond it the loop is spinning.
constexpr int kQuiesceIterations = 200;

// Chunks are drawn from newlines (the readline separator, weighted), the bytes of the separators
// below, and a filler byte, so that lines, separators and limit overruns are all frequent.
constexpr std::string_view kAlphabet = "\n\na\rb|x\n";
// Includes separators of equal length ("ab", "||", "\r\n", "\n\n") so that the tie rule of several
// separators (the shortest wins, then the earliest given) is exercised.
constexpr std::string_view kSeparators[] = {"\n", "\r\n", "|", "ab", "\n\n", "a|b", "x", "||", "\r"};
constexpr std::size_t kSeparatorCount = sizeof(kSeparators) / sizeof(kSeparators[0]);
constexpr double kTimeouts[] = {0.0, 0.001, 0.002, 0.003, 0.005, 0.008, 0.010};
constexpr std::string_view kInjected = "injected connection error";

// Behaviours of CPython's StreamReader (and of this library before they were fixed, each with a
// regression-* input in the corpus) that the model can accept when a switch is set; all are off:
// the library does better, and the model checks that it does.
//
// A read(n > 0) or read_view() woken by a feed whose bytes another task read first returns ""
// (the EOF answer) instead of waiting again: CPython's read(n) does not loop after its one wait.
// While true, that answer is accepted (and takes nothing).
constexpr bool kTolerateEmptyReadAfterStolenWakeUp = false;

// A line or separator read that runs as a Coro (readuntil always; readline and readline_view as a
// Coro, under wait_for or as a task of their own) keeps CPython's scan offset (an offset into the
// buffer) across its waits. Once another read takes or puts back bytes while it waits, the offset no longer
// matches the buffer: it misses a separator in front of it (it waits with a whole line buffered, or
// returns several lines as one), as CPython's readuntil does. The line read awaited directly in a
// task rescans from the start and is checked exactly. While true, such a read, once exposed
// ("tainted"), is held only to what a scan from some later offset can give; false checks it exactly.
constexpr bool kTolerateStaleScanOffset = false;

// The library's version of the above: the reader keeps, for all line reads, a stream offset up to which the
// buffer is known to hold no newline, and a scan from a stale offset (above) records bytes it never
// looked at as newline-free. Every line read, awaited directly too, then starts its scans past a
// newline (it waits with a line buffered, or returns several lines as one), until the reads take
// those bytes. While true, once such a stale scan may have happened, line reads are held only to
// what a stale scan gives until the buffer has been emptied; false checks them exactly.
constexpr bool kTolerateStaleScanLeak = false;

// A read(-1) that does not complete puts what it took back in the buffer but wakes no one, so a read that started
// waiting meanwhile stays parked with data buffered until the next wake-up: feed_data (for a parked line read, only one
// bringing a newline or passing the limit), feed_eof or set_exception (CPython's read(-1) loses those bytes instead).
// While true, a read pending at quiescence after such a put-back, until EOF, the exception or no read pending, is not
// required to need more data; false checks it.
constexpr bool kTolerateUnwokenPutBack = false;

/// The exception given to set_exception: a type no other path raises.
class InjectedError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

enum class Kind : std::uint8_t { read, readexactly, readline, readuntil, read_view, readline_view };
enum class Path : std::uint8_t { direct, coro, wait_for, task };

const char* kind_name(Kind k) {
  switch (k) {
    case Kind::read:
      return "read";
    case Kind::readexactly:
      return "readexactly";
    case Kind::readline:
      return "readline";
    case Kind::readuntil:
      return "readuntil";
    case Kind::read_view:
      return "read_view";
    case Kind::readline_view:
      return "readline_view";
  }
  return "?";
}

const char* path_name(Path p) {
  switch (p) {
    case Path::direct:
      return "direct";
    case Path::coro:
      return "coro";
    case Path::wait_for:
      return "wait_for";
    case Path::task:
      return "task";
  }
  return "?";
}

std::string quoted(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else {
      out += c;
    }
  }
  return out + "\"";
}

struct Outcome {
  enum class Type : std::uint8_t {
    value,
    cancelled,
    timeout,
    injected,
    runtime_error,
    value_error,
    overrun,
    incomplete,
    unexpected
  };
  Type type = Type::unexpected;
  std::string text;                   // the value, or the exception's message
  std::string partial;                // IncompleteReadError::partial()
  std::optional<std::size_t> number;  // IncompleteReadError::expected(), LimitOverrunError::consumed()
};

std::string describe(const Outcome& o) {
  switch (o.type) {
    case Outcome::Type::value:
      return "value " + quoted(o.text);
    case Outcome::Type::cancelled:
      return "CancelledError";
    case Outcome::Type::timeout:
      return "TimeoutError";
    case Outcome::Type::injected:
      return "InjectedError(" + o.text + ")";
    case Outcome::Type::runtime_error:
      return "RuntimeError(" + o.text + ")";
    case Outcome::Type::value_error:
      return "ValueError(" + o.text + ")";
    case Outcome::Type::overrun:
      return "LimitOverrunError(" + o.text + ", consumed " + std::to_string(o.number.value_or(0)) + ")";
    case Outcome::Type::incomplete:
      return "IncompleteReadError(partial " + quoted(o.partial) + ", expected " +
             (o.number ? std::to_string(*o.number) : std::string("None")) + ")";
    case Outcome::Type::unexpected:
      return "unexpected exception " + o.text;
  }
  return "?";
}

Outcome classify(const std::exception_ptr& error) {
  Outcome o;
  try {
    std::rethrow_exception(error);
  } catch (const asyncio::CancelledError&) {
    o.type = Outcome::Type::cancelled;
  } catch (const asyncio::IncompleteReadError& e) {
    o.type = Outcome::Type::incomplete;
    o.text = e.what();
    o.partial = e.partial();
    o.number = e.expected();
  } catch (const asyncio::LimitOverrunError& e) {
    o.type = Outcome::Type::overrun;
    o.text = e.what();
    o.number = e.consumed();
  } catch (const asyncio::TimeoutError&) {
    o.type = Outcome::Type::timeout;
  } catch (const asyncio::RuntimeError& e) {
    o.type = Outcome::Type::runtime_error;
    o.text = e.what();
  } catch (const asyncio::ValueError& e) {
    o.type = Outcome::Type::value_error;
    o.text = e.what();
  } catch (const InjectedError& e) {
    o.type = Outcome::Type::injected;
    o.text = e.what();
  } catch (const std::exception& e) {
    o.text = std::string(typeid(e).name()) + ": " + e.what();
  } catch (const asyncio::BaseException& e) {
    o.text = std::string(e.name()) + ": " + e.what();
  } catch (...) {
    o.text = "of an unknown type";
  }
  return o;
}

/// One read the script started.
struct Read {
  int id = 0;
  Kind kind = Kind::read;
  std::ptrdiff_t n = 0;                  // read, readexactly, read_view
  std::vector<std::string_view> seps;    // readuntil, as given
  std::vector<std::string_view> sorted;  // readuntil, stable-sorted by length (CPython's order)
  Path path = Path::direct;
  bool eager = false;
  std::optional<double> timeout;  // wait_for; nullopt: no deadline

  asyncio::Task<void> wrapper;      // paths direct, coro, wait_for: the harness's task
  asyncio::Task<std::string> bare;  // path task: create_task(reader.read...())
  bool has_task = false;            // the handle above is set (an eager task runs before)
  bool started = false;             // the wrapper's body began (the read was called)
  double start_time = 0;            // loop time when it began
  bool accounted = false;           // replayed on the model
  bool cancel_requested = false;
  bool created_after_exc = false;  // set_exception came first: the read must raise it at once
  bool exc_strict = false;         // it was waiting at quiescence when set_exception came
  // The buffer lengths it may have scanned at, so the offsets a stale scan may start from.
  std::vector<std::size_t> scan_lengths{0};
  Outcome outcome;

  [[nodiscard]] bool reads_to_eof() const noexcept { return kind == Kind::read && n < 0; }
  /// Runs CPython's readuntil loop, whose scan offset survives its waits (kTolerateStaleScanOffset).
  [[nodiscard]] bool keeps_scan_offset() const noexcept {
    return kind == Kind::readuntil || (line() && path != Path::direct);
  }
  [[nodiscard]] bool line() const noexcept { return kind == Kind::readline || kind == Kind::readline_view; }
  [[nodiscard]] std::uint32_t bit() const noexcept { return std::uint32_t{1} << id; }
  [[nodiscard]] bool argument_error() const noexcept {
    if (kind == Kind::readexactly) return n < 0;
    if (kind == Kind::readuntil) return sorted.empty() || sorted.front().empty();
    return false;
  }
  [[nodiscard]] std::string describe() const {
    std::string s = "#" + std::to_string(id) + " " + kind_name(kind);
    if (kind == Kind::read || kind == Kind::readexactly || kind == Kind::read_view) s += "(" + std::to_string(n) + ")";
    if (kind == Kind::readuntil) {
      s += "(";
      for (std::size_t i = 0; i < seps.size(); ++i) s += (i ? ", " : "") + quoted(seps[i]);
      s += ")";
    }
    s += std::string(" via ") + path_name(path) + (eager ? " eager" : "");
    if (path == Path::wait_for) s += timeout ? " timeout " + std::to_string(*timeout) : std::string(" no timeout");
    return s;
  }
};

/// What CPython's read does on a given buffer: wait, or end with this value or error.
struct Expect {
  enum class Type : std::uint8_t { wait, value, value_error, overrun, incomplete } type = Type::wait;
  std::string text;  // value or message
  std::optional<std::size_t> number;
  std::size_t removed = 0;  // bytes taken out of the buffer
};

Expect expect_wait() { return Expect{}; }
Expect expect_value(std::string_view buf, std::size_t n) {
  return Expect{Expect::Type::value, std::string(buf.substr(0, n)), std::nullopt, n};
}
Expect expect_error(Expect::Type type, std::string message, std::optional<std::size_t> number, std::size_t removed) {
  return Expect{type, std::move(message), number, removed};
}

Expect expect(const Read& r, std::string_view buf, bool eof, std::size_t limit) {
  switch (r.kind) {
    case Kind::read:
    case Kind::read_view: {
      if (r.n == 0) return expect_value(buf, 0);
      if (r.n < 0) return eof ? expect_value(buf, buf.size()) : expect_wait();
      if (buf.empty() && !eof) return expect_wait();
      return expect_value(buf, std::min(static_cast<std::size_t>(r.n), buf.size()));
    }
    case Kind::readexactly: {
      if (r.n < 0) return expect_error(Expect::Type::value_error, "readexactly size can not be less than zero", {}, 0);
      const auto n = static_cast<std::size_t>(r.n);
      if (buf.size() >= n) return expect_value(buf, n);
      if (eof) return expect_error(Expect::Type::incomplete, std::string(buf), n, buf.size());
      return expect_wait();
    }
    case Kind::readline:
    case Kind::readline_view: {
      // readuntil(b"\n"), whose LimitOverrunError readline turns into ValueError after dropping the
      // line through its "\n" if that is buffered, else the whole buffer.
      const std::size_t at = buf.find('\n');
      if (at != std::string_view::npos) {
        if (at > limit) {
          return expect_error(Expect::Type::value_error, "Separator is found, but chunk is longer than limit", {},
                              at + 1);
        }
        return expect_value(buf, at + 1);
      }
      if (buf.size() > limit) {
        return expect_error(Expect::Type::value_error, "Separator is not found, and chunk exceed the limit", {},
                            buf.size());
      }
      if (eof) return expect_value(buf, buf.size());  // the incomplete last line
      return expect_wait();
    }
    case Kind::readuntil: {
      if (r.sorted.empty()) {
        return expect_error(Expect::Type::value_error, "Separator should contain at least one element", {}, 0);
      }
      const std::size_t min_length = r.sorted.front().size();
      const std::size_t max_length = r.sorted.back().size();
      if (min_length == 0) {
        return expect_error(Expect::Type::value_error, "Separator should be at least one-byte string", {}, 0);
      }
      if (buf.size() >= min_length) {
        bool found = false;
        std::size_t match_start = 0;
        std::size_t match_end = 0;
        for (std::string_view sep : r.sorted) {
          const std::size_t at = buf.find(sep);
          if (at == std::string_view::npos) continue;
          if (!found || at + sep.size() < match_end) {
            found = true;
            match_start = at;
            match_end = at + sep.size();
          }
        }
        if (found) {
          if (match_start > limit) {
            return expect_error(Expect::Type::overrun, "Separator is found, but chunk is longer than limit",
                                match_start, 0);
          }
          return expect_value(buf, match_end);
        }
        const std::size_t offset = buf.size() + 1 > max_length ? buf.size() + 1 - max_length : 0;
        if (offset > limit) {
          return expect_error(Expect::Type::overrun, "Separator is not found, and chunk exceed the limit", offset, 0);
        }
      }
      if (eof) return expect_error(Expect::Type::incomplete, std::string(buf), std::nullopt, buf.size());
      return expect_wait();
    }
  }
  return expect_wait();
}

std::string incomplete_message(std::size_t got, std::optional<std::size_t> expected) {
  return std::to_string(got) + " bytes read on a total of " +
         (expected ? std::to_string(*expected) : std::string("undefined")) + " expected bytes";
}

/// The bytes the reader must hold, and those a pending read(-1) took (it puts them back if it does
/// not complete).
struct State {
  std::string buf;
  // What the read(-1) holds: one of these. Several only when orders of unseen events that differ
  // only there are all possible; its value, or what it puts back, tells them apart later.
  std::vector<std::string> held{std::string()};
  // Too many alternatives to keep: its value need only end with what it takes last.
  bool held_unknown = false;
  // What it put back was unknown: the buffer is taken from the reader at the end of the check point.
  bool lost = false;
  int holder = -1;                 // the read(-1) holding `held`
  std::uint32_t tainted = 0;       // reads (bit per id) whose scan offset may be stale
  bool put_back_unwoken = false;   // a read(-1) put bytes back while another read was pending
  bool line_scans_misled = false;  // a stale scan may have marked buffered newlines as absent

  [[nodiscard]] bool same_but_held(const State& o) const noexcept {
    return buf == o.buf && holder == o.holder && tainted == o.tainted && put_back_unwoken == o.put_back_unwoken &&
           line_scans_misled == o.line_scans_misled && lost == o.lost;
  }
  /// A line read that keeps a scan offset (in `stale_scanners`) and is tainted may scan from a
  /// stale offset at any time, misleading the others.
  void note_stale_scanners(std::uint32_t stale_scanners) noexcept {
    if (kTolerateStaleScanLeak && (tainted & stale_scanners) != 0) line_scans_misled = true;
  }
};

/// Where in an order of events a read ends: the reads still pending then.
struct Position {
  bool another_pending = false;  // another read may be waiting
  std::uint32_t exposed = 0;     // pending reads that keep a scan offset (tainted by a removal)
};

// A failed model check: the message (built only then) and the trace of the script so far.
#define MODEL_CHECK(condition, message) \
  do {                                  \
    if (!(condition)) fail(message);    \
  } while (false)

class Harness;
asyncio::Coro<void> read_task(Harness* h, Read* r);

/// A read transport that checks the reader's pause/resume calls against the flow-control rules.
class RecordingTransport final : public asyncio::ReadTransport {
 public:
  explicit RecordingTransport(Harness& h) : harness_(h) {}
  [[nodiscard]] std::any get_extra_info(std::string_view) const override { return {}; }
  [[nodiscard]] bool is_closing() const noexcept override { return false; }
  void close() override {}
  void set_protocol(std::shared_ptr<asyncio::BaseProtocol>) override {}
  [[nodiscard]] std::shared_ptr<asyncio::BaseProtocol> get_protocol() const override { return nullptr; }
  [[nodiscard]] bool is_reading() const noexcept override { return reading_; }
  void pause_reading() override;
  void resume_reading() override;

 private:
  Harness& harness_;
  bool reading_ = true;
};

class Harness {
 public:
  Harness(std::size_t limit, bool with_transport)
      : loop_(asyncio::LoopOptions{.clock = asyncio::ClockKind::virtual_time, .debug = false}),
        transport_(*this),
        reader_(static_cast<std::ptrdiff_t>(limit)),
        limit_(limit) {
    loop_.set_exception_handler([this](asyncio::EventLoop&, const asyncio::ExceptionContext& context) {
      std::string what = context.message;
      if (context.exception) what += ": " + describe(classify(context.exception));
      fail("the loop's exception handler was called: " + what + " " + context.future + context.handle);
    });
    if (with_transport) {
      reader_.set_transport(&transport_);
      has_transport_ = true;
    }
  }
  Harness(const Harness&) = delete;
  Harness& operator=(const Harness&) = delete;

  void run(FuzzInput& in);
  [[nodiscard]] const std::string& trace() const noexcept { return trace_; }

  // Called from a read's task the moment its read ended.
  void record(Read& r, Outcome outcome) {
    r.outcome = std::move(outcome);
    note(r.describe() + " -> " + describe(r.outcome));
    settle(&r);
  }
  void started(Read& r) {
    r.started = true;
    r.start_time = loop_.time();
  }
  asyncio::StreamReader& reader() noexcept { return reader_; }

  // Flow-control checks, from the transport.
  void on_pause(bool reading) {
    MODEL_CHECK(reading, "pause_reading() while already paused");
    MODEL_CHECK(reader_.buffered().size() > 2 * limit_, "pause_reading() with " +
                                                            std::to_string(reader_.buffered().size()) +
                                                            " bytes buffered, limit " + std::to_string(limit_));
  }
  void on_resume(bool reading) {
    MODEL_CHECK(!reading, "resume_reading() while not paused");
    MODEL_CHECK(reader_.buffered().size() <= limit_ || any_read_pending(nullptr),
                "resume_reading() with " + std::to_string(reader_.buffered().size()) +
                    " bytes buffered and no read about to wait");
  }

 private:
  [[noreturn]] void fail(const std::string& message) {
    std::string text =
        message + "\nlimit " + std::to_string(limit_) + (has_transport_ ? ", transport" : "") + "\nfed " + quoted(fed_);
    for (const State& m : models_) {
      text += "\nmodel buffer " + quoted(m.buf) + ", held";
      for (const std::string& h : m.held) text += " " + quoted(h);
      text += " by #" + std::to_string(m.holder);
    }
    text += "\nreader buffer " + quoted(reader_.buffered()) + (eof_ ? ", eof" : "") + (exc_ ? ", exception set" : "") +
            "\nreader " + reader_.repr() + "\ntrace:\n" + trace_;
    asyncio_fuzz::check_failed(__FILE__, __LINE__, "model", text);
  }
  void note(const std::string& line) {
    trace_ += "  ";
    trace_ += line;
    trace_ += '\n';
  }

  // --- the script ---
  enum class Op : std::uint8_t {
    feed,
    feed_run,
    feed_eof,
    set_exception,
    start_read,
    cancel,
    run_once,
    run_some,
    quiesce,
    advance
  };
  struct Step {
    Op op = Op::run_once;
    std::string bytes;  // feed
    Read read;          // start_read
    std::uint8_t arg = 0;
  };
  Step decode(FuzzInput& in);
  void queue(Step step);
  void execute(Step& step);
  void start_read(Read spec);

  // --- running the loop ---
  std::size_t run_iteration();
  void quiesce();
  void finish();

  // --- the model ---
  [[nodiscard]] bool task_done(const Read& r) const {
    if (!r.has_task) return false;
    return r.path == Path::task ? r.bare.done() : r.wrapper.done();
  }
  [[nodiscard]] bool may_be_waiting(const Read& r) const {
    return !r.accounted && !task_done(r) && (r.started || r.path == Path::task);
  }
  bool any_read_pending(const Read* except) const {
    for (const Read& r : reads_) {
      if (&r != except && may_be_waiting(r)) return true;
    }
    return false;
  }
  [[nodiscard]] bool deadline_passed(const Read& r) const {
    return r.path == Path::wait_for && r.timeout && r.started && loop_.time() + 1e-9 >= r.start_time + *r.timeout;
  }
  Outcome task_outcome(Read& r);
  void settle(Read* recording);
  // A buffer length the pending reads that keep a scan offset (`scanners`) may scan at.
  static void note_scan_length(const std::vector<Read*>& scanners, std::size_t length) {
    for (Read* r : scanners) {
      if (r->scan_lengths.size() >= kMaxScanLengths) continue;
      if (std::find(r->scan_lengths.begin(), r->scan_lengths.end(), length) == r->scan_lengths.end()) {
        r->scan_lengths.push_back(length);
      }
    }
  }
  std::string replay(State s, const Read& r, const Outcome& o, const Position& at, std::vector<State>& out) const;
  std::string replay_exact(State s, const Read& r, const Outcome& o, const Expect& e, const Position& at,
                           std::vector<State>& out) const;
  bool replay_stale(const State& s, const Read& r, const Outcome& o, std::vector<State>& out) const;
  void check_flow_control();
  void check_quiescent();
  std::string liveness_error(const State& m, const Read& r) const;
  void add_candidate(std::vector<State>& set, State s) const;
  // Whether `r` may scan from a stale offset on `s` (see the tolerances at the top).
  [[nodiscard]] static bool may_scan_stale(const State& s, const Read& r) {
    if (kTolerateStaleScanOffset && r.keeps_scan_offset() && (s.tainted & r.bit()) != 0) return true;
    return kTolerateStaleScanLeak && s.line_scans_misled && r.line();
  }

  asyncio::EventLoop loop_;
  RecordingTransport transport_;
  asyncio::StreamReader reader_;
  std::deque<Read> reads_;  // stable addresses: tasks point at their Read
  std::size_t limit_;
  bool has_transport_ = false;
  std::vector<State> models_{State{}};
  std::string fed_;
  std::vector<std::size_t> chunk_starts_;  // where each fed chunk starts in fed_
  bool eof_ = false;
  bool exc_ = false;
  bool settled_ = false;  // quiescent, and nothing happened since
  std::string trace_;
};

void RecordingTransport::pause_reading() {
  harness_.on_pause(reading_);
  reading_ = false;
}

void RecordingTransport::resume_reading() {
  harness_.on_resume(reading_);
  reading_ = true;
}

// The read, called and awaited the way `r.path` says, its outcome recorded as it ends (nothing else
// runs between the read's end and the record).
asyncio::Coro<void> read_task(Harness* h, Read* r) {
  h->started(*r);
  asyncio::StreamReader& reader = h->reader();
  const std::span<const std::string_view> seps(r->seps);
  Outcome o;
  try {
    std::string value;
    if (r->path == Path::direct) {
      switch (r->kind) {
        case Kind::read:
          value = co_await reader.read(r->n);
          break;
        case Kind::readexactly:
          value = co_await reader.readexactly(r->n);
          break;
        case Kind::readline:
          value = co_await reader.readline();
          break;
        case Kind::readuntil:
          value = co_await reader.readuntil(seps);
          break;
        case Kind::read_view:
          value = std::string(co_await reader.read_view(static_cast<std::size_t>(r->n)));
          break;
        case Kind::readline_view:
          value = std::string(co_await reader.readline_view());
          break;
      }
    } else if (r->path == Path::coro) {
      switch (r->kind) {
        case Kind::read: {
          asyncio::Coro<std::string> c = reader.read(r->n);
          value = co_await std::move(c);
          break;
        }
        case Kind::readexactly: {
          asyncio::Coro<std::string> c = reader.readexactly(r->n);
          value = co_await std::move(c);
          break;
        }
        case Kind::readline: {
          asyncio::Coro<std::string> c = reader.readline();
          value = co_await std::move(c);
          break;
        }
        case Kind::readuntil: {
          asyncio::Coro<std::string> c = reader.readuntil(seps);
          value = co_await std::move(c);
          break;
        }
        case Kind::read_view: {
          asyncio::Coro<std::string_view> c = reader.read_view(static_cast<std::size_t>(r->n));
          value = std::string(co_await std::move(c));
          break;
        }
        case Kind::readline_view: {
          asyncio::Coro<std::string_view> c = reader.readline_view();
          value = std::string(co_await std::move(c));
          break;
        }
      }
    } else {
      const std::optional<double> t = r->timeout;
      switch (r->kind) {
        case Kind::read:
          value = co_await asyncio::wait_for(reader.read(r->n), t);
          break;
        case Kind::readexactly:
          value = co_await asyncio::wait_for(reader.readexactly(r->n), t);
          break;
        case Kind::readline:
          value = co_await asyncio::wait_for(reader.readline(), t);
          break;
        case Kind::readuntil:
          value = co_await asyncio::wait_for(reader.readuntil(seps), t);
          break;
        case Kind::read_view:
          value = std::string(co_await asyncio::wait_for(reader.read_view(static_cast<std::size_t>(r->n)), t));
          break;
        case Kind::readline_view:
          value = std::string(co_await asyncio::wait_for(reader.readline_view(), t));
          break;
      }
    }
    o.type = Outcome::Type::value;
    o.text = std::move(value);
  } catch (...) {
    o = classify(std::current_exception());
  }
  h->record(*r, std::move(o));
}

Harness::Step Harness::decode(FuzzInput& in) {
  // Weights out of 32: mostly feeds, reads and single iterations, so that reads meet data in many
  // states; EOF and the exception rarely, since they end the interesting part.
  static constexpr Op kOps[32] = {
      Op::feed,       Op::feed,       Op::feed,       Op::feed,       Op::feed,          Op::feed,       Op::feed,
      Op::feed,       Op::feed_run,   Op::feed_run,   Op::feed_eof,   Op::set_exception, Op::start_read, Op::start_read,
      Op::start_read, Op::start_read, Op::start_read, Op::start_read, Op::start_read,    Op::start_read, Op::cancel,
      Op::cancel,     Op::cancel,     Op::run_once,   Op::run_once,   Op::run_once,      Op::run_once,   Op::run_some,
      Op::quiesce,    Op::quiesce,    Op::quiesce,    Op::advance};
  Step step;
  step.op = kOps[in.byte() % 32];
  switch (step.op) {
    case Op::feed: {
      const std::size_t n = 1 + in.below(4);
      for (std::size_t i = 0; i < n; ++i) step.bytes += kAlphabet[in.below(kAlphabet.size())];
      break;
    }
    case Op::feed_run: {
      // A run of one byte, then one other: long lines and overruns without many input bytes.
      const char c = kAlphabet[in.below(kAlphabet.size())];
      step.bytes.assign(1 + in.below(24), c);
      step.bytes += kAlphabet[in.below(kAlphabet.size())];
      break;
    }
    case Op::start_read: {
      Read& r = step.read;
      static constexpr Kind kKinds[9] = {Kind::read,      Kind::read,      Kind::readexactly,
                                         Kind::readline,  Kind::readline,  Kind::readuntil,
                                         Kind::readuntil, Kind::read_view, Kind::readline_view};
      r.kind = kKinds[in.below(9)];
      const std::uint8_t how = in.byte();
      r.path = static_cast<Path>(how & 3);
      r.eager = (how & 4) != 0;
      const std::size_t t = (how >> 3) % 8;
      if (t < 7) r.timeout = kTimeouts[t];
      const std::uint8_t p = in.byte();
      switch (r.kind) {
        case Kind::read:
          r.n = p % 16 == 0 ? 0 : p % 16 < 3 ? -1 : 1 + p % 8;
          break;
        case Kind::readexactly:
          r.n = p == 255 ? -1 : p % 12;
          break;
        case Kind::read_view:
          r.n = p % 16 == 15 ? static_cast<std::ptrdiff_t>(asyncio::stream_default_limit) : 1 + p % 8;
          break;
        case Kind::readuntil: {
          if (p == 255) break;  // no separator at all: ValueError
          const std::size_t count = p % 4 == 0 ? 2 + (p >> 2) % 2 : 1;
          for (std::size_t i = 0; i < count; ++i) {
            const std::uint8_t s = in.byte();
            r.seps.push_back(s == 255 ? std::string_view() : kSeparators[s % kSeparatorCount]);
          }
          break;
        }
        case Kind::readline:
        case Kind::readline_view:
          break;
      }
      r.sorted = r.seps;
      std::stable_sort(r.sorted.begin(), r.sorted.end(),
                       [](std::string_view a, std::string_view b) { return a.size() < b.size(); });
      break;
    }
    case Op::cancel:
    case Op::run_some:
    case Op::advance:
      step.arg = in.byte();
      break;
    case Op::feed_eof:
    case Op::set_exception:
    case Op::run_once:
    case Op::quiesce:
      break;
  }
  return step;
}

void Harness::run(FuzzInput& in) {
  for (std::size_t i = 0; i < kMaxSteps && !in.empty(); ++i) {
    Step step = decode(in);
    switch (step.op) {
      case Op::run_once:
        note("run once");
        run_iteration();
        break;
      case Op::run_some: {
        const int n = 2 + step.arg % 3;
        note("run " + std::to_string(n) + " iterations");
        for (int k = 0; k < n; ++k) run_iteration();
        break;
      }
      case Op::quiesce:
        quiesce();
        break;
      case Op::advance: {
        const double dt = 0.001 * (1 + step.arg % 8);
        note("advance time by " + std::to_string(dt));
        loop_.advance_time(dt);
        settled_ = false;
        run_iteration();
        break;
      }
      default:
        queue(std::move(step));
        break;
    }
  }
  finish();
}

// Script actions run as loop callbacks, as a protocol's data_received does: after what is already
// ready, and with the loop running (so that an eager task starts inside create_task).
void Harness::queue(Step step) {
  loop_.call_soon([this, step = std::move(step)]() mutable { execute(step); });
}

void Harness::execute(Step& step) {
  settle(nullptr);
  switch (step.op) {
    case Op::feed:
    case Op::feed_run:
      if (eof_) break;  // CPython asserts; the library raises RuntimeError
      note("feed " + quoted(step.bytes));
      chunk_starts_.push_back(fed_.size());
      fed_ += step.bytes;
      for (State& m : models_) m.buf += step.bytes;
      reader_.feed_data(std::string_view(step.bytes));
      if (has_transport_ && reader_.buffered().size() > 2 * limit_) {
        MODEL_CHECK(!transport_.is_reading(), "more than 2 * limit buffered after feed_data, transport not paused");
      }
      break;
    case Op::feed_eof:
      note("feed_eof");
      eof_ = true;
      for (State& m : models_) m.put_back_unwoken = false;
      reader_.feed_eof();
      break;
    case Op::set_exception:
      if (exc_) break;
      note(std::string("set_exception") + (settled_ ? " (quiescent)" : ""));
      exc_ = true;
      for (State& m : models_) m.put_back_unwoken = false;
      for (Read& r : reads_) {
        if (!r.accounted && settled_) r.exc_strict = true;
      }
      reader_.set_exception(InjectedError(std::string(kInjected)));
      break;
    case Op::start_read:
      start_read(std::move(step.read));
      break;
    case Op::cancel: {
      if (reads_.empty()) break;
      Read& r = reads_[step.arg % reads_.size()];
      if (!r.has_task || task_done(r)) break;
      note("cancel #" + std::to_string(r.id));
      r.cancel_requested = true;
      if (r.path == Path::task) {
        r.bare.cancel();
      } else {
        r.wrapper.cancel();
      }
      break;
    }
    default:
      break;
  }
  settle(nullptr);
  settled_ = false;
}

void Harness::start_read(Read spec) {
  if (reads_.size() >= kMaxReads) return;
  if (spec.reads_to_eof()) {
    // One read(-1) at a time (see the top of the file): another becomes read(1).
    for (const Read& r : reads_) {
      if (r.reads_to_eof() && !r.accounted) spec.n = 1;
    }
  }
  if (spec.path == Path::task) {
    // A view a task returns is only valid until the reader is used again: views are read in a task
    // of ours. And at most kMaxBareTasks pending, as the check points try their orders.
    std::size_t bare = 0;
    for (const Read& r : reads_) bare += r.path == Path::task && !r.accounted ? 1 : 0;
    if (spec.kind == Kind::read_view || spec.kind == Kind::readline_view || bare >= kMaxBareTasks) {
      spec.path = Path::coro;
    }
  }
  Read& r = reads_.emplace_back(std::move(spec));
  r.id = static_cast<int>(reads_.size()) - 1;
  r.created_after_exc = exc_;
  note("start " + r.describe());
  asyncio::TaskOptions options;
  options.eager_start = r.eager;
  if (r.path == Path::task) {
    switch (r.kind) {
      case Kind::read:
        r.bare = asyncio::create_task(loop_, reader_.read(r.n), options);
        break;
      case Kind::readexactly:
        r.bare = asyncio::create_task(loop_, reader_.readexactly(r.n), options);
        break;
      case Kind::readline:
        r.bare = asyncio::create_task(loop_, reader_.readline(), options);
        break;
      case Kind::readuntil:
        r.bare = asyncio::create_task(loop_, reader_.readuntil(std::span<const std::string_view>(r.seps)), options);
        break;
      case Kind::read_view:
      case Kind::readline_view:
        break;
    }
  } else {
    r.wrapper = asyncio::create_task(loop_, read_task(this, &r), options);
  }
  r.has_task = true;
}

std::size_t Harness::run_iteration() {
  // The sentinel keeps the iteration from waiting (or jumping the virtual clock) when nothing is
  // ready; the count of the other callbacks says whether anything ran.
  const std::uint64_t before = loop_.stats().callbacks;
  loop_.call_soon([] {});
  loop_.run_once();
  const auto ran = static_cast<std::size_t>(loop_.stats().callbacks - before - 1);
  if (ran != 0) settled_ = false;
  settle(nullptr);
  return ran;
}

void Harness::quiesce() {
  note("quiesce");
  int iterations = 0;
  while (run_iteration() != 0) {
    MODEL_CHECK(++iterations < kQuiesceIterations, "the loop never became idle");
  }
  check_quiescent();
  settled_ = true;
}

void Harness::finish() {
  quiesce();
  if (!eof_) {
    queue(Step{Op::feed_eof, {}, {}, 0});
    quiesce();
  }
  for (const Read& r : reads_) {
    MODEL_CHECK(r.accounted, "read " + r.describe() + " still pending after EOF");
  }
  MODEL_CHECK(std::any_of(models_.begin(), models_.end(),
                          [&](const State& m) { return m.holder == -1 && m.buf == reader_.buffered(); }),
              "the reader's buffer differs from the model's at the end");
}

Outcome Harness::task_outcome(Read& r) {
  if (r.path == Path::task) {
    if (r.bare.cancelled()) return Outcome{Outcome::Type::cancelled, {}, {}, {}};
    if (std::exception_ptr e = r.bare.exception()) return classify(e);
    return Outcome{Outcome::Type::value, r.bare.result(), {}, {}};
  }
  // A task of ours ends having recorded, unless it was cancelled before its body began.
  MODEL_CHECK(r.wrapper.cancelled(), "read " + r.describe() + " ended without recording an outcome");
  return Outcome{Outcome::Type::cancelled, {}, {}, {}};
}

// Replays read `r` ending with `o` on state `s`: adds the states it can leave to `out` and returns
// "", or returns what is wrong. The rules are CPython's (streams.py), with the library's put-back.
std::string Harness::replay(State s, const Read& r, const Outcome& o, const Position& at,
                            std::vector<State>& out) const {
  using T = Outcome::Type;
  if (s.lost) {  // nothing to check against until the check point's end
    if (s.holder == r.id) s.holder = -1;
    out.push_back(std::move(s));
    return {};
  }
  if (r.reads_to_eof() && s.holder == r.id) {
    const std::vector<std::string> held = std::move(s.held);
    const bool held_unknown = std::exchange(s.held_unknown, false);
    s.held = {std::string()};
    s.holder = -1;
    if (held_unknown) {
      if (o.type == T::value) {
        if (!eof_) return "read(-1) returned before EOF";
        if (!std::string_view(o.text).ends_with(s.buf)) return "read(-1) did not end with " + quoted(s.buf);
        s.buf.clear();
      } else {  // it put back what it held, which may be anything
        s.lost = true;
        s.tainted |= at.exposed;
        if (at.another_pending) s.put_back_unwoken = true;
      }
      out.push_back(std::move(s));
      return {};
    }
    if (o.type == T::value) {
      if (!eof_) return "read(-1) returned before EOF";
      for (const std::string& h : held) {
        if (o.text == h + s.buf) {
          if (!s.buf.empty()) s.tainted |= at.exposed;
          s.buf.clear();
          out.push_back(std::move(s));
          return {};
        }
      }
      return "read(-1) returned " + quoted(o.text) + ", expected " + quoted(held.front() + s.buf);
    }
    // Did not complete: what it took goes back in front.
    std::string error;
    for (const std::string& h : held) {
      State back = s;
      if (!h.empty()) back.tainted |= at.exposed;
      if (!h.empty() && at.another_pending) back.put_back_unwoken = true;
      back.buf.insert(0, h);
      std::string e = replay(std::move(back), r, o, at, out);
      if (error.empty()) error = std::move(e);
    }
    return error;
  }
  if (r.reads_to_eof() && o.type == T::value) {
    if (!eof_) return "read(-1) returned before EOF";
    if (o.text != s.buf) return "read(-1) returned " + quoted(o.text) + ", expected " + quoted(s.buf);
    if (!s.buf.empty()) s.tainted |= at.exposed;
    s.buf.clear();
    out.push_back(std::move(s));
    return {};
  }
  const bool stale = may_scan_stale(s, r);
  const bool arg_error = r.argument_error();
  std::string error;
  switch (o.type) {
    case T::cancelled:
      if (!r.cancel_requested) error = "CancelledError without cancel()";
      break;
    case T::timeout:
      if (!deadline_passed(r)) error = "TimeoutError before the deadline";
      break;
    case T::injected:
      if (!exc_) {
        error = "the injected exception before set_exception";
      } else if (arg_error) {
        error = "the injected exception instead of the argument's ValueError";
      } else if (o.text != kInjected) {
        error = "the injected exception with another message";
      }
      break;
    case T::runtime_error: {
      const char* function = r.kind == Kind::read_view     ? "read_view"
                             : r.kind == Kind::read        ? "read"
                             : r.kind == Kind::readexactly ? "readexactly"
                                                           : "readuntil";
      const std::string message =
          std::string(function) + "() called while another coroutine is already waiting for incoming data";
      if (o.text != message) {
        error = "RuntimeError, expected message " + quoted(message);
      } else if (!at.another_pending) {
        error = "RuntimeError while no other read is pending";
      } else if (r.created_after_exc && !arg_error) {
        error = "RuntimeError instead of the exception set before the read";
      } else if (!stale && expect(r, s.buf, eof_, limit_).type != Expect::Type::wait) {
        error = "RuntimeError although the read can end on this buffer";
      }
      break;
    }
    default: {
      if (r.created_after_exc && !arg_error) return "ended without raising the exception set before it started";
      if (r.exc_strict) return "a read waiting when set_exception came did not raise it";
      const Expect e = expect(r, s.buf, eof_, limit_);
      if (stale) {
        // The exact outcome first (the offset may well be right), then what a stale one explains.
        std::string exact_error = replay_exact(s, r, o, e, at, out);
        const std::size_t before = out.size();
        if (replay_stale(s, r, o, out)) {
          for (std::size_t i = before; i < out.size(); ++i) {
            if (out[i].buf.size() != s.buf.size()) out[i].tainted |= at.exposed;
          }
          return {};
        }
        return exact_error;
      }
      return replay_exact(s, r, o, e, at, out);
    }
  }
  if (error.empty()) out.push_back(std::move(s));
  return error;
}

// The outcome of a read that ended normally must be `e`, CPython's on this buffer.
std::string Harness::replay_exact(State s, const Read& r, const Outcome& o, const Expect& e, const Position& at,
                                  std::vector<State>& out) const {
  using T = Outcome::Type;
  switch (e.type) {
    case Expect::Type::wait:
      if (kTolerateEmptyReadAfterStolenWakeUp && (r.kind == Kind::read || r.kind == Kind::read_view) && r.n > 0 &&
          o.type == T::value && o.text.empty()) {
        break;
      }
      return "ended although CPython's read waits on this buffer";
    case Expect::Type::value:
      if (o.type == T::value && o.text == e.text) break;
      return "expected value " + quoted(e.text);
    case Expect::Type::value_error:
      if (o.type == T::value_error && o.text == e.text) break;
      return "expected ValueError(" + e.text + ")";
    case Expect::Type::overrun:
      if (o.type == T::overrun && o.text == e.text && o.number == e.number) break;
      return "expected LimitOverrunError(" + e.text + ", consumed " + std::to_string(e.number.value_or(0)) + ")";
    case Expect::Type::incomplete:
      if (o.type == T::incomplete && o.partial == e.text && o.number == e.number &&
          o.text == incomplete_message(e.text.size(), e.number)) {
        break;
      }
      return "expected IncompleteReadError(partial " + quoted(e.text) + ", expected " +
             (e.number ? std::to_string(*e.number) : std::string("None")) + ", message " +
             quoted(incomplete_message(e.text.size(), e.number)) + ")";
  }
  s.buf.erase(0, e.removed);
  if (e.removed != 0) s.tainted |= at.exposed;
  out.push_back(std::move(s));
  return {};
}

// A tainted read's outcome, explained as a readuntil scan from an offset at or after the right one
// gives it (the separator found there, or none): adds the states it can leave and returns true,
// or returns false (the exact check then decides).
bool Harness::replay_stale(const State& s, const Read& r, const Outcome& o, std::vector<State>& out) const {
  using T = Outcome::Type;
  const bool line = r.kind != Kind::readuntil;
  static constexpr std::string_view kNewline[] = {"\n"};
  const std::span<const std::string_view> seps =
      line ? std::span<const std::string_view>(kNewline) : std::span<const std::string_view>(r.sorted);
  if (!line && r.argument_error()) return false;
  const auto leave = [&](std::size_t removed) {
    State next = s;
    next.buf.erase(0, removed);
    out.push_back(std::move(next));
    return true;
  };
  switch (o.type) {
    case T::value:
      if (line && eof_ && o.text == s.buf) return leave(s.buf.size());  // no "\n" found: the rest, at EOF
      if (s.buf.starts_with(o.text) && std::any_of(seps.begin(), seps.end(), [&](std::string_view sep) {
            return std::string_view(o.text).ends_with(sep);
          })) {
        return leave(o.text.size());
      }
      return false;
    case T::incomplete:
      if (line || !eof_ || o.partial != s.buf || o.number || o.text != incomplete_message(s.buf.size(), std::nullopt)) {
        return false;
      }
      return leave(s.buf.size());
    case T::overrun:
      if (line || !o.number) return false;
      if (o.text == "Separator is found, but chunk is longer than limit") {
        const std::size_t at = *o.number;
        return at > limit_ && at < s.buf.size() &&
               std::any_of(seps.begin(), seps.end(),
                           [&](std::string_view sep) { return s.buf.compare(at, sep.size(), sep) == 0; }) &&
               leave(0);
      }
      if (o.text == "Separator is not found, and chunk exceed the limit") {
        // The separator may sit before the stale offset; the count is the buffer's length's.
        const std::size_t max_length = r.sorted.back().size();
        const std::size_t offset = s.buf.size() + 1 > max_length ? s.buf.size() + 1 - max_length : 0;
        return *o.number == offset && offset > limit_ && leave(0);
      }
      return false;
    case T::value_error:
      if (!line) return false;
      if (o.text == "Separator is found, but chunk is longer than limit") {
        // Dropped through the "\n" the stale scan found: the first at or after an offset a scan
        // of it left, past the limit. A scan misled by another starts where a scan that found no
        // newline said they end, the stream's length then: where a chunk starts.
        std::vector<std::size_t> drops;
        std::vector<std::size_t> offsets = r.scan_lengths;
        if (s.line_scans_misled) {
          const std::size_t consumed = fed_.size() - s.buf.size();
          for (std::size_t start : chunk_starts_) offsets.push_back(start > consumed ? start - consumed : 0);
        }
        for (std::size_t offset : offsets) {
          const std::size_t at = s.buf.find('\n', offset);
          if (at != std::string::npos && at > limit_ && std::find(drops.begin(), drops.end(), at) == drops.end()) {
            drops.push_back(at);
            leave(at + 1);
          }
        }
        return !drops.empty();
      }
      if (o.text == "Separator is not found, and chunk exceed the limit" && s.buf.size() > limit_) {
        return leave(s.buf.size());
      }
      return false;
    default:
      return false;
  }
}

// Adds `s` to the candidate set `set`, merged with a state that differs only in what is held.
// Beyond kMaxCandidates states (a stale scan tolerated over a long run of newlines, then unseen
// takes), the last one becomes a catch-all: it accepts every event until the check point's end,
// then takes the reader's buffer, with what it cannot know (holdings, stale scans) left open.
void Harness::add_candidate(std::vector<State>& set, State s) const {
  for (State& c : set) {
    if (!c.same_but_held(s)) continue;
    c.held_unknown = c.held_unknown || s.held_unknown;
    for (std::string& h : s.held) {
      if (c.held_unknown) break;
      if (std::find(c.held.begin(), c.held.end(), h) != c.held.end()) continue;
      if (c.held.size() >= kMaxHeldAlternatives) {
        c.held_unknown = true;
        break;
      }
      c.held.push_back(std::move(h));
    }
    if (c.held_unknown) c.held = {std::string()};
    return;
  }
  if (set.size() < kMaxCandidates) {
    set.push_back(std::move(s));
    return;
  }
  if (std::any_of(set.begin(), set.end(), [](const State& c) { return c.lost && c.held_unknown; })) return;
  State& c = set.back();
  c.lost = true;
  c.held_unknown = true;
  c.held = {std::string()};
  for (const Read& r : reads_) {
    if (r.accounted) continue;
    c.tainted |= r.bit();
    if (r.reads_to_eof()) c.holder = r.id;
  }
  c.line_scans_misled = true;
  c.put_back_unwoken = true;
}

// Accounts for every read that ended since the last check point (`recording` last: it is ending
// now) and for a take by the pending read(-1), in every order: the candidate states become those
// that some order leads to from some candidate and that hold what the reader actually holds.
void Harness::settle(Read* recording) {
  std::vector<Read*> ended;
  for (Read& r : reads_) {
    if (r.accounted || &r == recording || !task_done(r)) continue;
    r.outcome = task_outcome(r);
    note(r.describe() + " ended: " + describe(r.outcome));
    if (r.path != Path::task) {
      // Cancelled before its body began: it never touched the reader, in any order.
      MODEL_CHECK(r.cancel_requested, r.describe() + " was cancelled without cancel()");
      r.accounted = true;
      continue;
    }
    ended.push_back(&r);
  }
  std::vector<Read*> scanners;
  std::uint32_t stale_scanners = 0;  // line reads that keep a scan offset, pending at the start
  for (Read& r : reads_) {
    if (r.accounted) continue;
    if (r.keeps_scan_offset() || r.line()) scanners.push_back(&r);
    if (r.keeps_scan_offset() && r.line()) stale_scanners |= r.bit();
  }
  for (State& m : models_) m.note_stale_scanners(stale_scanners);
  for (const State& m : models_) note_scan_length(scanners, m.buf.size());
  const std::string_view actual = reader_.buffered();
  if (ended.empty() && recording == nullptr &&
      std::all_of(models_.begin(), models_.end(), [&](const State& m) { return m.buf == actual; })) {
    check_flow_control();  // nothing happened (a take empties the buffer, and needs it non-empty)
    return;
  }
  Read* taker = nullptr;
  for (Read& r : reads_) {
    if (!r.accounted && r.reads_to_eof() && (r.started || r.path == Path::task)) taker = &r;
  }

  const auto by_id = [](const Read* a, const Read* b) { return a->id < b->id; };
  std::sort(ended.begin(), ended.end(), by_id);
  std::vector<State> next;
  std::string first_error;
  do {
    std::vector<Read*> order = ended;
    if (recording != nullptr) order.push_back(recording);
    std::vector<Position> positions(order.size() + 1);
    for (std::size_t i = 0; i <= order.size(); ++i) {
      const auto ended_before = order.begin() + static_cast<std::ptrdiff_t>(i);
      std::uint32_t pending = 0;  // may already wait (and so may have scanned)
      for (const Read& q : reads_) {
        if (q.accounted || !(q.started || q.path == Path::task)) continue;
        if (std::find(order.begin(), ended_before, &q) == ended_before) pending |= q.bit();
      }
      const std::uint32_t self = i < order.size() ? order[i]->bit() : 0;
      positions[i].another_pending = (pending & ~self) != 0;
      for (const Read& q : reads_) {
        if ((pending & ~self & q.bit()) != 0 && q.keeps_scan_offset()) positions[i].exposed |= q.bit();
      }
    }
    // The read(-1) takes the whole buffer just before order[take] (or after all), or not at all (-1).
    int last_take = -1;
    if (taker != nullptr) {
      last_take = static_cast<int>(std::find(order.begin(), order.end(), taker) - order.begin());
    }
    for (int take = -1; take <= last_take; ++take) {
      std::vector<State> frontier = models_;
      for (std::size_t i = 0; i <= order.size() && !frontier.empty(); ++i) {
        if (static_cast<int>(i) == take) {
          std::vector<State> taken;
          for (State& st : frontier) {
            if (st.buf.empty()) continue;  // the same as not taking
            if (st.holder != -1 && st.holder != taker->id) continue;
            st.holder = taker->id;
            for (std::string& h : st.held) h += st.buf;
            st.buf.clear();
            st.tainted |= positions[i].exposed;
            taken.push_back(std::move(st));
          }
          frontier = std::move(taken);
        }
        if (i == order.size()) break;
        const Read& r = *order[i];
        std::vector<State> after;
        for (const State& st : frontier) {
          std::string error = replay(st, r, r.outcome, positions[i], after);
          if (!error.empty() && first_error.empty()) {
            first_error = r.describe() + " ended with " + describe(r.outcome) + ": " + error;
          }
        }
        frontier.clear();
        for (State& st : after) {
          st.note_stale_scanners(stale_scanners & ~r.bit());
          add_candidate(frontier, std::move(st));
        }
        for (const State& st : frontier) note_scan_length(scanners, st.buf.size());
      }
      for (State& st : frontier) {
        if (st.lost) {
          st.buf = actual;
          st.lost = false;
        }
        if (st.buf != actual) {
          if (first_error.empty()) first_error = "the reader holds " + quoted(actual) + ", the model " + quoted(st.buf);
          continue;
        }
        add_candidate(next, std::move(st));
      }
    }
  } while (std::next_permutation(ended.begin(), ended.end(), by_id));
  if (next.empty()) fail(first_error);
  for (Read* r : ended) r->accounted = true;
  if (recording != nullptr) recording->accounted = true;
  // A misleading stale mark is gone once every byte it covered was read.
  std::uint32_t still_scanning = 0;
  for (const Read& r : reads_) {
    if (!r.accounted && r.keeps_scan_offset() && r.line()) still_scanning |= r.bit();
  }
  models_.clear();
  for (State& m : next) {
    if (m.line_scans_misled && m.buf.empty() && (m.tainted & still_scanning) == 0) m.line_scans_misled = false;
    add_candidate(models_, std::move(m));
  }
  check_flow_control();
}

void Harness::check_flow_control() {
  if (!has_transport_) return;
  // Only IncompleteReadError empties the buffer without resuming (as CPython), and it needs EOF.
  if (!transport_.is_reading() && reader_.buffered().size() <= limit_) {
    MODEL_CHECK(eof_, "transport paused with " + std::to_string(reader_.buffered().size()) + " bytes buffered");
  }
}

void Harness::check_quiescent() {
  const Read* pending = nullptr;
  for (const Read& r : reads_) {
    if (r.accounted) continue;
    MODEL_CHECK(r.started || r.path == Path::task, "read " + r.describe() + " never started");
    MODEL_CHECK(pending == nullptr, "two reads pending at quiescence: " +
                                        (pending ? pending->describe() : std::string()) + " and " + r.describe());
    pending = &r;
  }
  if (pending == nullptr) {
    for (State& m : models_) m.put_back_unwoken = false;
    return;
  }
  const Read& r = *pending;
  MODEL_CHECK(!eof_, "read " + r.describe() + " still pending after EOF");
  MODEL_CHECK(!deadline_passed(r), "read " + r.describe() + " still pending after its wait_for deadline");
  if (exc_) {
    MODEL_CHECK(!r.exc_strict && !r.created_after_exc, "read " + r.describe() + " still pending after set_exception");
  }
  MODEL_CHECK(!r.cancel_requested, "read " + r.describe() + " still pending after cancel()");
  if (has_transport_) MODEL_CHECK(transport_.is_reading(), "transport left paused while a read waits");
  // Candidates in which the read would not be waiting are refuted.
  std::vector<State> live;
  std::string first_error;
  for (State& m : models_) {
    std::string error = liveness_error(m, r);
    if (error.empty()) {
      live.push_back(std::move(m));
    } else if (first_error.empty()) {
      first_error = std::move(error);
    }
  }
  if (live.empty()) fail(first_error);
  models_ = std::move(live);
}

// Why `r` could not be waiting on state `m`, or "".
std::string Harness::liveness_error(const State& m, const Read& r) const {
  if (may_scan_stale(m, r)) return {};
  if (kTolerateUnwokenPutBack && m.put_back_unwoken) return {};
  if (expect(r, m.buf, eof_, limit_).type != Expect::Type::wait) {
    return "read " + r.describe() + " still pending although it can end on the buffered bytes";
  }
  if (r.reads_to_eof() && !m.buf.empty()) return "read(-1) pending without taking the buffered bytes";
  return {};
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzInput in(data, size);
  // The limit: small, so that overruns and pauses are common; sometimes the default.
  const std::uint8_t b = in.byte();
  const std::size_t limit = b >= 0xf8 ? asyncio::stream_default_limit : 1 + b % 16;
  const bool with_transport = (in.byte() & 3) != 0;
  Harness harness(limit, with_transport);
  harness.run(in);
  // For reading what a corpus input does: STREAM_READER_FUZZ_TRACE=1 prints each script run.
  static const bool print_trace = std::getenv("STREAM_READER_FUZZ_TRACE") != nullptr;
  if (print_trace)
    std::fprintf(stderr, "limit %zu%s\n%s", limit, with_transport ? ", transport" : "", harness.trace().c_str());
  return 0;
}

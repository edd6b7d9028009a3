// Differential fuzzer of asyncio::Generator (coro/generator.hpp) against a reference model of
// CPython 3.13's generators with PEP 342 (send/throw/close) and PEP 380 (`yield from`).
//
// The input decodes into a few generator programs, a few top-level generator slots, and a sequence
// of driver calls on those slots. Every program has the shape
//
//     try: <main block>
//     except GeneratorExit / FuzzError / Exception: <handler block>   (each clause optional)
//     <post block>
//     return 0
//
// with flat blocks of: yield k (and log what it received), yield from a fresh generator of program
// p (log its return value), yield from the generator in slot i (moving it out, as C++ must), call
// next/send/throw/close/state on slot i from inside the body (possibly on itself or its own root;
// log the outcome and let an exception propagate), return k, raise FuzzError(k), and re-raise (in
// the handler).
//
// The same programs run twice, side by side:
//  - as real Generator<int, int, int> coroutines whose bodies interpret the program; C++ forbids
//    co_yield in a catch handler, so a body remembers the exception and runs its handler block
//    after the catch, which is what Python's except clause does anyway;
//  - as a plain interpreter with explicit program counters and no coroutines, whose send/throw/
//    close follow CPython's gen_send_ex/_gen_throw/gen_close: a delegating frame forwards to its
//    sub-generator by recursion (the library instead resumes the innermost frame from a loop in the
//    root, with flags for PEP 380's close rules), so the two are independent implementations.
// After every driver call the harness compares the call's outcome (value yielded, exhaustion, or
// the exception's type and message), state() and return_value() of every slot, and the trace of
// events the bodies logged, in order (bodies started, values received, exceptions caught, values
// returned through `yield from`, outcomes of the calls bodies made). The trace is what shows where
// an exception was delivered, which frame a close reached first, and that a body never ran.
//
// Where C++ and Python necessarily differ, the library's documented contract is the reference:
//  - a generator given to `yield from` is moved out of its slot (the slot is then empty: closed,
//    next/send give nothing, throw rethrows, close does nothing); a running one is refused with
//    ValueError and stays in its slot; an empty one is refused with ValueError;
//  - `yield from` of a finished generator gives its stored return value, or InvalidStateError
//    when it has none (Python would give None);
//  - next() on a generator with send type int delivers 0, Python's None; the model keeps None and
//    so still applies Python's rule that only a non-None value may not start a generator;
//  - destroying a generator runs no more of its body (no GeneratorExit on garbage collection), so
//    a sub-generator abandoned by its delegator just disappears, in both.
// The number of generators created per input is capped (both sides skip a `yield from` of a new
// generator past the cap, logging it), and blocks have no loops, so every input ends quickly.

#include <asyncio/coro/generator.hpp>
#include <asyncio/exceptions.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "support/check.hpp"
#include "support/fuzz_input.hpp"

namespace {

using asyncio_fuzz::FuzzInput;
using Gen = asyncio::Generator<int, int, int>;

constexpr std::size_t kMaxPrograms = 4;
constexpr std::size_t kMaxSlots = 4;
constexpr std::size_t kMaxCalls = 32;
constexpr int kMaxGenerators = 20;  // slots and sub-generators, per input
constexpr std::array<std::size_t, 3> kMaxBlock = {6, 4, 4};
constexpr std::array<const char*, 3> kBlockNames = {"try", "except", "then"};

// ------------------------------------------------------------------------------------------------
// The programs and the driver calls.

enum class Op : std::uint8_t { yield, yield_from, yield_from_slot, call_slot, ret, raise, reraise };
constexpr std::size_t kOps = 7;

// What a driver call or a body's call_slot does to a slot; recreate is for the driver only.
enum class Call : std::uint8_t { next, send, throw_fuzz, throw_exit, close, state, recreate };

struct Stmt {
  Op op = Op::yield;
  int arg = 0;  // the value (yield, return, raise), program (yield_from) or slot (*_slot)
  Call call = Call::next;
  int value = 0;  // call_slot: what send/throw carry
};

struct Program {
  bool catch_exit = false;
  bool catch_fuzz = false;
  bool catch_any = false;                   // Python's `except Exception`: everything but GeneratorExit
  std::array<std::vector<Stmt>, 3> blocks;  // main, handler, post
};

struct DriverCall {
  Call call = Call::next;
  int slot = 0;
  int value = 0;  // send/throw: the value; recreate: the program
};

struct Spec {
  std::vector<Program> programs;
  std::vector<int> slot_programs;
  std::vector<DriverCall> calls;
};

Spec decode(FuzzInput& in) {
  Spec spec;
  const std::size_t nprograms = 1 + in.below(kMaxPrograms);
  const std::size_t nslots = 1 + in.below(kMaxSlots);
  const int np = static_cast<int>(nprograms);
  const int ns = static_cast<int>(nslots);
  spec.programs.resize(nprograms);
  for (Program& p : spec.programs) {
    const std::uint8_t flags = in.byte();
    p.catch_exit = (flags & 1) != 0;
    p.catch_fuzz = (flags & 2) != 0;
    p.catch_any = (flags & 4) != 0;
    for (std::size_t b = 0; b < 3; ++b) {
      const std::size_t n = in.below(kMaxBlock[b] + 1);
      for (std::size_t i = 0; i < n; ++i) {
        Stmt s;
        s.op = static_cast<Op>(in.below(kOps));
        const int a = in.byte();
        const int c = in.byte();
        switch (s.op) {
          case Op::yield_from:
            s.arg = a % np;
            break;
          case Op::yield_from_slot:
            s.arg = a % ns;
            break;
          case Op::call_slot:
            s.arg = a % ns;
            s.call = static_cast<Call>(c % 6);
            s.value = (c / 6) % 10;
            break;
          default:
            s.arg = a % 10;
            break;
        }
        p.blocks[b].push_back(s);
      }
    }
  }
  for (std::size_t i = 0; i < nslots; ++i) spec.slot_programs.push_back(static_cast<int>(in.below(nprograms)));
  static constexpr std::array<Call, 6> kDriverCalls = {Call::next,       Call::send,  Call::throw_fuzz,
                                                       Call::throw_exit, Call::close, Call::recreate};
  while (!in.empty() && spec.calls.size() < kMaxCalls) {
    DriverCall d;
    d.call = kDriverCalls[in.below(kDriverCalls.size())];
    d.slot = static_cast<int>(in.below(nslots));
    d.value = static_cast<int>(in.below(10));
    if (d.call == Call::recreate) d.value %= np;
    spec.calls.push_back(d);
  }
  return spec;
}

std::string describe_call(Call c, int slot, int value) {
  const std::string s = "slot" + std::to_string(slot);
  switch (c) {
    case Call::next:
      return s + ".next()";
    case Call::send:
      return s + ".send(" + std::to_string(value) + ")";
    case Call::throw_fuzz:
      return s + ".throw(FuzzError(" + std::to_string(value) + "))";
    case Call::throw_exit:
      return s + ".throw(GeneratorExit('ge" + std::to_string(value) + "'))";
    case Call::close:
      return s + ".close()";
    case Call::state:
      return s + ".state()";
    case Call::recreate:
      return s + " = new generator of program " + std::to_string(value);
  }
  return "?";
}

std::string describe_stmt(const Stmt& s) {
  switch (s.op) {
    case Op::yield:
      return "yield " + std::to_string(s.arg);
    case Op::yield_from:
      return "yield from new p" + std::to_string(s.arg);
    case Op::yield_from_slot:
      return "yield from slot" + std::to_string(s.arg);
    case Op::call_slot:
      return describe_call(s.call, s.arg, s.value);
    case Op::ret:
      return "return " + std::to_string(s.arg);
    case Op::raise:
      return "raise FuzzError(" + std::to_string(s.arg) + ")";
    case Op::reraise:
      return "raise";
  }
  return "?";
}

std::string describe_spec(const Spec& spec) {
  std::string out;
  for (std::size_t i = 0; i < spec.programs.size(); ++i) {
    const Program& p = spec.programs[i];
    out += "  p" + std::to_string(i) + ": catches{";
    if (p.catch_exit) out += " GeneratorExit";
    if (p.catch_fuzz) out += " FuzzError";
    if (p.catch_any) out += " Exception";
    out += " }\n";
    for (std::size_t b = 0; b < 3; ++b) {
      out += std::string("    ") + kBlockNames[b] + ":";
      for (const Stmt& s : p.blocks[b]) out += " " + describe_stmt(s) + ";";
      out += "\n";
    }
  }
  out += "  slots:";
  for (std::size_t i = 0; i < spec.slot_programs.size(); ++i) {
    out +=
        " slot" + std::to_string(i) + "=g" + std::to_string(i + 1) + "(p" + std::to_string(spec.slot_programs[i]) + ")";
  }
  return out + "\n";
}

// ------------------------------------------------------------------------------------------------
// Exceptions and outcomes, described the same way on both sides.

class FuzzError : public std::exception {
 public:
  explicit FuzzError(int k) : k_(k), what_("FuzzError(" + std::to_string(k) + ")") {}
  [[nodiscard]] const char* what() const noexcept override { return what_.c_str(); }
  [[nodiscard]] int k() const noexcept { return k_; }

 private:
  int k_;
  std::string what_;
};

struct Exc {
  enum class Kind { generator_exit, fuzz, runtime, value, type, invalid_state, other };
  Kind kind = Kind::other;
  std::string detail;  // the message, or FuzzError's number

  [[nodiscard]] std::string str() const {
    switch (kind) {
      case Kind::generator_exit:
        return "GeneratorExit('" + detail + "')";
      case Kind::fuzz:
        return "FuzzError(" + detail + ")";
      case Kind::runtime:
        return "RuntimeError('" + detail + "')";
      case Kind::value:
        return "ValueError('" + detail + "')";
      case Kind::type:
        return "TypeError('" + detail + "')";
      case Kind::invalid_state:
        return "InvalidStateError('" + detail + "')";
      case Kind::other:
        return "unexpected exception '" + detail + "'";
    }
    return "?";
  }
};

Exc fuzz_exc(int k) { return {Exc::Kind::fuzz, std::to_string(k)}; }
Exc exit_exc(std::string msg) { return {Exc::Kind::generator_exit, std::move(msg)}; }
Exc value_exc(std::string msg) { return {Exc::Kind::value, std::move(msg)}; }

// The messages the library documents for its own errors.
const char* const kAlreadyExecuting = "generator already executing";
const char* const kYieldFromRunning = "yield_from: generator already executing";
const char* const kYieldFromEmpty = "yield_from: the generator is empty (moved from)";
const char* const kIgnoredExit = "generator ignored GeneratorExit";
const char* const kJustStarted = "can't send a value to a just-started generator; prime it with next()";
const char* const kNoReturnValue = "the generator has not returned a value";

Exc classify(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const asyncio::GeneratorExit& x) {
    return exit_exc(x.what());
  } catch (const FuzzError& x) {
    return fuzz_exc(x.k());
  } catch (const asyncio::InvalidStateError& x) {
    return {Exc::Kind::invalid_state, x.what()};
  } catch (const asyncio::TypeError& x) {
    return {Exc::Kind::type, x.what()};
  } catch (const asyncio::ValueError& x) {
    return {Exc::Kind::value, x.what()};
  } catch (const asyncio::RuntimeError& x) {
    return {Exc::Kind::runtime, x.what()};
  } catch (const std::exception& x) {
    return {Exc::Kind::other, x.what()};
  } catch (...) {
    return {Exc::Kind::other, "not a std::exception"};
  }
}

// Which except clause of `p` takes an exception of this kind, in the order the clauses are written.
enum class Clause { none, generator_exit, fuzz, any };

Clause clause_for(const Program& p, Exc::Kind kind) {
  if (kind == Exc::Kind::generator_exit) return p.catch_exit ? Clause::generator_exit : Clause::none;
  if (kind == Exc::Kind::fuzz && p.catch_fuzz) return Clause::fuzz;
  return p.catch_any ? Clause::any : Clause::none;
}

// The library side matches with real catch clauses: that GeneratorExit escapes
// `catch (const std::exception&)` is part of what is tested.
Clause clause_for(const Program& p, const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const asyncio::GeneratorExit&) {
    return p.catch_exit ? Clause::generator_exit : Clause::none;
  } catch (const FuzzError&) {
    if (p.catch_fuzz) return Clause::fuzz;
    return p.catch_any ? Clause::any : Clause::none;
  } catch (const std::exception&) {
    return p.catch_any ? Clause::any : Clause::none;
  } catch (...) {
    return Clause::none;
  }
}

struct Outcome {
  enum class Kind { yielded, returned, raised, closed, state };
  Kind kind = Kind::returned;
  int value = 0;  // yielded: the value; returned: the return value (the model's internal use)
  Exc exc;
  std::string state;

  // As the caller of next/send/throw/close sees it: a return is exhaustion (the value is checked
  // through return_value()).
  [[nodiscard]] std::string str() const {
    switch (kind) {
      case Kind::yielded:
        return "yielded " + std::to_string(value);
      case Kind::returned:
        return "exhausted";
      case Kind::raised:
        return "raised " + exc.str();
      case Kind::closed:
        return "closed";
      case Kind::state:
        return "state " + state;
    }
    return "?";
  }
};

Outcome yielded(int v) { return {Outcome::Kind::yielded, v, {}, {}}; }
Outcome returned(int v) { return {Outcome::Kind::returned, v, {}, {}}; }
Outcome raised(Exc e) { return {Outcome::Kind::raised, 0, std::move(e), {}}; }
Outcome closed() { return {Outcome::Kind::closed, 0, {}, {}}; }
Outcome state_outcome(std::string s) { return {Outcome::Kind::state, 0, {}, std::move(s)}; }

const char* state_name(asyncio::GeneratorState s) {
  switch (s) {
    case asyncio::GeneratorState::created:
      return "created";
    case asyncio::GeneratorState::running:
      return "running";
    case asyncio::GeneratorState::suspended:
      return "suspended";
    case asyncio::GeneratorState::closed:
      return "closed";
  }
  return "?";
}

// The trace lines, built by the same functions on both sides.
std::string gname(int id) { return "g" + std::to_string(id); }
std::string log_started(int id) { return gname(id) + " started"; }
std::string log_received(int id, int v) { return gname(id) + " received " + std::to_string(v); }
std::string log_got(int id, int r) { return gname(id) + " got " + std::to_string(r) + " from yield from"; }
std::string log_no_budget(int id) { return gname(id) + " has no generator left to delegate to"; }
std::string log_caught(int id, const Exc& e) { return gname(id) + " caught " + e.str(); }
std::string log_call(int id, const Stmt& s, const Outcome& o) {
  return gname(id) + ": " + describe_call(s.call, s.arg, s.value) + " -> " + o.str();
}
std::string log_recreate_skipped(int slot) {
  return "slot" + std::to_string(slot) + " not recreated: no generator left";
}

// ------------------------------------------------------------------------------------------------
// The library side: generators whose bodies interpret the programs.

struct LibWorld {
  explicit LibWorld(const Spec& s) : spec(&s) {}

  const Spec* spec;
  std::vector<std::string> log;
  int next_id = 1;
  int created = 0;
  std::array<Gen, kMaxSlots> slots;  // after log: frames are destroyed before what they point to

  [[nodiscard]] bool can_create() const noexcept { return created < kMaxGenerators; }
  Gen make(int program);
  Outcome call(Call c, int slot, int value, std::exception_ptr* error);
};

Gen body(LibWorld* w, int id, int program) {
  const Program& p = w->spec->programs[static_cast<std::size_t>(program)];
  w->log.push_back(log_started(id));
  std::exception_ptr caught;
  std::size_t phase = 0;  // 0 main, 1 handler, 2 post
  while (phase < 3) {
    const std::vector<Stmt>& block = p.blocks[phase];
    std::exception_ptr error;
    for (std::size_t pc = 0; pc < block.size() && !error; ++pc) {
      const Stmt s = block[pc];
      try {
        if (s.op == Op::yield) {
          const int got = co_yield id * 100 + s.arg;
          w->log.push_back(log_received(id, got));
        } else if (s.op == Op::yield_from) {
          if (!w->can_create()) {
            w->log.push_back(log_no_budget(id));
          } else {
            const int r = co_yield asyncio::yield_from(w->make(s.arg));
            w->log.push_back(log_got(id, r));
          }
        } else if (s.op == Op::yield_from_slot) {
          const int r = co_yield asyncio::yield_from(std::move(w->slots[static_cast<std::size_t>(s.arg)]));
          w->log.push_back(log_got(id, r));
        } else if (s.op == Op::call_slot) {
          std::exception_ptr e;
          const Outcome o = w->call(s.call, s.arg, s.value, &e);
          w->log.push_back(log_call(id, s, o));
          if (e) std::rethrow_exception(e);
        } else if (s.op == Op::ret) {
          co_return s.arg;
        } else if (s.op == Op::raise) {
          throw FuzzError(s.arg);
        } else if (s.op == Op::reraise) {
          if (phase == 1) std::rethrow_exception(caught);
        }
      } catch (...) {
        // Only the main block is inside the try; elsewhere the exception leaves the body as is.
        if (phase != 0) throw;
        error = std::current_exception();
      }
    }
    if (error) {
      if (clause_for(p, error) == Clause::none) std::rethrow_exception(error);
      w->log.push_back(log_caught(id, classify(error)));
      caught = std::move(error);
      phase = 1;
    } else {
      phase = phase == 2 ? 3 : 2;
    }
  }
  co_return 0;
}

Gen LibWorld::make(int program) {
  ++created;
  return body(this, next_id++, program);
}

Outcome LibWorld::call(Call c, int slot, int value, std::exception_ptr* error) {
  Gen& g = slots[static_cast<std::size_t>(slot)];
  try {
    std::optional<int> r;
    switch (c) {
      case Call::next:
        r = g.next();
        break;
      case Call::send:
        r = g.send(value);
        break;
      case Call::throw_fuzz:
        r = g.throw_exception(FuzzError(value));
        break;
      case Call::throw_exit:
        r = g.throw_exception(asyncio::GeneratorExit("ge" + std::to_string(value)));
        break;
      case Call::close:
        g.close();
        return closed();
      case Call::state:
        return state_outcome(state_name(g.state()));
      case Call::recreate:
        break;
    }
    return r ? yielded(*r) : returned(0);
  } catch (...) {
    *error = std::current_exception();
    return raised(classify(*error));
  }
}

// ------------------------------------------------------------------------------------------------
// The reference model: CPython's generator object and frame, written out by hand.

struct MGen {
  enum class St { created, suspended, running, done };  // gi_frame_state
  int id = 0;
  int program = 0;
  St st = St::created;
  bool started = false;   // its body has begun (a created frame is not at a statement yet)
  std::size_t phase = 0;  // 0 main, 1 handler, 2 post
  std::size_t pc = 0;     // while suspended: the yield, or the yield from that `sub` is set for
  std::optional<Exc> caught;
  std::unique_ptr<MGen> sub;  // gi_yieldfrom
  std::optional<int> result;
};

// How a frame is resumed: send (next() is send(None)); throw, which a delegating frame passes to
// its sub-generator; raise, which goes into the frame itself (close, and _gen_throw once it has
// closed the sub-generator).
struct Resume {
  enum class Kind { send, throw_in, raise_here };
  Kind kind = Kind::send;
  std::optional<int> sent;
  Exc exc;
};

class Model {
 public:
  explicit Model(const Spec& s) : spec_(s) {}

  std::vector<std::string> log;
  std::array<std::unique_ptr<MGen>, kMaxSlots> slots;

  [[nodiscard]] bool can_create() const noexcept { return created_ < kMaxGenerators; }

  std::unique_ptr<MGen> make(int program) {
    ++created_;
    auto g = std::make_unique<MGen>();
    g->id = next_id_++;
    g->program = program;
    return g;
  }

  Outcome call(Call c, int slot, int value) {
    MGen* g = slots[static_cast<std::size_t>(slot)].get();
    switch (c) {
      case Call::next:
        return g ? send(*g, std::nullopt) : returned(0);
      case Call::send:
        return g ? send(*g, value) : returned(0);
      case Call::throw_fuzz:
        return g ? throw_in(*g, fuzz_exc(value)) : raised(fuzz_exc(value));
      case Call::throw_exit: {
        Exc e = exit_exc("ge" + std::to_string(value));
        return g ? throw_in(*g, std::move(e)) : raised(std::move(e));
      }
      case Call::close: {
        if (!g) return closed();
        Closed c = close(*g);
        return c.error ? raised(std::move(*c.error)) : closed();
      }
      case Call::state:
        return state_outcome(g ? st_name(g->st) : "closed");
      case Call::recreate:
        break;
    }
    return returned(0);
  }

  static const char* st_name(MGen::St st) {
    switch (st) {
      case MGen::St::created:
        return "created";
      case MGen::St::suspended:
        return "suspended";
      case MGen::St::running:
        return "running";
      case MGen::St::done:
        return "closed";
    }
    return "?";
  }

 private:
  // gen.send(v) / next(gen): gen_send_ex.
  Outcome send(MGen& g, std::optional<int> v) {
    if (g.st == MGen::St::done) return returned(0);
    if (g.st == MGen::St::running) return raised(value_exc(kAlreadyExecuting));
    if (g.st == MGen::St::created && v) return raised({Exc::Kind::type, kJustStarted});
    g.st = MGen::St::running;
    return settle(g, resume(g, {Resume::Kind::send, v, {}}));
  }

  // gen.throw(e): _gen_throw.
  Outcome throw_in(MGen& g, Exc e) {
    if (g.st == MGen::St::done) return raised(std::move(e));
    if (g.st == MGen::St::running) return raised(value_exc(kAlreadyExecuting));
    if (g.st == MGen::St::created) {
      // The exception is raised before the first line of the body: nothing can catch it.
      g.st = MGen::St::done;
      return raised(std::move(e));
    }
    g.st = MGen::St::running;
    if (g.sub && e.kind == Exc::Kind::generator_exit) {
      // PEP 380: close the sub-generator; an error from that close replaces the GeneratorExit.
      Closed c = close(*g.sub);
      return settle(g,
                    resume(g, {Resume::Kind::raise_here, std::nullopt, c.error ? std::move(*c.error) : std::move(e)}));
    }
    return settle(g, resume(g, {Resume::Kind::throw_in, std::nullopt, std::move(e)}));
  }

  // What gen.close() did: the exception it raises, if any, and the GeneratorExit it swallowed, if
  // the body let one out.
  struct Closed {
    std::optional<Exc> error;
    std::optional<Exc> exit;
  };

  // gen_close.
  Closed close(MGen& g) {
    if (g.st == MGen::St::done) return {};
    if (g.st == MGen::St::running) return {value_exc(kAlreadyExecuting), std::nullopt};
    if (g.st == MGen::St::created) {
      g.st = MGen::St::done;
      return {};
    }
    g.st = MGen::St::running;
    Exc exc = exit_exc("");
    if (g.sub) {
      Closed c = close(*g.sub);
      // gen_close swallows the GeneratorExit the sub lets out: the delegator gets a fresh one.
      if (c.error) exc = std::move(*c.error);
    }
    Outcome o = resume(g, {Resume::Kind::raise_here, std::nullopt, std::move(exc)});
    if (o.kind == Outcome::Kind::yielded) {
      g.st = MGen::St::suspended;  // it stays paused at that yield
      return {Exc{Exc::Kind::runtime, kIgnoredExit}, std::nullopt};
    }
    settle(g, o);
    if (o.kind != Outcome::Kind::raised) return {};
    if (o.exc.kind == Exc::Kind::generator_exit) return {std::nullopt, std::move(o.exc)};
    return {std::move(o.exc), std::nullopt};
  }

  Outcome settle(MGen& g, Outcome o) {
    if (o.kind == Outcome::Kind::yielded) {
      g.st = MGen::St::suspended;
    } else {
      g.st = MGen::St::done;
      g.sub.reset();
      g.caught.reset();
      if (o.kind == Outcome::Kind::returned) g.result = o.value;
    }
    return o;
  }

  // The frame continues where it paused (or starts).
  Outcome resume(MGen& g, Resume in) {
    std::optional<Exc> pending;
    if (!g.started) {
      g.started = true;
      log.push_back(log_started(g.id));
    } else if (g.sub) {
      // Paused in `yield from`: its loop forwards send and throw to the sub-generator.
      if (in.kind == Resume::Kind::raise_here) {
        g.sub.reset();
        pending = std::move(in.exc);
      } else {
        Outcome r = in.kind == Resume::Kind::send ? send(*g.sub, in.sent) : throw_in(*g.sub, std::move(in.exc));
        if (std::optional<Outcome> out = after_sub(g, std::move(r), pending)) return std::move(*out);
      }
    } else if (in.kind == Resume::Kind::send) {
      log.push_back(log_received(g.id, in.sent.value_or(0)));
      ++g.pc;
    } else {
      pending = std::move(in.exc);
    }
    return run(g, std::move(pending));
  }

  // What the sub-generator of a `yield from` did: a yield passes through (the frame stays paused),
  // a return ends the `yield from`, an exception is raised at it.
  std::optional<Outcome> after_sub(MGen& g, Outcome r, std::optional<Exc>& pending) {
    if (r.kind == Outcome::Kind::yielded) return r;
    g.sub.reset();
    if (r.kind == Outcome::Kind::raised) {
      pending = std::move(r.exc);
    } else {
      log.push_back(log_got(g.id, r.value));
      ++g.pc;
    }
    return std::nullopt;
  }

  // Runs statements from the frame's position until it yields, returns or raises.
  Outcome run(MGen& g, std::optional<Exc> pending) {
    const Program& p = spec_.programs[static_cast<std::size_t>(g.program)];
    // Every step moves to the next statement or block, or leaves: the bound is never reached.
    for (int step = 0; step < 64; ++step) {
      if (pending) {
        if (g.phase == 0 && clause_for(p, pending->kind) != Clause::none) {
          log.push_back(log_caught(g.id, *pending));
          g.caught = std::move(pending);
          pending.reset();
          g.phase = 1;
          g.pc = 0;
          continue;
        }
        return raised(std::move(*pending));
      }
      const std::vector<Stmt>& block = p.blocks[g.phase];
      if (g.pc >= block.size()) {
        if (g.phase == 2) return returned(0);
        g.phase = 2;
        g.pc = 0;
        continue;
      }
      const Stmt& s = block[g.pc];
      switch (s.op) {
        case Op::yield:
          return yielded(g.id * 100 + s.arg);
        case Op::yield_from: {
          if (!can_create()) {
            log.push_back(log_no_budget(g.id));
            ++g.pc;
            break;
          }
          g.sub = make(s.arg);
          if (std::optional<Outcome> out = after_sub(g, send(*g.sub, std::nullopt), pending)) return std::move(*out);
          break;
        }
        case Op::yield_from_slot: {
          std::unique_ptr<MGen>& slot = slots[static_cast<std::size_t>(s.arg)];
          if (!slot) {
            pending = value_exc(kYieldFromEmpty);
            break;
          }
          if (slot->st == MGen::St::running) {
            pending = value_exc(kYieldFromRunning);
            break;
          }
          g.sub = std::move(slot);
          if (g.sub->st == MGen::St::done) {
            // The library's reading of `yield from` a finished generator: its stored return value.
            const std::optional<int> r = g.sub->result;
            (void)after_sub(g, r ? returned(*r) : raised({Exc::Kind::invalid_state, kNoReturnValue}), pending);
            break;
          }
          if (std::optional<Outcome> out = after_sub(g, send(*g.sub, std::nullopt), pending)) return std::move(*out);
          break;
        }
        case Op::call_slot: {
          Outcome o = call(s.call, s.arg, s.value);
          log.push_back(log_call(g.id, s, o));
          if (o.kind == Outcome::Kind::raised) {
            pending = std::move(o.exc);
          } else {
            ++g.pc;
          }
          break;
        }
        case Op::ret:
          return returned(s.arg);
        case Op::raise:
          pending = fuzz_exc(s.arg);
          break;
        case Op::reraise:
          if (g.phase == 1) {
            pending = *g.caught;
          } else {
            ++g.pc;
          }
          break;
      }
    }
    FUZZ_CHECK(false, "the model's frame did not finish a resumption in 64 steps");
    return returned(0);
  }

  const Spec& spec_;
  int next_id_ = 1;
  int created_ = 0;
};

// ------------------------------------------------------------------------------------------------
// The driver.

class Session {
 public:
  explicit Session(const Spec& spec) : spec_(spec), lib_(spec), model_(spec) {}

  void run() {
    for (std::size_t i = 0; i < spec_.slot_programs.size(); ++i) {
      lib_.slots[i] = lib_.make(spec_.slot_programs[i]);
      model_.slots[i] = model_.make(spec_.slot_programs[i]);
    }
    compare("(start)", "", "");
    for (const DriverCall& d : spec_.calls) {
      const std::string what = describe_call(d.call, d.slot, d.value);
      if (d.call == Call::recreate) {
        recreate(d.slot, d.value);
        compare(what, "", "");
        continue;
      }
      std::exception_ptr ignored;
      const std::string lib = lib_.call(d.call, d.slot, d.value, &ignored).str();
      const std::string model = model_.call(d.call, d.slot, d.value).str();
      compare(what, lib, model);
    }
  }

 private:
  void recreate(int slot, int program) {
    const auto i = static_cast<std::size_t>(slot);
    // Destroying the old generator runs none of its body, in both.
    if (lib_.can_create()) {
      lib_.slots[i] = lib_.make(program);
    } else {
      lib_.log.push_back(log_recreate_skipped(slot));
    }
    if (model_.can_create()) {
      model_.slots[i] = model_.make(program);
    } else {
      model_.log.push_back(log_recreate_skipped(slot));
    }
  }

  void compare(const std::string& what, const std::string& lib, const std::string& model) {
    history_ += "  " + what + (lib.empty() ? "" : " -> " + lib) + "\n";
    if (lib != model) fail("the call's outcome differs: library " + lib + ", model " + model);
    // The traces only grow: what was compared before is not compared again.
    for (; traced_ < lib_.log.size() && traced_ < model_.log.size(); ++traced_) {
      if (lib_.log[traced_] != model_.log[traced_]) fail("the traces differ at line " + std::to_string(traced_ + 1));
    }
    if (lib_.log.size() != model_.log.size()) fail("one trace is longer than the other");
    for (std::size_t i = 0; i < spec_.slot_programs.size(); ++i) {
      const std::string ls = state_name(lib_.slots[i].state());
      const MGen* m = model_.slots[i].get();
      const std::string ms = m ? Model::st_name(m->st) : "closed";
      if (ls != ms) fail("slot" + std::to_string(i) + ".state(): library " + ls + ", model " + ms);
      std::string lr = "none";
      try {
        lr = std::to_string(lib_.slots[i].return_value());
      } catch (const asyncio::InvalidStateError&) {
      }
      const std::string mr = m && m->result ? std::to_string(*m->result) : "none";
      if (lr != mr) fail("slot" + std::to_string(i) + ".return_value(): library " + lr + ", model " + mr);
    }
  }

  [[noreturn]] void fail(const std::string& what) {
    std::string msg = what + "\nprograms:\n" + describe_spec(spec_) + "calls (outcomes as the library gave them):\n" +
                      history_ + "library trace:\n";
    for (const std::string& line : lib_.log) msg += "  " + line + "\n";
    msg += "model trace:\n";
    for (const std::string& line : model_.log) msg += "  " + line + "\n";
    FUZZ_CHECK(false, msg);
    std::abort();
  }

  const Spec& spec_;
  std::string history_;
  std::size_t traced_ = 0;
  LibWorld lib_;
  Model model_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzInput in(data, size);
  const Spec spec = decode(in);
  Session session(spec);
  session.run();
  return 0;
}

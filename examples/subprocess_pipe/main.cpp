// Pipes one program into two others through the event loop: `seq 1 N` runs as a child, and its
// stdout, read line by line through a StreamReader, is fed to the stdin (a StreamWriter) of both
// `wc -l` and the shell pipeline `sort -rn | head -3`; their answers are printed.
//
//   subprocess_pipe [N]      (N defaults to 100000)
//
// prints
//   seq 1 N | wc -l: N
//   seq 1 N | sort -rn | head -3: N N-1 N-2
// and exits with 0 when every child exited with 0 (1 and a message otherwise).
//
// What it shows: create_subprocess_exec / create_subprocess_shell with Stdio::pipe(), the
// streams of Process (out() to read, in() to write, drain() for flow control: a slow consumer
// slows the copy down instead of letting it buffer everything), closing in() to give a child EOF,
// and wait() for the exit codes. Python's equivalent is the same program line for line.

#include <asyncio/asyncio.hpp>

#include <cstdio>
#include <cstdlib>
#include <string>

namespace {

using asyncio::Coro;
using asyncio::Process;
using asyncio::ProcessOptions;
using asyncio::Stdio;

/// Collapses the whitespace of a child's output ("  100000\n" -> "100000", lines -> "a b c").
std::string words(const std::string& text) {
  std::string out;
  bool gap = false;
  for (const char c : text) {
    if (c == ' ' || c == '\n' || c == '\t') {
      gap = !out.empty();
    } else {
      if (gap) out += ' ';
      gap = false;
      out += c;
    }
  }
  return out;
}

Coro<int> pipe_through(std::string count) {
  Process seq = co_await asyncio::create_subprocess_exec("seq", "1", count, ProcessOptions{.out = Stdio::pipe()});
  Process wc =
      co_await asyncio::create_subprocess_exec("wc", "-l", ProcessOptions{.in = Stdio::pipe(), .out = Stdio::pipe()});
  Process top = co_await asyncio::create_subprocess_shell("sort -rn | head -3",
                                                          ProcessOptions{.in = Stdio::pipe(), .out = Stdio::pipe()});

  // The copy: one line at a time, waiting whenever a consumer's pipe and buffer are full.
  std::shared_ptr<asyncio::StreamReader> lines = seq.out();
  for (std::string line; !(line = co_await lines->readline()).empty();) {
    wc.in()->write(line);
    top.in()->write(line);
    co_await wc.in()->drain();
    co_await top.in()->drain();
  }
  wc.in()->close();  // EOF: both consumers answer now
  top.in()->close();

  const std::string counted = co_await wc.out()->read();
  const std::string largest = co_await top.out()->read();
  const int codes[] = {co_await seq.wait(), co_await wc.wait(), co_await top.wait()};

  std::printf("seq 1 %s | wc -l: %s\n", count.c_str(), words(counted).c_str());
  std::printf("seq 1 %s | sort -rn | head -3: %s\n", count.c_str(), words(largest).c_str());
  for (const int code : codes) {
    if (code != 0) {
      std::fprintf(stderr, "subprocess_pipe: a child exited with %d\n", code);
      co_return 1;
    }
  }
  co_return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string count = argc > 1 ? argv[1] : "100000";
  if (count.empty() || count.find_first_not_of("0123456789") != std::string::npos) {
    std::fprintf(stderr, "usage: subprocess_pipe [N]\n");
    return 2;
  }
  try {
    return asyncio::run(pipe_through(count));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "subprocess_pipe: %s\n", e.what());
    return 1;
  }
}

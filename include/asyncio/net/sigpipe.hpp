#pragma once
/// detail::ignore_sigpipe_once: how writers to pipes avoid dying of SIGPIPE. Internal to net/ and
/// process/.
///
/// Why: sockets are written with MSG_NOSIGNAL, but write(2) to a pipe whose reader is gone raises
/// SIGPIPE, whose default action kills the process. CPython ignores SIGPIPE at start-up; a C++
/// library cannot, so the first pipe writer made (a WritePipe, a WritePipeTransport) sets SIGPIPE
/// to SIG_IGN if, and only if, it still has its default disposition: a program that installed a
/// handler or ignores it already keeps its choice. The writer then sees EPIPE (BrokenPipeError).
/// Children start with SIGPIPE at its default again (process/process.cpp resets it at spawn).

namespace asyncio::detail {

/// Sets SIGPIPE to SIG_IGN, once per process, if its disposition is still SIG_DFL. Thread-safe.
void ignore_sigpipe_once() noexcept;

}  // namespace asyncio::detail

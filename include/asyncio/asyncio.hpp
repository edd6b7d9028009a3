#pragma once
/// asyncio-cpp: Python's asyncio in C++20. The umbrella header, like asyncio/__init__.py: it brings
/// every public name into namespace asyncio. See docs/asyncio-map.md for each asyncio name's C++
/// spelling.

#include "asyncio/exceptions.hpp"
#include "asyncio/os_error.hpp"

// coro: generators and coroutines
#include "asyncio/coro/async_generator.hpp"
#include "asyncio/coro/coro.hpp"
#include "asyncio/coro/generator.hpp"

// loop: the event loop, context variables
#include "asyncio/loop/context.hpp"
#include "asyncio/loop/context_var.hpp"
#include "asyncio/loop/event_loop.hpp"
#include "asyncio/loop/handle.hpp"
#include "asyncio/loop/logger.hpp"

// task: futures, tasks, running
#include "asyncio/task/ensure_future.hpp"
#include "asyncio/task/future.hpp"
#include "asyncio/task/runner.hpp"
#include "asyncio/task/task.hpp"
#include "asyncio/task/task_factory.hpp"

// flow: waiting, combinators, timeouts, groups
#include "asyncio/flow/as_completed.hpp"
#include "asyncio/flow/exception_group.hpp"
#include "asyncio/flow/gather.hpp"
#include "asyncio/flow/shield.hpp"
#include "asyncio/flow/sleep.hpp"
#include "asyncio/flow/task_group.hpp"
#include "asyncio/flow/timeout.hpp"
#include "asyncio/flow/wait.hpp"
#include "asyncio/flow/wait_for.hpp"

// sync: locks and queues
#include "asyncio/sync/barrier.hpp"
#include "asyncio/sync/condition.hpp"
#include "asyncio/sync/event.hpp"
#include "asyncio/sync/held.hpp"
#include "asyncio/sync/lock.hpp"
#include "asyncio/sync/queue.hpp"
#include "asyncio/sync/semaphore.hpp"

// net: sockets, names
#include "asyncio/net/connection.hpp"
#include "asyncio/net/datagram_transport.hpp"
#include "asyncio/net/dns.hpp"
#include "asyncio/net/flow_control.hpp"
#include "asyncio/net/host_port.hpp"
#include "asyncio/net/pipe_transport.hpp"
#include "asyncio/net/protocol.hpp"
#include "asyncio/net/protocol_factory.hpp"
#include "asyncio/net/sendfile.hpp"
#include "asyncio/net/server.hpp"
#include "asyncio/net/sock_ops.hpp"
#include "asyncio/net/socket.hpp"
#include "asyncio/net/socket_address.hpp"
#include "asyncio/net/socket_transport.hpp"
#include "asyncio/net/stream_errors.hpp"
#include "asyncio/net/stream_protocol.hpp"
#include "asyncio/net/stream_reader.hpp"
#include "asyncio/net/stream_writer.hpp"
#include "asyncio/net/streams.hpp"
#include "asyncio/net/transport.hpp"

// tls: TLS over OpenSSL (ssl= of the net functions)
#include "asyncio/tls/connection.hpp"
#include "asyncio/tls/ssl_context.hpp"
#include "asyncio/tls/ssl_errors.hpp"
#include "asyncio/tls/ssl_object.hpp"
#include "asyncio/tls/streams.hpp"
#include "asyncio/tls/tls_options.hpp"

// process: subprocesses
#include "asyncio/process/pipe.hpp"
#include "asyncio/process/process.hpp"

// thread: other threads
#include "asyncio/thread/concurrent_future.hpp"
#include "asyncio/thread/run_coroutine_threadsafe.hpp"
#include "asyncio/thread/run_in_executor.hpp"
#include "asyncio/thread/thread_pool_executor.hpp"
#include "asyncio/thread/wrap_future.hpp"

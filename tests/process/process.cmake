# process/: subprocesses, pipes, signals (helper "proc", issue 4).
asyncio_add_test(process_signals_test SOURCES signals_test.cpp)
# A signal received by another thread is forwarded to the loop's thread.
asyncio_add_test(process_signals_threads_test SOURCES signals_threads_test.cpp LABELS threads)
asyncio_add_test(process_runner_sigint_test SOURCES runner_sigint_test.cpp)
asyncio_add_test(process_pipe_test SOURCES pipe_test.cpp)
asyncio_add_test(process_subprocess_test SOURCES subprocess_test.cpp)
asyncio_add_test(process_reap_test SOURCES reap_test.cpp)
# A child's pipes as streams (helper "pipe", issue 4): Process::in/out/err, wait, communicate, faults.
asyncio_add_test(process_subprocess_streams_test SOURCES subprocess_streams_test.cpp)

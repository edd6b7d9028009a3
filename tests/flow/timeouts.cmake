# timeout / timeout_at, wait_for, shield, and the cancellation stress test (issue 3).
asyncio_add_test(flow_timeout_test SOURCES timeout_test.cpp)
asyncio_add_test(flow_wait_for_test SOURCES wait_for_test.cpp)
asyncio_add_test(flow_shield_test SOURCES shield_test.cpp)
asyncio_add_test(flow_cancellation_stress_test SOURCES cancellation_stress_test.cpp)

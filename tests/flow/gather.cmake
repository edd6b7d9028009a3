# gather, wait and as_completed (issue 3): one executable per concept.
asyncio_add_test(flow_gather_test SOURCES gather_test.cpp)
asyncio_add_test(flow_wait_test SOURCES wait_test.cpp)
asyncio_add_test(flow_as_completed_test SOURCES as_completed_test.cpp)

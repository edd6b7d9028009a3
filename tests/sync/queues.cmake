# Queue, PriorityQueue, LifoQueue (include/asyncio/sync/queue.hpp).
asyncio_add_test(sync_queue_test SOURCES queue_test.cpp)
asyncio_add_test(sync_queue_stress_test SOURCES queue_stress_test.cpp)

# Lock, Event, Condition, Semaphore/BoundedSemaphore, Barrier (CPython 3.13 Lib/asyncio/locks.py and
# Lib/test/test_asyncio/test_locks.py are the reference).
asyncio_add_test(sync_lock_test SOURCES lock_test.cpp)
asyncio_add_test(sync_event_test SOURCES event_test.cpp)
asyncio_add_test(sync_condition_test SOURCES condition_test.cpp)
asyncio_add_test(sync_semaphore_test SOURCES semaphore_test.cpp)
asyncio_add_test(sync_barrier_test SOURCES barrier_test.cpp)
asyncio_add_test(sync_stress_test SOURCES sync_stress_test.cpp)
asyncio_add_test(sync_waiter_test SOURCES sync_waiter_test.cpp)
asyncio_add_test(sync_lifetime_test SOURCES lifetime_test.cpp)

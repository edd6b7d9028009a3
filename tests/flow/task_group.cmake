# TaskGroup and ExceptionGroup (flow/task_group.hpp, flow/exception_group.hpp).
asyncio_add_test(flow_task_group_test SOURCES task_group_test.cpp)
asyncio_add_test(flow_exception_group_test SOURCES exception_group_test.cpp)

# net/ foundation: addresses, sockets, the sock_* coroutines, name resolution.
asyncio_add_test(net_socket_address_test SOURCES socket_address_test.cpp)
asyncio_add_test(net_socket_test SOURCES socket_test.cpp)
asyncio_add_test(net_sock_ops_test SOURCES sock_ops_test.cpp)
# getaddrinfo/getnameinfo run in the default executor's thread.
asyncio_add_test(net_dns_test SOURCES dns_test.cpp LABELS threads)

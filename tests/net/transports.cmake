# Socket transports, client connections and servers (Python's _SelectorSocketTransport,
# create_connection, create_server, asyncio.Server).
asyncio_add_test(net_socket_transport_test SOURCES socket_transport_test.cpp)
asyncio_add_test(net_server_test SOURCES server_test.cpp)
# 10,000 connections: the server in the test, the clients in a child process (echo_swarm).
add_executable(net_echo_swarm echo_swarm.cpp)
target_link_libraries(net_echo_swarm PRIVATE asyncio_warnings)
asyncio_add_test(net_many_connections_test SOURCES many_connections_test.cpp)
target_compile_definitions(net_many_connections_test PRIVATE ECHO_SWARM_PATH="$<TARGET_FILE:net_echo_swarm>")
add_dependencies(net_many_connections_test net_echo_swarm)
# create_connection to a host name: getaddrinfo runs in the default executor's thread.
asyncio_add_test(net_connection_names_test SOURCES connection_names_test.cpp LABELS threads)

# Socket transports, client connections and servers (Python's _SelectorSocketTransport,
# create_connection, create_server, asyncio.Server).
asyncio_add_test(net_socket_transport_test SOURCES socket_transport_test.cpp)
asyncio_add_test(net_server_test SOURCES server_test.cpp)
asyncio_add_test(net_many_connections_test SOURCES many_connections_test.cpp)
# create_connection to a host name: getaddrinfo runs in the default executor's thread.
asyncio_add_test(net_connection_names_test SOURCES connection_names_test.cpp LABELS threads)

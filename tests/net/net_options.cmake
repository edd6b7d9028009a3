# net/: the connection, server, datagram, sendfile and socket-option knobs of asyncio
# (happy_eyeballs_delay, interleave, all_errors, local_addr by name, several server hosts,
# sendfile, setsockopt/getsockopt of any type).
asyncio_add_test(net_happy_eyeballs_test SOURCES happy_eyeballs_test.cpp)
asyncio_add_test(net_sendfile_test SOURCES sendfile_test.cpp LABELS threads)
asyncio_add_test(net_socket_options_test SOURCES socket_options_test.cpp)
asyncio_add_test(net_server_hosts_test SOURCES server_hosts_test.cpp LABELS threads)
asyncio_add_test(net_endpoint_names_test SOURCES endpoint_names_test.cpp LABELS threads)

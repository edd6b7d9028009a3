# net/: datagram endpoints and pipe transports (helper "pipe", issue 4).
asyncio_add_test(net_datagram_transport_test SOURCES datagram_transport_test.cpp)
asyncio_add_test(net_pipe_transport_test SOURCES pipe_transport_test.cpp)

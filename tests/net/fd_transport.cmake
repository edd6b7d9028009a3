# detail::FdTransport (net/fd_transport.hpp): the machinery the socket, pipe and datagram transports
# share, tested once on each of them, and its WriteBuffer.
asyncio_add_test(net_fd_transport_test SOURCES fd_transport_test.cpp)

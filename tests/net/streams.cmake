# net/ streams: StreamReader, StreamWriter, StreamReaderProtocol, against a fake transport.
asyncio_add_test(net_stream_reader_test SOURCES stream_reader_test.cpp)
asyncio_add_test(net_stream_writer_test SOURCES stream_writer_test.cpp)
asyncio_add_test(net_stream_protocol_test SOURCES stream_protocol_test.cpp)
# open_connection / start_server and the Unix variants, over loopback sockets (one loop, both ends).
asyncio_add_test(net_streams_loopback_test SOURCES streams_loopback_test.cpp)

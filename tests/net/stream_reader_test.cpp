// asyncio::StreamReader (CPython 3.13 Lib/asyncio/streams.py StreamReader and
// Lib/test/test_asyncio/test_streams.py are the reference), on the virtual clock, fed by hand.

#include <gtest/gtest.h>
#include <asyncio/flow/sleep.hpp>
#include <asyncio/flow/wait_for.hpp>
#include <asyncio/net/stream_reader.hpp>
#include <asyncio/task/task.hpp>

#include <array>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "net/fake_transport.hpp"
#include "support/test_support.hpp"

namespace {

using asyncio::CancelledError;
using asyncio::Coro;
using asyncio::create_task;
using asyncio::get_running_loop;
using asyncio::IncompleteReadError;
using asyncio::LimitOverrunError;
using asyncio::RuntimeError;
using asyncio::sleep;
using asyncio::StreamReader;
using asyncio::Task;
using asyncio::ValueError;
using asyncio::testing::FakeTransport;
using asyncio::testing::run_virtual_watched;

constexpr std::string_view kData = "line1\nline2\nline3\n";

// --- feeding -------------------------------------------------------------------------------------

TEST(StreamReader, FeedingEmptyDataLeavesTheBufferEmpty) {
  StreamReader stream;
  stream.feed_data(std::string_view());
  EXPECT_EQ(stream.buffered(), "");
}

TEST(StreamReader, FeedingDataAppendsItToTheBuffer) {
  StreamReader stream;
  stream.feed_data(kData);
  EXPECT_EQ(stream.buffered(), kData);
}

TEST(StreamReader, FeedingAStringRvalueTakesItOverWithoutACopy) {
  StreamReader stream;
  std::string big(100000, 'x');
  const char* storage = big.data();
  stream.feed_data(std::move(big));
  EXPECT_EQ(stream.buffered().data(), storage);
  EXPECT_EQ(stream.buffered().size(), 100000u);
}

TEST(StreamReader, FeedingDataAfterFeedEofIsARuntimeError) {
  StreamReader stream;
  stream.feed_eof();
  EXPECT_THROW(stream.feed_data(std::string_view("x")), RuntimeError);
}

TEST(StreamReader, ALimitOfZeroOrLessIsAValueError) {
  // CPython's test_invalid_limit.
  EXPECT_THROW(StreamReader(0), ValueError);
  EXPECT_THROW(StreamReader(-1), ValueError);
  try {
    StreamReader bad(0);
  } catch (const ValueError& e) {
    EXPECT_STREQ(e.what(), "Limit cannot be <= 0");
  }
}

TEST(StreamReader, TheDefaultLimitIs64KiB) {
  StreamReader stream;
  EXPECT_EQ(stream.limit(), 65536u);
  EXPECT_EQ(asyncio::stream_default_limit, 65536u);
}

// --- read(n) -------------------------------------------------------------------------------------

TEST(StreamReader, ReadZeroReturnsNothingAndLeavesTheBuffer) {
  // CPython's test_read_zero.
  run_virtual_watched([]() -> Coro<void> {
    StreamReader stream;
    stream.feed_data(kData);
    EXPECT_EQ(co_await stream.read(0), "");
    EXPECT_EQ(stream.buffered(), kData);
  });
}

TEST(StreamReader, ReadWaitsForDataAndReturnsIt) {
  // CPython's test_read.
  run_virtual_watched([]() -> Coro<void> {
    StreamReader stream;
    get_running_loop().call_soon([&] { stream.feed_data(kData); });
    EXPECT_EQ(co_await stream.read(30), kData);
    EXPECT_EQ(stream.buffered(), "");
  });
}

TEST(StreamReader, ReadReturnsAtMostNBytes) {
  // CPython's test_read_line_breaks.
  run_virtual_watched([]() -> Coro<void> {
    StreamReader stream;
    stream.feed_data(std::string_view("line1"));
    stream.feed_data(std::string_view("line2"));
    EXPECT_EQ(co_await stream.read(5), "line1");
    EXPECT_EQ(stream.buffered(), "line2");
  });
}

TEST(StreamReader, ReadReturnsWhatIsBufferedWithoutWaitingForN) {
  run_virtual_watched([]() -> Coro<void> {
    StreamReader stream;
    stream.feed_data(std::string_view("abc"));
    EXPECT_EQ(co_await stream.read(100), "abc");
  });
}

TEST(StreamReader, ReadAtEofReturnsEmpty) {
  // CPython's test_read_eof.
  run_virtual_watched([]() -> Coro<void> {
    StreamReader stream;
    get_running_loop().call_soon([&] { stream.feed_eof(); });
    EXPECT_EQ(co_await stream.read(1024), "");
    EXPECT_EQ(stream.buffered(), "");
  });
}

TEST(StreamReader, ReadMinusOneReadsEverythingUntilEof) {
  // CPython's test_read_until_eof.
  run_virtual_watched([]() -> Coro<void> {
    StreamReader stream;
    get_running_loop().call_soon([&] {
      stream.feed_data(std::string_view("chunk1\n"));
      stream.feed_data(std::string_view("chunk2"));
      stream.feed_eof();
    });
    EXPECT_EQ(co_await stream.read(-1), "chunk1\nchunk2");
    EXPECT_EQ(stream.buffered(), "");
  });
}

TEST(StreamReader, ReadMinusOneJoinsDataArrivingOverSeveralIterations) {
  run_virtual_watched([]() -> Coro<void> {
    StreamReader stream;
    auto feeder = create_task([&]() -> Coro<void> {
      for (int i = 0; i < 5; ++i) {
        stream.feed_data(std::string(3, static_cast<char>('a' + i)));
        co_await sleep(0.1);
      }
      stream.feed_eof();
    });
    EXPECT_EQ(co_await stream.read(), "aaabbbcccdddeee");
    co_await feeder;
  });
}

TEST(StreamReader, ReadRaisesTheExceptionSetOnTheReader) {
  // CPython's test_read_exception.
  run_virtual_watched([]() -> Coro<void> {
    StreamReader stream;
    stream.feed_data(std::string_view("line\n"));
    EXPECT_EQ(co_await stream.read(2), "li");
    stream.set_exception(ValueError("boom"));
    EXPECT_THROW(co_await stream.read(2), ValueError);
  });
}

TEST(StreamReader, ReadIsNotLimitedByTheLimit) {
  // CPython's test_read_limit.
  run_virtual_watched([]() -> Coro<void> {
    StreamReader stream(3);
    stream.feed_data(std::string_view("chunk"));
    EXPECT_EQ(co_await stream.read(5), "chunk");
    EXPECT_EQ(stream.buffered(), "");
  });
}

TEST(StreamReader, ReadOfTheWholeBufferHandsItsAllocationOver) {
  run_virtual_watched([]() -> Coro<void> {
    StreamReader stream;
    std::string big(50000, 'y');
    const char* storage = big.data();
    stream.feed_data(std::move(big));
    const std::string got = co_await stream.read(50000);
    EXPECT_EQ(got.data(), storage);
    EXPECT_EQ(got.size(), 50000u);
  });
}

// --- readline ------------------------------------------------------------------------------------

TEST(StreamReader, ReadlineWaitsForTheNewline) {
  // CPython's test_readline.
  run_virtual_watched([]() -> Coro<void> {
    StreamReader stream;
    stream.feed_data(std::string_view("chunk1 "));
    get_running_loop().call_soon([&] {
      stream.feed_data(std::string_view("chunk2 "));
      stream.feed_data(std::string_view("chunk3 "));
      stream.feed_data(std::string_view("\n chunk4"));
    });
    EXPECT_EQ(co_await stream.readline(), "chunk1 chunk2 chunk3 \n");
    EXPECT_EQ(stream.buffered(), " chunk4");
  });
}

TEST(StreamReader, LinesYieldsEachLineAsItArrivesUntilEof) {
  // CPython's test___aiter__ / `async for line in reader`.
  run_virtual_watched([]() -> Coro<void> {
    StreamReader stream;
    stream.feed_data(std::string_view("line1\nline"));
    get_running_loop().call_soon([&] {
      stream.feed_data(std::string_view("2\nlast"));
      stream.feed_eof();
    });
    std::vector<std::string> got;
    auto lines = stream.lines();
    while (std::optional<std::string> line = co_await lines.next()) got.push_back(*line);
    EXPECT_EQ(got, (std::vector<std::string>{"line1\n", "line2\n", "last"}));
  });
}

TEST(StreamReader, ReadlineOverTheLimitDropsThatLineWhenItsNewlineIsBuffered) {
  // CPython's test_readline_limit_with_existing_data, first half.
  run_virtual_watched([]() -> Coro<void> {
    StreamReader stream(3);
    stream.feed_data(std::string_view("li"));
    stream.feed_data(std::string_view("ne1\nline2\n"));
    EXPECT_THROW(co_await stream.readline(), ValueError);
    EXPECT_EQ(stream.buffered(), "line2\n");
  });
}

TEST(StreamReader, ReadlineOverTheLimitWithoutNewlineClearsTheBuffer) {
  // CPython's test_readline_limit_with_existing_data, second half.
  run_virtual_watched([]() -> Coro<void> {
    StreamReader stream(3);
    stream.feed_data(std::string_view("li"));
    stream.feed_data(std::string_view("ne1"));
    stream.feed_data(std::string_view("li"));
    EXPECT_THROW(co_await stream.readline(), ValueError);
    EXPECT_EQ(stream.buffered(), "");
  });
}

TEST(StreamReader, ReadlineOverTheLimitRaisesValueErrorWithLimitOverrunErrorsMessage) {
  run_virtual_watched([]() -> Coro<void> {
    StreamReader stream(3);
    stream.feed_data(std::string_view("line1\n"));
    try {
      co_await stream.readline();
      ADD_FAILURE() << "no ValueError";
    } catch (const ValueError& e) {
      EXPECT_STREQ(e.what(), "Separator is found, but chunk is longer than limit");
    }
    stream.feed_data(std::string_view("12345"));
    try {
      co_await stream.readline();
      ADD_FAILURE() << "no ValueError";
    } catch (const ValueError& e) {
      EXPECT_STREQ(e.what(), "Separator is not found, and chunk exceed the limit");
    }
  });
}

TEST(StreamReader, ReadlineOverTheLimitWhileWaitingClearsTheBuffer) {
  // CPython's test_readline_limit, first part.
  run_virtual_watched([]() -> Coro<void> {
    StreamReader stream(7);
    get_running_loop().call_soon([&] {
      stream.feed_data(std::string_view("chunk1"));
      stream.feed_data(std::string_view("chunk2"));
      stream.feed_data(std::string_view("chunk3\n"));
      stream.feed_eof();
    });
    EXPECT_THROW(co_await stream.readline(), ValueError);
    EXPECT_EQ(stream.buffered(), "");
  });
}

TEST(StreamReader, ReadlineOverTheLimitKeepsTheNextLine) {
  // CPython's test_readline_limit, second part.
  run_virtual_watched([]() -> Coro<void> {
    StreamReader stream(7);
    get_running_loop().call_soon([&] {
      stream.feed_data(std::string_view("chunk1"));
      stream.feed_data(std::string_view("chunk2\n"));
      stream.feed_data(std::string_view("chunk3\n"));
      stream.feed_eof();
    });
    EXPECT_THROW(co_await stream.readline(), ValueError);
    EXPECT_EQ(stream.buffered(), "chunk3\n");
  });
}

TEST(StreamReader, ReadlineAcceptsALineOfExactlyTheLimitAndRejectsOneByteMore) {
  // CPython's test_readline_limit, "check strictness of the limit".
  run_virtual_watched([]() -> Coro<void> {
    StreamReader stream(7);
    stream.feed_data(std::string_view("1234567\n"));
    EXPECT_EQ(co_await stream.readline(), "1234567\n");
    EXPECT_EQ(stream.buffered(), "");

    stream.feed_data(std::string_view("12345678\n"));
    EXPECT_THROW(co_await stream.readline(), ValueError);
    EXPECT_EQ(stream.buffered(), "");

    stream.feed_data(std::string_view("12345678"));
    EXPECT_THROW(co_await stream.readline(), ValueError);
    EXPECT_EQ(stream.buffered(), "");
  });
}

TEST(StreamReader, ReadlineReturnsTheFirstBufferedLineWithoutWaiting) {
  // CPython's test_readline_nolimit_nowait.
  run_virtual_watched([]() -> Coro<void> {
    StreamReader stream;
    stream.feed_data(kData.substr(0, 6));
    stream.feed_data(kData.substr(6));
    const auto iterations = get_running_loop().stats().iterations;
    EXPECT_EQ(co_await stream.readline(), "line1\n");
    EXPECT_EQ(get_running_loop().stats().iterations, iterations);
    EXPECT_EQ(stream.buffered(), "line2\nline3\n");
  });
}

TEST(StreamReader, ReadlineAtEofReturnsTheIncompleteLastLine) {
  // CPython's test_readline_eof.
  run_virtual_watched([]() -> Coro<void> {
    StreamReader stream;
    stream.feed_data(std::string_view("some data"));
    stream.feed_eof();
    EXPECT_EQ(co_await stream.readline(), "some data");
  });
}

TEST(StreamReader, ReadlineAtEofWithNothingLeftReturnsEmpty) {
  // CPython's test_readline_empty_eof.
  run_virtual_watched([]() -> Coro<void> {
    StreamReader stream;
    stream.feed_eof();
    EXPECT_EQ(co_await stream.readline(), "");
  });
}

TEST(StreamReader, ReadAfterReadlineContinuesWhereItStopped) {
  // CPython's test_readline_read_byte_count.
  run_virtual_watched([]() -> Coro<void> {
    StreamReader stream;
    stream.feed_data(kData);
    co_await stream.readline();
    EXPECT_EQ(co_await stream.read(7), "line2\nl");
    EXPECT_EQ(stream.buffered(), "ine3\n");
  });
}

TEST(StreamReader, ReadlineRaisesTheExceptionSetOnTheReader) {
  // CPython's test_readline_exception.
  run_virtual_watched([]() -> Coro<void> {
    StreamReader stream;
    stream.feed_data(std::string_view("line\n"));
    EXPECT_EQ(co_await stream.readline(), "line\n");
    stream.set_exception(ValueError("boom"));
    EXPECT_THROW(co_await stream.readline(), ValueError);
    EXPECT_EQ(stream.buffered(), "");
  });
}

TEST(StreamReader, AtEofIsTrueOnlyOnceEofWasFedAndEverythingRead) {
  // CPython's test_at_eof.
  run_virtual_watched([]() -> Coro<void> {
    StreamReader stream;
    EXPECT_FALSE(stream.at_eof());
    stream.feed_data(std::string_view("some data\n"));
    EXPECT_FALSE(stream.at_eof());
    co_await stream.readline();
    EXPECT_FALSE(stream.at_eof());
    stream.feed_data(std::string_view("some data\n"));
    stream.feed_eof();
    EXPECT_FALSE(stream.at_eof());
    co_await stream.readline();
    EXPECT_TRUE(stream.at_eof());
  });
}

TEST(StreamReader, ReadlineReadsManyLinesFromOneFeed) {
  run_virtual_watched([]() -> Coro<void> {
    StreamReader stream;
    std::string all;
    for (int i = 0; i < 1000; ++i) all += "line " + std::to_string(i) + "\n";
    stream.feed_data(all);
    stream.feed_eof();
    for (int i = 0; i < 1000; ++i) EXPECT_EQ(co_await stream.readline(), "line " + std::to_string(i) + "\n");
    EXPECT_EQ(co_await stream.readline(), "");
    EXPECT_TRUE(stream.at_eof());
  });
}

// --- readuntil -----------------------------------------------------------------------------------

TEST(StreamReader, ReaduntilWithAnEmptySeparatorIsAValueError) {
  // CPython's test_readuntil_separator.
  run_virtual_watched([]() -> Coro<void> {
    StreamReader stream;
    try {
      co_await stream.readuntil("");
      ADD_FAILURE() << "no ValueError";
    } catch (const ValueError& e) {
      EXPECT_STREQ(e.what(), "Separator should be at least one-byte string");
    }
  });
}

TEST(StreamReader, ReaduntilReturnsUpToAndIncludingAMultiByteSeparator) {
  // CPython's test_readuntil_multi_chunks.
  run_virtual_watched([]() -> Coro<void> {
    StreamReader stream;
    stream.feed_data(std::string_view("lineAAA"));
    EXPECT_EQ(co_await stream.readuntil("AAA"), "lineAAA");
    EXPECT_EQ(stream.buffered(), "");

    stream.feed_data(std::string_view("lineAAA"));
    EXPECT_EQ(co_await stream.readuntil("AAA"), "lineAAA");
    EXPECT_EQ(stream.buffered(), "");

    stream.feed_data(std::string_view("lineAAAxxx"));
    EXPECT_EQ(co_await stream.readuntil("AAA"), "lineAAA");
    EXPECT_EQ(stream.buffered(), "xxx");
  });
}

TEST(StreamReader, ReaduntilFindsASeparatorSplitAcrossFeeds) {
  // CPython's test_readuntil_multi_chunks_1: the separator arrives in pieces while readuntil waits.
  run_virtual_watched([]() -> Coro<void> {
    StreamReader stream;
    const std::vector<std::vector<std::string_view>> cases = {
        {"QWEaa", "XYaa", "a"}, {"QWEaa", "XYa", "aa"}, {"aaa"}, {"Xaaa"}, {"XXX", "a", "a", "a"}};
    const std::vector<std::string_view> expected = {"QWEaaXYaaa", "QWEaaXYaaa", "aaa", "Xaaa", "XXXaaa"};
    for (std::size_t i = 0; i < cases.size(); ++i) {
      auto feeder = create_task([&stream, chunks = cases[i]]() -> Coro<void> {
        for (std::string_view chunk : chunks) {
          stream.feed_data(chunk);
          co_await sleep(0);
        }
      });
      EXPECT_EQ(co_await stream.readuntil("aaa"), expected[i]);
      EXPECT_EQ(stream.buffered(), "");
      co_await feeder;
    }
  });
}

TEST(StreamReader, ReaduntilAtEofRaisesIncompleteReadErrorWithEverything) {
  // CPython's test_readuntil_eof.
  run_virtual_watched([]() -> Coro<void> {
    StreamReader stream;
    stream.feed_data(std::string_view("some dataAA"));
    stream.feed_eof();
    try {
      co_await stream.readuntil("AAA");
      ADD_FAILURE() << "no IncompleteReadError";
    } catch (const IncompleteReadError& e) {
      EXPECT_EQ(e.partial(), "some dataAA");
      EXPECT_FALSE(e.expected().has_value());
      EXPECT_STREQ(e.what(), "11 bytes read on a total of undefined expected bytes");
    }
    EXPECT_EQ(stream.buffered(), "");
  });
}

TEST(StreamReader, IncompleteReadErrorIsAnEOFErrorAsInPython) {
  run_virtual_watched([]() -> Coro<void> {
    StreamReader stream;
    stream.feed_data(std::string_view("abc"));
    stream.feed_eof();
    bool caught = false;
    try {
      co_await stream.readexactly(10);
    } catch (const asyncio::EOFError& e) {
      caught = dynamic_cast<const IncompleteReadError*>(&e) != nullptr;
    }
    EXPECT_TRUE(caught);
  });
}

TEST(StreamReader, ReaduntilOverTheLimitWithoutTheSeparatorKeepsTheData) {
  // CPython's test_readuntil_limit_found_sep, first half.
  run_virtual_watched([]() -> Coro<void> {
    StreamReader stream(3);
    stream.feed_data(std::string_view("some dataAA"));
    try {
      co_await stream.readuntil("AAA");
      ADD_FAILURE() << "no LimitOverrunError";
    } catch (const LimitOverrunError& e) {
      EXPECT_STREQ(e.what(), "Separator is not found, and chunk exceed the limit");
      EXPECT_EQ(e.consumed(), 9u);  // all but the last len(separator) - 1 bytes
    }
    EXPECT_EQ(stream.buffered(), "some dataAA");
  });
}

TEST(StreamReader, ReaduntilOverTheLimitWithTheSeparatorKeepsTheData) {
  // CPython's test_readuntil_limit_found_sep, second half.
  run_virtual_watched([]() -> Coro<void> {
    StreamReader stream(3);
    stream.feed_data(std::string_view("some dataAAA"));
    try {
      co_await stream.readuntil("AAA");
      ADD_FAILURE() << "no LimitOverrunError";
    } catch (const LimitOverrunError& e) {
      EXPECT_STREQ(e.what(), "Separator is found, but chunk is longer than limit");
      EXPECT_EQ(e.consumed(), 9u);
    }
    EXPECT_EQ(stream.buffered(), "some dataAAA");
  });
}

TEST(StreamReader, ReaduntilOverTheLimitWhileWaitingRaisesOnceTheLimitIsPassed) {
  run_virtual_watched([]() -> Coro<void> {
    StreamReader stream(4);
    auto feeder = create_task([&]() -> Coro<void> {
      stream.feed_data(std::string_view("ab"));
      co_await sleep(0);
      stream.feed_data(std::string_view("cd"));
      co_await sleep(0);
      stream.feed_data(std::string_view("ef"));
    });
    EXPECT_THROW(co_await stream.readuntil("!"), LimitOverrunError);
    EXPECT_EQ(stream.buffered(), "abcdef");
    co_await feeder;
  });
}

TEST(StreamReader, ReaduntilWithNoSeparatorsIsAValueError) {
  run_virtual_watched([]() -> Coro<void> {
    StreamReader stream;
    try {
      co_await stream.readuntil(std::span<const std::string_view>());
      ADD_FAILURE() << "no ValueError";
    } catch (const ValueError& e) {
      EXPECT_STREQ(e.what(), "Separator should contain at least one element");
    }
  });
}

TEST(StreamReader, ReaduntilWithAnEmptySeparatorAmongSeveralIsAValueError) {
  run_virtual_watched([]() -> Coro<void> {
    StreamReader stream;
    EXPECT_THROW(co_await stream.readuntil("a", ""), ValueError);
  });
}

TEST(StreamReader, ReaduntilWithSeveralSeparatorsReturnsTheShortestResult) {
  run_virtual_watched([]() -> Coro<void> {
    StreamReader stream;
    stream.feed_data(std::string_view("line 1\nline 2\r"));
    EXPECT_EQ(co_await stream.readuntil("\r", "\n"), "line 1\n");
    EXPECT_EQ(co_await stream.readuntil("\r", "\n"), "line 2\r");
    stream.feed_data(std::string_view("xxAByyC"));
    EXPECT_EQ(co_await stream.readuntil("C", "AB"), "xxAB");
    EXPECT_EQ(stream.buffered(), "yyC");
  });
}

TEST(StreamReader, ReaduntilWithSeparatorsEndingTogetherCountsTheShortestOneForTheLimit) {
  // "\r\n" and "\n" end at the same byte; CPython considers the shorter one matched, so the chunk
  // before it is 4 bytes, over a limit of 3.
  run_virtual_watched([]() -> Coro<void> {
    StreamReader stream(3);
    stream.feed_data(std::string_view("abc\r\n"));
    try {
      co_await stream.readuntil("\r\n", "\n");
      ADD_FAILURE() << "no LimitOverrunError";
    } catch (const LimitOverrunError& e) {
      EXPECT_EQ(e.consumed(), 4u);
    }
    EXPECT_EQ(co_await stream.readuntil("\r\n"), "abc\r\n");
  });
}

TEST(StreamReader, ReaduntilWithSeveralSeparatorsFindsALongOneSplitAcrossFeeds) {
  run_virtual_watched([]() -> Coro<void> {
    StreamReader stream;
    auto feeder = create_task([&]() -> Coro<void> {
      stream.feed_data(std::string_view("xAA"));
      co_await sleep(0);
      stream.feed_data(std::string_view("AyB"));
    });
    EXPECT_EQ(co_await stream.readuntil("B", "AAA"), "xAAA");
    EXPECT_EQ(stream.buffered(), "yB");
    co_await feeder;
  });
}

TEST(StreamReader, ReaduntilWithSeveralSeparatorsOverTheLimitCountsTheLongestForTheOffset) {
  run_virtual_watched([]() -> Coro<void> {
    StreamReader stream(3);
    stream.feed_data(std::string_view("abcdefg"));
    try {
      co_await stream.readuntil("\n", "XYZ");
      ADD_FAILURE() << "no LimitOverrunError";
    } catch (const LimitOverrunError& e) {
      EXPECT_EQ(e.consumed(), 5u);  // 7 + 1 - len("XYZ")
    }
  });
}

TEST(StreamReader, ReaduntilAcceptsSeparatorsInAnyContiguousRange) {
  run_virtual_watched([]() -> Coro<void> {
    StreamReader stream;
    stream.feed_data(std::string_view("a;b,c"));
    const std::vector<std::string_view> seps = {",", ";"};
    EXPECT_EQ(co_await stream.readuntil(seps), "a;");
    const std::array<std::string_view, 1> comma = {","};
    EXPECT_EQ(co_await stream.readuntil(comma), "b,");
  });
}

TEST(StreamReader, ReaduntilAcceptsABracedListOfSeparators) {
  run_virtual_watched([]() -> Coro<void> {
    StreamReader stream;
    stream.feed_data(std::string_view("a\r\nb"));
    Coro<std::string> until = stream.readuntil({"\n", "\r\n"});  // the list is copied by the call
    EXPECT_EQ(co_await std::move(until), "a\r\n");
  });
}

TEST(StreamReader, ReaduntilCopiesItsSeparatorSoATaskMayOutliveTheArgument) {
  run_virtual_watched([]() -> Coro<void> {
    StreamReader stream;
    Task<std::string> task;
    {
      std::string separator = "END";
      task = create_task(stream.readuntil(separator));
      separator.assign("XXX");
    }
    co_await sleep(0);
    stream.feed_data(std::string_view("dataEND"));
    EXPECT_EQ(co_await task, "dataEND");
  });
}

// --- readexactly ---------------------------------------------------------------------------------

TEST(StreamReader, ReadexactlyZeroReturnsEmptyAndNegativeIsAValueError) {
  // CPython's test_readexactly_zero_or_less.
  run_virtual_watched([]() -> Coro<void> {
    StreamReader stream;
    stream.feed_data(kData);
    EXPECT_EQ(co_await stream.readexactly(0), "");
    EXPECT_EQ(stream.buffered(), kData);
    try {
      co_await stream.readexactly(-1);
      ADD_FAILURE() << "no ValueError";
    } catch (const ValueError& e) {
      EXPECT_STREQ(e.what(), "readexactly size can not be less than zero");
    }
    EXPECT_EQ(stream.buffered(), kData);
  });
}

TEST(StreamReader, ReadexactlyWaitsForAllTheBytes) {
  // CPython's test_readexactly.
  run_virtual_watched([]() -> Coro<void> {
    StreamReader stream;
    auto feeder = create_task([&]() -> Coro<void> {
      for (int i = 0; i < 3; ++i) {
        stream.feed_data(kData);
        co_await sleep(0);
      }
    });
    EXPECT_EQ(co_await stream.readexactly(2 * static_cast<std::ptrdiff_t>(kData.size())),
              std::string(kData) + std::string(kData));
    co_await feeder;
    EXPECT_EQ(stream.buffered(), kData);
  });
}

TEST(StreamReader, ReadexactlyIsNotLimitedByTheLimit) {
  // CPython's test_readexactly_limit.
  run_virtual_watched([]() -> Coro<void> {
    StreamReader stream(3);
    stream.feed_data(std::string_view("chunk"));
    EXPECT_EQ(co_await stream.readexactly(5), "chunk");
    EXPECT_EQ(stream.buffered(), "");
  });
}

TEST(StreamReader, ReadexactlyAtEofRaisesIncompleteReadErrorWithThePartialData) {
  // CPython's test_readexactly_eof.
  run_virtual_watched([]() -> Coro<void> {
    StreamReader stream;
    get_running_loop().call_soon([&] {
      stream.feed_data(kData);
      stream.feed_eof();
    });
    try {
      co_await stream.readexactly(36);
      ADD_FAILURE() << "no IncompleteReadError";
    } catch (const IncompleteReadError& e) {
      EXPECT_EQ(e.partial(), kData);
      EXPECT_EQ(e.expected(), 36u);
      EXPECT_STREQ(e.what(), "18 bytes read on a total of 36 expected bytes");
    }
    EXPECT_EQ(stream.buffered(), "");
  });
}

TEST(StreamReader, ReadexactlyRaisesTheExceptionSetOnTheReader) {
  // CPython's test_readexactly_exception.
  run_virtual_watched([]() -> Coro<void> {
    StreamReader stream;
    stream.feed_data(std::string_view("line\n"));
    EXPECT_EQ(co_await stream.readexactly(2), "li");
    stream.set_exception(ValueError("boom"));
    EXPECT_THROW(co_await stream.readexactly(2), ValueError);
  });
}

TEST(StreamReader, ReadexactlyOfAHugeCountDoesNotAllocateItUpFront) {
  run_virtual_watched([]() -> Coro<void> {
    StreamReader stream(16);
    stream.feed_data(std::string_view("abc"));
    stream.feed_eof();
    try {
      co_await stream.readexactly(std::ptrdiff_t{1} << 50);  // a petabyte: reserving it would throw
      ADD_FAILURE() << "no IncompleteReadError";
    } catch (const IncompleteReadError& e) {
      EXPECT_EQ(e.partial(), "abc");
    }
  });
}

// --- exceptions and waiters ----------------------------------------------------------------------

TEST(StreamReader, ExceptionReturnsWhatSetExceptionGot) {
  // CPython's test_exception.
  StreamReader stream;
  EXPECT_EQ(stream.exception(), nullptr);
  auto error = std::make_exception_ptr(ValueError("boom"));
  stream.set_exception(error);
  EXPECT_EQ(stream.exception(), error);
}

TEST(StreamReader, SetExceptionWakesAWaitingReadWithTheException) {
  // CPython's test_exception_waiter.
  run_virtual_watched([]() -> Coro<void> {
    StreamReader stream;
    auto reader = create_task(stream.readline());
    co_await sleep(0);
    stream.set_exception(ValueError("boom"));
    EXPECT_THROW(co_await reader, ValueError);
  });
}

TEST(StreamReader, SetExceptionAfterAWaitingReadWasCancelledIsHarmless) {
  // CPython's test_exception_cancel.
  run_virtual_watched([]() -> Coro<void> {
    StreamReader stream;
    auto reader = create_task(stream.readline());
    co_await sleep(0);
    reader.cancel();
    co_await sleep(0);
    stream.set_exception(RuntimeError("message"));
    co_await sleep(0);
    EXPECT_TRUE(reader.cancelled());
    EXPECT_EQ(stream.repr().find("waiter"), std::string::npos);
  });
}

TEST(StreamReader, ASecondReadWaitingAtTheSameTimeIsARuntimeError) {
  run_virtual_watched([]() -> Coro<void> {
    StreamReader stream;
    auto first = create_task(stream.read(10));
    co_await sleep(0);
    try {
      co_await stream.read(10);
      ADD_FAILURE() << "no RuntimeError";
    } catch (const RuntimeError& e) {
      EXPECT_STREQ(e.what(), "read() called while another coroutine is already waiting for incoming data");
    }
    try {
      co_await stream.readuntil("x");
      ADD_FAILURE() << "no RuntimeError";
    } catch (const RuntimeError& e) {
      EXPECT_STREQ(e.what(), "readuntil() called while another coroutine is already waiting for incoming data");
    }
    EXPECT_THROW(co_await stream.readexactly(3), RuntimeError);
    stream.feed_data(std::string_view("abc"));
    EXPECT_EQ(co_await first, "abc");
  });
}

TEST(StreamReader, ASecondReadFindingDataBufferedDoesNotWait) {
  run_virtual_watched([]() -> Coro<void> {
    StreamReader stream;
    auto first = create_task(stream.readexactly(5));
    co_await sleep(0);
    stream.feed_data(std::string_view("abc"));  // too short: first goes on waiting
    co_await sleep(0);
    EXPECT_EQ(co_await stream.read(2), "ab");
    stream.feed_data(std::string_view("defg"));
    EXPECT_EQ(co_await first, "cdefg");
  });
}

// --- cancellation --------------------------------------------------------------------------------

TEST(StreamReader, ACancelledWaitingReadLosesNoData) {
  run_virtual_watched([]() -> Coro<void> {
    StreamReader stream;
    auto reader = create_task(stream.read(10));
    co_await sleep(0);
    reader.cancel();
    EXPECT_THROW(co_await reader, CancelledError);
    stream.feed_data(std::string_view("abc"));
    EXPECT_EQ(co_await stream.read(10), "abc");
  });
}

TEST(StreamReader, AReadCancelledAfterItsWakeUpLeavesTheDataForTheNextRead) {
  // The data arrives and the task is cancelled in the same iteration, before it runs again.
  run_virtual_watched([]() -> Coro<void> {
    StreamReader stream;
    auto reader = create_task(stream.readline());
    co_await sleep(0);
    stream.feed_data(std::string_view("line\n"));
    reader.cancel();
    EXPECT_THROW(co_await reader, CancelledError);
    EXPECT_EQ(stream.buffered(), "line\n");
    EXPECT_EQ(co_await stream.readline(), "line\n");
  });
}

TEST(StreamReader, ACancelledReadexactlyKeepsThePartialData) {
  run_virtual_watched([]() -> Coro<void> {
    StreamReader stream;
    auto reader = create_task(stream.readexactly(10));
    co_await sleep(0);
    stream.feed_data(std::string_view("abcd"));
    co_await sleep(0);
    reader.cancel();
    EXPECT_THROW(co_await reader, CancelledError);
    EXPECT_EQ(co_await stream.readexactly(4), "abcd");
  });
}

TEST(StreamReader, ACancelledReaduntilKeepsThePartialData) {
  run_virtual_watched([]() -> Coro<void> {
    StreamReader stream;
    auto reader = create_task(stream.readuntil("\r\n"));
    co_await sleep(0);
    stream.feed_data(std::string_view("abc\r"));
    co_await sleep(0);
    reader.cancel();
    EXPECT_THROW(co_await reader, CancelledError);
    stream.feed_data(std::string_view("\n"));
    EXPECT_EQ(co_await stream.readuntil("\r\n"), "abc\r\n");
  });
}

TEST(StreamReader, AReadCancelledWhileGivenAnExceptionReportsNothingAndTheNextReadRaisesIt) {
  run_virtual_watched([]() -> Coro<void> {
    asyncio::testing::HandlerCapture handler(get_running_loop());
    StreamReader stream;
    auto reader = create_task(stream.read(10));
    co_await sleep(0);
    stream.set_exception(ValueError("boom"));
    reader.cancel();
    EXPECT_THROW(co_await reader, CancelledError);
    EXPECT_THROW(co_await stream.read(10), ValueError);
    co_await sleep(0);
    EXPECT_TRUE(handler.contexts().empty());
  });
}

TEST(StreamReader, ACancelledReadToEofPutsTheBytesItAlreadyTookBack) {
  // CPython's read() loses the blocks it joined so far; here they go back to the buffer.
  run_virtual_watched([]() -> Coro<void> {
    StreamReader stream;
    auto reader = create_task(stream.read());
    co_await sleep(0);
    stream.feed_data(std::string_view("abc"));
    co_await sleep(0);  // the read took "abc" and waits for more
    stream.feed_data(std::string_view("def"));
    co_await sleep(0);  // and "def"
    stream.feed_data(std::string_view("gh"));
    reader.cancel();
    EXPECT_THROW(co_await reader, CancelledError);
    EXPECT_EQ(stream.buffered(), "abcdefgh");
    stream.feed_eof();
    EXPECT_EQ(co_await stream.read(), "abcdefgh");
  });
}

TEST(StreamReader, AReadToEofEndedBySetExceptionPutsTheBytesItTookBack) {
  run_virtual_watched([]() -> Coro<void> {
    StreamReader stream;
    auto reader = create_task(stream.read());
    co_await sleep(0);
    stream.feed_data(std::string_view("abc"));
    co_await sleep(0);
    stream.set_exception(ValueError("boom"));
    EXPECT_THROW(co_await reader, ValueError);
    EXPECT_EQ(stream.buffered(), "abc");
  });
}

// A line read parked on its task, as `co_await stream.readline()` inside a task parks.
Coro<std::string> readline_in_place(StreamReader& stream) { co_return co_await stream.readline(); }

TEST(StreamReader, AWokenReadlineWhoseLineAnotherTaskReadFirstWaitsForTheNextLine) {
  // CPython: the wake-up is only a hint; the woken readline scans again and waits again.
  run_virtual_watched([]() -> Coro<void> {
    StreamReader stream;
    auto first = create_task([&stream]() { return readline_in_place(stream); });
    co_await sleep(0);
    stream.feed_data(std::string_view("a\n"));     // wakes `first`...
    EXPECT_EQ(co_await stream.readline(), "a\n");  // ...but this task reads the line first
    co_await sleep(0);
    EXPECT_FALSE(first.done());
    stream.feed_data(std::string_view("b\n"));
    EXPECT_EQ(co_await first, "b\n");
  });
}

TEST(StreamReader, AWokenReadlineThatFindsAnotherReadWaitingRaisesRuntimeError) {
  // As CPython's second _wait_for_data: one read at a time may wait.
  run_virtual_watched([]() -> Coro<void> {
    StreamReader stream;
    auto first = create_task([&stream]() { return readline_in_place(stream); });
    co_await sleep(0);
    stream.feed_data(std::string_view("a\n"));
    EXPECT_EQ(co_await stream.readline(), "a\n");
    auto second = create_task(stream.read(10));
    (void)second;
    // `first` runs before `second` parks: it parks again, and `second` is the one refused.
    EXPECT_THROW(co_await second, RuntimeError);
    stream.feed_data(std::string_view("c\n"));
    EXPECT_EQ(co_await first, "c\n");
  });
}

TEST(StreamReader, AWokenReadlineWhoseLineWasTakenWhileThisTaskWaitsToReadRaisesRuntimeError) {
  run_virtual_watched([]() -> Coro<void> {
    StreamReader stream;
    auto first = create_task([&stream]() { return readline_in_place(stream); });
    co_await sleep(0);
    stream.feed_data(std::string_view("a\n"));
    EXPECT_EQ(co_await stream.readline(), "a\n");
    auto late = create_task([&stream]() -> Coro<void> {
      stream.feed_data(std::string_view("late"));
      co_return;
    });
    // This task now waits for data before `first` runs again: `first` may not wait too.
    EXPECT_EQ(co_await stream.read(10), "late");
    EXPECT_THROW(co_await first, RuntimeError);
    co_await late;
  });
}

TEST(StreamReader, AReadlineAfterACancelledWokenReadlineAndAnOverrunFindsTheNextLineAtOnce) {
  // Limit 4: the woken read is cancelled before it runs, a readline as a Coro raises ValueError
  // for the over-long line (dropping it), and the next whole line is returned without waiting.
  run_virtual_watched([]() -> Coro<void> {
    StreamReader stream(4);
    auto parked = create_task([&stream]() { return readline_in_place(stream); });
    co_await sleep(0);
    stream.feed_data(std::string_view("aaaaaaaa\n"));
    parked.cancel();
    EXPECT_THROW(co_await parked, CancelledError);
    EXPECT_THROW(co_await asyncio::wait_for(stream.readline(), 10), ValueError);
    EXPECT_EQ(stream.buffered(), "");
    stream.feed_data(std::string_view("ab\n"));
    auto next = create_task([&stream]() { return readline_in_place(stream); });
    co_await sleep(0);
    EXPECT_TRUE(next.done());
    EXPECT_EQ(co_await next, "ab\n");
  });
}

TEST(StreamReader, AReadlineWokenByALineAfterOtherReadsConsumedBytesReturnsExactlyThatLine) {
  run_virtual_watched([]() -> Coro<void> {
    StreamReader stream(8);
    auto parked = create_task([&stream]() { return readline_in_place(stream); });
    co_await sleep(0);
    stream.feed_data(std::string_view("xyz"));
    EXPECT_EQ(co_await stream.read(2), "xy");  // another task takes bytes while the line read waits
    stream.feed_data(std::string_view("12\n34\n"));
    EXPECT_EQ(co_await parked, "z12\n");
    EXPECT_EQ(co_await stream.readline(), "34\n");
  });
}

TEST(StreamReader, AReadlineAtEofNeverReturnsALineLongerThanTheLimit) {
  run_virtual_watched([]() -> Coro<void> {
    StreamReader stream(4);
    auto parked = create_task([&stream]() { return readline_in_place(stream); });
    co_await sleep(0);
    stream.feed_data(std::string_view("abc"));
    stream.feed_data(std::string_view("defg"));  // over the limit without a newline: wakes it
    stream.feed_eof();
    EXPECT_THROW(co_await parked, ValueError);
    EXPECT_EQ(co_await stream.readline(), "");
  });
}

TEST(StreamReader, AWokenReadWhoseBytesAnotherTaskTookFirstWaitsAgainInsteadOfReturningEof) {
  run_virtual_watched([]() -> Coro<void> {
    StreamReader stream;
    auto first = create_task([&stream]() -> Coro<std::string> { co_return co_await stream.read(1); });
    co_await sleep(0);
    stream.feed_data(std::string_view("\n"));   // wakes `first`...
    EXPECT_EQ(co_await stream.read(10), "\n");  // ...but this task reads it first
    co_await sleep(0);
    EXPECT_FALSE(first.done());
    stream.feed_data(std::string_view("x"));
    EXPECT_EQ(co_await first, "x");
  });
}

TEST(StreamReader, AWokenReadAsACoroWhoseBytesAnotherTaskTookFirstWaitsAgain) {
  run_virtual_watched([]() -> Coro<void> {
    StreamReader stream;
    auto first = create_task(stream.read(1));
    co_await sleep(0);
    stream.feed_data(std::string_view("a"));
    EXPECT_EQ(co_await stream.read(10), "a");
    co_await sleep(0);
    EXPECT_FALSE(first.done());
    stream.feed_eof();
    EXPECT_EQ(co_await first, "");
  });
}

TEST(StreamReader, AReadlineAsACoroFindsItsLineAfterAnotherTaskTookBytesWhileItWaited) {
  // CPython's readuntil keeps an offset into the buffer across its waits, which another task's
  // read makes stale: it then misses the newline in front of it and waits for ever.
  run_virtual_watched([]() -> Coro<void> {
    StreamReader stream(8);
    auto parked = create_task(stream.readline());
    co_await sleep(0);
    stream.feed_data(std::string_view("xyz"));
    co_await sleep(0);  // it scans 3 bytes and waits
    EXPECT_EQ(co_await stream.read(2), "xy");
    stream.feed_data(std::string_view("\n"));
    EXPECT_EQ(co_await parked, "z\n");
  });
}

TEST(StreamReader, AReaduntilFindsItsSeparatorAfterAnotherTaskTookBytesWhileItWaited) {
  run_virtual_watched([]() -> Coro<void> {
    StreamReader stream;
    auto parked = create_task(stream.readuntil("\r\n"));
    co_await sleep(0);
    stream.feed_data(std::string_view("abcd"));
    co_await sleep(0);
    EXPECT_EQ(co_await stream.read(3), "abc");
    stream.feed_data(std::string_view("\r\nmore"));
    EXPECT_EQ(co_await parked, "d\r\n");
    EXPECT_EQ(stream.buffered(), "more");
  });
}

TEST(StreamReader, ALineReadInPlaceAfterACoroReadlineWhoseBytesWereTakenFindsItsNewline) {
  // A Coro readline scanning from a stale offset once recorded bytes it never looked at as
  // newline-free for the whole reader: a later readline awaited in place then missed its line.
  run_virtual_watched([]() -> Coro<void> {
    StreamReader stream(10);
    stream.feed_data(std::string_view("\r"));
    auto parked = create_task(stream.readline());  // scans "\r", waits
    co_await sleep(0);
    EXPECT_EQ(co_await stream.read(1), "\r");
    stream.feed_data(std::string_view("\n"));
    EXPECT_EQ(co_await parked, "\n");
    stream.feed_data(std::string_view("next\n"));
    auto in_place = create_task([&stream]() { return readline_in_place(stream); });
    co_await sleep(0);
    EXPECT_TRUE(in_place.done());
    EXPECT_EQ(co_await in_place, "next\n");
  });
}

TEST(StreamReader, BytesPutBackByAFailedReadToEofWakeAReadThatStartedWaitingMeanwhile) {
  run_virtual_watched([]() -> Coro<void> {
    StreamReader stream;
    stream.feed_data(std::string_view("abc"));
    auto all = create_task(stream.read());  // takes "abc", waits for EOF
    co_await sleep(0);
    stream.feed_data(std::string_view("d"));  // wakes `all`
    EXPECT_EQ(co_await stream.read(1), "d");  // read before `all` runs: `all` must wait again...
    // ...and since this task now waits too, `all` finds another read waiting: it fails, and
    // what it took goes back, to this read.
    EXPECT_EQ(co_await asyncio::wait_for(stream.read(3), 1.0), "abc");
    EXPECT_THROW(co_await all, RuntimeError);
  });
}

TEST(StreamReader, BytesWithoutANewlinePutBackByAFailedReadToEofLeaveAWaitingLineReadWaiting) {
  run_virtual_watched([]() -> Coro<void> {
    StreamReader stream;
    auto line = create_task([&stream]() -> Coro<std::string> { co_return co_await stream.readline(); });
    co_await sleep(0);
    stream.feed_data(std::string_view("ab"));  // no newline: the line read stays parked
    // Takes "ab", then must wait for EOF while the line read waits: fails, and puts "ab" back.
    EXPECT_THROW(co_await stream.read(), RuntimeError);
    co_await sleep(0);
    EXPECT_FALSE(line.done());
    stream.feed_data(std::string_view("c\n"));
    EXPECT_EQ(co_await line, "abc\n");
  });
}

// --- the awaitable that read(), read_view(), readexactly() and readline() return ------------------

TEST(StreamReader, AReadAwaitedDirectlyAndCancelledLosesNoDataAndLeavesNoWaiter) {
  run_virtual_watched([]() -> Coro<void> {
    StreamReader stream;
    auto reader = create_task([&stream]() -> Coro<std::string> { co_return co_await stream.read(10); });
    co_await sleep(0);
    EXPECT_NE(stream.repr().find("waiter"), std::string::npos);
    reader.cancel();
    EXPECT_THROW(co_await reader, CancelledError);
    EXPECT_EQ(stream.repr().find("waiter"), std::string::npos);
    stream.feed_data(std::string_view("abc"));
    EXPECT_EQ(co_await stream.read(10), "abc");
  });
}

TEST(StreamReader, AReadViewAwaitedDirectlyAndCancelledAfterItsWakeUpLeavesTheData) {
  run_virtual_watched([]() -> Coro<void> {
    StreamReader stream;
    auto reader = create_task([&stream]() -> Coro<std::size_t> { co_return (co_await stream.read_view()).size(); });
    co_await sleep(0);
    stream.feed_data(std::string_view("line\n"));
    reader.cancel();
    EXPECT_THROW(co_await reader, CancelledError);
    EXPECT_EQ(stream.buffered(), "line\n");
  });
}

TEST(StreamReader, AReadAwaitedDirectlyGetsTheExceptionSetWhileItWaits) {
  run_virtual_watched([]() -> Coro<void> {
    asyncio::testing::HandlerCapture handler(get_running_loop());
    StreamReader stream;
    auto failing = create_task([&stream]() -> Coro<std::string> { co_return co_await stream.read(10); });
    co_await sleep(0);
    stream.set_exception(ValueError("boom"));
    EXPECT_THROW(co_await failing, ValueError);
    auto later = create_task([&stream]() -> Coro<std::string_view> { co_return co_await stream.read_view(); });
    co_await sleep(0);
    EXPECT_TRUE(later.done());  // the exception was already set: no wait
    EXPECT_THROW(co_await later, ValueError);
    co_await sleep(0);
    EXPECT_TRUE(handler.contexts().empty());
  });
}

TEST(StreamReader, AReadAwaitedDirectlyAndCancelledWhileGivenAnExceptionReportsNothing) {
  run_virtual_watched([]() -> Coro<void> {
    asyncio::testing::HandlerCapture handler(get_running_loop());
    StreamReader stream;
    auto reader = create_task([&stream]() -> Coro<std::string> { co_return co_await stream.read(10); });
    co_await sleep(0);
    stream.set_exception(ValueError("boom"));
    reader.cancel();
    EXPECT_THROW(co_await reader, CancelledError);
    co_await sleep(0);
    EXPECT_TRUE(handler.contexts().empty());
  });
}

TEST(StreamReader, ASecondReadAwaitedDirectlyWhileAnotherWaitsIsARuntimeError) {
  run_virtual_watched([]() -> Coro<void> {
    StreamReader stream;
    auto first = create_task([&stream]() -> Coro<std::string> { co_return co_await stream.read(10); });
    co_await sleep(0);
    try {
      co_await stream.read_view();
      ADD_FAILURE() << "no RuntimeError";
    } catch (const RuntimeError& e) {
      EXPECT_STREQ(e.what(), "read_view() called while another coroutine is already waiting for incoming data");
    }
    stream.feed_data(std::string_view("xyz"));
    EXPECT_EQ(co_await first, "xyz");
  });
}

TEST(StreamReader, AReadCanBeAwaitedOnlyOnce) {
  run_virtual_watched([]() -> Coro<void> {
    StreamReader stream;
    stream.feed_data(std::string_view("abc"));
    auto op = stream.read(1);
    EXPECT_EQ(co_await op, "a");
    EXPECT_THROW(co_await op, RuntimeError);
  });
}

TEST(StreamReader, AReadConvertsToACoroThatDoesNothingUntilAwaited) {
  run_virtual_watched([]() -> Coro<void> {
    StreamReader stream;
    Coro<std::string> line = stream.readline();
    Coro<std::string> exact = stream.readexactly(2);
    stream.feed_data(std::string_view("ab\ncd"));
    EXPECT_EQ(co_await std::move(line), "ab\n");
    EXPECT_EQ(co_await std::move(exact), "cd");
  });
}

TEST(StreamReader, AReadUnderWaitForTimesOutAndLeavesTheReaderUsable) {
  run_virtual_watched([]() -> Coro<void> {
    StreamReader stream;
    EXPECT_THROW(co_await asyncio::wait_for(stream.read(5), 2.0), asyncio::TimeoutError);
    EXPECT_THROW(co_await asyncio::wait_for(stream.readline(), 2.0), asyncio::TimeoutError);
    stream.feed_data(std::string_view("late\n"));
    EXPECT_EQ(co_await asyncio::wait_for(stream.readline(), 2.0), "late\n");
  });
}

// --- flow control --------------------------------------------------------------------------------

TEST(StreamReader, FeedingMoreThanTwiceTheLimitPausesTheTransportOnce) {
  run_virtual_watched([]() -> Coro<void> {
    auto transport = std::make_shared<FakeTransport>(nullptr);
    StreamReader stream(4);
    stream.set_transport(transport.get());
    stream.feed_data(std::string_view("12345678"));  // 8 == 2 * limit: not yet
    EXPECT_EQ(transport->pause_reading_calls, 0);
    stream.feed_data(std::string_view("9"));
    EXPECT_EQ(transport->pause_reading_calls, 1);
    EXPECT_FALSE(transport->is_reading());
    stream.feed_data(std::string_view("more"));
    EXPECT_EQ(transport->pause_reading_calls, 1);
    EXPECT_NE(stream.repr().find("paused"), std::string::npos);
    co_return;
  });
}

TEST(StreamReader, ReadingDownToTheLimitResumesThePausedTransport) {
  run_virtual_watched([]() -> Coro<void> {
    auto transport = std::make_shared<FakeTransport>(nullptr);
    StreamReader stream(4);
    stream.set_transport(transport.get());
    stream.feed_data(std::string_view("123456789"));
    EXPECT_EQ(co_await stream.read(4), "1234");  // 5 left: still over the limit
    EXPECT_EQ(transport->resume_reading_calls, 0);
    EXPECT_EQ(co_await stream.read(1), "5");  // 4 left: resumed
    EXPECT_EQ(transport->resume_reading_calls, 1);
    EXPECT_TRUE(transport->is_reading());
  });
}

TEST(StreamReader, EachKindOfReadResumesThePausedTransport) {
  run_virtual_watched([]() -> Coro<void> {
    auto transport = std::make_shared<FakeTransport>(nullptr);
    StreamReader stream(3);
    stream.set_transport(transport.get());
    stream.feed_data(std::string_view("ab\ncd\nef\n"));  // 9 > 6: paused
    EXPECT_EQ(co_await stream.readline(), "ab\n");
    EXPECT_EQ(transport->resume_reading_calls, 0);
    EXPECT_EQ(co_await stream.readuntil("\n"), "cd\n");
    EXPECT_EQ(transport->resume_reading_calls, 1);
    stream.feed_data(std::string_view("ghijk"));  // 8 > 6: paused again
    EXPECT_EQ(transport->pause_reading_calls, 2);
    EXPECT_EQ(co_await stream.readexactly(6), "ef\nghi");
    EXPECT_EQ(transport->resume_reading_calls, 2);
  });
}

TEST(StreamReader, WaitingForDataResumesThePausedTransport) {
  // readexactly(n) with n > 2 * limit would deadlock otherwise (CPython's _wait_for_data).
  run_virtual_watched([]() -> Coro<void> {
    auto transport = std::make_shared<FakeTransport>(nullptr);
    StreamReader stream(2);
    stream.set_transport(transport.get());
    auto reader = create_task(stream.readexactly(10));
    co_await sleep(0);
    stream.feed_data(std::string_view("12345"));
    EXPECT_EQ(transport->pause_reading_calls, 1);
    co_await sleep(0);  // the reader wakes, still short, and waits again: resumed
    EXPECT_EQ(transport->resume_reading_calls, 1);
    stream.feed_data(std::string_view("67890"));
    EXPECT_EQ(co_await reader, "1234567890");
  });
}

TEST(StreamReader, ReadMinusOneResumesThePausedTransportAsItDrains) {
  // CPython's test_read_all_from_pipe_reader, without the pipe: limit 1, more data than 2 * limit.
  run_virtual_watched([]() -> Coro<void> {
    auto transport = std::make_shared<FakeTransport>(nullptr);
    StreamReader stream(1);
    stream.set_transport(transport.get());
    stream.feed_data(std::string_view("data"));
    EXPECT_FALSE(transport->is_reading());
    auto reader = create_task(stream.read());
    co_await sleep(0);
    EXPECT_TRUE(transport->is_reading());
    stream.feed_eof();
    EXPECT_EQ(co_await reader, "data");
  });
}

TEST(StreamReader, SettingASecondTransportIsARuntimeErrorAndNullForgetsIt) {
  auto transport = std::make_shared<FakeTransport>(nullptr);
  StreamReader stream(1);
  stream.set_transport(transport.get());
  EXPECT_THROW(stream.set_transport(transport.get()), RuntimeError);
  stream.set_transport(nullptr);
  stream.feed_data(std::string_view("lots of data"));
  EXPECT_EQ(transport->pause_reading_calls, 0);
  stream.set_transport(transport.get());
}

// --- read_view -----------------------------------------------------------------------------------

TEST(StreamReader, ReadViewReturnsTheBufferedBytesInPlace) {
  run_virtual_watched([]() -> Coro<void> {
    StreamReader stream;
    stream.feed_data(std::string_view("hello world"));
    const char* front = stream.buffered().data();
    const std::string_view v = co_await stream.read_view(5);
    EXPECT_EQ(v, "hello");
    EXPECT_EQ(v.data(), front);
    EXPECT_EQ(stream.buffered(), " world");
    EXPECT_EQ(co_await stream.read_view(), " world");
  });
}

TEST(StreamReader, ReadViewWaitsForDataAndIsEmptyAtEof) {
  run_virtual_watched([]() -> Coro<void> {
    StreamReader stream;
    get_running_loop().call_soon([&] { stream.feed_data(std::string_view("abc")); });
    EXPECT_EQ(co_await stream.read_view(), "abc");
    stream.feed_eof();
    EXPECT_EQ(co_await stream.read_view(), "");
    EXPECT_EQ(co_await stream.read_view(0), "");
  });
}

TEST(StreamReader, ReadViewKeepsTheBufferSoFeedsReuseIt) {
  run_virtual_watched([]() -> Coro<void> {
    StreamReader stream;
    stream.feed_data(std::string(1000, 'a'));
    const char* storage = stream.buffered().data();
    for (int i = 0; i < 100; ++i) {
      EXPECT_EQ((co_await stream.read_view()).size(), 1000u);
      stream.feed_data(std::string_view(std::string(1000, static_cast<char>('a' + i % 26))));
      EXPECT_EQ(stream.buffered().data(), storage);
    }
  });
}

TEST(StreamReader, ReadlineViewReturnsTheLineInPlace) {
  run_virtual_watched([]() -> Coro<void> {
    StreamReader stream;
    stream.feed_data(std::string_view("GET / HTTP/1.0\r\nHost: x\r\n"));
    const char* front = stream.buffered().data();
    const std::string_view first = co_await stream.readline_view();
    EXPECT_EQ(first, "GET / HTTP/1.0\r\n");
    EXPECT_EQ(first.data(), front);
    EXPECT_EQ(co_await stream.readline_view(), "Host: x\r\n");
  });
}

TEST(StreamReader, ReadlineViewWaitsForTheNewlineAndEndsLikeReadline) {
  run_virtual_watched([]() -> Coro<void> {
    StreamReader stream(8);
    auto feeder = create_task([&]() -> Coro<void> {
      stream.feed_data(std::string_view("ab"));
      co_await sleep(0);
      stream.feed_data(std::string_view("c\n0123456789\nrest"));
      stream.feed_eof();
    });
    EXPECT_EQ(co_await stream.readline_view(), "abc\n");
    EXPECT_THROW(co_await stream.readline_view(), ValueError);  // 10 bytes > limit 8: line dropped
    EXPECT_EQ(co_await stream.readline_view(), "rest");
    EXPECT_EQ(co_await stream.readline_view(), "");
    co_await feeder;
  });
}

TEST(StreamReader, AWaitingReadlineGetsTheRestOfItsLineAfterAnotherTaskTookBytesFromTheFront) {
  // The waiting read scans from where it knows no newline is; a read by someone else in between
  // moves the front, and the line must still come out whole.
  run_virtual_watched([]() -> Coro<void> {
    StreamReader stream;
    stream.feed_data(std::string_view("abc"));
    auto line = create_task(stream.readline());
    co_await sleep(0);  // the readline waits, "abc" buffered
    get_running_loop().call_soon([&] { stream.feed_data(std::string_view("de\nrest")); });
    EXPECT_EQ(co_await stream.read(2), "ab");  // completes at once: data is buffered
    EXPECT_EQ(co_await line, "cde\n");
    EXPECT_EQ(stream.buffered(), "rest");
  });
}

TEST(StreamReader, AWaitingReadlineViewIsWokenByAMovedStringHoldingItsNewline) {
  run_virtual_watched([]() -> Coro<void> {
    StreamReader stream;
    auto feeder = create_task([&]() -> Coro<void> {
      stream.feed_data(std::string("no newline, "));
      co_await sleep(0);
      stream.feed_data(std::string("still none, "));
      co_await sleep(0);
      stream.feed_data(std::string("now\nnext"));
    });
    EXPECT_EQ(co_await stream.readline_view(), "no newline, still none, now\n");
    EXPECT_EQ(stream.buffered(), "next");
    co_await feeder;
  });
}

TEST(StreamReader, AWaitingReadlineViewFedPastTheLimitWithoutNewlineRaisesValueError) {
  run_virtual_watched([]() -> Coro<void> {
    StreamReader stream(8);
    auto feeder = create_task([&]() -> Coro<void> {
      stream.feed_data(std::string_view("12345"));
      co_await sleep(0);
      stream.feed_data(std::string_view("6789"));  // 9 bytes, no newline: over the limit
    });
    EXPECT_THROW(co_await stream.readline_view(), ValueError);
    EXPECT_EQ(stream.buffered(), "");
    co_await feeder;
  });
}

TEST(StreamReader, AWaitingReadlineCancelledLeavesTheReaderUsableForTheNextLine) {
  run_virtual_watched([]() -> Coro<void> {
    StreamReader stream;
    auto line = create_task(stream.readline());
    co_await sleep(0);
    line.cancel();
    EXPECT_THROW(co_await line, CancelledError);
    stream.feed_data(std::string_view("partial"));
    stream.feed_data(std::string_view(" line\n"));
    EXPECT_EQ(co_await stream.readline(), "partial line\n");
  });
}

TEST(StreamReader, ALoopDestroyedWhileATaskWaitsForALineLeavesTheReaderWithoutAWaiter) {
  StreamReader stream;
  {
    asyncio::EventLoop loop(asyncio::testing::virtual_clock());
    auto line = loop.create_task([&stream]() -> Coro<std::string> { co_return co_await stream.readline(); });
    loop.run_until_complete([]() -> Coro<void> { co_await sleep(0); });
    EXPECT_NE(stream.repr().find("waiter=<line read of <Task pending"), std::string::npos);
  }  // the pending task is abandoned: its read forgets the reader
  EXPECT_EQ(stream.repr(), "<StreamReader>");
  stream.feed_data(std::string_view("late\n"));  // nobody to wake
  EXPECT_EQ(stream.buffered(), "late\n");
}

TEST(StreamReader, AReaderDestroyedWhileATaskWaitsForALineLeavesTheTaskToBeCancelled) {
  run_virtual_watched([]() -> Coro<void> {
    auto stream = std::make_unique<StreamReader>();
    StreamReader* reader = stream.get();
    auto line = create_task([reader]() -> Coro<std::string> { co_return co_await reader->readline(); });
    co_await sleep(0);
    stream.reset();
    line.cancel();
    EXPECT_THROW(co_await line, CancelledError);
  });
}

// --- repr ----------------------------------------------------------------------------------------

TEST(StreamReader, ReprShowsWhatPythonsShows) {
  // CPython's test___repr__*.
  run_virtual_watched([]() -> Coro<void> {
    EXPECT_EQ(StreamReader().repr(), "<StreamReader>");
    EXPECT_EQ(StreamReader(123).repr(), "<StreamReader limit=123>");
    StreamReader eof;
    eof.feed_eof();
    EXPECT_EQ(eof.repr(), "<StreamReader eof>");
    StreamReader data;
    data.feed_data(std::string_view("data"));
    EXPECT_EQ(data.repr(), "<StreamReader 4 bytes>");
    StreamReader failed;
    failed.set_exception(RuntimeError("x"));
    EXPECT_EQ(failed.repr().rfind("<StreamReader exception=", 0), 0u);
    StreamReader waiting;
    auto reader = create_task(waiting.read(1));
    co_await sleep(0);
    EXPECT_EQ(waiting.repr().rfind("<StreamReader waiter=<Future pending", 0), 0u);
    waiting.feed_data(std::string_view("x"));
    co_await reader;
    EXPECT_EQ(waiting.repr(), "<StreamReader>");
  });
}

// --- exceptions ----------------------------------------------------------------------------------

TEST(StreamErrors, IncompleteReadErrorKeepsPartialAndExpected) {
  const IncompleteReadError e("abc", 10);
  EXPECT_EQ(e.partial(), "abc");
  EXPECT_EQ(e.expected(), 10u);
  EXPECT_STREQ(e.what(), "3 bytes read on a total of 10 expected bytes");
  const IncompleteReadError copy = e;
  EXPECT_EQ(copy.partial(), "abc");
}

TEST(StreamErrors, LimitOverrunErrorKeepsItsMessageAndConsumed) {
  const LimitOverrunError e("message", 10);
  EXPECT_STREQ(e.what(), "message");
  EXPECT_EQ(e.consumed(), 10u);
}

}  // namespace

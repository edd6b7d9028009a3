// asyncio::OSError and the subclass chosen by errno, as Python's PEP 3151 chooses.

#include <gtest/gtest.h>
#include <asyncio/exceptions.hpp>
#include <asyncio/os_error.hpp>

#include <cerrno>
#include <string>
#include <system_error>

namespace {

template <class E>
void expect_thrown_as(int errno_value) {
  try {
    asyncio::throw_os_error(errno_value, "op");
    ADD_FAILURE() << "nothing thrown for errno " << errno_value;
  } catch (const E& e) {
    EXPECT_EQ(e.errno_value(), errno_value);
  }
}

TEST(OSError, EachErrnoBecomesTheSubclassPythonRaises) {
  expect_thrown_as<asyncio::BlockingIOError>(EAGAIN);
  expect_thrown_as<asyncio::BlockingIOError>(EINPROGRESS);
  expect_thrown_as<asyncio::ChildProcessError>(ECHILD);
  expect_thrown_as<asyncio::BrokenPipeError>(EPIPE);
  expect_thrown_as<asyncio::BrokenPipeError>(ESHUTDOWN);
  expect_thrown_as<asyncio::ConnectionAbortedError>(ECONNABORTED);
  expect_thrown_as<asyncio::ConnectionRefusedError>(ECONNREFUSED);
  expect_thrown_as<asyncio::ConnectionResetError>(ECONNRESET);
  expect_thrown_as<asyncio::FileExistsError>(EEXIST);
  expect_thrown_as<asyncio::FileNotFoundError>(ENOENT);
  expect_thrown_as<asyncio::InterruptedError>(EINTR);
  expect_thrown_as<asyncio::IsADirectoryError>(EISDIR);
  expect_thrown_as<asyncio::NotADirectoryError>(ENOTDIR);
  expect_thrown_as<asyncio::PermissionError>(EACCES);
  expect_thrown_as<asyncio::PermissionError>(EPERM);
  expect_thrown_as<asyncio::ProcessLookupError>(ESRCH);
  expect_thrown_as<asyncio::TimeoutError>(ETIMEDOUT);
}

TEST(OSError, AnAsyncioTimeoutIsAnOSErrorAsInPython311) {
  try {
    throw asyncio::TimeoutError("timeout expired");
  } catch (const asyncio::OSError& e) {
    EXPECT_STREQ(e.what(), "timeout expired");
    EXPECT_EQ(e.errno_value(), ETIMEDOUT);
    EXPECT_EQ(e.operation(), "");
  }
}

TEST(OSError, ConnectionErrorsShareTheConnectionErrorBase) {
  expect_thrown_as<asyncio::ConnectionError>(EPIPE);
  expect_thrown_as<asyncio::ConnectionError>(ECONNRESET);
  expect_thrown_as<asyncio::ConnectionError>(ECONNREFUSED);
  expect_thrown_as<asyncio::ConnectionError>(ECONNABORTED);
}

TEST(OSError, AnErrnoWithoutASubclassIsAPlainOSError) {
  try {
    asyncio::throw_os_error(EMFILE, "accept");
  } catch (const asyncio::ConnectionError&) {
    ADD_FAILURE() << "EMFILE is not a connection error";
  } catch (const asyncio::OSError& e) {
    EXPECT_EQ(e.errno_value(), EMFILE);
  }
}

TEST(OSError, TheMessageNamesTheOperationTheErrnoAndItsText) {
  try {
    asyncio::throw_os_error(ECONNREFUSED, "connect(127.0.0.1:1)");
  } catch (const asyncio::OSError& e) {
    EXPECT_EQ(std::string(e.what()), "connect(127.0.0.1:1): [Errno 111] Connection refused");
    EXPECT_EQ(e.operation(), "connect(127.0.0.1:1)");
  }
}

TEST(OSError, ItIsAStdSystemErrorInTheGenericCategory) {
  try {
    asyncio::throw_os_error(ECONNRESET, "recv");
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code(), std::errc::connection_reset);
  }
}

TEST(OSError, ThrowLastOsErrorUsesErrno) {
  errno = ENOENT;
  EXPECT_THROW(asyncio::throw_last_os_error("open"), asyncio::FileNotFoundError);
}

}  // namespace

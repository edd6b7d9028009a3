// The http_hello example's request parser: what it accepts, and every malformed request it must
// answer with 400 (or 501 / 431).

#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "http_request.hpp"

namespace {

using http_hello::parse_request;
using http_hello::ParseStatus;

TEST(HttpRequest, ASimpleGetIsCompleteWithItsMethodTargetAndHeadSize) {
  const std::string_view text = "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n";
  const auto r = parse_request(text);
  ASSERT_EQ(r.status, ParseStatus::complete);
  EXPECT_EQ(r.request.method, "GET");
  EXPECT_EQ(r.request.target, "/hello");
  EXPECT_EQ(r.request.minor_version, 1);
  EXPECT_EQ(r.head_size, text.size());
  EXPECT_TRUE(r.request.keep_alive);
  EXPECT_EQ(r.request.content_length, 0u);
}

TEST(HttpRequest, AHeadNotYetCompleteIsIncomplete) {
  EXPECT_EQ(parse_request("GET / HTTP/1.1\r\nHost: x\r\n").status, ParseStatus::incomplete);
  EXPECT_EQ(parse_request("").status, ParseStatus::incomplete);
}

TEST(HttpRequest, APipelinedSecondRequestIsLeftInTheBuffer) {
  const std::string_view first = "GET /a HTTP/1.1\r\nHost: x\r\n\r\n";
  const std::string text = std::string(first) + "GET /b HTTP/1.1\r\nHost: x\r\n\r\n";
  const auto r = parse_request(text);
  ASSERT_EQ(r.status, ParseStatus::complete);
  EXPECT_EQ(r.head_size, first.size());
  EXPECT_EQ(r.request.target, "/a");
}

TEST(HttpRequest, ContentLengthGivesTheBodySize) {
  const auto r = parse_request("POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 12\r\n\r\nhello world!");
  ASSERT_EQ(r.status, ParseStatus::complete);
  EXPECT_EQ(r.request.content_length, 12u);
}

TEST(HttpRequest, ConnectionCloseEndsKeepAliveOnHttp11) {
  const auto r = parse_request("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  ASSERT_EQ(r.status, ParseStatus::complete);
  EXPECT_FALSE(r.request.keep_alive);
}

TEST(HttpRequest, Http10IsKeptAliveOnlyWhenItAsks) {
  const auto plain = parse_request("GET / HTTP/1.0\r\n\r\n");
  ASSERT_EQ(plain.status, ParseStatus::complete);
  EXPECT_FALSE(plain.request.keep_alive);
  const auto asks = parse_request("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n");
  ASSERT_EQ(asks.status, ParseStatus::complete);
  EXPECT_TRUE(asks.request.keep_alive);
}

TEST(HttpRequest, HeaderNamesAreCaseInsensitiveAndValuesAreTrimmed) {
  const auto r = parse_request("GET / HTTP/1.1\r\nhOsT: x\r\ncontent-LENGTH:   3  \r\n\r\nabc");
  ASSERT_EQ(r.status, ParseStatus::complete);
  EXPECT_EQ(r.request.content_length, 3u);
}

struct Malformed {
  const char* name;
  const char* text;
};

class HttpMalformed : public ::testing::TestWithParam<Malformed> {};

TEST_P(HttpMalformed, IsABadRequestWithAReason) {
  const auto r = parse_request(GetParam().text);
  EXPECT_EQ(r.status, ParseStatus::bad_request) << GetParam().text;
  EXPECT_FALSE(r.error.empty());
}

INSTANTIATE_TEST_SUITE_P(
    HttpRequest, HttpMalformed,
    ::testing::Values(
        Malformed{"NoVersion", "GET /\r\nHost: x\r\n\r\n"},
        Malformed{"TwoSpaces", "GET  / HTTP/1.1\r\nHost: x\r\n\r\n"},
        Malformed{"ExtraField", "GET / HTTP/1.1 extra\r\nHost: x\r\n\r\n"},
        Malformed{"UnknownVersion", "GET / HTTP/2.0\r\nHost: x\r\n\r\n"},
        Malformed{"LowercaseVersion", "GET / http/1.1\r\nHost: x\r\n\r\n"},
        Malformed{"BadMethod", "G(T / HTTP/1.1\r\nHost: x\r\n\r\n"},
        Malformed{"EmptyLineFirst", "\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n"},
        Malformed{"ControlInTarget", "GET /a\x01 HTTP/1.1\r\nHost: x\r\n\r\n"},
        Malformed{"NoColon", "GET / HTTP/1.1\r\nHost x\r\n\r\n"},
        Malformed{"SpaceBeforeColon", "GET / HTTP/1.1\r\nHost : x\r\n\r\n"},
        Malformed{"EmptyName", "GET / HTTP/1.1\r\n: x\r\nHost: x\r\n\r\n"},
        Malformed{"LineFolding", "GET / HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n"},
        Malformed{"ControlInValue", "GET / HTTP/1.1\r\nHost: x\x7f\r\n\r\n"},
        Malformed{"BareLf", "GET / HTTP/1.1\nHost: x\n\n"},
        Malformed{"BareLfInsideAField", "GET / HTTP/1.1\r\nHost: x\nX: y\r\n\r\n"},
        Malformed{"BareCr", "GET / HTTP/1.1\r\nHost: x\ry\r\n\r\n"},
        Malformed{"NegativeLength", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n"},
        Malformed{"NonNumericLength", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1a\r\n\r\n"},
        Malformed{"EmptyLength", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length:\r\n\r\n"},
        Malformed{"ConflictingLengths", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"},
        Malformed{"HugeLength", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999999\r\n\r\n"},
        Malformed{"LengthOfTwoToThe63", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 9223372036854775808\r\n\r\n"},
        Malformed{"LengthOfTwoToThe64MinusOne",
                  "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 18446744073709551615\r\n\r\n"},
        Malformed{"NoHostOnHttp11", "GET / HTTP/1.1\r\n\r\n"},
        Malformed{"TwoHosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"}),
    [](const ::testing::TestParamInfo<Malformed>& info) { return std::string(info.param.name); });

TEST(HttpRequest, TransferEncodingIsNotImplemented) {
  const auto r = parse_request("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n");
  EXPECT_EQ(r.status, ParseStatus::not_implemented);
}

TEST(HttpRequest, AHeadLargerThanTheLimitIsTooLargeEvenBeforeItEnds) {
  const std::string big = "GET / HTTP/1.1\r\nHost: x\r\nX: " + std::string(http_hello::kMaxHeadSize, 'a');
  EXPECT_EQ(parse_request(big).status, ParseStatus::too_large);
  EXPECT_EQ(parse_request(big + "\r\n\r\n").status, ParseStatus::too_large);
}

TEST(HttpRequest, ABareLfIsRefusedBeforeTheHeadIsComplete) {
  EXPECT_EQ(parse_request("GET / HTTP/1.1\nHost").status, ParseStatus::bad_request);
}

TEST(HttpRequest, ConnectionCloseEndsKeepAliveWhateverOrderTheFieldsComeIn) {
  for (const char* text : {"GET / HTTP/1.0\r\nConnection: close\r\nConnection: keep-alive\r\n\r\n",
                           "GET / HTTP/1.0\r\nConnection: keep-alive\r\nConnection: close\r\n\r\n",
                           "GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n"}) {
    const auto r = parse_request(text);
    ASSERT_EQ(r.status, ParseStatus::complete) << text;
    EXPECT_FALSE(r.request.keep_alive) << text;
  }
}

TEST(HttpRequest, ExpectHundredContinueIsRecognisedWhateverItsCase) {
  const auto r = parse_request("POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-Continue\r\nContent-Length: 3\r\n\r\n");
  ASSERT_EQ(r.status, ParseStatus::complete);
  EXPECT_EQ(r.request.expect, http_hello::Expectation::continue_100);
}

TEST(HttpRequest, AnyOtherExpectationIsUnsupported) {
  const auto r = parse_request("POST / HTTP/1.1\r\nHost: x\r\nExpect: 200-ok\r\n\r\n");
  ASSERT_EQ(r.status, ParseStatus::complete);
  EXPECT_EQ(r.request.expect, http_hello::Expectation::unsupported);
}

TEST(HttpRequest, TwoExpectFieldsAreABadRequest) {
  const auto r = parse_request("POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nExpect: 100-continue\r\n\r\n");
  EXPECT_EQ(r.status, ParseStatus::bad_request);
}

TEST(HttpRequest, ABareLfIsABadRequestEvenAfterAFieldThatIsNotImplemented) {
  // The same status whether the head is parsed as it arrives or whole.
  const std::string text = "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nX: a\nb\r\n\r\n";
  EXPECT_EQ(parse_request(text).status, ParseStatus::bad_request);
  EXPECT_EQ(parse_request(text.substr(0, text.find("b\r\n"))).status, ParseStatus::bad_request);
}

TEST(HttpRequest, ABareLfWithinTheFirst8KiBIsABadRequestEvenIfTheHeadIsTooLarge) {
  const std::string text = "GET / HTTP/1.1\nHost: x\r\nX: " + std::string(http_hello::kMaxHeadSize, 'a') + "\r\n\r\n";
  EXPECT_EQ(parse_request(text).status, ParseStatus::bad_request);
  EXPECT_EQ(parse_request(text.substr(0, http_hello::kMaxHeadSize + 10)).status, ParseStatus::bad_request);
}

}  // namespace

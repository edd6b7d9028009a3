#pragma once
/// The HTTP/1.1 request head parser of the http_hello example: enough of RFC 9112 to serve
/// keep-alive GET and POST requests, and strict, so that every malformed request gets a 400 (a
/// server that guesses what a broken request meant is how request smuggling starts).
///
/// What it accepts: a request line `METHOD SP request-target SP HTTP/1.x CRLF`, header fields
/// `name: value CRLF` (a token name, no space before the colon, optional whitespace around the
/// value), an empty line. A body is allowed only with Content-Length (at most 2^63 - 1);
/// Transfer-Encoding is refused with 501. Lines end with CRLF: a bare LF is an error, reported as
/// soon as it is seen, before the head is complete. The head is at most 8 KiB.

#include <cstddef>
#include <string_view>

namespace http_hello {

/// What the Expect field asks for (RFC 9110 10.1.1): nothing, "100-continue" (the client waits for
/// an interim 100 before sending the body), or something this server cannot meet (answer 417).
enum class Expectation { none, continue_100, unsupported };

/// A parsed request head. The views point into the buffer given to parse_request().
struct Request {
  std::string_view method;
  std::string_view target;
  int minor_version = 1;   ///< HTTP/1.0 -> 0, HTTP/1.1 -> 1
  bool keep_alive = true;  ///< HTTP/1.1 unless "Connection: close"; HTTP/1.0 only with "keep-alive"
  std::size_t content_length = 0;
  Expectation expect = Expectation::none;  ///< the Expect field
};

enum class ParseStatus {
  incomplete,       ///< the head is not complete yet: read more (or 431 past kMaxHeadSize)
  complete,         ///< `request` and `head_size` are set; the body (content_length bytes) follows
  bad_request,      ///< answer 400 and close: `error` says what was wrong
  not_implemented,  ///< answer 501 and close (Transfer-Encoding)
  too_large,        ///< answer 431 and close: the head exceeds kMaxHeadSize
};

struct ParseResult {
  ParseStatus status = ParseStatus::incomplete;
  std::size_t head_size = 0;  ///< bytes of the head, the final CRLF CRLF included
  Request request;
  std::string_view error;  ///< for bad_request / not_implemented / too_large: a static text
};

/// The largest request head accepted.
inline constexpr std::size_t kMaxHeadSize = 8192;

/// Parses the request head at the start of `buffer` (which may hold more: a pipelined request or
/// the body).
ParseResult parse_request(std::string_view buffer) noexcept;

}  // namespace http_hello

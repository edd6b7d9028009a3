#include "http_request.hpp"

#include <algorithm>
#include <charconv>
#include <cstddef>
#include <limits>

namespace http_hello {

namespace {

// RFC 9110 tchar: the characters of a token (method, header name).
bool is_tchar(char c) noexcept {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  switch (c) {
    case '!':
    case '#':
    case '$':
    case '%':
    case '&':
    case '\'':
    case '*':
    case '+':
    case '-':
    case '.':
    case '^':
    case '_':
    case '`':
    case '|':
    case '~':
      return true;
    default:
      return false;
  }
}

bool is_token(std::string_view s) noexcept {
  if (s.empty()) return false;
  for (char c : s) {
    if (!is_tchar(c)) return false;
  }
  return true;
}

// Visible characters (and, in field values, spaces and tabs): no controls, no DEL.
bool is_vchar(char c) noexcept { return static_cast<unsigned char>(c) > 0x20 && c != 0x7f; }

bool is_field_value(std::string_view s) noexcept {
  for (char c : s) {
    if (!(is_vchar(c) || c == ' ' || c == '\t' || static_cast<unsigned char>(c) >= 0x80)) return false;
  }
  return true;
}

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i];
    char y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Whether a comma-separated Connection value lists `option`.
bool lists(std::string_view value, std::string_view option) noexcept {
  while (!value.empty()) {
    const std::size_t comma = value.find(',');
    if (iequals(trim(value.substr(0, comma)), option)) return true;
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return false;
}

ParseResult fail(ParseStatus status, std::string_view error) noexcept {
  ParseResult r;
  r.status = status;
  r.error = error;
  return r;
}

}  // namespace

ParseResult parse_request(std::string_view buffer) noexcept {
  const std::size_t end = buffer.find("\r\n\r\n");
  // A bare LF in the head makes the request malformed, whatever else is wrong with it: say so as
  // soon as it is seen (a server parsing a head as it arrives then refuses it at the same byte, and
  // with the same status, as one parsing it whole). Only the first kMaxHeadSize bytes count: past
  // them the head is too large anyway.
  const std::size_t head_end = end == std::string_view::npos ? buffer.size() : end + 4;
  const std::size_t scanned = std::min(head_end, kMaxHeadSize);
  for (std::size_t i = 0; i < scanned; ++i) {
    if (buffer[i] == '\n' && (i == 0 || buffer[i - 1] != '\r')) return fail(ParseStatus::bad_request, "bare LF");
  }
  if (head_end > kMaxHeadSize) return fail(ParseStatus::too_large, "request head too large");
  if (end == std::string_view::npos) return {};
  std::string_view head = buffer.substr(0, end + 2);  // every line with its CRLF

  ParseResult result;
  result.head_size = end + 4;
  Request& req = result.request;

  // Request line.
  std::size_t eol = head.find("\r\n");
  std::string_view line = head.substr(0, eol);
  head.remove_prefix(eol + 2);
  if (line.find('\n') != std::string_view::npos || line.find('\r') != std::string_view::npos) {
    return fail(ParseStatus::bad_request, "bare CR or LF in the request line");
  }
  const std::size_t sp1 = line.find(' ');
  const std::size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos) {
    return fail(ParseStatus::bad_request, "the request line is not METHOD SP target SP version");
  }
  req.method = line.substr(0, sp1);
  req.target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  const std::string_view version = line.substr(sp2 + 1);
  if (!is_token(req.method)) return fail(ParseStatus::bad_request, "bad method");
  if (req.target.empty()) return fail(ParseStatus::bad_request, "empty request target");
  for (char c : req.target) {
    if (!is_vchar(c)) return fail(ParseStatus::bad_request, "bad character in the request target");
  }
  if (version == "HTTP/1.1") {
    req.minor_version = 1;
  } else if (version == "HTTP/1.0") {
    req.minor_version = 0;
  } else {
    return fail(ParseStatus::bad_request, "unsupported HTTP version");
  }
  req.keep_alive = req.minor_version == 1;

  // Header fields.
  bool have_length = false;
  bool have_host = false;
  bool asked_close = false;
  bool asked_keep_alive = false;
  while (!head.empty()) {
    eol = head.find("\r\n");
    line = head.substr(0, eol);
    head.remove_prefix(eol + 2);
    if (line.find('\n') != std::string_view::npos || line.find('\r') != std::string_view::npos) {
      return fail(ParseStatus::bad_request, "bare CR or LF in a header field");
    }
    if (line.front() == ' ' || line.front() == '\t') {
      return fail(ParseStatus::bad_request, "obsolete line folding");
    }
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) return fail(ParseStatus::bad_request, "header field without a colon");
    const std::string_view name = line.substr(0, colon);
    if (!is_token(name)) return fail(ParseStatus::bad_request, "bad header field name");
    const std::string_view value = trim(line.substr(colon + 1));
    if (!is_field_value(value)) return fail(ParseStatus::bad_request, "bad character in a header field value");

    if (iequals(name, "content-length")) {
      std::size_t n = 0;
      const auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
      if (value.empty() || ec != std::errc() || ptr != value.data() + value.size()) {
        return fail(ParseStatus::bad_request, "bad Content-Length");
      }
      // A length no read can ask for (a signed size) is refused here, not wrapped negative later.
      if (n > static_cast<std::size_t>(std::numeric_limits<std::ptrdiff_t>::max())) {
        return fail(ParseStatus::bad_request, "Content-Length out of range");
      }
      if (have_length && n != req.content_length) return fail(ParseStatus::bad_request, "conflicting Content-Length");
      have_length = true;
      req.content_length = n;
    } else if (iequals(name, "transfer-encoding")) {
      return fail(ParseStatus::not_implemented, "Transfer-Encoding is not supported");
    } else if (iequals(name, "connection")) {
      asked_close = asked_close || lists(value, "close");
      asked_keep_alive = asked_keep_alive || lists(value, "keep-alive");
    } else if (iequals(name, "expect")) {
      if (req.expect != Expectation::none) return fail(ParseStatus::bad_request, "more than one Expect field");
      req.expect = iequals(value, "100-continue") ? Expectation::continue_100 : Expectation::unsupported;
    } else if (iequals(name, "host")) {
      if (have_host) return fail(ParseStatus::bad_request, "more than one Host field");
      have_host = true;
    }
  }
  if (req.minor_version == 1 && !have_host) return fail(ParseStatus::bad_request, "HTTP/1.1 request without Host");
  // RFC 9112 9.3: "close" ends the connection whatever else the fields say, in any order.
  if (asked_keep_alive && req.minor_version == 0) req.keep_alive = true;
  if (asked_close) req.keep_alive = false;
  result.status = ParseStatus::complete;
  return result;
}

}  // namespace http_hello

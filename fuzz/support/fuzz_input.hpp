#pragma once
/// FuzzInput: reads a fuzzer's bytes as a sequence of small decisions. Every read succeeds: past
/// the end it returns zeros (the lowest choice), so any input decodes to some program and the
/// harness never has to reject one. Shared by every harness, in both builds (libFuzzer, and the
/// corpus replay that the normal test suite runs with g++ or clang).

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace asyncio_fuzz {

class FuzzInput {
 public:
  FuzzInput(const std::uint8_t* data, std::size_t size) noexcept : data_(data), size_(size) {}

  [[nodiscard]] bool empty() const noexcept { return pos_ >= size_; }
  [[nodiscard]] std::size_t remaining() const noexcept { return empty() ? 0 : size_ - pos_; }

  std::uint8_t byte() noexcept { return empty() ? 0 : data_[pos_++]; }

  /// A value in [0, n) (n >= 1), from one byte (or two when n > 256).
  std::size_t below(std::size_t n) noexcept {
    if (n <= 1) return 0;
    std::size_t v = byte();
    if (n > 256) v = (v << 8) | byte();
    return v % n;
  }

  /// A value in [lo, hi].
  std::int64_t range(std::int64_t lo, std::int64_t hi) noexcept {
    return lo + static_cast<std::int64_t>(below(static_cast<std::size_t>(hi - lo + 1)));
  }

  bool flag() noexcept { return (byte() & 1) != 0; }

  /// Up to `max` bytes, the length read first.
  std::string bytes(std::size_t max) {
    const std::size_t n = below(max + 1);
    std::string out;
    out.reserve(n);
    for (std::size_t i = 0; i < n && !empty(); ++i) out.push_back(static_cast<char>(byte()));
    return out;
  }

  /// Everything left.
  std::string_view rest() noexcept {
    if (empty()) return {};
    std::string_view out(reinterpret_cast<const char*>(data_ + pos_), size_ - pos_);
    pos_ = size_;
    return out;
  }

 private:
  const std::uint8_t* data_;
  std::size_t size_;
  std::size_t pos_ = 0;
};

}  // namespace asyncio_fuzz

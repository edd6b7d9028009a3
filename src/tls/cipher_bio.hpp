#pragma once
// The two BIOs between OpenSSL and the plain transport, in place of OpenSSL's memory BIOs, which
// cost more than the bytes: BIO_write zero-fills the room it grows into before copying into it,
// and BIO_reset zero-fills the whole allocation, so that after one large burst every later record
// paid a memset of it (21 us per small write after a 1 MiB burst, measured on this machine). These
// append and consume without clearing anything, and the plain transport reads straight into the
// incoming one (one copy fewer than reading into a scratch buffer and BIO_write).

#include <openssl/bio.h>

#include <cstddef>
#include <memory>
#include <span>
#include <string>

namespace asyncio::detail {

/// Ciphertext received and not yet read by OpenSSL: written at the back by the plain transport
/// (prepare/commit, as BufferedProtocol's get_buffer/buffer_updated), read from the front by
/// OpenSSL through make_input_bio().
class CipherInput {
 public:
  /// Uninitialized room for at least `n` more bytes at the back (the buffer grows, or moves what
  /// it holds to the front, as needed). Valid until the next prepare().
  std::span<char> prepare(std::size_t n);
  /// `n` bytes were written into what prepare() gave.
  void commit(std::size_t n) noexcept { end_ += n; }
  /// Copies up to `n` bytes from the front into `out` and drops them; how many.
  std::size_t read(char* out, std::size_t n) noexcept;
  [[nodiscard]] std::size_t size() const noexcept { return end_ - begin_; }

 private:
  std::unique_ptr<char[]> data_;
  std::size_t capacity_ = 0;
  std::size_t begin_ = 0;  // the first byte not yet read
  std::size_t end_ = 0;    // one past the last byte written
};

/// A source BIO over `input`: a read takes from its front; an empty input makes OpenSSL retry
/// (want read), as a memory BIO with eof_return -1 does. `input` must outlive the BIO.
BIO* make_input_bio(CipherInput& input);

/// A sink BIO that appends what OpenSSL writes to `output`; its pending count is output.size().
/// `output` must outlive the BIO.
BIO* make_output_bio(std::string& output);

}  // namespace asyncio::detail

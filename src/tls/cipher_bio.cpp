// The BIOs of cipher_bio.hpp.

#include "cipher_bio.hpp"

#include <algorithm>
#include <cstring>

namespace asyncio::detail {

std::span<char> CipherInput::prepare(std::size_t n) {
  if (capacity_ - end_ < n) {
    const std::size_t held = size();
    if (capacity_ - held >= n && begin_ > 0) {
      std::memmove(data_.get(), data_.get() + begin_, held);
    } else {
      const std::size_t grown = std::max(capacity_ * 2, held + n);
      std::unique_ptr<char[]> bigger(new char[grown]);  // uninitialized on purpose: it is written next
      if (held > 0) std::memcpy(bigger.get(), data_.get() + begin_, held);
      data_ = std::move(bigger);
      capacity_ = grown;
    }
    begin_ = 0;
    end_ = held;
  }
  return {data_.get() + end_, capacity_ - end_};
}

std::size_t CipherInput::read(char* out, std::size_t n) noexcept {
  const std::size_t k = std::min(n, size());
  if (k > 0) std::memcpy(out, data_.get() + begin_, k);
  begin_ += k;
  if (begin_ == end_) begin_ = end_ = 0;  // empty: the next bytes go to the front
  return k;
}

namespace {

int input_read(BIO* bio, char* out, std::size_t n, std::size_t* done) {
  BIO_clear_retry_flags(bio);
  auto* input = static_cast<CipherInput*>(BIO_get_data(bio));
  *done = input->read(out, n);
  if (*done == 0) {
    BIO_set_retry_read(bio);  // the records have not come yet
    return 0;
  }
  return 1;
}

long input_ctrl(BIO* bio, int cmd, long, void*) {
  switch (cmd) {
    case BIO_CTRL_PENDING:
      return static_cast<long>(static_cast<CipherInput*>(BIO_get_data(bio))->size());
    case BIO_CTRL_FLUSH:
      return 1;
    default:
      return 0;
  }
}

int output_write(BIO* bio, const char* data, std::size_t n, std::size_t* done) {
  BIO_clear_retry_flags(bio);
  static_cast<std::string*>(BIO_get_data(bio))->append(data, n);
  *done = n;
  return 1;
}

long output_ctrl(BIO* bio, int cmd, long, void*) {
  switch (cmd) {
    case BIO_CTRL_PENDING:
    case BIO_CTRL_WPENDING:
      return static_cast<long>(static_cast<std::string*>(BIO_get_data(bio))->size());
    case BIO_CTRL_FLUSH:
      return 1;
    default:
      return 0;
  }
}

int created(BIO* bio) {
  BIO_set_init(bio, 1);
  return 1;
}

// Made once per process and never freed (OpenSSL keeps no reference to free them with).
const BIO_METHOD* input_method() {
  static BIO_METHOD* method = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "asyncio TLS input");
    BIO_meth_set_read_ex(m, input_read);
    BIO_meth_set_ctrl(m, input_ctrl);
    BIO_meth_set_create(m, created);
    return m;
  }();
  return method;
}

const BIO_METHOD* output_method() {
  static BIO_METHOD* method = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "asyncio TLS output");
    BIO_meth_set_write_ex(m, output_write);
    BIO_meth_set_ctrl(m, output_ctrl);
    BIO_meth_set_create(m, created);
    return m;
  }();
  return method;
}

}  // namespace

BIO* make_input_bio(CipherInput& input) {
  BIO* bio = BIO_new(input_method());
  if (bio != nullptr) BIO_set_data(bio, &input);
  return bio;
}

BIO* make_output_bio(std::string& output) {
  BIO* bio = BIO_new(output_method());
  if (bio != nullptr) BIO_set_data(bio, &output);
  return bio;
}

}  // namespace asyncio::detail

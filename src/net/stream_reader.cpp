// StreamReader: CPython 3.13 Lib/asyncio/streams.py StreamReader, over a buffer with a read offset.

#include "asyncio/net/stream_reader.hpp"

#include <algorithm>
#include <cstring>
#include <string>
#include <typeinfo>
#include <utility>

#include "asyncio/detail/describe.hpp"
#include "asyncio/exceptions.hpp"
#include "asyncio/loop/event_loop.hpp"
#include "asyncio/net/transport.hpp"

namespace asyncio {

namespace detail {

Separators::Separators(std::span<const std::string_view> many) : count_(many.size()) {
  if (count_ == 1) {
    one_ = many[0];
    return;
  }
  many_.reserve(count_);
  for (std::string_view s : many) many_.emplace_back(s);
  // CPython: sorted(separator, key=len), a stable sort, so that the shortest match wins.
  std::stable_sort(many_.begin(), many_.end(),
                   [](const std::string& a, const std::string& b) { return a.size() < b.size(); });
}

void StreamBuffer::prepare_append(std::size_t incoming) {
  if (start_ == data_.size()) {
    data_.clear();
    start_ = 0;
  } else if (start_ != 0 && data_.size() + incoming > data_.capacity()) {
    // The append would reallocate: slide the unread bytes to the front first, which may make room.
    data_.erase(0, start_);
    start_ = 0;
  }
}

void StreamBuffer::append(std::string_view bytes) {
  prepare_append(bytes.size());
  data_.append(bytes);
}

void StreamBuffer::append(std::string&& bytes) {
  // Adopt the string only if that does not give up a larger allocation of our own.
  if (empty() && bytes.capacity() >= data_.capacity()) {
    data_ = std::move(bytes);
    start_ = 0;
    return;
  }
  append(std::string_view(bytes));
}

std::string StreamBuffer::take(std::size_t n) {
  consumed_ += n;
  // All of it, from the front, large, and filling at least half of the allocation: hand the
  // allocation over instead of copying. Below kMoveThreshold a copy is cheaper: the result costs
  // one allocation either way, and a kept buffer takes the next append without reallocating.
  if (n >= kMoveThreshold && start_ == 0 && n == data_.size() && n >= data_.capacity() / 2) {
    std::string out = std::move(data_);
    data_.clear();
    return out;
  }
  std::string out(data_.data() + start_, n);
  start_ += n;
  return out;
}

void StreamBuffer::unread(std::string&& bytes) {
  if (bytes.empty()) return;
  consumed_ -= bytes.size();
  if (empty()) {
    data_ = std::move(bytes);
    start_ = 0;
  } else if (start_ >= bytes.size()) {
    start_ -= bytes.size();
    data_.replace(start_, bytes.size(), bytes);
  } else {
    bytes.append(view());
    data_ = std::move(bytes);
    start_ = 0;
  }
}

void StreamBuffer::reserve(std::size_t n) {
  if (data_.capacity() - start_ >= n) return;
  if (start_ != 0) {
    data_.erase(0, start_);
    start_ = 0;
  }
  data_.reserve(n);
}

}  // namespace detail

/// One wait for data inside a reading coroutine (CPython's _wait_for_data): begin_wait() when
/// built, end_wait() when destroyed, however the wait ends (woken, failed, cancelled, or the frame
/// destroyed with its task). A local of the waiting coroutine's frame.
class StreamReader::WaitScope {
 public:
  WaitScope(StreamReader& reader, const char* function) : future(reader.begin_wait(function)), reader_(reader) {}
  WaitScope(const WaitScope&) = delete;
  WaitScope& operator=(const WaitScope&) = delete;
  ~WaitScope() { reader_.end_wait(future, woken); }

  Future<void> future;
  /// Set by the reading coroutine once `co_await future` returned.
  bool woken = false;

 private:
  StreamReader& reader_;
};

/// Where a scan for a separator stopped, as a stream offset (see until()).
class StreamReader::ScanPosition {
 public:
  explicit ScanPosition(const StreamReader& reader) noexcept
      : to_(reader.buffer_.consumed()), rewinds_(reader.rewinds_) {}
  /// The bytes at the front of the buffer already scanned (none once bytes were put back).
  [[nodiscard]] std::size_t offset(const StreamReader& reader) noexcept {
    const std::uint64_t consumed = reader.buffer_.consumed();
    if (rewinds_ != reader.rewinds_) {
      rewinds_ = reader.rewinds_;
      to_ = consumed;
    }
    return to_ > consumed ? static_cast<std::size_t>(std::min<std::uint64_t>(to_ - consumed, reader.buffer_.size()))
                          : 0;
  }
  void store(const StreamReader& reader, std::size_t offset) noexcept { to_ = reader.buffer_.consumed() + offset; }

 private:
  std::uint64_t to_;
  std::uint64_t rewinds_;
};

void detail::ReadWait::forget_task() noexcept {
  task = nullptr;
  if (reader != nullptr && reader->task_waiter_ == this) reader->task_waiter_ = nullptr;
}

bool detail::ReadWait::still_waiting() noexcept {
  if (reader == nullptr) return true;  // the reader went: nothing will end this read (see ~StreamReader)
  if (reader->buffer_.consumed() == woken_at) return false;  // nothing read since the wake-up
  if (reader->task_read_can_end(*this) || reader->waiter_ || reader->task_waiter_ != nullptr) return false;
  if (reader->paused_) {  // as begin_wait
    reader->paused_ = false;
    reader->transport_->resume_reading();
  }
  reader->task_waiter_ = this;
  return true;
}

bool StreamReader::task_read_can_end(const detail::ReadWait& wait) const noexcept {
  if (wait.line) return line_read_can_end();
  return exception_ || eof_ || !buffer_.empty();
}

bool StreamReader::line_read_can_end() const noexcept {
  if (exception_ || eof_ || buffer_.size() > limit_) return true;
  // The scans stop their clean prefix at the newline they find: usually that byte is the answer.
  const std::string_view unscanned = buffer_.view().substr(newline_free_prefix());
  if (!unscanned.empty() && unscanned.front() == '\n') return true;
  return std::memchr(unscanned.data(), '\n', unscanned.size()) != nullptr;
}

bool StreamReader::chunk_has_newline(std::string_view data) noexcept {
  const void* newline = std::memchr(data.data(), '\n', data.size());
  const std::uint64_t end = buffer_.consumed() + buffer_.size();
  // (An offset behind the buffer's start means a clean prefix of nothing, which an empty buffer
  // still lets the chunk extend.)
  if (std::max(newline_free_to_, buffer_.consumed()) >= end) {  // the clean prefix reaches the chunk
    newline_free_to_ =
        end + (newline ? static_cast<std::size_t>(static_cast<const char*>(newline) - data.data()) : data.size());
  }
  return newline != nullptr;
}

void StreamReader::another_read_waits(const char* function) {
  throw RuntimeError(std::string(function) + "() called while another coroutine is already waiting for incoming data");
}

void StreamReader::begin_task_wait(detail::ReadWait& wait, detail::TaskBase& task, const char* function) {
  if (waiter_ || task_waiter_ != nullptr) another_read_waits(function);
  if (paused_) {  // as begin_wait
    paused_ = false;
    transport_->resume_reading();
  }
  wait.reader = this;
  wait.task = &task;
  task_waiter_ = &wait;
}

Future<void> StreamReader::begin_wait(const char* function) {
  if (waiter_ || task_waiter_ != nullptr) another_read_waits(function);
  // Waiting while paused would deadlock (readexactly(n) with n > 2 * limit needs more than the
  // pause allows): resume first, as CPython does.
  if (paused_) {
    paused_ = false;
    transport_->resume_reading();
  }
  waiter_ = Future<void>(get_running_loop());
  return waiter_;
}

void StreamReader::end_wait(const Future<void>& waiter, bool woken) noexcept {
  // Only this wait's waiter: after a wake-up another read may have started waiting before this
  // task resumed (CPython's `finally: self._waiter = None` would clear that one too).
  if (waiter_ == waiter) waiter_ = Future<void>();
  // Left without returning normally: set_exception() may have completed the waiter just as the
  // task was cancelled. The reader keeps the exception for the next read, so it is not lost:
  // mark the waiter's copy retrieved.
  if (!woken && waiter.done() && !waiter.cancelled()) (void)Future<void>(waiter).exception();
}

StreamReader::~StreamReader() {
  if (task_waiter_ != nullptr) task_waiter_->reader = nullptr;
}

StreamReader::StreamReader(std::ptrdiff_t limit) : limit_(static_cast<std::size_t>(limit)) {
  if (limit <= 0) throw ValueError("Limit cannot be <= 0");
}

void StreamReader::set_exception(std::exception_ptr exception) {
  exception_ = exception;
  if (!exception) return;
  if (task_waiter_ != nullptr) {  // its read raises exception_ when it resumes
    wakeup_waiter();
    return;
  }
  if (!waiter_) return;
  Future<void> waiter = std::exchange(waiter_, Future<void>());
  if (!waiter.done()) waiter.set_exception(std::move(exception));
}

void StreamReader::wakeup_waiter() {
  if (task_waiter_ != nullptr) {
    // The task keeps its ReadWait (wait->task) until it runs: still_waiting() decides then.
    detail::ReadWait* wait = std::exchange(task_waiter_, nullptr);
    wait->woken_at = buffer_.consumed();
    wait->task->wake_external_hint();
    return;
  }
  if (!waiter_) return;
  Future<void> waiter = std::exchange(waiter_, Future<void>());
  if (!waiter.done()) waiter.set_result();
}

void StreamReader::set_transport(ReadTransport* transport) {
  if (transport != nullptr && transport_ != nullptr) throw RuntimeError("Transport already set");
  transport_ = transport;
  if (transport == nullptr) paused_ = false;
}

void StreamReader::maybe_resume_transport() {
  if (paused_ && buffer_.size() <= limit_) {
    paused_ = false;
    transport_->resume_reading();
  }
}

void StreamReader::feed_eof() {
  eof_ = true;
  wakeup_waiter();
}

void StreamReader::feed_data(std::string_view data) {
  if (eof_) throw RuntimeError("feed_data after feed_eof");
  if (data.empty()) return;
  const bool wake = task_waiter_ == nullptr || !task_waiter_->line || chunk_has_newline(data);
  buffer_.append(data);
  if (wake || buffer_.size() > limit_) wakeup_waiter();
  if (transport_ != nullptr && !paused_ && buffer_.size() > 2 * limit_) {
    transport_->pause_reading();
    paused_ = true;
  }
}

void StreamReader::feed_data(std::string&& data) {
  if (eof_) throw RuntimeError("feed_data after feed_eof");
  if (data.empty()) return;
  const bool wake = task_waiter_ == nullptr || !task_waiter_->line || chunk_has_newline(data);
  buffer_.append(std::move(data));
  if (wake || buffer_.size() > limit_) wakeup_waiter();
  if (transport_ != nullptr && !paused_ && buffer_.size() > 2 * limit_) {
    transport_->pause_reading();
    paused_ = true;
  }
}

std::string StreamReader::take(std::size_t n) {
  std::string out = buffer_.take(n);
  maybe_resume_transport();
  return out;
}

bool StreamReader::try_now(OpKind kind, std::ptrdiff_t n, std::string& out) {
  switch (kind) {
    case OpKind::read:
      if (exception_) std::rethrow_exception(exception_);
      if (n == 0) return true;
      if (n < 0) {
        if (!eof_) return false;  // everything until EOF: wait for it
        out = take(buffer_.size());
        return true;
      }
      if (buffer_.empty() && !eof_) return false;
      out = take(std::min(static_cast<std::size_t>(n), buffer_.size()));
      return true;
    case OpKind::readexactly: {
      if (n < 0) throw ValueError("readexactly size can not be less than zero");
      if (exception_) std::rethrow_exception(exception_);
      if (n == 0) return true;
      const auto wanted = static_cast<std::size_t>(n);
      if (buffer_.size() >= wanted) {
        out = take(wanted);
        return true;
      }
      if (eof_) throw IncompleteReadError(buffer_.take(buffer_.size()), wanted);
      return false;
    }
    case OpKind::readline: {
      if (exception_) std::rethrow_exception(exception_);
      if (buffer_.empty() && !eof_) return false;
      std::size_t offset = 0;
      const std::size_t length = until_scan(nullptr, true, offset);
      if (length == std::string_view::npos) return false;
      out = take(length);
      return true;
    }
    case OpKind::read_view:
    case OpKind::readline_view:
      break;
  }
  throw InvalidStateError("StreamReader: no such read");
}

bool StreamReader::try_now(OpKind kind, std::ptrdiff_t n, std::string_view& out) {
  if (exception_) std::rethrow_exception(exception_);
  if (kind == OpKind::readline_view) {
    if (buffer_.empty() && !eof_) return false;
    std::size_t offset = 0;
    const std::size_t length = until_scan(nullptr, true, offset);
    if (length == std::string_view::npos) return false;
    out = finish_read_view(length);
    return true;
  }
  if (n == 0) return true;
  if (buffer_.empty() && !eof_) return false;
  out = finish_read_view(static_cast<std::size_t>(n));
  return true;
}

std::string StreamReader::finish_read(std::size_t n) { return take(std::min(n, buffer_.size())); }

std::string_view StreamReader::finish_read_view(std::size_t n) {
  const std::string_view view = buffer_.view().substr(0, n);
  buffer_.consume(view.size());
  // The view stays valid: resume_reading() only re-arms the transport's reader (transports
  // deliver data from their own loop callbacks), and consuming moved nothing.
  maybe_resume_transport();
  return view;
}

AsyncGenerator<std::string> StreamReader::lines() {
  for (;;) {
    std::string line = co_await readline();
    if (line.empty()) co_return;
    co_yield std::move(line);
  }
}

Coro<std::string> StreamReader::string_slow(OpKind kind, std::ptrdiff_t n) {
  switch (kind) {
    case OpKind::read:
      return read_slow(n);
    case OpKind::readexactly:
      return readexactly_slow(n);
    case OpKind::readline:
      return until(detail::Separators("\n"), true);
    case OpKind::read_view:
    case OpKind::readline_view:
      break;
  }
  throw InvalidStateError("StreamReader: no such read");
}

Coro<std::string> StreamReader::read_slow(std::ptrdiff_t n) {
  if (exception_) std::rethrow_exception(exception_);
  if (n == 0) co_return std::string();

  if (n < 0) {
    // CPython calls read(limit) until it returns b"" (so that a paused transport is resumed as
    // the buffer drains) and joins the blocks; taking whatever is buffered each time is the same
    // result with one copy fewer. Unlike CPython, a read that does not complete (cancelled, an
    // error, its frame destroyed) puts what it took back.
    struct Taken {
      StreamReader& reader;
      std::string bytes;
      bool done = false;
      ~Taken() {
        if (done || bytes.empty()) return;
        reader.buffer_.unread(std::move(bytes));
        reader.newline_free_to_ = reader.buffer_.consumed();  // the bytes put back were never scanned
        ++reader.rewinds_;
        // Another read may have started waiting since these bytes were taken: they may end it. A
        // read parked on its task is woken only if they do (its wake-up promises as much).
        if (reader.task_waiter_ == nullptr || reader.task_read_can_end(*reader.task_waiter_)) reader.wakeup_waiter();
      }
    } all{*this, {}};
    for (;;) {
      if (exception_) std::rethrow_exception(exception_);
      if (buffer_.empty()) {
        if (eof_) break;
        WaitScope wait(*this, "read");
        co_await wait.future;
        wait.woken = true;
        continue;
      }
      if (all.bytes.empty()) {
        all.bytes = take(buffer_.size());
      } else {
        all.bytes.append(buffer_.view());
        buffer_.clear();
        maybe_resume_transport();
      }
    }
    all.done = true;
    co_return std::move(all.bytes);
  }

  // A wake-up is a hint: another task may have taken the data first.
  while (buffer_.empty() && !eof_) {
    WaitScope wait(*this, "read");
    co_await wait.future;
    wait.woken = true;
    if (exception_) std::rethrow_exception(exception_);
  }
  co_return finish_read(static_cast<std::size_t>(n));
}

Coro<std::string_view> StreamReader::read_view_slow(std::size_t n) {
  if (exception_) std::rethrow_exception(exception_);
  if (n == 0) co_return std::string_view();
  while (buffer_.empty() && !eof_) {
    WaitScope wait(*this, "read_view");
    co_await wait.future;
    wait.woken = true;
    if (exception_) std::rethrow_exception(exception_);
  }
  co_return finish_read_view(n);
}

Coro<std::string> StreamReader::readexactly_slow(std::ptrdiff_t n) {
  if (n < 0) throw ValueError("readexactly size can not be less than zero");
  if (exception_) std::rethrow_exception(exception_);
  if (n == 0) co_return std::string();

  const auto wanted = static_cast<std::size_t>(n);
  if (buffer_.size() < wanted) {
    // Room for the whole result now, so that the feeds do not reallocate and the result is handed
    // over without a copy; bounded, so that a length read from the peer cannot make us allocate
    // more than the data that actually arrives (CPython grows the buffer as data comes).
    buffer_.reserve(std::min(wanted, 4 * limit_));
  }
  while (buffer_.size() < wanted) {
    if (eof_) throw IncompleteReadError(buffer_.take(buffer_.size()), wanted);
    WaitScope wait(*this, "readexactly");
    co_await wait.future;
    wait.woken = true;
  }
  co_return take(wanted);
}

Coro<std::string> StreamReader::readuntil(std::string_view separator) {
  return until(detail::Separators(separator), false);
}

Coro<std::string> StreamReader::readuntil(std::span<const std::string_view> separators) {
  return until(detail::Separators(separators), false);
}

void StreamReader::overrun(const char* message, std::size_t consumed, bool line_mode) {
  if (!line_mode) throw LimitOverrunError(message, consumed);
  // readline (CPython): drop the too-long line if its "\n" is buffered, else everything.
  if (buffer_.view().substr(consumed).starts_with('\n')) {
    buffer_.consume(consumed + 1);
  } else {
    buffer_.clear();
  }
  maybe_resume_transport();
  throw ValueError(message);
}

std::size_t StreamReader::until_scan(const detail::Separators* separators, bool line_mode, std::size_t& offset) {
  const std::string_view buffer = buffer_.view();
  if (separators == nullptr) {
    // readline: one byte, a memchr. (CPython's loop below with seplen 1: `offset` stays 0 until
    // the first miss, after which it is the buffer's length.) What is known to hold no newline is
    // not scanned again.
    offset = std::max(offset, newline_free_prefix());
    const std::size_t at = buffer.size() > offset ? buffer.find('\n', offset) : std::string_view::npos;
    if (at != std::string_view::npos) {
      newline_free_to_ = buffer_.consumed() + at;
      if (at > limit_) overrun("Separator is found, but chunk is longer than limit", at, line_mode);
      return at + 1;
    }
    if (!buffer.empty()) {  // no newline in the buffer (some of it seen by an earlier scan)
      offset = buffer.size();
      newline_free_to_ = buffer_.consumed() + offset;
      if (offset > limit_) overrun("Separator is not found, and chunk exceed the limit", offset, line_mode);
    }
  } else {
    const std::size_t count = separators->size();
    const std::size_t min_length = (*separators)[0].size();
    const std::size_t max_length = (*separators)[count - 1].size();
    if (buffer.size() >= offset + min_length) {
      bool found = false;
      std::size_t match_start = 0;
      std::size_t match_end = 0;
      for (std::size_t i = 0; i < count; ++i) {
        const std::string_view separator = (*separators)[i];
        const std::size_t at = buffer.find(separator, offset);
        if (at == std::string_view::npos) continue;
        const std::size_t end = at + separator.size();
        if (!found || end < match_end) {
          found = true;
          match_start = at;
          match_end = end;
        }
      }
      if (found) {
        if (match_start > limit_) {
          overrun("Separator is found, but chunk is longer than limit", match_start, line_mode);
        }
        return match_end;
      }
      // A separator may straddle the end of the buffer: keep its max_length - 1 last bytes.
      offset = buffer.size() + 1 > max_length ? buffer.size() + 1 - max_length : 0;
      if (offset > limit_) overrun("Separator is not found, and chunk exceed the limit", offset, line_mode);
    }
  }
  // Checked after the scan: the last chunk before EOF may complete the separator.
  if (eof_) {
    if (!line_mode) throw IncompleteReadError(buffer_.take(buffer_.size()), std::nullopt);
    return buffer.size();  // readline: the incomplete last line
  }
  return std::string_view::npos;
}

Coro<std::string> StreamReader::until(detail::Separators separators, bool line_mode) {
  const std::size_t count = separators.size();
  if (count == 0) throw ValueError("Separator should contain at least one element");
  if (separators[0].empty()) throw ValueError("Separator should be at least one-byte string");
  if (exception_) std::rethrow_exception(exception_);

  // How far the buffer is known to hold no separator (CPython's `offset`), so that data already
  // scanned is not scanned again after each feed. Kept as a stream offset: CPython's offset into
  // the buffer goes stale when another task reads from the front meanwhile, and then hides a
  // separator (the read hangs) or skips one (it returns several lines as one).
  ScanPosition scanned(*this);
  const detail::Separators* list = line_mode ? nullptr : &separators;
  for (;;) {
    std::size_t offset = scanned.offset(*this);
    const std::size_t n = until_scan(list, line_mode, offset);
    if (n != std::string_view::npos) co_return take(n);
    scanned.store(*this, offset);
    WaitScope wait(*this, "readuntil");
    co_await wait.future;
    wait.woken = true;
  }
}

Coro<std::string_view> StreamReader::readline_view_slow() {
  if (exception_) std::rethrow_exception(exception_);
  ScanPosition scanned(*this);
  for (;;) {
    std::size_t offset = scanned.offset(*this);
    const std::size_t n = until_scan(nullptr, true, offset);
    if (n != std::string_view::npos) co_return finish_read_view(n);
    scanned.store(*this, offset);
    WaitScope wait(*this, "readuntil");
    co_await wait.future;
    wait.woken = true;
  }
}

std::string StreamReader::repr() const {
  std::string s = "<StreamReader";
  if (!buffer_.empty()) s += " " + std::to_string(buffer_.size()) + " bytes";
  if (eof_) s += " eof";
  if (limit_ != stream_default_limit) s += " limit=" + std::to_string(limit_);
  if (waiter_) s += " waiter=" + waiter_.repr();
  if (task_waiter_ != nullptr) {
    s += std::string(" waiter=<") + (task_waiter_->line ? "line read" : "read") + " of " + task_waiter_->task->repr() +
         ">";
  }
  if (exception_) s += " exception=" + detail::describe_exception(exception_);
  if (transport_ != nullptr) s += " transport=<" + detail::type_name(typeid(*transport_)) + ">";
  if (paused_) s += " paused";
  s += ">";
  return s;
}

}  // namespace asyncio

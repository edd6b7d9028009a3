#pragma once
/// StreamReader: Python's asyncio.StreamReader, the reading half of a stream (streams.py). A
/// protocol (StreamReaderProtocol) feeds it what the transport receives; tasks read from it with
/// read(), readline(), readexactly() and readuntil().
///
///   auto reader = std::make_shared<asyncio::StreamReader>();   // usually from open_connection
///   std::string line = co_await reader->readline();             // "" at EOF
///   std::string head = co_await reader->readexactly(4);         // IncompleteReadError at EOF
///   std::string rest = co_await reader->read();                 // everything until EOF
///
/// Ownership: the protocol that feeds a reader and the task that reads it share it, each by a
/// std::shared_ptr (Python shares one object the same way). The reader must outlive every read in
/// progress on it, which holding the shared_ptr while awaiting guarantees.
///
/// Like asyncio, one task at a time may wait for data: a second read that has to wait while
/// another waits raises RuntimeError. A cancelled read loses no data: bytes are taken out of the
/// buffer only once the read completes (read() to EOF, which takes them as they come, puts them
/// back when it does not complete), so the next read gets them; CPython's read() loses them.
/// A wake-up is a hint, as in CPython: a woken read that finds its data gone (another task read
/// it first) waits again. Loop-thread only.
///
/// Flow control (as CPython): when more than 2 * limit bytes are buffered the reader pauses its
/// transport (pause_reading()); once a read brings the buffer down to limit or less, or a read has
/// to wait for data, it resumes it.
///
/// Speed: read(), readline() and readexactly() return an awaitable (Op<std::string>) that answers
/// from the buffer without a coroutine frame when it can; read(n) takes whole large buffers
/// without copying. Zero-copy, not in Python: read_view() and readline_view() return views into
/// the buffer, valid until the reader is next used (in practice, until the task next suspends).

#include <algorithm>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <initializer_list>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "asyncio/coro/async_generator.hpp"
#include "asyncio/coro/coro.hpp"
#include "asyncio/exceptions.hpp"
#include "asyncio/net/stream_errors.hpp"
#include "asyncio/task/future.hpp"
#include "asyncio/task/task_state.hpp"

namespace asyncio {

class ReadTransport;

/// Python's asyncio.streams._DEFAULT_LIMIT: the default line-length limit of a StreamReader, 64 KiB.
inline constexpr std::size_t stream_default_limit = 64 * 1024;

class StreamReader;

namespace detail {

/// The separators of one readuntil() call, owned (a Coro may run after its caller's arguments are
/// gone) and sorted by length, shortest first and stable, so that on equal match ends the
/// shortest separator wins as in CPython. One separator costs no allocation (the common case:
/// readline's "\n").
class Separators {
 public:
  explicit Separators(std::string_view one) : one_(one), count_(1) {}
  explicit Separators(std::span<const std::string_view> many);

  [[nodiscard]] std::size_t size() const noexcept { return count_; }
  [[nodiscard]] std::string_view operator[](std::size_t i) const noexcept {
    return many_.empty() ? std::string_view(one_) : std::string_view(many_[i]);
  }

 private:
  std::string one_;
  std::vector<std::string> many_;  // used when count_ != 1
  std::size_t count_;
};

/// Bytes received and not yet read: a string and the offset of the first unread byte.
///
/// Invariants: the unread bytes are data_[start_, data_.size()); start_ <= data_.size(). Reading
/// only moves start_ (or moves the whole string out, when a large read takes all of it),
/// so a read costs no memmove; the read part is reclaimed at the next append, which first resets
/// an exhausted buffer or, when the append would reallocate, slides the unread bytes to the
/// front. Bytes handed out as a view (StreamReader::read_view) therefore stay untouched until the
/// next append or read.
/// A read parked directly on its task, with no Future and no frame: a line read (readline,
/// readline_view), which the reader wakes only when the read can end (see
/// StreamReader::task_waiter_), or a read of what comes (read(n > 0), read_view), woken by any
/// data. Lives in the read's awaitable, in the waiting coroutine's frame.
class ReadWait final : public ExternalWait {
 public:
  explicit ReadWait(bool line) noexcept : line(line) {}
  ReadWait(const ReadWait&) = delete;
  ReadWait& operator=(const ReadWait&) = delete;
  /// The task was cancelled or abandoned: the reader must not wake it.
  void forget_task() noexcept override;
  /// The reader's wake-up is a hint (another task may read the data first): where the task would
  /// run, parks again unless the read can end now (a line or the limit for a line read, any data
  /// for the others, EOF, an error) or another read now waits (the read then raises RuntimeError,
  /// as CPython's second wait does).
  bool still_waiting() noexcept override;

  StreamReader* reader = nullptr;
  TaskBase* task = nullptr;  // set from parking until the task resumes or is forgotten
  /// The reader's consumed() when it woke the task: while it is unchanged, nothing was read since,
  /// so what woke the task is still there (the common case, answered without a scan).
  std::uint64_t woken_at = 0;
  const bool line;  // waits for a line, else for any data
};

class StreamBuffer {
 public:
  /// take() hands the whole allocation over (no copy) from this size on.
  static constexpr std::size_t kMoveThreshold = 4096;

  [[nodiscard]] std::size_t size() const noexcept { return data_.size() - start_; }
  /// How many bytes have left the front so far (less any put back): the stream offset of the
  /// first unread byte. Positions in the stream stay valid however much is read.
  [[nodiscard]] std::uint64_t consumed() const noexcept { return consumed_; }
  [[nodiscard]] bool empty() const noexcept { return start_ == data_.size(); }
  [[nodiscard]] std::string_view view() const noexcept { return std::string_view(data_).substr(start_); }

  void append(std::string_view bytes);
  /// Adopts `bytes` without copying when the buffer is empty.
  void append(std::string&& bytes);
  /// Removes and returns the first `n` bytes (n <= size()).
  std::string take(std::size_t n);
  /// Puts `bytes` back in front of the unread bytes (a read that took them did not complete).
  void unread(std::string&& bytes);
  /// Discards the first `n` bytes (n <= size()).
  void consume(std::size_t n) noexcept {
    start_ += n;
    consumed_ += n;
  }
  /// Discards everything.
  void clear() noexcept { consume(size()); }
  /// Makes room for `n` unread bytes, so that appends up to that size do not reallocate.
  void reserve(std::size_t n);

 private:
  /// Reclaims the read part before an append.
  void prepare_append(std::size_t incoming);

  std::string data_;
  std::size_t start_ = 0;
  std::uint64_t consumed_ = 0;
};

}  // namespace detail

/// Python's asyncio.StreamReader.
///
/// Invariants (CPython 3.13 streams.py): `waiter_` is set only while a read waits for data, and is
/// cleared by whoever completes it (feed_data, feed_eof, set_exception) or by the read when it
/// leaves; `paused_` is true only while `transport_` is set and was paused by this reader; once
/// `eof_` is set no data is fed; `exception_` once set is raised by every later read.
class StreamReader {
  enum class OpKind : std::uint8_t { read, read_view, readexactly, readline, readline_view };

 public:
  /// What read(), read_view(), readexactly(), readline() and readline_view() return: an awaitable
  /// (of std::string, or std::string_view for the views) that completes without a coroutine frame
  /// when the buffer already answers (data buffered, EOF, an error), as Python's read does without
  /// suspending. Otherwise, in a task, read(n > 0), read_view(), readline() and readline_view()
  /// park the task directly, and the others run CPython's loop as a Coro in place. Like a
  /// coroutine object it does nothing until awaited and can be awaited once; it is also a callable
  /// returning the whole operation as a Coro<T>, and converts to one, so create_task(r.read(10)),
  /// wait_for(r.readline(), t) and `Coro<std::string> c = r.read();` work. The reader must outlive
  /// it (as it does in `co_await reader->read()`).
  template <class T>
  class [[nodiscard]] Op {
   public:
    class Awaiter {
     public:
      static constexpr bool asyncio_awaiter = true;
      explicit Awaiter(Op& op) noexcept : op_(&op) {}
      bool await_ready() { return op_->ready(); }
      template <class P>
      bool await_suspend(std::coroutine_handle<P> awaiting) {
        return op_->suspend(awaiting);
      }
      T await_resume() { return op_->resume(); }

     private:
      Op* op_;
    };

    /// Movable until awaited (create_task moves it into the task).
    Op(Op&& other) noexcept
        : reader_(other.reader_), n_(other.n_), kind_(other.kind_), used_(other.used_), wait_(other.wait_.line) {}
    Op& operator=(const Op&) = delete;
    ~Op() {
      if (wait_.task != nullptr) wait_.forget_task();  // the frame went while parked
    }

    Awaiter operator co_await() & noexcept { return Awaiter(*this); }
    Awaiter operator co_await() && noexcept { return Awaiter(*this); }

    /// The whole operation as a Coro (for create_task, wait_for, gather).
    Coro<T> operator()() {
      use();
      return slow_path();
    }
    operator Coro<T>() && { return (*this)(); }  // NOLINT: a read is a Coro<T> to whoever wants one

   private:
    friend class StreamReader;
    Op(StreamReader& reader, OpKind kind, std::ptrdiff_t n) noexcept
        : reader_(&reader), n_(n), kind_(kind), wait_(kind == OpKind::readline_view || kind == OpKind::readline) {}

    void use() {
      if (used_) throw RuntimeError("cannot reuse already awaited coroutine");
      used_ = true;
    }
    bool ready() {
      use();
      return reader_->try_now(kind_, n_, result_);
    }
    /// Reads that park on their task when they must wait: one wait ends them (the reader wakes a
    /// line read only when it can end, the others for any data, and re-checks where the task runs),
    /// so they need no coroutine frame of their own.
    [[nodiscard]] bool parks_on_task() const noexcept {
      return wait_.line || kind_ == OpKind::read_view || (kind_ == OpKind::read && n_ > 0);
    }
    [[nodiscard]] const char* function() const noexcept {
      return wait_.line ? "readuntil" : kind_ == OpKind::read ? "read" : "read_view";
    }
    Coro<T> slow_path() {
      if constexpr (std::is_same_v<T, std::string_view>) {
        if (kind_ == OpKind::readline_view) return reader_->readline_view_slow();
        return reader_->read_view_slow(static_cast<std::size_t>(n_));
      } else {
        return reader_->string_slow(kind_, n_);
      }
    }
    template <class P>
    bool suspend(std::coroutine_handle<P> awaiting) {
      if constexpr (std::is_base_of_v<detail::CoroPromiseBase, P>) {
        if (parks_on_task()) {
          if (detail::Driver* d = awaiting.promise().driver()) {
            auto* task = static_cast<detail::TaskBase*>(d);
            reader_->begin_task_wait(wait_, *task, function());
            driver_ = d;
            task->park_external(wait_, awaiting);
            return true;
          }
        }
      }
      // Outside a task, and for the reads that may wait more than once, CPython's loop as a Coro.
      slow_ = slow_path();
      return slow_.operator co_await().await_suspend(awaiting);
    }
    T resume() {
      if (driver_ != nullptr) {  // parked on the task: woken or cancelled
        wait_.task = nullptr;
        driver_->raise_pending();  // CancelledError
        // Stepped only when the read can end, or when another read took the wait over (which
        // CPython's next wait would find): this try is conclusive.
        if (!reader_->try_now(kind_, n_, result_)) reader_->another_read_waits(function());
        return std::move(result_);
      }
      if (slow_) return slow_.operator co_await().await_resume();
      return std::move(result_);
    }

    StreamReader* reader_;
    std::ptrdiff_t n_;
    OpKind kind_;
    bool used_ = false;
    T result_{};
    detail::ReadWait wait_;             // the read parked on its task
    detail::Driver* driver_ = nullptr;  // that task, once parked on it
    Coro<T> slow_;                      // the Coro path, once started
  };

  /// Python's StreamReader(limit=_DEFAULT_LIMIT). ValueError("Limit cannot be <= 0") unless
  /// limit > 0. Unlike Python's, the reader is not bound to a loop: a read that waits uses the
  /// running loop.
  explicit StreamReader(std::ptrdiff_t limit = static_cast<std::ptrdiff_t>(stream_default_limit));

  /// Shared by address (waiting reads point at it): neither copyable nor movable.
  StreamReader(const StreamReader&) = delete;
  StreamReader& operator=(const StreamReader&) = delete;
  /// A line read still parked on its task is left waiting (as a read parked on the reader's
  /// future is: nobody will complete it); it no longer refers to this reader.
  ~StreamReader();

  /// The limit given at construction (Python's `_limit`).
  [[nodiscard]] std::size_t limit() const noexcept { return limit_; }

  /// Python's exception(): the exception given to set_exception, or null.
  [[nodiscard]] std::exception_ptr exception() const noexcept { return exception_; }

  /// Python's set_exception(exc): every later read raises `exception`, and a read waiting now
  /// raises it at once (unless it was cancelled). The buffered data stays, but is not readable.
  void set_exception(std::exception_ptr exception);
  template <class E>
  requires(!std::is_same_v<std::remove_cvref_t<E>, std::exception_ptr>) void set_exception(E&& exception) {
    set_exception(std::make_exception_ptr(std::forward<E>(exception)));
  }

  /// Python's set_transport(transport): the transport this reader pauses and resumes. RuntimeError
  /// ("Transport already set") if one is set. nullptr forgets it (StreamReaderProtocol does this in
  /// connection_lost, after which the transport may be destroyed).
  void set_transport(ReadTransport* transport);

  /// Python's feed_eof(): no more data will come; a waiting read wakes up.
  void feed_eof();

  /// Python's at_eof(): feed_eof() was called and every byte was read.
  [[nodiscard]] bool at_eof() const noexcept { return eof_ && buffer_.empty(); }

  /// Python's feed_data(data): appends `data` (copied) and wakes a waiting read; pauses the
  /// transport above 2 * limit. Empty data does nothing. RuntimeError after feed_eof() (Python
  /// asserts).
  void feed_data(std::string_view data);
  /// The same, taking the string over without a copy when nothing is buffered.
  void feed_data(std::string&& data);

  /// Python's read(n=-1): with n > 0, at most n bytes, as soon as at least one is buffered (waits
  /// if none is); "" at EOF. With n < 0, everything until EOF. With n == 0, "" at once. The result
  /// is not limited by limit().
  Op<std::string> read(std::ptrdiff_t n = -1) noexcept { return Op<std::string>(*this, OpKind::read, n); }

  /// Python's readline(): up to and including the next "\n"; at EOF the incomplete last line
  /// (without "\n"), or "" if nothing is left. If the line (not counting "\n") is longer than
  /// limit(): ValueError, and the line is dropped from the buffer if its "\n" is there, else the
  /// whole buffer is dropped (CPython's behaviour).
  Op<std::string> readline() noexcept { return Op<std::string>(*this, OpKind::readline, 0); }

  /// Python's `async for line in reader`: readline() until it gives "" (EOF), as an async
  /// generator: `auto lines = reader->lines(); while (auto line = co_await lines.next()) ...`.
  /// Each line keeps its "\n" (the last may lack it); readline()'s errors come out of next(). The
  /// reader must outlive the generator.
  AsyncGenerator<std::string> lines();

  /// Python's readuntil(separator=b"\n"): up to and including `separator`.
  ///  - ValueError("Separator should be at least one-byte string") for an empty separator;
  ///  - IncompleteReadError (expected() empty) at EOF before the separator, with the buffer's
  ///    content in partial() (the buffer is emptied);
  ///  - LimitOverrunError when the separator is not found within limit() bytes ("Separator is
  ///    not found, and chunk exceed the limit") or is found beyond them ("Separator is found, but
  ///    chunk is longer than limit"); the data stays in the buffer and consumed() says how much.
  /// The separator is copied: the argument need not outlive the call.
  Coro<std::string> readuntil(std::string_view separator = "\n");

  /// Python 3.13's readuntil(tuple_of_separators): the shortest result that ends with any of
  /// them (on equal ends the shortest separator wins; for LimitOverrunError the match counted is
  /// that one). ValueError("Separator should contain at least one element") for none.
  Coro<std::string> readuntil(std::span<const std::string_view> separators);
  /// readuntil({"\r\n", "\n"}). (g++ 12 rejects a braced list inside a co_await expression,
  /// "array used as initializer": there, write readuntil("\r\n", "\n"), or make the Coro first.)
  Coro<std::string> readuntil(std::initializer_list<std::string_view> separators) {
    return readuntil(std::span<const std::string_view>(separators.begin(), separators.size()));
  }
  /// readuntil("\r\n", "\n"): Python's readuntil((b"\r\n", b"\n")) with two or more separators.
  template <class... S>
  requires(sizeof...(S) >= 2 && (std::is_convertible_v<const S&, std::string_view> &&
                                 ...)) Coro<std::string> readuntil(const S&... separators) {
    const std::string_view list[] = {std::string_view(separators)...};
    return readuntil(std::span<const std::string_view>(list));
  }

  /// Python's readexactly(n): exactly n bytes; IncompleteReadError (partial() = what was there,
  /// expected() = n; the buffer is emptied) at EOF before. ValueError("readexactly size can not
  /// be less than zero") for n < 0; "" for n == 0. Not limited by limit().
  Op<std::string> readexactly(std::ptrdiff_t n) noexcept { return Op<std::string>(*this, OpKind::readexactly, n); }

  /// Not in Python, for zero-copy consumers: read(n) returning a view into the reader's buffer
  /// instead of a new string (at most `n` bytes, at least one unless at EOF, where it is empty).
  /// The view is valid until the next call of any member of this reader, including the
  /// protocol's feed_data() - in practice, until the calling task next suspends. Use it to parse
  /// in place or to write the bytes on (StreamWriter::write copies them).
  Op<std::string_view> read_view(std::size_t n = stream_default_limit) noexcept {
    constexpr auto max = static_cast<std::size_t>(std::numeric_limits<std::ptrdiff_t>::max());
    return Op<std::string_view>(*this, OpKind::read_view, static_cast<std::ptrdiff_t>(n < max ? n : max));
  }

  /// Not in Python: readline() returning a view into the reader's buffer, valid as read_view's;
  /// the same results and errors as readline() otherwise. For line protocols parsed in place.
  Op<std::string_view> readline_view() noexcept { return Op<std::string_view>(*this, OpKind::readline_view, 0); }

  /// The bytes received and not yet read (Python's private `_buffer`), valid as read_view's.
  [[nodiscard]] std::string_view buffered() const noexcept { return buffer_.view(); }

  /// "<StreamReader 4 bytes eof limit=123 waiter=<Future pending> exception=... transport paused>",
  /// as Python's repr (fields present only when they apply).
  [[nodiscard]] std::string repr() const;

 private:
  class WaitScope;
  class ScanPosition;

  // The synchronous part of each read (CPython's code up to its first wait): true when the read
  // completes now, with the result in `out` (or throwing its error); false when it must wait.
  bool try_now(OpKind kind, std::ptrdiff_t n, std::string& out);
  bool try_now(OpKind kind, std::ptrdiff_t n, std::string_view& out);
  /// One pass of readuntil over the buffer from `offset` (which it advances); `separators` null
  /// means readline's "\n". Returns how many bytes the read takes, or npos if it must wait; raises
  /// what readuntil (or readline, `line_mode`) raises.
  std::size_t until_scan(const detail::Separators* separators, bool line_mode, std::size_t& offset);
  // The whole reads as coroutines (the path that waits).
  Coro<std::string> string_slow(OpKind kind, std::ptrdiff_t n);
  Coro<std::string> read_slow(std::ptrdiff_t n);
  Coro<std::string> readexactly_slow(std::ptrdiff_t n);
  Coro<std::string_view> read_view_slow(std::size_t n);
  Coro<std::string_view> readline_view_slow();
  // A single-wait read (read(n > 0), read_view) after its wait: what is buffered, or "" at EOF.
  std::string finish_read(std::size_t n);
  std::string_view finish_read_view(std::size_t n);
  /// CPython's _wait_for_data up to the await: RuntimeError if another read waits; resumes a
  /// paused transport; installs and returns a new waiter.
  Future<void> begin_wait(const char* function);
  /// CPython's `finally: self._waiter = None`, for this wait's `waiter` only; marks an error the
  /// waiter got retrieved when the wait did not return normally (`woken` false).
  void end_wait(const Future<void>& waiter, bool woken) noexcept;

  Coro<std::string> until(detail::Separators separators, bool line_mode);
  /// The limit was overrun: LimitOverrunError for readuntil; for readline (line_mode), CPython's
  /// clean-up of the buffer, then ValueError.
  [[noreturn]] void overrun(const char* message, std::size_t consumed, bool line_mode);
  /// Removes `n` buffered bytes and resumes the transport if that brought the buffer to the limit.
  std::string take(std::size_t n);
  void maybe_resume_transport();
  void wakeup_waiter();
  /// RuntimeError: `function` has to wait while another read waits.
  [[noreturn]] static void another_read_waits(const char* function);
  /// Whether a parked line read could end now (a line or more than the limit buffered, EOF, an
  /// error).
  [[nodiscard]] bool line_read_can_end() const noexcept;
  /// A read parks on `task` (RuntimeError naming `function` if another read waits; resumes a
  /// paused transport).
  void begin_task_wait(detail::ReadWait& wait, detail::TaskBase& task, const char* function);
  /// Whether a read parked on its task could end now (see ReadWait::still_waiting).
  [[nodiscard]] bool task_read_can_end(const detail::ReadWait& wait) const noexcept;
  friend class detail::ReadWait;

  detail::StreamBuffer buffer_;
  std::size_t limit_;
  std::exception_ptr exception_;
  Future<void> waiter_;
  /// A read parked on its task, instead of waiter_. For a line read the buffer then holds no
  /// newline and no more than the limit (the read found neither before parking, only data without
  /// a newline came since, and reads by other tasks only remove bytes), so feed_data wakes it only
  /// for data holding a newline or a buffer over the limit (and feed_eof, set_exception as
  /// always). CPython wakes the reader for every chunk and lets it scan and wait again; the
  /// outcome is the same, without a resumption per chunk.
  detail::ReadWait* task_waiter_ = nullptr;
  /// A stream offset (see StreamBuffer::consumed) up to which the buffered bytes are known to hold
  /// no newline, so that a line read's scans start there: feed_data looks at each chunk while a
  /// line read waits, and a scan that finds no newline records how far it looked. Being an offset
  /// in the stream, not in the buffer, reads that take bytes cannot make it wrong (at worst it
  /// falls behind the buffer's start and counts for nothing); bytes put back reset it.
  std::uint64_t newline_free_to_ = 0;
  /// How many times bytes were put back in front of the buffer: a scan's position kept across a
  /// wait (readuntil's offset) is void once this changes, the put-back bytes were never scanned.
  std::uint64_t rewinds_ = 0;
  /// Bytes at the front of the buffer known to hold no newline.
  [[nodiscard]] std::size_t newline_free_prefix() const noexcept {
    const std::uint64_t consumed = buffer_.consumed();
    if (newline_free_to_ <= consumed) return 0;
    return static_cast<std::size_t>(std::min<std::uint64_t>(newline_free_to_ - consumed, buffer_.size()));
  }
  /// feed_data's look at a chunk `data` about to be appended while a line read waits: whether it
  /// holds a newline (the read can end), extending newline_free_to_ over the clean bytes.
  bool chunk_has_newline(std::string_view data) noexcept;
  ReadTransport* transport_ = nullptr;
  bool eof_ = false;
  bool paused_ = false;
};

}  // namespace asyncio

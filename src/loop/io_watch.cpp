// The loop's side of descriptor readiness: add_reader/add_writer and their removal, and turning
// what the backend's poll reports into ready callbacks. The backend only sees interest bits.

#include <string>

#include "asyncio/detail/describe.hpp"
#include "asyncio/loop/event_loop.hpp"

namespace asyncio {

namespace {

// A reader's or writer's node runs once per readiness and stays with the loop's table until
// removed: unlike call_soon's nodes it is not emptied after a run. The table holds one reference;
// each queued readiness holds another, so removal during the iteration cannot free a queued node.
void run_fd_node(void* arg) {
  auto* node = static_cast<detail::CallbackNode*>(arg);
  struct Release {
    detail::CallbackNode* n;
    ~Release() { detail::release(n); }
  } release{node};
  if (node->cancelled) return;
  detail::run_handle_callback(*node);
  if (node->cancelled) node->callback.reset();  // removed while it ran
}

void discard_fd_node(void* arg) noexcept { detail::release(static_cast<detail::CallbackNode*>(arg)); }

std::string describe_fd_node(void* arg) {
  auto* node = static_cast<detail::CallbackNode*>(arg);
  return "<Handle " + detail::type_name(node->callback.target_type()) + ">";
}

const detail::ReadyOps fd_ready_ops{&run_fd_node, &discard_fd_node, &describe_fd_node};

void drop_fd_node(detail::CallbackNode* node) noexcept {
  node->cancelled = true;
  if (!node->running) node->callback.reset();  // what it captured goes now
  detail::release(node);
}

unsigned interest_of(const detail::CallbackNode* reader, const detail::CallbackNode* writer) noexcept {
  return (reader != nullptr ? detail::io_readable : 0u) | (writer != nullptr ? detail::io_writable : 0u);
}

}  // namespace

void EventLoop::set_fd_callback(int fd, unsigned which, detail::CallbackNode* node) {
  try {
    if (fd < 0) {
      throw ValueError(std::string(which == detail::io_readable ? "add_reader" : "add_writer") +
                       ": invalid file descriptor " + std::to_string(fd));
    }
    if (static_cast<std::size_t>(fd) >= fds_.size()) fds_.resize(static_cast<std::size_t>(fd) + 1);
    FdCallbacks& entry = fds_[static_cast<std::size_t>(fd)];
    const unsigned before = interest_of(entry.reader, entry.writer);
    backend_->watch(fd, before, before | which);
  } catch (...) {
    delete node;
    throw;
  }
  FdCallbacks& entry = fds_[static_cast<std::size_t>(fd)];
  if (interest_of(entry.reader, entry.writer) == 0) ++watched_fds_;
  clear_passive(entry);  // a new reader, or a writer: prompt again
  detail::CallbackNode*& slot = which == detail::io_readable ? entry.reader : entry.writer;
  if (slot != nullptr) drop_fd_node(slot);
  slot = node;
}

void EventLoop::clear_passive(FdCallbacks& entry) noexcept {
  if (!entry.passive) return;
  entry.passive = false;
  --passive_fds_;
}

bool EventLoop::should_poll_without_waiting() noexcept {
  if (watched_fds_ > passive_fds_) return true;
  if (passive_fds_ == 0) return false;
  if (++passive_skips_ < kPassivePollInterval) return false;
  passive_skips_ = 0;
  return true;
}

bool EventLoop::clear_fd_callback(int fd, unsigned which) {
  if (is_closed()) return false;
  if (debug_) check_thread_slow(which == detail::io_readable ? "remove_reader" : "remove_writer");
  if (fd < 0 || static_cast<std::size_t>(fd) >= fds_.size()) return false;
  FdCallbacks& entry = fds_[static_cast<std::size_t>(fd)];
  detail::CallbackNode*& slot = which == detail::io_readable ? entry.reader : entry.writer;
  if (slot == nullptr) return false;
  const unsigned before = interest_of(entry.reader, entry.writer);
  drop_fd_node(slot);
  slot = nullptr;
  clear_passive(entry);
  const unsigned after = interest_of(entry.reader, entry.writer);
  if (after == 0) --watched_fds_;
  backend_->watch(fd, before, after);
  return true;
}

bool EventLoop::remove_reader(int fd) { return clear_fd_callback(fd, detail::io_readable); }
bool EventLoop::remove_writer(int fd) { return clear_fd_callback(fd, detail::io_writable); }

void EventLoop::io_ready(void* self, int fd, unsigned events) {
  auto* loop = static_cast<EventLoop*>(self);
  loop->io_follow_up_ = true;
  if (fd < 0 || static_cast<std::size_t>(fd) >= loop->fds_.size()) return;
  const FdCallbacks& entry = loop->fds_[static_cast<std::size_t>(fd)];
  if ((events & detail::io_readable) && entry.reader != nullptr) {
    detail::retain(entry.reader);
    loop->ready_.push(&fd_ready_ops, entry.reader);
  }
  if ((events & detail::io_writable) && entry.writer != nullptr) {
    detail::retain(entry.writer);
    loop->ready_.push(&fd_ready_ops, entry.writer);
  }
}

void EventLoop::release_fd_callbacks() noexcept {
  for (FdCallbacks& entry : fds_) {
    if (entry.reader != nullptr) drop_fd_node(std::exchange(entry.reader, nullptr));
    if (entry.writer != nullptr) drop_fd_node(std::exchange(entry.writer, nullptr));
  }
  fds_.clear();
  watched_fds_ = 0;
  passive_fds_ = 0;
}

}  // namespace asyncio

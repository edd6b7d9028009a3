#include "asyncio/thread/detail/wrap_link.hpp"

#include <unordered_map>
#include <utility>

#include "asyncio/loop/loop_extension.hpp"

namespace asyncio::detail {

/// The links of one loop still waiting for their ConcurrentFuture. The loop destroys it in close(),
/// on its own thread: every link is unlinked there, so that a completion arriving later finds no
/// loop, and the Futures' references are dropped on the thread that owns them.
class WrapRegistry final : public LoopExtension {
 public:
  explicit WrapRegistry(EventLoop& loop) noexcept : loop_(loop) {}

  ~WrapRegistry() override {
    auto links = std::move(links_);
    links_.clear();
    for (auto& [key, link] : links) {
      FutureBase* dest = nullptr;
      {
        std::lock_guard lock(link->mutex_);
        link->loop_ = nullptr;
        link->registry_ = nullptr;
        dest = std::exchange(link->dest_, nullptr);
      }
      LoopAccess::release_autojump(loop_);
      if (dest != nullptr) dest->release();
    }
  }

  static WrapRegistry& of(EventLoop& loop) {
    static const char key = 0;
    if (LoopExtension* found = LoopAccess::find_extension(loop, &key)) return static_cast<WrapRegistry&>(*found);
    return static_cast<WrapRegistry&>(LoopAccess::add_extension(loop, &key, std::make_unique<WrapRegistry>(loop)));
  }

  void add(std::shared_ptr<WrapLink> link) {
    WrapLink* key = link.get();
    links_.emplace(key, std::move(link));
  }
  void remove(WrapLink* link) noexcept { links_.erase(link); }

 private:
  EventLoop& loop_;
  std::unordered_map<WrapLink*, std::shared_ptr<WrapLink>> links_;
};

std::shared_ptr<WrapLink> WrapLink::make(EventLoop& loop, FutureBase& dest) {
  if (loop.is_closed()) throw RuntimeError("Event loop is closed");
  WrapRegistry& registry = WrapRegistry::of(loop);
  std::shared_ptr<WrapLink> link(new WrapLink());
  registry.add(link);
  dest.retain();
  LoopAccess::hold_autojump(loop);
  std::lock_guard lock(link->mutex_);
  link->loop_ = &loop;
  link->dest_ = &dest;
  link->registry_ = &registry;
  return link;
}

bool WrapLink::post(Callback deliver) {
  std::lock_guard lock(mutex_);
  if (loop_ == nullptr) return false;
  auto* node = new CallbackNode(loop_, std::move(deliver), false);
  if (!LoopAccess::try_post(*loop_, node)) {
    delete node;  // it holds no future: safe to free in this thread
    return false;
  }
  return true;
}

FutureBase* WrapLink::unlink() noexcept {
  EventLoop* loop = nullptr;
  FutureBase* dest = nullptr;
  WrapRegistry* registry = nullptr;
  {
    std::lock_guard lock(mutex_);
    loop = std::exchange(loop_, nullptr);
    dest = std::exchange(dest_, nullptr);
    registry = std::exchange(registry_, nullptr);
  }
  if (loop == nullptr) return nullptr;
  LoopAccess::release_autojump(*loop);
  // The registry's reference goes; the caller's closure still holds one.
  if (registry != nullptr) registry->remove(this);
  return dest;
}

}  // namespace asyncio::detail

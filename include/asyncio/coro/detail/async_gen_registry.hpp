#pragma once
// How async generators and their loop find each other (Python's sys.set_asyncgen_hooks and
// loop._asyncgens): a registry the loop keeps, and the two hooks the layers above install. Needs
// nothing but Coro's name, so the loop layer can hold a registry without knowing generators.

#include <atomic>

namespace asyncio {

template <class T>
class Coro;

namespace detail {

struct AsyncGenRegistry;

/// What a loop knows of an async generator it must close: a link in its registry, and how to make
/// a Coro that closes the generator (without owning it).
struct AsyncGenNode {
  AsyncGenNode* prev_node = nullptr;
  AsyncGenNode* next_node = nullptr;
  AsyncGenRegistry* registry = nullptr;
  Coro<void> (*make_aclose)(AsyncGenNode&) = nullptr;
  /// Suspended at a `co_yield`: an aclose() would run its body.
  bool (*closable)(const AsyncGenNode&) noexcept = nullptr;
  /// The generator function's name, for reports.
  const char* function = "";
};

/// The async generators of one loop (Python's loop._asyncgens), kept by the loop.
struct AsyncGenRegistry {
  AsyncGenNode* first = nullptr;
  void* loop = nullptr;          // the EventLoop that owns this registry
  bool shutdown_called = false;  // shutdown_asyncgens() ran (Python's _asyncgens_shutdown_called)

  AsyncGenRegistry() = default;
  AsyncGenRegistry(const AsyncGenRegistry&) = delete;
  AsyncGenRegistry& operator=(const AsyncGenRegistry&) = delete;
  /// The generators outlive their loop: they forget it (their frames will just be destroyed).
  ~AsyncGenRegistry() {
    while (first != nullptr) remove(*first);
  }

  void add(AsyncGenNode& n) noexcept {
    n.registry = this;
    n.prev_node = nullptr;
    n.next_node = first;
    if (first != nullptr) first->prev_node = &n;
    first = &n;
  }
  void remove(AsyncGenNode& n) noexcept {
    if (n.prev_node != nullptr) {
      n.prev_node->next_node = n.next_node;
    } else {
      first = n.next_node;
    }
    if (n.next_node != nullptr) n.next_node->prev_node = n.prev_node;
    n.prev_node = n.next_node = nullptr;
    n.registry = nullptr;
  }
};

/// Python's firstiter hook: registers a generator with the running loop (if any). Installed by the
/// loop layer.
inline std::atomic<void (*)(AsyncGenNode&) noexcept> asyncgen_firstiter_hook{nullptr};

/// Python's finalizer hook: runs `closer` (an aclose() that owns the frame of `node`'s generator)
/// in a task on the loop of `node`'s registry. False if it cannot (the loop is closed): the caller
/// then destroys the frame. Installed by the task layer.
inline std::atomic<bool (*)(AsyncGenNode&, Coro<void>&) noexcept> asyncgen_finalizer_hook{nullptr};

}  // namespace detail
}  // namespace asyncio

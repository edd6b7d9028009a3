#pragma once
/// Where the current context lives, and how the loop, tasks and callbacks hold and enter contexts.
///
/// Each thread has one slot, `context_thread.current` (CPython's PyThreadState.context): 0 for the
/// empty context, else a ContextRef's bits. Three kinds of holder keep a context for later:
///  - ContextImpl: a Context object (contextvars.Context), mutable while it is entered: set() changes
///    its map. Context handles, tasks given `context=`, and a context that set() made current.
///  - ContextSnapshot: an immutable copy of a map, made when a task or callback captures the current
///    context (CPython's copy_context() in Task.__init__ and Handle.__init__). Its count is not
///    atomic: a snapshot belongs to one loop (its `domain`, the loop's snapshot cache) like the tasks
///    and handles holding it, and the loop caches the last one it made, so a thousand tasks created
///    from one context share one snapshot and creating each costs an increment, no allocation and no
///    atomic operation.
///  - 0: the empty context. A task or call_soon made where nothing was ever set stores nothing extra.
/// A holder that is entered lends its reference to the slot; set() in a snapshot or the empty
/// context replaces the slot's content with a new ContextImpl (copy on write, with a new identity,
/// taking the lent reference over), and leaving hands the holder whatever the slot then holds: a
/// task that sets a variable keeps the context that set() made.
///
/// ContextVar::get() reads through a per-thread cache keyed by variable id and by a version that
/// changes whenever the current context changes or a variable is set (CPython keeps the same pair
/// in the variable); a hit is a few loads and two compares.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <utility>

#include "asyncio/detail/frame_pool.hpp"
#include "asyncio/loop/detail/context_map.hpp"

namespace asyncio::detail {

/// A Context object: its map and its identity.
struct ContextImpl : PoolAllocated {
  std::atomic<std::uint32_t> refs{1};
  /// Entered by some thread: a second entry is refused (RuntimeError), as in CPython. Only relaxed
  /// loads and stores: a context handed to another thread is handed with the synchronisation that
  /// makes its map visible there, and that orders this flag too; a context entered by two threads
  /// at the same moment is a data race the check may not see.
  std::atomic<bool> entered{false};
  /// Reachable from a Context handle. A context only set() made is held by one task or callback
  /// alone and cannot be entered twice, so its steps skip the check.
  bool checked = false;
  std::uint64_t id = 0;  // never reused: tokens remember the context they were made in by it
  MapNode* vars = nullptr;
};

/// An immutable map shared by the tasks and callbacks of one loop (see the top of this file).
struct ContextSnapshot : PoolAllocated {
  MapNode* root;
  const void* domain;
  std::uint32_t refs;
};

inline constexpr std::uintptr_t kSnapshotTag = 1;

inline ContextImpl* context_impl(std::uintptr_t bits) noexcept { return reinterpret_cast<ContextImpl*>(bits); }
inline ContextSnapshot* context_snapshot(std::uintptr_t bits) noexcept {
  return reinterpret_cast<ContextSnapshot*>(bits & ~kSnapshotTag);
}
inline bool is_snapshot(std::uintptr_t bits) noexcept { return (bits & kSnapshotTag) != 0; }
/// A Context object whose entry must be checked.
inline bool is_checked_context(std::uintptr_t bits) noexcept {
  return bits != 0 && !is_snapshot(bits) && context_impl(bits)->checked;
}

/// The map of a held context (null: empty).
inline MapNode* context_root(std::uintptr_t bits) noexcept {
  if (bits == 0) return nullptr;
  return is_snapshot(bits) ? context_snapshot(bits)->root : context_impl(bits)->vars;
}

void free_snapshot(ContextSnapshot* snapshot) noexcept;
void release_context_impl(ContextImpl* context) noexcept;

/// Drops a reference held as `bits`.
inline void release_context(std::uintptr_t bits) noexcept {
  if (bits == 0) return;
  if (is_snapshot(bits)) {
    ContextSnapshot* s = context_snapshot(bits);
    if (--s->refs == 0) free_snapshot(s);
  } else {
    release_context_impl(context_impl(bits));
  }
}

class ContextEntry;

/// One reference to a context (or the empty one), as tasks, callbacks and done-callbacks hold it.
class ContextRef {
 public:
  ContextRef() noexcept = default;
  /// Adopts a reference.
  explicit ContextRef(std::uintptr_t bits) noexcept : bits_(bits) {}
  ContextRef(ContextRef&& other) noexcept : bits_(std::exchange(other.bits_, 0)) {}
  ContextRef& operator=(ContextRef&& other) noexcept {
    std::swap(bits_, other.bits_);
    return *this;
  }
  ContextRef(const ContextRef&) = delete;
  ContextRef& operator=(const ContextRef&) = delete;
  ~ContextRef() { release_context(bits_); }

  /// 0 for the empty context.
  [[nodiscard]] std::uintptr_t bits() const noexcept { return bits_; }

 private:
  friend class ContextEntry;
  std::uintptr_t bits_ = 0;
};

/// One entry of the per-thread lookup cache.
struct ContextCacheSlot {
  std::uint64_t version;
  std::uint64_t key;
  const ValueBox* box;  // null: the variable has no value
  /// Where the current context's root node holds the value, if the current context is a Context
  /// object and the value sits in the root itself: set() of a variable that has a value then swaps
  /// the box there without walking the map (if the root is still the context's alone).
  ValueBox** where;
};

inline constexpr std::size_t kContextCacheSlots = 16;

/// A thread's current context and its lookup cache. Trivial, so that reaching it from a header is a
/// plain thread-local access (no initialisation guard).
struct ContextThreadState {
  std::uintptr_t current;
  /// Changes whenever `current` does or the current map's shape changes (a set() that is not a swap
  /// of one value in place, which updates its own entry): entries of other versions are stale.
  /// Starts at 1 so that the zeroed cache never hits.
  std::uint64_t version;
  ContextCacheSlot cache[kContextCacheSlots];
};

// initial-exec: the library is linked at start-up, so its accesses need not go through
// __tls_get_addr, which a position-independent build would otherwise call on every get().
[[gnu::tls_model("initial-exec")]] inline constinit thread_local ContextThreadState context_thread{0, 1, {}};

const ValueBox* context_lookup_slow(std::uint64_t key) noexcept;

/// The value of variable `key` in the current context, or null.
inline const ValueBox* context_lookup(std::uint64_t key) noexcept {
  ContextThreadState& t = context_thread;
  const ContextCacheSlot& slot = t.cache[key & (kContextCacheSlots - 1)];
  if (slot.version == t.version && slot.key == key) [[likely]]
    return slot.box;
  return context_lookup_slow(key);
}

/// The identity of the current context, for tokens: 0 unless it is a Context object (set() makes it
/// one, so a token always has an identity).
inline std::uint64_t current_context_id() noexcept {
  const std::uintptr_t cur = context_thread.current;
  return cur != 0 && !is_snapshot(cur) ? context_impl(cur)->id : 0;
}

/// What set() did: the identity of the context it changed, and the value replaced (a reference for
/// the caller) or null.
struct ContextSetResult {
  std::uint64_t context_id;
  ValueBox* old;
};

ContextSetResult context_set_slow(ValueBox* box);

/// The box holding variable `key`'s value in the current context, if nothing but this context can
/// see it: the context is a Context object whose root node is its own and holds the box itself,
/// and no other node holds the box. set() and reset() may then change the value in place. Else null.
inline ValueBox* context_unique_box(std::uint64_t key) noexcept {
  ContextThreadState& t = context_thread;
  const ContextCacheSlot& slot = t.cache[key & (kContextCacheSlots - 1)];
  if (slot.version == t.version && slot.key == key && slot.where != nullptr) [[likely]] {
    ValueBox* box = *slot.where;
    if (context_impl(t.current)->vars->refs.load(std::memory_order_acquire) == 1 &&
        box->refs.load(std::memory_order_acquire) == 1) {
      return box;
    }
  }
  return nullptr;
}

/// Sets `box` (whose reference it takes) for its variable in the current context, making that a
/// Context object first if it is a snapshot or the empty context. Throws std::bad_alloc before
/// anything changed (`box` is then still the caller's).
inline ContextSetResult context_set(ValueBox* box) {
  ContextThreadState& t = context_thread;
  ContextCacheSlot& slot = t.cache[box->key & (kContextCacheSlots - 1)];
  if (slot.version == t.version && slot.key == box->key && slot.where != nullptr) [[likely]] {
    // The current context is a Context object whose root holds the value (else no `where`).
    ContextImpl* c = context_impl(t.current);
    if (c->vars->refs.load(std::memory_order_acquire) == 1) {
      ValueBox* old = std::exchange(*slot.where, box);
      slot.box = box;
      return ContextSetResult{c->id, old};
    }
  }
  return context_set_slow(box);
}

/// Removes variable `key` from the current context (a token's reset() to "no value"). Throws
/// LookupError if it has no value there, naming `var_repr`.
void context_erase(std::uint64_t key, const char* var_repr);

/// A new Context object holding `root` (the caller's reference), reachable from a handle.
ContextImpl* new_context(MapNode* root);

/// The current context's map, with a reference for the caller.
MapNode* current_root_retained() noexcept;

/// An id for a new ContextVar.
std::uint64_t new_context_var_id() noexcept;

ContextRef capture_context_slow(std::uintptr_t current, ContextSnapshot*& cache);

/// The current context, captured for a task or callback of the loop whose snapshot cache is
/// `cache`: CPython's copy_context() in Task.__init__ and Handle.__init__, without the copy.
inline ContextRef capture_context(ContextSnapshot*& cache) {
  const std::uintptr_t cur = context_thread.current;
  if (cur == 0) return {};
  if (is_snapshot(cur)) {
    ContextSnapshot* s = context_snapshot(cur);
    if (s->domain == &cache) {
      ++s->refs;
      return ContextRef(cur);
    }
  } else {
    const MapNode* root = context_impl(cur)->vars;
    if (root == nullptr) return {};
    if (cache != nullptr && cache->root == root) {
      ++cache->refs;
      return ContextRef(reinterpret_cast<std::uintptr_t>(cache) | kSnapshotTag);
    }
  }
  return capture_context_slow(cur, cache);
}

/// The current context, captured for a callback another thread will run on the loop whose cache is
/// `cache` (call_soon_threadsafe): a snapshot of its own, shared with nothing of this thread.
ContextRef capture_context_for_loop(ContextSnapshot*& cache);

/// Drops a loop's cached snapshot (the loop is going away).
void release_snapshot_cache(ContextSnapshot*& cache) noexcept;

/// Enters a held context for a task step or a callback, and leaves it. While entered, the holder's
/// reference is lent to the thread's slot (the holder keeps its bits but must not use them);
/// leaving gives the holder what the slot then holds, which is a new Context object if set() ran
/// meanwhile (set() took the lent reference over). When the holder's context is the one already
/// current (both empty, most often), entering and leaving touch nothing but two loads.
class ContextEntry {
 public:
  /// False if `holder` is a Context object already entered (nothing changed): the caller raises.
  [[nodiscard]] bool enter(const ContextRef& holder) noexcept {
    ContextThreadState& t = context_thread;
    outer_ = t.current;
    const std::uintptr_t mine = holder.bits_;
    if (mine != outer_ || is_checked_context(mine)) [[unlikely]] {
      if (is_checked_context(mine)) {
        ContextImpl* c = context_impl(mine);
        if (c->entered.load(std::memory_order_relaxed)) return false;
        c->entered.store(true, std::memory_order_relaxed);
      }
      t.current = mine;
      ++t.version;
    }
    return true;
  }

  /// Restores the context current before enter() and gives `holder` its context back.
  void leave(ContextRef& holder) noexcept {
    ContextThreadState& t = context_thread;
    const std::uintptr_t now = t.current;
    if (now != outer_) [[unlikely]] {
      if (is_checked_context(now)) context_impl(now)->entered.store(false, std::memory_order_relaxed);
      t.current = outer_;
      ++t.version;
      holder.bits_ = now;  // the same as before, or what set() made of the reference it took over
    }
  }

 private:
  std::uintptr_t outer_ = 0;
};

/// The RuntimeError's text for a context that is already entered.
[[noreturn]] void throw_already_entered(std::uintptr_t bits);

}  // namespace asyncio::detail

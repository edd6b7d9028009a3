// Context objects, snapshots and the thread's current context (loop/context.hpp,
// loop/detail/context_state.hpp).

#include "asyncio/loop/context.hpp"

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <string>
#include <utility>

#include "asyncio/exceptions.hpp"
#include "asyncio/loop/detail/context_map.hpp"
#include "asyncio/loop/detail/context_state.hpp"

namespace asyncio {

namespace detail {

namespace {

std::atomic<std::uint64_t> next_var_id{1};
std::atomic<std::uint64_t> next_context_id{1};

std::uintptr_t bits_of(const ContextImpl* c) noexcept { return reinterpret_cast<std::uintptr_t>(c); }
std::uintptr_t bits_of(const ContextSnapshot* s) noexcept { return reinterpret_cast<std::uintptr_t>(s) | kSnapshotTag; }

ContextSnapshot* new_snapshot(MapNode* root, const void* domain, std::uint32_t refs) {
  auto* s = new ContextSnapshot();
  s->root = root;
  s->domain = domain;
  s->refs = refs;
  return s;
}

/// A context set() made current outside any task, callback or Context::run is the thread's own
/// (CPython's thread state context): it goes when the thread ends.
struct ThreadBaseContext {
  ThreadBaseContext() = default;
  ThreadBaseContext(const ThreadBaseContext&) = delete;
  ThreadBaseContext& operator=(const ThreadBaseContext&) = delete;
  ~ThreadBaseContext() {
    const std::uintptr_t current = std::exchange(context_thread.current, 0);
    ++context_thread.version;
    release_context(current);
  }
};
thread_local ThreadBaseContext thread_base_context;

/// The current context as a Context object that set() may change: a snapshot or the empty context
/// becomes a new one first (copy on write), taking over the slot's reference.
ContextImpl* writable_context() {
  ContextThreadState& t = context_thread;
  const std::uintptr_t current = t.current;
  if (current != 0 && !is_snapshot(current)) return context_impl(current);
  auto* c = new ContextImpl();
  c->id = next_context_id.fetch_add(1, std::memory_order_relaxed);
  if (current != 0) {
    ContextSnapshot* s = context_snapshot(current);
    c->vars = s->root;
    if (s->refs == 1) {
      delete s;  // its reference to the map is the new context's now
    } else {
      map_retain(s->root);
      --s->refs;
    }
  }
  (void)&thread_base_context;  // registers its destructor for this thread, once
  t.current = bits_of(c);
  ++t.version;
  return c;
}

/// Fills the cache entry of `key` for the current version.
const ValueBox* remember(ContextThreadState& t, std::uint64_t key, const ValueBox* box) noexcept {
  const std::uintptr_t current = t.current;
  ValueBox** where = current != 0 && !is_snapshot(current) ? map_root_slot(context_impl(current)->vars, key) : nullptr;
  t.cache[key & (kContextCacheSlots - 1)] = ContextCacheSlot{t.version, key, box, where};
  return box;
}

}  // namespace

void free_snapshot(ContextSnapshot* snapshot) noexcept {
  map_release(snapshot->root);
  delete snapshot;
}

void release_context_impl(ContextImpl* context) noexcept {
  if (context->refs.load(std::memory_order_acquire) == 1 ||
      context->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) {
    map_release(context->vars);
    delete context;
  }
}

const ValueBox* context_lookup_slow(std::uint64_t key) noexcept {
  ContextThreadState& t = context_thread;
  return remember(t, key, map_find(context_root(t.current), key));
}

ContextSetResult context_set_slow(ValueBox* box) {
  ContextImpl* c = writable_context();
  ValueBox* old = nullptr;
  c->vars = map_assign(c->vars, box, old);
  ContextThreadState& t = context_thread;
  ++t.version;
  remember(t, box->key, box);
  return ContextSetResult{c->id, old};
}

void context_erase(std::uint64_t key, const char* var_repr) {
  ContextImpl* c = writable_context();
  ValueBox* old = nullptr;
  c->vars = map_erase(c->vars, key, old);
  if (old == nullptr) throw LookupError(var_repr);
  ++context_thread.version;
  release_box(old);
}

ContextImpl* new_context(MapNode* root) {
  ContextImpl* c;
  try {
    c = new ContextImpl();
  } catch (...) {
    map_release(root);
    throw;
  }
  c->id = next_context_id.fetch_add(1, std::memory_order_relaxed);
  c->vars = root;
  c->checked = true;
  return c;
}

MapNode* current_root_retained() noexcept {
  MapNode* root = context_root(context_thread.current);
  map_retain(root);
  return root;
}

std::uint64_t new_context_var_id() noexcept { return next_var_id.fetch_add(1, std::memory_order_relaxed); }

ContextRef capture_context_slow(std::uintptr_t current, ContextSnapshot*& cache) {
  MapNode* root = context_root(current);
  if (root == nullptr) return {};
  if (cache != nullptr && cache->root == root) {
    ++cache->refs;
    return ContextRef(bits_of(cache));
  }
  ContextSnapshot* s = new_snapshot(root, &cache, 2);  // the cache's reference and the caller's
  map_retain(root);
  if (cache != nullptr) release_context(bits_of(cache));
  cache = s;
  return ContextRef(bits_of(s));
}

ContextRef capture_context_for_loop(ContextSnapshot*& cache) {
  MapNode* root = current_root_retained();
  if (root == nullptr) return {};
  try {
    return ContextRef(bits_of(new_snapshot(root, &cache, 1)));
  } catch (...) {
    map_release(root);
    throw;
  }
}

void release_snapshot_cache(ContextSnapshot*& cache) noexcept {
  if (cache != nullptr) release_context(bits_of(std::exchange(cache, nullptr)));
}

void throw_already_entered(std::uintptr_t bits) {
  char text[96];
  std::snprintf(text, sizeof text, "cannot enter context: <Context object at %p> is already entered",
                static_cast<const void*>(context_impl(bits)));
  throw RuntimeError(text);
}

}  // namespace detail

Context::Context() : impl_(detail::new_context(nullptr)) {}

Context::Context(const Context& other) noexcept : impl_(other.impl_) {
  impl_->refs.fetch_add(1, std::memory_order_relaxed);
}

Context& Context::operator=(const Context& other) noexcept {
  if (impl_ != other.impl_) {
    other.impl_->refs.fetch_add(1, std::memory_order_relaxed);
    detail::release_context_impl(std::exchange(impl_, other.impl_));
  }
  return *this;
}

Context::~Context() { detail::release_context_impl(impl_); }

Context Context::copy() const {
  detail::map_retain(impl_->vars);
  return Context(detail::new_context(impl_->vars));
}

Context copy_context() { return Context(detail::new_context(detail::current_root_retained())); }

}  // namespace asyncio

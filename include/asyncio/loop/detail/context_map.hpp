#pragma once
/// The mapping behind a Context: variable id -> value, as a persistent hash array mapped trie (the
/// structure CPython's contextvars use), so that copying a context is taking a reference to its root.
///
/// A node has 32 slots, addressed by 5 bits of the key per level (the low bits first: variable ids
/// are sequential, so the first 32 variables share one node), and stores only the occupied ones.
/// A slot holds a ValueBox (one variable's value) or a child node. Nodes and boxes are immutable
/// once more than one holder can reach them; reference counts are atomic because a context crosses
/// threads (to_thread, call_soon_threadsafe, a Context run in a worker). A change copies the path
/// from the root to the key (retaining the untouched siblings), except for the nodes the changing
/// context alone holds, which are changed in place: a context whose map nobody copied since its
/// last change pays no copy and no atomic operation per set().

#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <new>
#include <type_traits>
#include <utility>

#include "asyncio/detail/frame_pool.hpp"

namespace asyncio::detail {

/// One value of one variable, shared by every map (and token) that holds it.
struct ValueBox {
  std::atomic<std::uint32_t> refs{1};
  std::uint64_t key = 0;  // the variable's id
  void (*destroy)(ValueBox* self) noexcept = nullptr;
};

/// A ValueBox holding a T, in the frame pool.
template <class T>
struct TypedBox final : ValueBox {
  static_assert(alignof(T) <= alignof(std::max_align_t), "a context variable's value needs extended alignment");

  template <class... Args>
  explicit TypedBox(std::uint64_t k, Args&&... args) : value(std::forward<Args>(args)...) {
    key = k;
    destroy = &destroy_box;
  }

  /// A box with one reference, for the caller.
  template <class... Args>
  static TypedBox* make(std::uint64_t key, Args&&... args) {
    void* mem = frame_allocate(sizeof(TypedBox));
    try {
      return ::new (mem) TypedBox(key, std::forward<Args>(args)...);
    } catch (...) {
      frame_deallocate(mem, sizeof(TypedBox));
      throw;
    }
  }

  static void destroy_box(ValueBox* self) noexcept {
    auto* box = static_cast<TypedBox*>(self);
    box->~TypedBox();
    frame_deallocate(box, sizeof(TypedBox));
  }

  T value;
};

inline void retain_box(ValueBox* box) noexcept { box->refs.fetch_add(1, std::memory_order_relaxed); }

/// Drops a reference. A holder of the only reference frees without an atomic read-modify-write:
/// nobody else can take a new one.
inline void release_box(ValueBox* box) noexcept {
  if (box->refs.load(std::memory_order_acquire) == 1 || box->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) {
    box->destroy(box);
  }
}

/// A trie node; its occupied slots follow it in the same block.
struct MapNode {
  std::atomic<std::uint32_t> refs{1};
  std::uint32_t bitmap = 0;  // occupied slots
  std::uint32_t nodes = 0;   // of those, the ones holding a child node (the others hold a ValueBox)
  std::uint32_t count = 0;   // values in this subtree

  void** slots() noexcept { return reinterpret_cast<void**>(this + 1); }
  void* const* slots() const noexcept { return reinterpret_cast<void* const*>(this + 1); }
};
static_assert(sizeof(MapNode) % alignof(void*) == 0);

/// The number of bits set. Without the POPCNT instruction (x86-64's baseline) std::popcount is a
/// call into libgcc with g++; this is a dozen inline instructions.
inline constexpr unsigned map_popcount(std::uint32_t x) noexcept {
#if defined(__POPCNT__)
  return static_cast<unsigned>(std::popcount(x));
#else
  x = x - ((x >> 1) & 0x55555555u);
  x = (x & 0x33333333u) + ((x >> 2) & 0x33333333u);
  x = (x + (x >> 4)) & 0x0F0F0F0Fu;
  return (x * 0x01010101u) >> 24;
#endif
}

/// The 5 bits of `key` that pick its slot at the level `shift` bits down.
inline constexpr std::uint32_t map_chunk(std::uint64_t key, unsigned shift) noexcept {
  return static_cast<std::uint32_t>(key >> shift) & 31u;
}

/// The value of `key` in the map rooted at `root` (null: the empty map), or null.
inline const ValueBox* map_find(const MapNode* root, std::uint64_t key) noexcept {
  const MapNode* node = root;
  for (unsigned shift = 0; node != nullptr && shift < 64; shift += 5) {
    const std::uint32_t bit = 1u << map_chunk(key, shift);
    if ((node->bitmap & bit) == 0) return nullptr;
    const void* entry = node->slots()[map_popcount(node->bitmap & (bit - 1))];
    if ((node->nodes & bit) == 0) {
      const auto* box = static_cast<const ValueBox*>(entry);
      return box->key == key ? box : nullptr;
    }
    node = static_cast<const MapNode*>(entry);
  }
  return nullptr;
}

/// The common case of a set(): a new value for a key that has one, along a path the caller alone
/// holds (a context set again before anything copied it). Swaps `box` in and returns the value it
/// replaced, with the node's reference, now the caller's; null (nothing changed) if the case does
/// not apply.
inline ValueBox* map_replace_in_place(MapNode* root, ValueBox* box) noexcept {
  MapNode* node = root;
  for (unsigned shift = 0; node != nullptr && node->refs.load(std::memory_order_acquire) == 1; shift += 5) {
    const std::uint32_t bit = 1u << map_chunk(box->key, shift);
    if ((node->bitmap & bit) == 0) return nullptr;
    void*& entry = node->slots()[map_popcount(node->bitmap & (bit - 1))];
    if (node->nodes & bit) {
      node = static_cast<MapNode*>(entry);
      continue;
    }
    auto* leaf = static_cast<ValueBox*>(entry);
    if (leaf->key != box->key) return nullptr;
    entry = box;
    return leaf;
  }
  return nullptr;
}

/// Where the root itself holds `key`'s value (not through a child node), or null.
inline ValueBox** map_root_slot(MapNode* root, std::uint64_t key) noexcept {
  if (root == nullptr) return nullptr;
  const std::uint32_t bit = 1u << map_chunk(key, 0);
  if ((root->bitmap & bit) == 0 || (root->nodes & bit) != 0) return nullptr;
  void** entry = &root->slots()[map_popcount(root->bitmap & (bit - 1))];
  if (static_cast<ValueBox*>(*entry)->key != key) return nullptr;
  return reinterpret_cast<ValueBox**>(entry);
}

/// The number of values in the map.
inline std::size_t map_size(const MapNode* root) noexcept { return root ? root->count : 0; }

inline void map_retain(MapNode* root) noexcept {
  if (root) root->refs.fetch_add(1, std::memory_order_relaxed);
}

/// Drops a reference to a map; the last one frees its nodes and releases its values.
void map_release(MapNode* root) noexcept;

/// Sets `box->key` to `box` in the map `root`, of which the caller gives its one reference; returns
/// the new root (the caller's reference). `old` receives the value replaced, with a reference for
/// the caller, or null. Throws only std::bad_alloc, before anything changed (`box` and `root` stay
/// the caller's).
MapNode* map_assign(MapNode* root, ValueBox* box, ValueBox*& old);

/// Removes `key` from the map `root` (the caller's reference, as map_assign); `old` receives the
/// value removed, or null if there was none (the map is then unchanged). Throws only
/// std::bad_alloc, before anything changed.
MapNode* map_erase(MapNode* root, std::uint64_t key, ValueBox*& old);

}  // namespace asyncio::detail

// The persistent map behind contexts (loop/detail/context_map.hpp). A change is made in two
// phases: the first walks from the root to the key and allocates every node the change needs (a
// failure leaves the map untouched); the second, which cannot fail, builds the new path bottom-up,
// changing in place the nodes the caller alone holds.

#include "asyncio/loop/detail/context_map.hpp"

#include <cstddef>
#include <cstdint>
#include <new>
#include <utility>

namespace asyncio::detail {

namespace {

constexpr unsigned kMaxDepth = 13;  // 5 bits per level cover a 64-bit key in 13 levels

std::size_t node_bytes(unsigned slots) noexcept { return sizeof(MapNode) + slots * sizeof(void*); }
unsigned slot_count(const MapNode* node) noexcept { return map_popcount(node->bitmap); }

void free_node_memory(MapNode* node) noexcept {
  const std::size_t bytes = node_bytes(slot_count(node));
  node->~MapNode();
  frame_deallocate(node, bytes);
}

void retain_entry(const MapNode* node, std::uint32_t bit, void* entry) noexcept {
  if (node->nodes & bit) {
    map_retain(static_cast<MapNode*>(entry));
  } else {
    retain_box(static_cast<ValueBox*>(entry));
  }
}

/// Copies `from`'s slots into `to` (same bitmap), taking references to all but the one at `skip`.
void copy_slots(const MapNode* from, MapNode* to, unsigned skip) noexcept {
  to->bitmap = from->bitmap;
  to->nodes = from->nodes;
  unsigned i = 0;
  for (std::uint32_t m = from->bitmap; m != 0; m &= m - 1, ++i) {
    void* entry = from->slots()[i];
    to->slots()[i] = entry;
    if (i != skip) retain_entry(from, m & (~m + 1), entry);
  }
}

/// Copies `from`'s slots into `to` without the one at `skip` (the bitmap loses `bit`); with `retain`
/// the copy takes references, else it takes over `from`'s.
void copy_slots_without(const MapNode* from, MapNode* to, unsigned skip, std::uint32_t bit, bool retain) noexcept {
  to->bitmap = from->bitmap & ~bit;
  to->nodes = from->nodes & ~bit;
  unsigned i = 0;
  unsigned j = 0;
  for (std::uint32_t m = from->bitmap; m != 0; m &= m - 1, ++i) {
    if (i == skip) continue;
    void* entry = from->slots()[i];
    to->slots()[j++] = entry;
    if (retain) retain_entry(from, m & (~m + 1), entry);
  }
}

/// The nodes a change needs, allocated before anything changes; whatever is not taken is freed.
class Reserved {
 public:
  Reserved() = default;
  Reserved(const Reserved&) = delete;
  Reserved& operator=(const Reserved&) = delete;
  ~Reserved() {
    for (unsigned i = 0; i < count_; ++i) {
      if (mem_[i]) frame_deallocate(mem_[i], bytes_[i]);
    }
  }

  int reserve(unsigned slots) {
    bytes_[count_] = node_bytes(slots);
    mem_[count_] = frame_allocate(bytes_[count_]);
    return static_cast<int>(count_++);
  }

  MapNode* take(int index) noexcept {
    void* mem = std::exchange(mem_[index], nullptr);
    return ::new (mem) MapNode();
  }

 private:
  // Only the first count_ entries are ever read.
  void* mem_[2 * kMaxDepth + 2];
  std::size_t bytes_[2 * kMaxDepth + 2];
  unsigned count_ = 0;
};

/// A node on the path from the root to the key.
struct Level {
  MapNode* node;
  unsigned index;     // the key's slot among the occupied ones
  std::uint32_t bit;  // the key's slot
  bool owned;         // only the changing map holds it (through its whole path): change it in place
  int block;          // the reserved node that replaces it, or -1
};

}  // namespace

void map_release(MapNode* root) noexcept {
  if (root == nullptr) return;
  if (root->refs.load(std::memory_order_acquire) != 1 && root->refs.fetch_sub(1, std::memory_order_acq_rel) != 1) {
    return;
  }
  unsigned i = 0;
  for (std::uint32_t m = root->bitmap; m != 0; m &= m - 1, ++i) {
    void* entry = root->slots()[i];
    if (root->nodes & (m & (~m + 1))) {
      map_release(static_cast<MapNode*>(entry));
    } else {
      release_box(static_cast<ValueBox*>(entry));
    }
  }
  free_node_memory(root);
}

MapNode* map_assign(MapNode* root, ValueBox* box, ValueBox*& old) {
  old = nullptr;
  const std::uint64_t key = box->key;
  if (root == nullptr) {
    MapNode* node = ::new (frame_allocate(node_bytes(1))) MapNode();
    node->bitmap = 1u << map_chunk(key, 0);
    node->count = 1;
    node->slots()[0] = box;
    return node;
  }

  if ((old = map_replace_in_place(root, box)) != nullptr) return root;

  // Phase 1: the path, and what ends it.
  Level path[kMaxDepth];
  unsigned depth = 0;
  unsigned shift = 0;
  MapNode* node = root;
  bool owned = root->refs.load(std::memory_order_acquire) == 1;
  ValueBox* leaf = nullptr;
  for (;; ++depth, shift += 5) {
    const std::uint32_t bit = 1u << map_chunk(key, shift);
    const auto index = map_popcount(node->bitmap & (bit - 1));
    path[depth] = Level{node, index, bit, owned, -1};
    if ((node->bitmap & bit) == 0) break;
    void* entry = node->slots()[index];
    if ((node->nodes & bit) == 0) {
      leaf = static_cast<ValueBox*>(entry);
      break;
    }
    node = static_cast<MapNode*>(entry);
    owned = owned && node->refs.load(std::memory_order_acquire) == 1;
  }
  const bool insert = leaf == nullptr;
  const bool split = leaf != nullptr && leaf->key != key;
  // A split puts the old leaf and the new box in a subtree: one single-slot node per level where
  // their keys still agree, then a node holding both.
  unsigned pair_shift = shift + 5;
  unsigned chain = 0;
  if (split) {
    while (map_chunk(key, pair_shift) == map_chunk(leaf->key, pair_shift)) {
      ++chain;
      pair_shift += 5;
    }
  }

  Reserved reserved;
  for (unsigned d = 0; d <= depth; ++d) {
    const bool grows = d == depth && insert;
    if (!path[d].owned || grows) path[d].block = reserved.reserve(slot_count(path[d].node) + (grows ? 1 : 0));
  }
  int chain_blocks[kMaxDepth] = {};
  int pair_block = -1;
  if (split) {
    for (unsigned i = 0; i < chain; ++i) chain_blocks[i] = reserved.reserve(1);
    pair_block = reserved.reserve(2);
  }

  // Phase 2: nothing below fails.
  void* entry = box;
  if (split) {
    MapNode* pair = reserved.take(pair_block);
    const std::uint32_t new_bit = 1u << map_chunk(key, pair_shift);
    const std::uint32_t old_bit = 1u << map_chunk(leaf->key, pair_shift);
    pair->bitmap = new_bit | old_bit;
    pair->count = 2;
    pair->slots()[0] = new_bit < old_bit ? static_cast<void*>(box) : static_cast<void*>(leaf);
    pair->slots()[1] = new_bit < old_bit ? static_cast<void*>(leaf) : static_cast<void*>(box);
    MapNode* sub = pair;
    for (unsigned i = chain; i-- > 0;) {
      MapNode* link = reserved.take(chain_blocks[i]);
      link->bitmap = link->nodes = 1u << map_chunk(key, shift + 5 + 5 * i);
      link->count = 2;
      link->slots()[0] = sub;
      sub = link;
    }
    entry = sub;
    // The subtree holds the old leaf: the terminal node's reference moves into it if that node is
    // changed in place; a copy leaves the original its own.
    if (!path[depth].owned) retain_box(leaf);
  } else if (!insert) {
    if (!path[depth].owned) retain_box(leaf);
    old = leaf;
  }
  const std::uint32_t added = insert || split ? 1 : 0;

  MapNode* result;
  {
    const Level& level = path[depth];
    MapNode* n = level.node;
    if (insert) {
      MapNode* grown = reserved.take(level.block);
      const unsigned count = slot_count(n);
      for (unsigned i = 0; i < level.index; ++i) grown->slots()[i] = n->slots()[i];
      grown->slots()[level.index] = box;
      for (unsigned i = level.index; i < count; ++i) grown->slots()[i + 1] = n->slots()[i];
      grown->bitmap = n->bitmap | level.bit;
      grown->nodes = n->nodes;
      grown->count = n->count + 1;
      if (level.owned) {
        free_node_memory(n);  // its entries moved
      } else {
        for (std::uint32_t m = n->bitmap, i = 0; m != 0; m &= m - 1, ++i) retain_entry(n, m & (~m + 1), n->slots()[i]);
      }
      result = grown;
    } else if (level.owned) {
      n->slots()[level.index] = entry;
      if (split) n->nodes |= level.bit;
      n->count += added;
      result = n;
    } else {
      MapNode* copy = reserved.take(level.block);
      copy_slots(n, copy, level.index);
      copy->slots()[level.index] = entry;
      if (split) copy->nodes |= level.bit;
      copy->count = n->count + added;
      result = copy;
    }
  }
  for (unsigned d = depth; d-- > 0;) {
    const Level& level = path[d];
    MapNode* n = level.node;
    if (level.owned) {
      n->slots()[level.index] = result;
      n->count += added;
      // This node's reference to the child it held is gone: an owned child became `result` (or its
      // memory did); a shared one keeps its other holders.
      if (!path[d + 1].owned) map_release(path[d + 1].node);
      result = n;
    } else {
      MapNode* copy = reserved.take(level.block);
      copy_slots(n, copy, level.index);
      copy->slots()[level.index] = result;
      copy->count = n->count + added;
      result = copy;
    }
  }
  if (!path[0].owned) map_release(root);
  return result;
}

MapNode* map_erase(MapNode* root, std::uint64_t key, ValueBox*& old) {
  old = nullptr;
  if (root == nullptr) return root;

  // Phase 1: the path to the key's leaf, if it is there.
  Level path[kMaxDepth];
  unsigned depth = 0;
  MapNode* node = root;
  bool owned = root->refs.load(std::memory_order_acquire) == 1;
  ValueBox* leaf = nullptr;
  for (unsigned shift = 0;; ++depth, shift += 5) {
    const std::uint32_t bit = 1u << map_chunk(key, shift);
    if ((node->bitmap & bit) == 0) return root;
    const auto index = map_popcount(node->bitmap & (bit - 1));
    path[depth] = Level{node, index, bit, owned, -1};
    void* entry = node->slots()[index];
    if ((node->nodes & bit) == 0) {
      leaf = static_cast<ValueBox*>(entry);
      if (leaf->key != key) return root;
      break;
    }
    node = static_cast<MapNode*>(entry);
    owned = owned && node->refs.load(std::memory_order_acquire) == 1;
  }

  // A node whose only entry goes vanishes; one that loses an entry shrinks; a shared one that only
  // sees a child change is copied.
  bool vanish[kMaxDepth] = {};
  Reserved reserved;
  for (unsigned d = depth + 1; d-- > 0;) {
    const bool loses_entry = d == depth || vanish[d + 1];
    const unsigned count = slot_count(path[d].node);
    if (loses_entry && count == 1) {
      vanish[d] = true;
    } else if (loses_entry) {
      path[d].block = reserved.reserve(count - 1);
    } else if (!path[d].owned) {
      path[d].block = reserved.reserve(count);
    }
  }

  // Phase 2: nothing below fails.
  if (!path[depth].owned) retain_box(leaf);
  old = leaf;
  MapNode* result = nullptr;
  for (unsigned d = depth + 1; d-- > 0;) {
    const Level& level = path[d];
    MapNode* n = level.node;
    const bool loses_entry = d == depth || vanish[d + 1];
    MapNode* next = nullptr;
    if (vanish[d]) {
      if (level.owned) free_node_memory(n);
    } else if (loses_entry) {
      next = reserved.take(level.block);
      copy_slots_without(n, next, level.index, level.bit, !level.owned);
      next->count = n->count - 1;
      if (level.owned) free_node_memory(n);
    } else if (level.owned) {
      n->slots()[level.index] = result;
      n->count -= 1;
      next = n;
    } else {
      next = reserved.take(level.block);
      copy_slots(n, next, level.index);
      next->slots()[level.index] = result;
      next->count = n->count - 1;
    }
    if (d < depth && level.owned && !path[d + 1].owned) map_release(path[d + 1].node);
    result = next;
  }
  if (!path[0].owned) map_release(root);
  return result;
}

}  // namespace asyncio::detail

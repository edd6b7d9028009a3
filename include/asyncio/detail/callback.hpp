#pragma once
/// Callback: a move-only `void()` callable with inline storage.
///
/// Why not std::function: it must be copyable (so move-only lambdas holding a Future or a unique_ptr
/// are refused) and it allocates for any capture larger than two pointers. A callback handed to
/// call_soon is moved once into the loop and run once, so 48 inline bytes cover every runtime
/// callback without a heap allocation; larger callables go to the frame pool.

#include <cstddef>
#include <new>
#include <type_traits>
#include <typeinfo>
#include <utility>

#include "asyncio/detail/frame_pool.hpp"

namespace asyncio::detail {

class Callback {
 public:
  static constexpr std::size_t kInlineSize = 48;

  Callback() noexcept = default;

  template <class F>
  requires(!std::is_same_v<std::remove_cvref_t<F>, Callback> && std::is_invocable_v<std::decay_t<F>&>)
      Callback(F&& f) {  // NOLINT(google-explicit-constructor): a callable *is* a callback
    using Fn = std::decay_t<F>;
    if constexpr (fits_inline<Fn>()) {
      ::new (static_cast<void*>(buf_)) Fn(std::forward<F>(f));
      ops_ = &inline_ops<Fn>;
    } else {
      void* mem = frame_allocate(sizeof(Fn));
      try {
        ::new (mem) Fn(std::forward<F>(f));
      } catch (...) {
        frame_deallocate(mem, sizeof(Fn));
        throw;
      }
      ::new (static_cast<void*>(buf_)) void*(mem);
      ops_ = &heap_ops<Fn>;
    }
  }

  Callback(Callback&& other) noexcept : ops_(other.ops_) {
    if (ops_) {
      ops_->relocate(buf_, other.buf_);
      other.ops_ = nullptr;
    }
  }

  Callback& operator=(Callback&& other) noexcept {
    if (this != &other) {
      reset();
      if (other.ops_) {
        other.ops_->relocate(buf_, other.buf_);
        ops_ = other.ops_;
        other.ops_ = nullptr;
      }
    }
    return *this;
  }

  Callback(const Callback&) = delete;
  Callback& operator=(const Callback&) = delete;
  ~Callback() { reset(); }

  /// Calls the callable. Precondition: not empty.
  void operator()() { ops_->invoke(buf_); }

  /// Destroys the callable now, releasing whatever it captured.
  void reset() noexcept {
    if (ops_) {
      if (ops_->destroy) ops_->destroy(buf_);  // null for trivially destructible callables
      ops_ = nullptr;
    }
  }

  [[nodiscard]] explicit operator bool() const noexcept { return ops_ != nullptr; }

  /// The type of the stored callable, for debug-mode reports (empty callback: typeid(void)).
  [[nodiscard]] const std::type_info& target_type() const noexcept { return ops_ ? *ops_->type : typeid(void); }

 private:
  struct Ops {
    void (*invoke)(void* buf);
    void (*relocate)(void* dst, void* src) noexcept;
    void (*destroy)(void* buf) noexcept;  // null: nothing to do
    const std::type_info* type;
  };

  template <class Fn>
  static constexpr bool fits_inline() {
    return sizeof(Fn) <= kInlineSize && alignof(Fn) <= alignof(std::max_align_t) &&
           std::is_nothrow_move_constructible_v<Fn>;
  }

  template <class Fn>
  static void destroy_inline(void* buf) noexcept {
    std::launder(static_cast<Fn*>(buf))->~Fn();
  }

  template <class Fn>
  static constexpr Ops inline_ops{
      [](void* buf) { (*std::launder(static_cast<Fn*>(buf)))(); },
      [](void* dst, void* src) noexcept {
        Fn* from = std::launder(static_cast<Fn*>(src));
        ::new (dst) Fn(std::move(*from));
        from->~Fn();
      },
      std::is_trivially_destructible_v<Fn> ? nullptr : &destroy_inline<Fn>,
      &typeid(Fn),
  };

  template <class Fn>
  static constexpr Ops heap_ops{
      [](void* buf) { (**std::launder(static_cast<Fn**>(buf)))(); },
      [](void* dst, void* src) noexcept { ::new (dst) void*(*std::launder(static_cast<void**>(src))); },
      [](void* buf) noexcept {
        Fn* fn = *std::launder(static_cast<Fn**>(buf));
        fn->~Fn();
        frame_deallocate(fn, sizeof(Fn));
      },
      &typeid(Fn),
  };

  alignas(std::max_align_t) unsigned char buf_[kInlineSize];
  const Ops* ops_ = nullptr;
};

}  // namespace asyncio::detail

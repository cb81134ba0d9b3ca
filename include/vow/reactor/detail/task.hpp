// vow/reactor/detail/task.hpp - a move-only, type-erased `void()` callable.
//
// The reactor stores every callback as a `task`. Small callables (up to
// `task::inline_size` bytes, nothrow-movable) live inside the task itself, so
// posting a lambda that captures a pointer or two never allocates; larger ones
// are moved to the heap once. One indirect call runs *and* destroys the
// callable, which keeps the hot path of `reactor::call_soon` short.
//
// Two sizes: `task` (64 bytes, 48 inline) for the ready queue and
// cross-thread posts, and `timer_task` (32 bytes, 24 inline, pointer
// alignment) for timers, which live as long as they are armed: a million
// pending timers cost 32 MB less, and fresh memory is what a burst of timers
// pays for most. Timer callables are typically a pointer or two (a promise,
// `this` and an iterator).
#pragma once

#include <cstddef>
#include <cstring>
#include <memory>
#include <new>
#include <type_traits>
#include <utility>

namespace vow::detail {

template <std::size_t InlineSize, std::size_t Align>
class basic_task {
public:
    static constexpr std::size_t inline_size = InlineSize;

    basic_task() noexcept = default;

    template <class F,
              class D = std::decay_t<F>,
              class = std::enable_if_t<!std::is_same_v<D, basic_task>>>
    basic_task(F&& fn) {  // NOLINT(google-explicit-constructor): a task is its callable
        static_assert(std::is_invocable_v<D&>,
                      "vow: a callback must be callable with no arguments");
        if constexpr (fits_inline<D>()) {
            ::new (static_cast<void*>(buf_)) D(std::forward<F>(fn));
            ops_ = &inline_ops<D>;
        } else {
            ::new (static_cast<void*>(buf_)) D*(new D(std::forward<F>(fn)));
            ops_ = &heap_ops<D>;
        }
    }

    basic_task(basic_task&& other) noexcept : ops_(other.ops_) {
        if (ops_) {
            ops_->relocate(buf_, other.buf_);
            other.ops_ = nullptr;
        }
    }

    basic_task& operator=(basic_task&& other) noexcept {
        if (this != &other) {
            reset();
            ops_ = other.ops_;
            if (ops_) {
                ops_->relocate(buf_, other.buf_);
                other.ops_ = nullptr;
            }
        }
        return *this;
    }

    basic_task(const basic_task&) = delete;
    basic_task& operator=(const basic_task&) = delete;

    ~basic_task() { reset(); }

    explicit operator bool() const noexcept { return ops_ != nullptr; }

    // Runs the callable, then destroys it (also when it throws). Empty after.
    void run_and_reset() {
        const ops* o = ops_;
        ops_ = nullptr;
        o->run(buf_);
    }

    // Runs the callable and keeps it (for timers and watchers that repeat).
    void operator()() { ops_->call(buf_); }

    // Destroys the callable without running it.
    void reset() noexcept {
        if (const ops* o = ops_) {
            ops_ = nullptr;
            o->destroy(buf_);
        }
    }

private:
    struct ops {
        void (*run)(void*);                 // invoke, then destroy
        void (*call)(void*);                // invoke only
        void (*destroy)(void*) noexcept;    // destroy only
        void (*relocate)(void* dst, void* src) noexcept;  // move-construct + destroy src
    };

    template <class D>
    static constexpr bool fits_inline() {
        return sizeof(D) <= inline_size && alignof(D) <= Align &&
               std::is_nothrow_move_constructible_v<D>;
    }

    template <class D>
    struct destroy_guard {
        D* p;
        ~destroy_guard() { p->~D(); }
    };

    template <class D>
    static void run_inline(void* p) {
        D* d = std::launder(static_cast<D*>(p));
        destroy_guard<D> g{d};
        (*d)();
    }
    template <class D>
    static void call_inline(void* p) {
        (*std::launder(static_cast<D*>(p)))();
    }
    template <class D>
    static void destroy_inline(void* p) noexcept {
        std::launder(static_cast<D*>(p))->~D();
    }
    template <class D>
    static void relocate_inline(void* dst, void* src) noexcept {
        D* s = std::launder(static_cast<D*>(src));
        ::new (dst) D(std::move(*s));
        s->~D();
    }

    template <class D>
    static void run_heap(void* p) {
        std::unique_ptr<D> d(*static_cast<D**>(p));
        (*d)();
    }
    template <class D>
    static void call_heap(void* p) {
        (**static_cast<D**>(p))();
    }
    template <class D>
    static void destroy_heap(void* p) noexcept {
        delete *static_cast<D**>(p);
    }
    static void relocate_heap(void* dst, void* src) noexcept {
        std::memcpy(dst, src, sizeof(void*));
    }

    template <class D>
    static constexpr ops inline_ops{&run_inline<D>, &call_inline<D>, &destroy_inline<D>, &relocate_inline<D>};
    template <class D>
    static constexpr ops heap_ops{&run_heap<D>, &call_heap<D>, &destroy_heap<D>, &relocate_heap};

    const ops* ops_ = nullptr;
    alignas(Align) unsigned char buf_[inline_size];
};

// 48 bytes inline + one pointer of dispatch = one 64-byte slot per task.
using task = basic_task<48, alignof(std::max_align_t)>;
// 24 bytes inline + one pointer of dispatch: 32 bytes.
using timer_task = basic_task<24, alignof(void*)>;

static_assert(sizeof(task) == 64);
static_assert(sizeof(timer_task) == 32);

}  // namespace vow::detail

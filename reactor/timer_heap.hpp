// reactor/timer_heap.hpp - the reactor's armed timers in deadline order: a
// 4-ary min-heap of (deadline, node) entries. Private to reactor/.
//
// One libevent timer event stands for the whole heap (reactor.cpp, "timers"),
// so a timer costs a 16-byte entry here instead of a libevent event of its
// own: pushing is a few compares (a new deadline is usually among the latest),
// popping walks half as many levels as a binary heap, each level's four
// children in one or two cache lines. Entries are ordered by deadline, and
// by the node's `seq` (scheduling order) among equal deadlines, which only
// then reads the node.
//
// Cancelled timers are not searched for: the reactor marks the node and
// leaves its entry (lazy deletion), drops it when it reaches the top, and
// calls `filter` once such entries outnumber live ones, so the heap stays
// within twice the armed timers plus a constant.
//
// The storage is a malloc'd array grown and shrunk with realloc: entries are
// trivially copyable, and glibc moves a large block by remapping its pages,
// so growing never touches the old entries' pages again.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdlib>
#include <new>
#include <type_traits>
#include <utility>

namespace vow::detail {

// `Node` has a `std::uint64_t seq`, unique per armed timer.
template <class Node>
class timer_heap_of {
public:
    using time_point = std::chrono::steady_clock::time_point;
    struct entry {
        time_point deadline;
        Node* node;
    };
    static_assert(std::is_trivially_copyable_v<entry>);

    timer_heap_of() = default;
    timer_heap_of(const timer_heap_of&) = delete;
    timer_heap_of& operator=(const timer_heap_of&) = delete;
    ~timer_heap_of() { std::free(data_); }

    [[nodiscard]] bool empty() const noexcept { return size_ == 0; }
    [[nodiscard]] std::size_t size() const noexcept { return size_; }
    [[nodiscard]] const entry& top() const noexcept { return data_[0]; }

    // Throws std::bad_alloc if the array cannot grow; the heap is unchanged.
    void push(entry e) {
        if (size_ == cap_)
            resize(cap_ == 0 ? 64 : cap_ * 2);
        sift_up(size_++, e);
    }

    void pop() noexcept {
        const entry last = data_[--size_];
        if (size_ != 0)
            sift_down(0, last);
        maybe_shrink();
    }

    // Removes the last entry of the array, whichever it is: the heap stays a
    // heap. For teardown, where the order does not matter.
    entry pop_any() noexcept {
        const entry e = data_[--size_];
        maybe_shrink();
        return e;
    }

    // Removes every entry for which keep(entry) is false, passing it to
    // drop(entry) first, then restores the heap order in O(n).
    template <class Keep, class Drop>
    void filter(Keep keep, Drop drop) noexcept {
        std::size_t out = 0;
        for (std::size_t i = 0; i < size_; ++i) {
            if (keep(data_[i]))
                data_[out++] = data_[i];
            else
                drop(data_[i]);
        }
        size_ = out;
        if (size_ > 1)
            for (std::size_t i = (size_ - 2) / arity + 1; i-- > 0;)
                sift_down(i, data_[i]);
        maybe_shrink();
    }

private:
    static constexpr std::size_t arity = 4;

    static bool less(const entry& a, const entry& b) noexcept {
        return a.deadline < b.deadline || (a.deadline == b.deadline && a.node->seq < b.node->seq);
    }

    void sift_up(std::size_t i, entry e) noexcept {
        while (i != 0) {
            const std::size_t parent = (i - 1) / arity;
            if (!less(e, data_[parent]))
                break;
            data_[i] = data_[parent];
            i = parent;
        }
        data_[i] = e;
    }

    void sift_down(std::size_t i, entry e) noexcept {
        for (;;) {
            const std::size_t first = i * arity + 1;
            if (first >= size_)
                break;
            const std::size_t end = first + arity < size_ ? first + arity : size_;
            std::size_t best = first;
            for (std::size_t c = first + 1; c < end; ++c)
                if (less(data_[c], data_[best]))
                    best = c;
            if (!less(data_[best], e))
                break;
            data_[i] = data_[best];
            i = best;
        }
        data_[i] = e;
    }

    void resize(std::size_t cap) {
        void* p = std::realloc(static_cast<void*>(data_), cap * sizeof(entry));
        if (!p)
            throw std::bad_alloc();
        data_ = static_cast<entry*>(p);
        cap_ = cap;
    }

    // Gives memory back once a burst of timers is over.
    void maybe_shrink() noexcept {
        if (cap_ > 1024 && size_ < cap_ / 4) {
            if (void* p = std::realloc(static_cast<void*>(data_), cap_ / 2 * sizeof(entry))) {
                data_ = static_cast<entry*>(p);
                cap_ /= 2;
            }
        }
    }

    entry* data_ = nullptr;
    std::size_t size_ = 0;
    std::size_t cap_ = 0;
};

}  // namespace vow::detail

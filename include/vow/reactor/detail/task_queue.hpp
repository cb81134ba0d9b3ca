// vow/reactor/detail/task_queue.hpp - the reactor's FIFO of ready callbacks.
//
// A singly linked list of fixed-size blocks. Tasks never move once pushed, so
// a task may run in place while it pushes more tasks (the queue grows by
// linking a new block, it never reallocates). Up to `max_spares` drained
// blocks (1 MiB) are kept for reuse, so a steady chain, or bursts of up to
// some ten thousand posts, allocate nothing (blocks circulate between the
// cross-thread queue and the ready queue instead of going back to malloc,
// which would trim and fault them in again); a one-off burst of millions
// gives the rest of its memory back.
#pragma once

#include <vow/reactor/detail/task.hpp>

#include <cstddef>
#include <new>
#include <utility>

namespace vow::detail {

class task_queue {
public:
    task_queue() = default;
    task_queue(const task_queue&) = delete;
    task_queue& operator=(const task_queue&) = delete;
    ~task_queue() {
        clear();
        delete head_;
        while (spare_)
            delete std::exchange(spare_, spare_->next);
    }

    // A block of `block_size` task slots. Opaque outside the queue: what
    // new_block() returns and add_spare() takes back.
    struct block;

    bool empty() const noexcept { return size_ == 0; }
    std::size_t size() const noexcept { return size_; }

    template <class F>
    void push(F&& fn) {
        if (tail_ == nullptr || tail_pos_ == block_size) [[unlikely]]
            grow();
        ::new (static_cast<void*>(&tail_->slots[tail_pos_])) task(std::forward<F>(fn));
        ++tail_pos_;
        ++size_;
    }

    // The oldest task, left in place. Valid until pop_front().
    task& front() noexcept { return *std::launder(reinterpret_cast<task*>(&head_->slots[head_pos_])); }

    // Removes the (already run or reset) front slot.
    void pop_front() noexcept {
        front().~task();
        --size_;
        if (++head_pos_ == block_size) [[unlikely]]
            retire_head();
    }

    // Moves every task of `other`, in order, into this queue, which must be
    // empty: O(1), the blocks change hands (cross-thread posts reach the
    // ready queue this way, without moving a task). This queue's emptied
    // block becomes a spare; spare blocks stay where they are.
    void take_all(task_queue& other) noexcept {
        if (head_)
            retire(std::exchange(head_, nullptr));
        head_ = std::exchange(other.head_, nullptr);
        tail_ = std::exchange(other.tail_, nullptr);
        head_pos_ = std::exchange(other.head_pos_, 0);
        tail_pos_ = std::exchange(other.tail_pos_, 0);
        size_ = std::exchange(other.size_, 0);
    }

    // Hands this queue's spare blocks to `other` (up to its limit; the rest
    // are freed), so that pushes there reuse them.
    void give_spares(task_queue& other) noexcept {
        while (spare_) {
            block* b = std::exchange(spare_, spare_->next);
            other.retire(b);
        }
        spares_ = 0;
    }

    // True if the next push() would allocate a block: the tail block is full
    // and no spare is kept. A caller that pushes under a lock allocates one
    // beforehand, outside it, with new_block(), and gives it with add_spare().
    bool next_push_allocates() const noexcept {
        return (tail_ == nullptr || tail_pos_ == block_size) && spare_ == nullptr;
    }
    // A new block, its memory touched. Throws std::bad_alloc.
    static block* new_block();
    // Keeps `b` (from new_block()) as a spare, or frees it if the queue has
    // as many as it keeps.
    void add_spare(block* b) noexcept { retire(b); }

    // Destroys every queued task without running it.
    void clear() noexcept {
        while (size_ != 0) {
            front().reset();
            pop_front();
        }
    }

private:
    static constexpr std::size_t block_size = 256;  // 16 KiB of 64-byte tasks
    static constexpr std::size_t max_spares = 64;
    struct slot {
        alignas(task) unsigned char bytes[sizeof(task)];
    };
public:
    struct block {
        slot slots[block_size];
        block* next = nullptr;
    };

private:

    void grow() {
        block* b;
        if (spare_) {
            b = std::exchange(spare_, spare_->next);
            --spares_;
        } else {
            b = new block;
        }
        b->next = nullptr;
        if (tail_)
            tail_->next = b;
        else
            head_ = b, head_pos_ = 0;
        tail_ = b;
        tail_pos_ = 0;
    }

    void retire_head() noexcept {
        block* old = head_;
        head_ = old->next;
        head_pos_ = 0;
        if (head_ == nullptr)
            tail_ = nullptr;
        retire(old);
    }

    // Keeps an unused block as a spare, or frees it.
    void retire(block* b) noexcept {
        if (spares_ < max_spares) {
            b->next = std::exchange(spare_, b);
            ++spares_;
        } else {
            delete b;
        }
    }

    block* head_ = nullptr;
    block* tail_ = nullptr;
    block* spare_ = nullptr;  // a list through block::next
    std::size_t spares_ = 0;
    std::size_t head_pos_ = 0;
    std::size_t tail_pos_ = 0;
    std::size_t size_ = 0;
};

// Zeroed: its pages are touched (faulted in) here, not by the pushes.
inline task_queue::block* task_queue::new_block() { return new block(); }

}  // namespace vow::detail

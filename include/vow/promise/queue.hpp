// vow/promise/queue.hpp - a bounded FIFO between producers and consumers
// (asyncio.Queue).
//
//   vow::queue<job> jobs(r, 100);
//   jobs.push(j).then([] { /* there was room */ });
//   jobs.pop().then([](job j) { ... });
//
// push() waits while the queue is full, pop() waits while it is empty; both
// serve their waiters in FIFO order, and a value handed to a waiting pop()
// skips the buffer. The capacity bounds memory: at most `capacity` values
// are buffered, plus one per parked push(). With a token, a parked push or
// pop whose stop is requested leaves the line and rejects with
// vow::cancelled_error (a cancelled push drops its value).
// Destroying the queue rejects parked operations with vow::broken_promise.
// Thread safety: thread-bound (docs/design.md).
#pragma once

#include <vow/error.hpp>
#include <vow/promise/detail/waiters.hpp>
#include <vow/promise/future.hpp>
#include <vow/promise/make_future.hpp>

#include <cstddef>
#include <deque>
#include <optional>
#include <source_location>
#include <stop_token>
#include <utility>

namespace vow {

template <class T>
class queue {
public:
    // Throws vow::invalid_argument if `capacity` is zero.
    queue(reactor& r, std::size_t capacity) : r_(&r), capacity_(capacity) {
        if (capacity == 0)
            throw invalid_argument("vow::queue: the capacity must be at least 1");
    }
    queue(const queue&) = delete;
    queue& operator=(const queue&) = delete;

    // Adds `value`; the future is fulfilled once it is in the queue (or
    // handed to a waiting pop).
    future<void> push(T value, std::stop_token token = {},
                      std::source_location where = std::source_location::current()) {
        if (!try_push(value))
            return pushers_.add(*r_, token, "queue::push", where, std::optional<T>(std::move(value)));
        return make_ready_future(*r_, where);
    }

    // Adds `value` now if there is room (or a waiting pop); false if full,
    // and then `value` is left untouched.
    bool try_push(T& value) {
        if (!poppers_.empty()) {
            poppers_.pop_front().resolve(std::move(value));
            return true;
        }
        if (items_.size() >= capacity_)
            return false;
        items_.push_back(std::move(value));
        return true;
    }

    // The oldest value, once there is one.
    future<T> pop(std::stop_token token = {}, std::source_location where = std::source_location::current()) {
        if (auto v = try_pop())
            return make_ready_future<T>(*r_, std::move(*v), where);
        return poppers_.add(*r_, token, "queue::pop", where);
    }

    // The oldest value now, or nothing if the queue is empty.
    std::optional<T> try_pop() {
        if (items_.empty())
            return std::nullopt;
        std::optional<T> v(std::move(items_.front()));
        items_.pop_front();
        if (!pushers_.empty()) {  // room again: let the oldest parked push in
            std::optional<T> pending;
            promise<void> p = pushers_.pop_front(&pending);
            items_.push_back(std::move(*pending));
            p.resolve();
        }
        return v;
    }

    [[nodiscard]] std::size_t size() const noexcept { return items_.size(); }
    [[nodiscard]] bool empty() const noexcept { return items_.empty(); }
    [[nodiscard]] bool full() const noexcept { return items_.size() >= capacity_; }
    [[nodiscard]] std::size_t capacity() const noexcept { return capacity_; }

private:
    reactor* r_;
    std::size_t capacity_;
    std::deque<T> items_;
    detail::waiter_list<T> poppers_;
    detail::waiter_list<void, std::optional<T>> pushers_;
};

}  // namespace vow

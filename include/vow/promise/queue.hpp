/// @file
/// vow::queue: a bounded FIFO between producers and consumers (asyncio.Queue,
/// with asyncio's Queue.shutdown() as close()).
///
/// @code
/// vow::queue<job> jobs(r, 100);
/// jobs.push(j).then([] { /* there was room */ });
/// jobs.pop().then([](job j) { ... });
/// jobs.close();   // producers are done: consumers drain, then see queue_closed
/// @endcode
#pragma once

#include <vow/error.hpp>
#include <vow/promise/detail/waiters.hpp>
#include <vow/promise/future.hpp>
#include <vow/promise/make_future.hpp>

#include <cstddef>
#include <deque>
#include <exception>
#include <optional>
#include <source_location>
#include <stop_token>
#include <utility>

namespace vow {

/// A bounded FIFO between producers and consumers (asyncio.Queue, with
/// asyncio's Queue.shutdown() as close()).
///
/// push() waits while the queue is full, pop() waits while it is empty; both
/// serve their waiters in FIFO order, and a value handed to a waiting pop()
/// skips the buffer. The capacity bounds memory: at most `capacity` values
/// are buffered, plus one per parked push(). With a token, a parked push or
/// pop whose stop is requested leaves the line and rejects with
/// vow::cancelled_error (a cancelled push drops its value).
///
/// close() ends the queue the way asyncio's Queue.shutdown() (not
/// immediate) does: the values already queued are still delivered, and after
/// them, and for every pop waiting at close, pop() rejects with
/// vow::queue_closed; parked pushes and push() after close reject with
/// queue_closed (a parked push's value is dropped), and try_push returns
/// false. A consumer loop therefore ends on queue_closed, with nothing lost
/// that a push reported as queued:
///
/// @code
/// jobs.pop().then([](job j) { ... }).catch_([](const vow::queue_closed&) { /* done */ });
/// @endcode
///
/// Destroying the queue rejects parked operations with vow::broken_promise.
/// Thread safety: thread-bound (docs/design.md).
template <class T>
class queue {
public:
    /// A queue on `r` that buffers up to `capacity` values.
    /// Throws vow::invalid_argument if `capacity` is zero.
    queue(reactor& r, std::size_t capacity) : r_(&r), capacity_(capacity) {
        if (capacity == 0)
            throw invalid_argument("vow::queue: the capacity must be at least 1");
    }
    /// Destroying a queue with pops or pushes parked rejects them
    /// (broken_promise); that is thread-bound, an idle queue is not.
    ~queue() {
        if (!poppers_.empty() || !pushers_.empty())
            detail::check_thread(*r_, "queue::~queue");
    }
    queue(const queue&) = delete;
    queue& operator=(const queue&) = delete;

    /// Adds `value`; the future is fulfilled once it is in the queue (or
    /// handed to a waiting pop). Rejects with vow::queue_closed if the queue
    /// is closed, or is closed while this push waits for room (the value is
    /// then dropped).
    future<void> push(T value, std::stop_token token = {},
                      std::source_location where = std::source_location::current()) {
        detail::check_thread(*r_, "queue::push");
        if (closed_)
            return make_exception_future<void>(
                *r_, closed_error("vow::queue::push: the queue is closed; close() refuses new values"), where);
        if (!try_push(value))
            return pushers_.add(*r_, token, "queue::push", where, std::optional<T>(std::move(value)));
        return make_ready_future(*r_, where);
    }

    /// Adds `value` now if there is room (or a waiting pop); false if full or
    /// closed, and then `value` is left untouched.
    bool try_push(T& value) {
        detail::check_thread(*r_, "queue::try_push");
        if (closed_)
            return false;
        if (!poppers_.empty()) {
            poppers_.pop_front().resolve(std::move(value));
            return true;
        }
        if (items_.size() >= capacity_)
            return false;
        items_.push_back(std::move(value));
        return true;
    }

    /// The oldest value, once there is one. Once the queue is closed and
    /// empty, rejects with vow::queue_closed (so does a pop waiting when
    /// close() is called). A pop that already has its value keeps it.
    future<T> pop(std::stop_token token = {}, std::source_location where = std::source_location::current()) {
        detail::check_thread(*r_, "queue::pop");
        if (auto v = try_pop())
            return make_ready_future<T>(*r_, std::move(*v), where);
        if (closed_)
            return make_exception_future<T>(*r_, closed_error(pop_closed_message), where);
        return poppers_.add(*r_, token, "queue::pop", where);
    }

    /// The oldest value now, or nothing if the queue is empty (also after
    /// close(): the values left are still taken, one per call).
    std::optional<T> try_pop() {
        detail::check_thread(*r_, "queue::try_pop");
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

    /// Closes the queue: push() and parked pushes reject with
    /// vow::queue_closed (a parked push's value is dropped), try_push returns
    /// false, and pop() delivers the values already queued, then rejects with
    /// queue_closed, as do the pops waiting now (the queue is empty whenever
    /// a pop waits). The rejections, like every settlement, reach their
    /// continuations on a later turn, so close() may be called anywhere,
    /// including from a continuation of this queue's push or pop. Idempotent.
    /// A stop requested later on a rejected operation's token does nothing.
    void close() {
        detail::check_thread(*r_, "queue::close");
        if (closed_)
            return;
        closed_ = true;  // first: nothing parks from here on, even re-entrantly
        while (!poppers_.empty())
            poppers_.pop_front().reject(closed_error(pop_closed_message));
        while (!pushers_.empty())
            pushers_.pop_front().reject(closed_error(
                "vow::queue::push: the queue was closed while this push waited for room; its value was dropped"));
    }

    /// True once close() was called.
    [[nodiscard]] bool closed() const noexcept { return closed_; }
    /// Values buffered now (not counting those of parked pushes).
    [[nodiscard]] std::size_t size() const noexcept { return items_.size(); }
    /// True if no value is buffered.
    [[nodiscard]] bool empty() const noexcept { return items_.empty(); }
    /// True if `capacity()` values are buffered: a push() now would wait.
    [[nodiscard]] bool full() const noexcept { return items_.size() >= capacity_; }
    /// The most values the queue buffers, as given to the constructor.
    [[nodiscard]] std::size_t capacity() const noexcept { return capacity_; }

private:
    static constexpr const char* pop_closed_message = "vow::queue::pop: the queue is closed and empty";

    static std::exception_ptr closed_error(const char* what) { return std::make_exception_ptr(queue_closed(what)); }

    reactor* r_;
    std::size_t capacity_;
    bool closed_ = false;
    std::deque<T> items_;
    detail::waiter_list<T> poppers_;
    detail::waiter_list<void, std::optional<T>> pushers_;
};

}  // namespace vow

// vow/promise/detail/waiters.hpp - a FIFO of parked operations, each with a
// promise and an optional stop_token link. Shared by semaphore, queue and
// event: the oldest waiter is served first; a waiter whose stop is requested
// leaves the line and rejects with vow::cancelled_error.
#pragma once

#include <vow/promise/future.hpp>
#include <vow/promise/promise.hpp>
#include <vow/reactor/stop_link.hpp>

#include <cstddef>
#include <exception>
#include <iterator>
#include <list>
#include <source_location>
#include <stop_token>
#include <utility>

namespace vow::detail {

std::exception_ptr make_cancelled_error(const char* operation);

struct no_payload {};

template <class T, class Payload = no_payload>
class waiter_list {
public:
    struct waiter {
        waiter(reactor& r, std::source_location where, Payload&& pl) : p(r, where), payload(std::move(pl)) {}
        promise<T> p;
        Payload payload;
        stop_link link;
    };

    // Parks a new waiter at the back of the line and returns its future.
    future<T> add(reactor& r, const std::stop_token& token, const char* operation, std::source_location where,
                  Payload payload = {}) {
        list_.emplace_back(r, where, std::move(payload));
        auto it = std::prev(list_.end());
        future<T> f = it->p.get_future();
        if (token.stop_possible()) {
            it->link.assign(r, token, [this, it, operation] {
                promise<T> p = std::move(it->p);
                list_.erase(it);
                p.reject(make_cancelled_error(operation));
            });
        }
        return f;
    }

    [[nodiscard]] bool empty() const noexcept { return list_.empty(); }
    [[nodiscard]] std::size_t size() const noexcept { return list_.size(); }
    waiter& front() noexcept { return list_.front(); }

    // Removes the oldest waiter, returning its promise (and payload via out).
    promise<T> pop_front(Payload* payload = nullptr) {
        waiter& w = list_.front();
        w.link.reset();
        promise<T> p = std::move(w.p);
        if (payload)
            *payload = std::move(w.payload);
        list_.pop_front();
        return p;
    }

private:
    std::list<waiter> list_;
};

}  // namespace vow::detail

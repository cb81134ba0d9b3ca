/// @file
/// vow::map_concurrent and vow::map_concurrent_settled: run an async function
/// over many items, at most `limit` at a time, results in input order.
///
/// map_concurrent fails fast, like all; map_concurrent_settled collects every
/// outcome, like all_settled.
///
/// @code
/// // 10,000 requests, 100 at a time:
/// auto pages = vow::map_concurrent(r, urls, 100, [&](std::string url) {
///     return client.get(url);
/// });                                              // future<std::vector<response>>
///
/// // The same, keeping every page that came and every error:
/// auto each = vow::map_concurrent_settled(r, urls, 100, [&](std::string url) {
///     return client.get(url);
/// });                                              // future<std::vector<vow::result<response>>>
/// @endcode
///
/// `fn(item)` must return a future. The first `limit` calls happen inside
/// the call; each later one starts when an earlier one settles, in input
/// order. Items are moved into `fn`.
///
/// map_concurrent: the first error (a rejected future, or a throw from `fn`)
/// rejects the whole and no new item starts; results of calls already in
/// flight are taken silently.
///
/// map_concurrent_settled never rejects: every item runs, and the result
/// holds each item's outcome in input order, as all_settled reports it
/// (`vow::result<R>`, `<vow/promise/result.hpp>`). A throw from `fn` (or an
/// empty future) is that item's failure, and the next item starts at once.
/// For a batch of independent requests where one failure must not cancel
/// or hide the others.
///
/// What happens to `fn`: moved (or copied) into the operation, called on the
/// reactor's thread only, never after the result has settled, and destroyed
/// when the result future and every call still in flight are gone.
/// Cost: one allocation for the node, one for its `limit` slots, one for the
/// result cells. Thread safety: thread-bound (docs/design.md).
#pragma once

#include <vow/error.hpp>
#include <vow/promise/all.hpp>
#include <vow/promise/detail/state.hpp>
#include <vow/promise/future.hpp>
#include <vow/promise/result.hpp>

#include <algorithm>
#include <cstddef>
#include <exception>
#include <optional>
#include <source_location>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace vow {

namespace detail {

// What map_concurrent (Settled = false) or map_concurrent_settled fulfils with.
template <class R, bool Settled>
using map_out_t = std::conditional_t<Settled, std::vector<result<R>>, all_vector_t<R>>;

template <class Item, class F, class R, bool Settled>
class map_node final : public state<map_out_t<R, Settled>> {
    using out_t = map_out_t<R, Settled>;

public:
    map_node(reactor& r, std::source_location where, std::vector<Item> items, std::size_t limit, F fn)
        : state<out_t>(r, where, 1),
          items_(std::move(items)),
          fn_(std::move(fn)),
          slots_(std::min(limit, items_.size())),
          cells_(items_.size()) {
        for (auto& s : slots_)
            s.parent = this;
    }

    void start() {
        for (auto& s : slots_) {
            if (!this->pending())
                return;
            launch(s);
        }
        // No items, or (settled) every item failed inside fn.
        if (this->pending() && done_ == items_.size())
            finish();
    }

    bool has_live_producer() const noexcept override {
        for (const slot& s : slots_)
            if (s.src && can_settle(*s.src))
                return true;
        return false;
    }

private:
    struct slot final : continuation {
        map_node* parent = nullptr;
        state_base* src = nullptr;  // the item in flight, for can_settle
        std::size_t index = 0;
        bool fired = false;
        void fire(state_base& s) override {
            src = nullptr;
            fired = true;
            parent->done(*this, static_cast<state<R>&>(s));
        }
        // After fire() (which may have started the next item in this slot,
        // whose `src` must stay), or instead of it if the item's future died
        // unsettled. Either way the item's reference to the node ends.
        void drop() noexcept override {
            if (!std::exchange(fired, false))
                src = nullptr;
            parent->release();
        }
        void moved_to(state_base& st) noexcept override { src = &st; }
    };

    // Starts the next item in `s`. An item whose fn throws (or returns an
    // empty future) rejects the whole; in settled mode it is recorded as
    // failed instead and the item after it is tried, in a loop, not by
    // recursion.
    void launch(slot& s) {
        while (next_ < items_.size()) {
            std::size_t i = next_++;
            state<R>* st;
            try {
                auto f = fn_(std::move(items_[i]));
                st = future_access::take(f, "map_concurrent (the future fn returned)");
            } catch (...) {
                if constexpr (Settled) {
                    cells_[i].emplace(result<R>::failure(std::current_exception()));
                    ++done_;
                    continue;
                } else {
                    if (this->pending())
                        this->set_error(std::current_exception());
                    return;
                }
            }
            s.index = i;
            s.src = st;
            this->add_ref();  // the input owns the slot, which holds us
            st->attach(&s);
            st->release();
            return;
        }
    }

    void done(slot& s, state<R>& st) {
        if constexpr (Settled) {
            cells_[s.index].emplace(take_outcome(st));
        } else if (st.get_status() != status::value) {
            auto e = st.take_error();  // taken either way: reported here or not at all
            if (this->pending())
                this->set_error(std::move(e));
            return;
        } else if constexpr (std::is_void_v<R>) {
            st.take_value();
        } else {
            cells_[s.index].emplace(st.take_value());
        }
        ++done_;
        if (!this->pending())
            return;
        launch(s);
        if (this->pending() && done_ == items_.size())
            finish();
    }

    void finish() {
        if constexpr (!Settled && std::is_void_v<R>) {
            this->set_value();
        } else {
            out_t out;
            out.reserve(cells_.size());
            for (auto& c : cells_)
                out.push_back(std::move(*c));
            cells_.clear();
            this->set_value(std::move(out));
        }
    }

    using cell = std::conditional_t<Settled, std::optional<result<R>>,
                                    std::conditional_t<std::is_void_v<R>, char, std::optional<R>>>;
    std::vector<Item> items_;
    F fn_;
    std::vector<slot> slots_;
    std::vector<cell> cells_;
    std::size_t next_ = 0, done_ = 0;
};

template <bool Settled, class Item, class F>
auto start_map(reactor& r, std::vector<Item>& items, std::size_t limit, F&& fn, std::source_location where,
               const char* name) {
    using Fn = std::decay_t<F>;
    using R = unwrap_t<std::invoke_result_t<Fn&, Item&&>>;
    check_thread(r, name);
    if (limit == 0)
        throw invalid_argument(std::string("vow::") + name + ": the limit must be at least 1");
    auto* n = new map_node<Item, Fn, R, Settled>(r, where, std::move(items), limit, std::forward<F>(fn));
    auto f = future_access::make<map_out_t<R, Settled>>(n);
    n->start();
    return f;
}

}  // namespace detail

/// Calls `fn(item)` for each item, at most `limit` futures in flight, and
/// fulfils with the results in input order (`future<void>` if fn returns
/// `future<void>`); rejects with the first error. Throws vow::invalid_argument
/// if `limit` is zero.
template <class Item, class F>
auto map_concurrent(reactor& r, std::vector<Item> items, std::size_t limit, F&& fn,
                    std::source_location where = std::source_location::current()) {
    if constexpr (!std::is_invocable_v<std::decay_t<F>&, Item&&>) {
        static_assert(detail::dependent_false<F>, "vow::map_concurrent: fn must be callable with an item");
        return future<void>();
    } else if constexpr (!detail::is_future_v<std::invoke_result_t<std::decay_t<F>&, Item&&>>) {
        static_assert(detail::dependent_false<F>, "vow::map_concurrent: fn must return a vow::future");
        return future<void>();
    } else {
        return detail::start_map<false>(r, items, limit, std::forward<F>(fn), where, "map_concurrent");
    }
}

/// Calls `fn(item)` for each item, at most `limit` futures in flight, and
/// fulfils, once every item has settled, with each outcome in input order:
/// `future<std::vector<vow::result<R>>>` for an fn returning `future<R>` (R may
/// be void). Never rejects; a throw from `fn` is that item's failure. Throws
/// vow::invalid_argument if `limit` is zero.
template <class Item, class F>
auto map_concurrent_settled(reactor& r, std::vector<Item> items, std::size_t limit, F&& fn,
                            std::source_location where = std::source_location::current()) {
    if constexpr (!std::is_invocable_v<std::decay_t<F>&, Item&&>) {
        static_assert(detail::dependent_false<F>, "vow::map_concurrent_settled: fn must be callable with an item");
        return future<void>();
    } else if constexpr (!detail::is_future_v<std::invoke_result_t<std::decay_t<F>&, Item&&>>) {
        static_assert(detail::dependent_false<F>, "vow::map_concurrent_settled: fn must return a vow::future");
        return future<void>();
    } else {
        return detail::start_map<true>(r, items, limit, std::forward<F>(fn), where, "map_concurrent_settled");
    }
}

}  // namespace vow

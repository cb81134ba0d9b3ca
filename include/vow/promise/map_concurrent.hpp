// vow/promise/map_concurrent.hpp - run an async function over many items,
// at most `limit` at a time, results in input order.
//
//   // 10,000 requests, 100 at a time:
//   auto pages = vow::map_concurrent(r, urls, 100, [&](std::string url) {
//       return client.get(url);
//   });                                              // future<std::vector<response>>
//
// `fn(item)` must return a future. The first `limit` calls happen inside
// map_concurrent; each later one starts when an earlier one settles. The
// first error rejects the whole and no new item starts; results of calls
// already in flight are taken silently. Items are moved into `fn`.
// Cost: one allocation for the node, one for its `limit` slots, one for the
// result cells. Thread safety: thread-bound (docs/design.md).
#pragma once

#include <vow/error.hpp>
#include <vow/promise/all.hpp>
#include <vow/promise/detail/state.hpp>
#include <vow/promise/future.hpp>

#include <algorithm>
#include <cstddef>
#include <optional>
#include <source_location>
#include <type_traits>
#include <utility>
#include <vector>

namespace vow {

namespace detail {

template <class Item, class F, class R>
class map_node final : public state<all_vector_t<R>> {
public:
    map_node(reactor& r, std::source_location where, std::vector<Item> items, std::size_t limit, F fn)
        : state<all_vector_t<R>>(r, where, 1),
          items_(std::move(items)),
          fn_(std::move(fn)),
          slots_(std::min(limit, items_.size())),
          cells_(items_.size()) {
        for (auto& s : slots_)
            s.parent = this;
    }

    void start() {
        if (items_.empty())
            return finish();
        for (auto& s : slots_) {
            if (!this->pending())
                break;
            launch(s);
        }
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
        state_base* src = nullptr;
        std::size_t index = 0;
        void fire(state_base& s) override {
            src = nullptr;
            parent->done(*this, static_cast<state<R>&>(s));
        }
        void drop() noexcept override {
            src = nullptr;
            parent->release();
        }
        void moved_to(state_base& st) noexcept override { src = &st; }
    };

    void launch(slot& s) {
        std::size_t i = next_++;
        state<R>* st;
        try {
            auto f = fn_(std::move(items_[i]));
            st = future_access::take(f, "map_concurrent (the future fn returned)");
        } catch (...) {
            if (this->pending())
                this->set_error(std::current_exception());
            return;
        }
        s.index = i;
        s.src = st;
        this->add_ref();  // the input owns the slot, which holds us
        st->attach(&s);
        st->release();
    }

    void done(slot& s, state<R>& st) {
        if (st.get_status() != status::value) {
            auto e = st.take_error();
            if (this->pending())
                this->set_error(std::move(e));
            return;
        }
        if constexpr (std::is_void_v<R>)
            st.take_value();
        else
            cells_[s.index].emplace(st.take_value());
        ++done_;
        if (!this->pending())
            return;
        if (next_ < items_.size())
            launch(s);
        else if (done_ == items_.size())
            finish();
    }

    void finish() {
        if constexpr (std::is_void_v<R>) {
            this->set_value();
        } else {
            std::vector<R> out;
            out.reserve(cells_.size());
            for (auto& c : cells_)
                out.push_back(std::move(*c));
            cells_.clear();
            this->set_value(std::move(out));
        }
    }

    using cell = std::conditional_t<std::is_void_v<R>, char, std::optional<R>>;
    std::vector<Item> items_;
    F fn_;
    std::vector<slot> slots_;
    std::vector<cell> cells_;
    std::size_t next_ = 0, done_ = 0;
};

}  // namespace detail

// Calls `fn(item)` for each item, at most `limit` futures in flight, and
// fulfils with the results in input order (future<void> if fn returns
// future<void>). Throws vow::invalid_argument if `limit` is zero.
template <class Item, class F>
auto map_concurrent(reactor& r, std::vector<Item> items, std::size_t limit, F&& fn,
                    std::source_location where = std::source_location::current()) {
    static_assert(std::is_invocable_v<std::decay_t<F>&, Item&&>,
                  "vow::map_concurrent: fn must be callable with an item");
    using FR = std::invoke_result_t<std::decay_t<F>&, Item&&>;
    static_assert(detail::is_future_v<FR>, "vow::map_concurrent: fn must return a vow::future");
    using R = detail::unwrap_t<FR>;
    detail::check_thread(r, "map_concurrent");
    if (limit == 0)
        throw invalid_argument("vow::map_concurrent: the limit must be at least 1");
    auto* n = new detail::map_node<Item, std::decay_t<F>, R>(r, where, std::move(items), limit, std::forward<F>(fn));
    auto f = detail::future_access::make<detail::all_vector_t<R>>(n);
    n->start();
    return f;
}

}  // namespace vow

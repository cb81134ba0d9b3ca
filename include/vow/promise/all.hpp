/// @file
/// vow::all and vow::all_settled: wait for every future.
///
/// all is JavaScript's Promise.all (asyncio's gather); all_settled is
/// Promise.allSettled.
///
/// @code
/// auto both = vow::all(fetch(a), fetch(b));        // future<std::tuple<A, B>>
/// auto many = vow::all(std::move(futures));        // future<std::vector<T>>
/// auto each = vow::all_settled(std::move(futures)); // future<std::vector<result<T>>>
/// @endcode
///
/// Results are in input order, whatever order the inputs settle in. `all`
/// rejects with the first error in time; later errors are taken silently (not
/// reported as unhandled). An empty vector resolves at once (on a later turn).
///
/// The reactor comes from the inputs. An empty vector has no input to take it
/// from: use the overloads that take the reactor first, `vow::all(r, futures)`;
/// without it, an empty vector throws vow::invalid_argument. Inputs from two
/// reactors throw vow::invalid_argument.
///
/// In a tuple, a `future<void>` contributes std::monostate.
///
/// Cost: one allocation for the combinator node and one for its per-input
/// slots, whatever the number of inputs, plus the result vector itself.
/// Thread safety: thread-bound (docs/design.md).
#pragma once

#include <vow/promise/detail/gather.hpp>
#include <vow/promise/future.hpp>
#include <vow/promise/result.hpp>

#include <cstddef>
#include <optional>
#include <source_location>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace vow {

namespace detail {

template <class T>
using all_vector_t = std::conditional_t<std::is_void_v<T>, void, std::vector<T>>;

// A settled state's outcome, moved out, as all_settled reports it.
template <class T>
result<T> take_outcome(state<T>& s) {
    if (s.get_status() != status::value)
        return result<T>::failure(s.take_error());
    if constexpr (std::is_void_v<T>) {
        s.take_value();
        return result<T>::success();
    } else {
        return result<T>::success(s.take_value());
    }
}

template <class T>
class all_node final : public gather_node<all_vector_t<T>, all_node<T>> {
    using base = gather_node<all_vector_t<T>, all_node<T>>;
    // Values go straight into the result vector when T can be made empty
    // first; otherwise through optional cells.
    static constexpr bool direct = std::is_void_v<T> || std::is_default_constructible_v<T>;
    using cell = std::conditional_t<std::is_void_v<T>, char, std::conditional_t<direct, T, std::optional<T>>>;

public:
    all_node(reactor& r, std::source_location where, std::size_t n) : base(r, where, n), cells_(n) {}

    void start() {
        if (this->size() == 0)
            finish();
    }

    void on_input(std::size_t i, state_base& src) {
        auto& s = static_cast<state<T>&>(src);
        if (s.get_status() != status::value) {
            auto e = s.take_error();
            if (this->pending())
                this->set_error(std::move(e));
            return;
        }
        if constexpr (std::is_void_v<T>)
            s.take_value();
        else if constexpr (direct)
            cells_[i] = s.take_value();
        else
            cells_[i].emplace(s.take_value());
        if (++done_ == this->size() && this->pending())
            finish();
    }

private:
    void finish() {
        if constexpr (std::is_void_v<T>) {
            this->set_value();
        } else if constexpr (direct) {
            this->set_value(std::move(cells_));
        } else {
            std::vector<T> out;
            out.reserve(cells_.size());
            for (auto& c : cells_)
                out.push_back(std::move(*c));
            cells_.clear();
            this->set_value(std::move(out));
        }
    }
    std::vector<cell> cells_;
    std::size_t done_ = 0;
};

template <class T>
class all_settled_node final : public gather_node<std::vector<result<T>>, all_settled_node<T>> {
    using base = gather_node<std::vector<result<T>>, all_settled_node<T>>;

public:
    all_settled_node(reactor& r, std::source_location where, std::size_t n) : base(r, where, n), cells_(n) {}

    void start() {
        if (this->size() == 0)
            this->set_value(std::vector<result<T>>());
    }

    void on_input(std::size_t i, state_base& src) {
        auto& s = static_cast<state<T>&>(src);
        cells_[i].emplace(take_outcome(s));
        if (++done_ == this->size()) {
            std::vector<result<T>> out;
            out.reserve(cells_.size());
            for (auto& c : cells_)
                out.push_back(std::move(*c));
            this->set_value(std::move(out));
        }
    }

private:
    std::vector<std::optional<result<T>>> cells_;
    std::size_t done_ = 0;
};

template <class T>
using tuple_elem_t = std::conditional_t<std::is_void_v<T>, std::monostate, T>;

// all(futures...): the slots are a fixed array, the cells a tuple.
template <class... T>
class all_tuple_node final : public gather_node<std::tuple<tuple_elem_t<T>...>, all_tuple_node<T...>> {
    using base = gather_node<std::tuple<tuple_elem_t<T>...>, all_tuple_node<T...>>;

public:
    all_tuple_node(reactor& r, std::source_location where, std::size_t n) : base(r, where, n) {}

    void start() {}

    void on_input(std::size_t i, state_base& src) {
        dispatch(i, src, std::index_sequence_for<T...>());
    }

private:
    template <std::size_t... I>
    void dispatch(std::size_t i, state_base& src, std::index_sequence<I...>) {
        ((i == I ? take<I>(src) : void()), ...);
    }

    template <std::size_t I>
    void take(state_base& src) {
        using U = std::tuple_element_t<I, std::tuple<T...>>;
        auto& s = static_cast<state<U>&>(src);
        if (s.get_status() != status::value) {
            auto e = s.take_error();
            if (this->pending())
                this->set_error(std::move(e));
            return;
        }
        if constexpr (std::is_void_v<U>) {
            s.take_value();
            std::get<I>(cells_).emplace();
        } else {
            std::get<I>(cells_).emplace(s.take_value());
        }
        if (++done_ == sizeof...(T) && this->pending())
            this->set_value(std::apply([](auto&... c) { return std::tuple<tuple_elem_t<T>...>(std::move(*c)...); }, cells_));
    }

    std::tuple<std::optional<tuple_elem_t<T>>...> cells_;
    std::size_t done_ = 0;
};

}  // namespace detail

/// Fulfils with every value, in input order, once all are fulfilled; rejects
/// with the first error. Consumes the futures. A vector of `future<void>`
/// gives a `future<void>`.
template <class T>
future<detail::all_vector_t<T>> all(std::vector<future<T>> futures,
                                    std::source_location where = std::source_location::current()) {
    return detail::future_access::make<detail::all_vector_t<T>>(
        detail::gather<detail::all_node<T>>(nullptr, futures, where, "all"));
}
/// As all(std::vector<future<T>>), on reactor `r`: the form for a vector that
/// may be empty.
template <class T>
future<detail::all_vector_t<T>> all(reactor& r, std::vector<future<T>> futures,
                                    std::source_location where = std::source_location::current()) {
    return detail::future_access::make<detail::all_vector_t<T>>(
        detail::gather<detail::all_node<T>>(&r, futures, where, "all"));
}

/// Fulfils with a tuple of the values once all are fulfilled; rejects with the
/// first error. At least one future. Consumes the futures.
template <class T0, class... T>
future<std::tuple<detail::tuple_elem_t<T0>, detail::tuple_elem_t<T>...>> all(future<T0> f0, future<T>... fs) {
    using node = detail::all_tuple_node<T0, T...>;
    using out = std::tuple<detail::tuple_elem_t<T0>, detail::tuple_elem_t<T>...>;
    // Check every input before consuming any, so a bad call leaves them intact.
    reactor* r = &f0.get_reactor();
    if (((&fs.get_reactor() != r) || ...))
        detail::throw_combinator_error("all", detail::combinator_misuse::mixed_reactors);
    auto* n = new node(*r, std::source_location::current(), 1 + sizeof...(T));
    std::size_t i = 0;
    n->connect(i++, detail::future_access::take(f0, "all"));
    (n->connect(i++, detail::future_access::take(fs, "all")), ...);
    return detail::future_access::make<out>(n);
}

/// Fulfils, once every input has settled, with each outcome in input order.
/// Never rejects. Consumes the futures.
template <class T>
future<std::vector<result<T>>> all_settled(std::vector<future<T>> futures,
                                           std::source_location where = std::source_location::current()) {
    return detail::future_access::make<std::vector<result<T>>>(
        detail::gather<detail::all_settled_node<T>>(nullptr, futures, where, "all_settled"));
}
/// As all_settled(std::vector<future<T>>), on reactor `r`: the form for a
/// vector that may be empty.
template <class T>
future<std::vector<result<T>>> all_settled(reactor& r, std::vector<future<T>> futures,
                                           std::source_location where = std::source_location::current()) {
    return detail::future_access::make<std::vector<result<T>>>(
        detail::gather<detail::all_settled_node<T>>(&r, futures, where, "all_settled"));
}

}  // namespace vow

/// @file
/// vow::race: the first future to settle, either way (JavaScript's Promise.race).
///
/// @code
/// auto first = vow::race(std::move(futures));   // future<T>
/// @endcode
///
/// Settles like the first input to settle, value or error; the others are
/// taken silently when they settle. Inputs that have settled already when
/// race is called are looked at in input order, so the first of them wins.
/// race itself adds no turn: it settles in the turn its winner settles
/// (docs/design.md, "Combinators add no turn"). As in JavaScript, a race of nothing never
/// settles: `vow::race(r, {})` stays pending (run_until_complete on it throws
/// vow::stalled_error rather than hanging). Without a reactor, an empty vector
/// throws vow::invalid_argument. Thread safety: thread-bound.
#pragma once

#include <vow/promise/detail/gather.hpp>
#include <vow/promise/future.hpp>

#include <cstddef>
#include <source_location>
#include <vector>

namespace vow {

namespace detail {

template <class T>
class race_node final : public gather_node<T, race_node<T>> {
    using base = gather_node<T, race_node<T>>;

public:
    using base::base;
    void start() {}

    void on_input(std::size_t, state_base& src) {
        auto& s = static_cast<state<T>&>(src);
        if (!this->pending()) {
            s.get_status() == status::value ? (void)s.take_value() : (void)s.take_error();
            return;
        }
        pass_from(s);
    }

    template <class U>
    void pass_from(state<U>& s) {
        if (s.get_status() != status::value)
            this->set_error(s.take_error());
        else if constexpr (std::is_void_v<U>)
            s.take_value(), this->set_value();
        else
            this->set_value(s.take_value());
    }
};

}  // namespace detail

/// Settles like the first input to settle. Consumes the futures.
template <class T>
future<T> race(std::vector<future<T>> futures, std::source_location where = std::source_location::current()) {
    return detail::future_access::make<T>(detail::gather<detail::race_node<T>>(nullptr, futures, where, "race"));
}
/// As race(std::vector<future<T>>), on reactor `r`: the form for a vector that
/// may be empty (which never settles).
template <class T>
future<T> race(reactor& r, std::vector<future<T>> futures,
               std::source_location where = std::source_location::current()) {
    return detail::future_access::make<T>(detail::gather<detail::race_node<T>>(&r, futures, where, "race"));
}

}  // namespace vow

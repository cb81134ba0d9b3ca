/// @file
/// vow::any: the first future to fulfil (JavaScript's Promise.any).
///
/// @code
/// auto fastest = vow::any(std::move(mirrors));   // future<T>
/// @endcode
///
/// Fulfils with the first value, in time. If every input rejects, or there is
/// none, rejects with vow::aggregate_error, whose errors() lists every reason
/// in input order. Other results are taken silently. The reactor comes from
/// the inputs; an empty vector needs `vow::any(r, futures)` (without it:
/// vow::invalid_argument). Thread safety: thread-bound.
#pragma once

#include <vow/promise/detail/gather.hpp>
#include <vow/promise/future.hpp>

#include <cstddef>
#include <exception>
#include <source_location>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace vow {

/// Every input of vow::any rejected. errors() are the reasons, in input order.
class aggregate_error : public std::runtime_error {
public:
    /// An error with what() `message` and the reasons `errors`.
    aggregate_error(const std::string& message, std::vector<std::exception_ptr> errors)
        : std::runtime_error(message), errors_(std::move(errors)) {}
    /// The reason each input rejected with, in input order.
    [[nodiscard]] const std::vector<std::exception_ptr>& errors() const noexcept { return errors_; }

private:
    std::vector<std::exception_ptr> errors_;
};

namespace detail {

std::exception_ptr make_aggregate_error(std::vector<std::exception_ptr> errors);

template <class T>
class any_node final : public gather_node<T, any_node<T>> {
    using base = gather_node<T, any_node<T>>;

public:
    any_node(reactor& r, std::source_location where, std::size_t n) : base(r, where, n), errors_(n) {}

    void start() {
        if (this->size() == 0)
            this->set_error(make_aggregate_error({}));
    }

    void on_input(std::size_t i, state_base& src) {
        auto& s = static_cast<state<T>&>(src);
        if (s.get_status() != status::value && !this->pending()) {
            s.take_error();  // fulfilled already: a late rejection is taken silently
            return;
        }
        if (s.get_status() != status::value) {
            errors_[i] = s.take_error();
            if (++failed_ == this->size())
                this->set_error(make_aggregate_error(std::move(errors_)));
            return;
        }
        if (!this->pending()) {
            s.take_value();
            return;
        }
        if constexpr (std::is_void_v<T>) {
            s.take_value();
            this->set_value();
        } else {
            this->set_value(s.take_value());
        }
        errors_.clear();
    }

private:
    std::vector<std::exception_ptr> errors_;
    std::size_t failed_ = 0;
};

}  // namespace detail

/// Fulfils with the first value; rejects with aggregate_error if all reject.
/// Consumes the futures.
template <class T>
future<T> any(std::vector<future<T>> futures, std::source_location where = std::source_location::current()) {
    return detail::future_access::make<T>(detail::gather<detail::any_node<T>>(nullptr, futures, where, "any"));
}
/// As any(std::vector<future<T>>), on reactor `r`: the form for a vector that
/// may be empty (which rejects with aggregate_error).
template <class T>
future<T> any(reactor& r, std::vector<future<T>> futures,
              std::source_location where = std::source_location::current()) {
    return detail::future_access::make<T>(detail::gather<detail::any_node<T>>(&r, futures, where, "any"));
}

}  // namespace vow

// vow/pg/detail/transaction.hpp - vow::pg::transaction's body (declared in
// <vow/pg/connection.hpp>).
#pragma once

#include <vow/pg/connection.hpp>
#include <vow/promise/future.hpp>

#include <exception>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

namespace vow::pg {

namespace detail {
template <class T>
struct future_value {
    using type = T;
};
template <class T>
struct future_value<future<T>> {
    using type = T;
};
}  // namespace detail

template <class F>
auto transaction(connection c, F fn, std::string_view begin) {
    static_assert(std::is_invocable_v<F&, connection&>,
                  "vow::pg::transaction: fn must be callable as fn(vow::pg::connection&)");
    using R = typename detail::future_value<std::remove_cvref_t<std::invoke_result_t<F&, connection&>>>::type;
    auto body = c.execute(begin).then([c, fn = std::move(fn)](result) mutable { return fn(c); });
    // On an error of the body (or of COMMIT), ROLLBACK, then the caller gets
    // that error. A ROLLBACK that fails too closes the connection, which
    // leaves it in no transaction.
    auto on_error = [c](std::exception_ptr e) mutable {
        return c.execute("ROLLBACK")
            .then([](result) {})
            .catch_([c](std::exception_ptr) mutable { c.close().discard(); })
            .then([e]() -> R { std::rethrow_exception(e); });
    };
    if constexpr (std::is_void_v<R>) {
        return std::move(body)
            .then([c]() mutable { return c.execute("COMMIT").then([](result) {}); })
            .catch_(std::move(on_error));
    } else {
        return std::move(body)
            .then([c](R v) mutable {
                return c.execute("COMMIT").then([v = std::move(v)](result) mutable { return std::move(v); });
            })
            .catch_(std::move(on_error));
    }
}

}  // namespace vow::pg

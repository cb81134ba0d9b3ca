// vow/promise/result.hpp - a value or an error, as all_settled reports each
// input.
//
//   for (auto& r : results)
//       if (r.has_value()) use(r.value()); else log(r.error());
//
// Thread safety: a plain value type.
#pragma once

#include <exception>
#include <optional>
#include <type_traits>
#include <utility>

namespace vow {

template <class T>
class result {
public:
    // A fulfilled result.
    template <class... A>
    static result success(A&&... args) {
        result r;
        r.value_.emplace(std::forward<A>(args)...);
        return r;
    }
    // A failed result. `error` must not be null.
    static result failure(std::exception_ptr error) noexcept {
        result r;
        r.error_ = std::move(error);
        return r;
    }

    [[nodiscard]] bool has_value() const noexcept { return !error_; }
    explicit operator bool() const noexcept { return has_value(); }

    // The value; rethrows the error if this result failed.
    T& value() & {
        if (error_)
            std::rethrow_exception(error_);
        return *value_;
    }
    const T& value() const& {
        if (error_)
            std::rethrow_exception(error_);
        return *value_;
    }
    T&& value() && {
        if (error_)
            std::rethrow_exception(error_);
        return std::move(*value_);
    }

    // The error, or null if this result has a value.
    [[nodiscard]] std::exception_ptr error() const noexcept { return error_; }

private:
    result() = default;
    std::optional<T> value_;
    std::exception_ptr error_;
};

template <>
class result<void> {
public:
    static result success() noexcept { return result(); }
    static result failure(std::exception_ptr error) noexcept {
        result r;
        r.error_ = std::move(error);
        return r;
    }
    [[nodiscard]] bool has_value() const noexcept { return !error_; }
    explicit operator bool() const noexcept { return has_value(); }
    void value() const {
        if (error_)
            std::rethrow_exception(error_);
    }
    [[nodiscard]] std::exception_ptr error() const noexcept { return error_; }

private:
    result() = default;
    std::exception_ptr error_;
};

}  // namespace vow

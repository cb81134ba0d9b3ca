/// @file
/// vow::result: a value or an error, as all_settled reports each input.
///
/// @code
/// for (auto& r : results)
///     if (r.has_value()) use(r.value()); else log(r.error());
/// @endcode
///
/// Thread safety: a plain value type.
#pragma once

#include <exception>
#include <optional>
#include <type_traits>
#include <utility>

namespace vow {

/// A value of type T or an error (a std::exception_ptr), as all_settled
/// reports each input. Made by success() or failure().
template <class T>
class result {
public:
    /// A fulfilled result.
    template <class... A>
    static result success(A&&... args) {
        result r;
        r.value_.emplace(std::forward<A>(args)...);
        return r;
    }
    /// A failed result. `error` must not be null.
    static result failure(std::exception_ptr error) noexcept { return result(std::move(error)); }

    /// True if this result holds a value (it did not fail).
    [[nodiscard]] bool has_value() const noexcept { return !error_; }
    /// Same as has_value().
    explicit operator bool() const noexcept { return has_value(); }

    /// The value; rethrows the error if this result failed.
    T& value() & {
        if (error_)
            std::rethrow_exception(error_);
        return *value_;
    }
    /// The value; rethrows the error if this result failed.
    const T& value() const& {
        if (error_)
            std::rethrow_exception(error_);
        return *value_;
    }
    /// The value, moved out; rethrows the error if this result failed.
    T&& value() && {
        if (error_)
            std::rethrow_exception(error_);
        return std::move(*value_);
    }

    /// The error, or null if this result has a value.
    [[nodiscard]] std::exception_ptr error() const noexcept { return error_; }

private:
    result() = default;
    explicit result(std::exception_ptr error) noexcept : error_(std::move(error)) {}
    std::optional<T> value_;
    std::exception_ptr error_;
};

/// Success or an error (a std::exception_ptr), as all_settled reports each
/// future<void> input. Made by success() or failure().
template <>
class result<void> {
public:
    /// A fulfilled result.
    static result success() noexcept { return result(); }
    /// A failed result. `error` must not be null.
    static result failure(std::exception_ptr error) noexcept { return result(std::move(error)); }
    /// True if this result succeeded (holds no error).
    [[nodiscard]] bool has_value() const noexcept { return !error_; }
    /// Same as has_value().
    explicit operator bool() const noexcept { return has_value(); }
    /// Returns if this result succeeded; rethrows the error if it failed.
    void value() const {
        if (error_)
            std::rethrow_exception(error_);
    }
    /// The error, or null if this result succeeded.
    [[nodiscard]] std::exception_ptr error() const noexcept { return error_; }

private:
    result() = default;
    explicit result(std::exception_ptr error) noexcept : error_(std::move(error)) {}
    std::exception_ptr error_;
};

}  // namespace vow

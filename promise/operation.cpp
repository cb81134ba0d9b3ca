// The out-of-line parts of vow::pending_operation: the expiry errors, worded
// once for every layer, and the misuse error.
#include <vow/promise/operation.hpp>

#include <fmt/format.h>

namespace vow {

std::exception_ptr expired_error(expiry why, std::string_view operation) {
    if (why == expiry::timeout)
        return std::make_exception_ptr(timeout_error(fmt::format("vow::{}: timed out", operation)));
    return std::make_exception_ptr(
        cancelled_error(fmt::format("vow::{}: cancelled: stop was requested on its stop_token", operation)));
}

void detail::throw_not_pending(const char* what) {
    throw usage_error(
        fmt::format("vow::pending_operation::{}: the operation has already settled (or expired)", what));
}

}  // namespace vow

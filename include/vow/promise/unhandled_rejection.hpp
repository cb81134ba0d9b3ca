/// @file
/// What happens to errors nobody handled.
///
/// A future that is dropped while it holds an error, with no handler chained
/// on it, is an unhandled rejection (as in JavaScript). vow reports it with
/// the place where that future was created. A handled rejection is never
/// reported.
///
/// @code
/// vow::set_unhandled_rejection_handler(
///     [](std::exception_ptr e, const std::source_location& where) { ... });
/// @endcode
///
/// Thread safety: the handler may be set from any thread; it is called on
/// the reactor thread that dropped the future.
#pragma once

#include <exception>
#include <functional>
#include <source_location>

namespace vow {

/// Called with the error of a future dropped unhandled, and the place where
/// that future was created.
using unhandled_rejection_handler = std::function<void(std::exception_ptr, const std::source_location&)>;

/// Installs `handler` for the whole process and returns the previous one. An
/// empty function restores the default, which prints one line to stderr:
/// @code{.unparsed}
/// vow: unhandled rejection: <what()> (future created at file:line in function)
/// @endcode
unhandled_rejection_handler set_unhandled_rejection_handler(unhandled_rejection_handler handler);

}  // namespace vow

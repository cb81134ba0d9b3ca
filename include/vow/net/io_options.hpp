/// @file
/// vow::net::io_options: how long a stream operation may wait, and how to
/// cancel it.
///
/// The last parameter of every wait on every vow stream (TCP now, TLS and
/// WebSocket after it).
#pragma once

#include <vow/reactor/reactor.hpp>

#include <optional>
#include <stop_token>

namespace vow::net {

/// How long an operation may wait and how to cancel it. With both a timeout
/// and a deadline, the earlier one applies.
struct io_options {
    /// Cancels the operation (vow::cancelled_error) once stop is requested;
    /// none by default.
    std::stop_token stop = {};
    /// The longest the operation may wait, from its start (vow::timeout_error
    /// after it); none by default.
    std::optional<reactor::duration> timeout = {};
    /// The point in time by which the operation must finish
    /// (vow::timeout_error after it); none by default.
    std::optional<reactor::time_point> deadline = {};
};

}  // namespace vow::net

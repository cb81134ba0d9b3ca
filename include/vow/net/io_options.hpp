// vow/net/io_options.hpp - how long a stream operation may wait, and how to
// cancel it: the last parameter of every wait on every vow stream (TCP now,
// TLS and WebSocket after it).
#pragma once

#include <vow/reactor/reactor.hpp>

#include <optional>
#include <stop_token>

namespace vow::net {

// How long an operation may wait and how to cancel it. With both a timeout
// and a deadline, the earlier one applies.
struct io_options {
    std::stop_token stop = {};
    std::optional<reactor::duration> timeout = {};
    std::optional<reactor::time_point> deadline = {};
};

}  // namespace vow::net

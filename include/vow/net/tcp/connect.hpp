/// @file
/// vow::net::connect(): a TCP connection to a host name or an address, as a
/// future of vow::net::tcp_stream.
///
/// Thread safety: call on the reactor's thread (checked where thread checks
/// are on, docs/design.md "Threading").
#pragma once

#include <vow/net/address.hpp>
#include <vow/net/tcp/stream.hpp>
#include <vow/promise/future.hpp>
#include <vow/reactor/reactor.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <stop_token>
#include <string_view>

namespace vow::net {

/// Options of vow::net::connect.
struct connect_options {
    /// Cancels the attempt (vow::cancelled_error); none by default.
    std::stop_token stop = {};
    /// For the whole attempt, name resolution included (vow::timeout_error
    /// after it); 30 seconds by default, must be positive.
    std::optional<reactor::duration> timeout = std::chrono::seconds(30);
    /// The point in time by which the attempt must succeed; none by default.
    std::optional<reactor::time_point> deadline = {};
    int family = 0;  ///< AF_UNSPEC (0), AF_INET or AF_INET6
    /// Options of the connected stream.
    stream_options stream = {};
};

/// Connects to host:port: resolves the name (`<vow/net/dns/resolve.hpp>`;
/// numeric hosts and "localhost" without a query) and tries each address in
/// turn. Rejects with io_error naming the host and the last error
/// ("connect to localhost:9 (127.0.0.1:9): Connection refused"),
/// vow::net::dns_error, vow::timeout_error or vow::cancelled_error.
[[nodiscard]] future<tcp_stream> connect(reactor& r, std::string_view host, std::uint16_t port,
                                         connect_options opts = {});
/// As connect(r, host, port, opts) with the default options and the stop
/// token `stop`.
[[nodiscard]] future<tcp_stream> connect(reactor& r, std::string_view host, std::uint16_t port,
                                         std::stop_token stop);
/// Connects to one address.
[[nodiscard]] future<tcp_stream> connect(reactor& r, const address& to, connect_options opts = {});

}  // namespace vow::net

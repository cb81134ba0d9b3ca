// TEMPORARY STUB (not committed): replaced by the DNS branch.
#pragma once
#include <vow/net/address.hpp>
#include <vow/net/error.hpp>
#include <vow/promise/future.hpp>
#include <vow/promise/make_future.hpp>
#include <vow/reactor/reactor.hpp>
#include <stop_token>
#include <vector>
#include <chrono>
namespace vow::net {
struct resolve_options {
    std::stop_token stop = {};
    reactor::duration timeout = std::chrono::seconds(5);
    int family = AF_UNSPEC;
};
inline future<std::vector<address>> resolve(reactor& r, std::string_view host, std::uint16_t port = 0, resolve_options opts = {}) {
    (void)opts;
    if (host == "localhost")
        return make_ready_future(r, std::vector<address>{address::parse("127.0.0.1", port), address::parse("::1", port)});
    return make_exception_future<std::vector<address>>(r, dns_error("stub"));
}
}

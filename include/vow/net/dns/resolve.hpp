/// @file
/// vow::net::resolve: asynchronous name resolution (libevent's evdns).
///
/// @code
/// auto addrs = vow::net::resolve(r, "example.com", 443);   // future<std::vector<address>>
/// std::move(addrs).then([](std::vector<vow::net::address> a) { fmt::print("{}\n", a.front()); });
///
/// std::stop_source stop;                                    // give up early, from any thread:
/// auto f = vow::net::resolve(r, "example.com", 80, {.stop = stop.get_token(), .timeout = 2s});
/// stop.request_stop();                                      // f rejects with vow::cancelled_error
/// @endcode
///
/// Numeric hosts and "localhost" resolve at once, without a query or a
/// thread. Other names go to libevent's evdns, which runs on a resolver
/// thread that each reactor starts on its first such lookup (see "Threads"
/// below); results come back to the reactor's thread as usual.
///
/// Thread safety: both functions are thread-bound (docs/design.md): call them
/// on the reactor's thread. The returned future is thread-bound as always, and
/// its continuations run on the reactor's thread, on a later turn.
///
/// Threads: evdns lives on a private libevent base driven by one thread per
/// reactor, not on the reactor's own loop. libevent 2.1 delivers every evdns
/// answer and every cancellation as a deferred callback on its base; on the
/// reactor's base, lookups still in flight when the reactor is destroyed (or
/// cancelled just before) would never get those callbacks, and evdns would
/// leak their state. The resolver thread can always run its own base until
/// evdns has let go of everything, so teardown is clean at any moment.
#pragma once

#include <vow/net/address.hpp>
#include <vow/promise/future.hpp>
#include <vow/reactor/reactor.hpp>

#include <chrono>
#include <cstdint>
#include <stop_token>
#include <string_view>
#include <vector>

#include <sys/socket.h>

namespace vow::net {

/// Options of vow::net::resolve.
struct resolve_options {
    /// Stop requested (any thread): the lookup rejects with vow::cancelled_error.
    std::stop_token stop = {};
    /// For the whole lookup: after it, vow::timeout_error. Must be positive;
    /// 5 seconds by default.
    reactor::duration timeout = std::chrono::seconds(5);
    /// AF_INET, AF_INET6 or AF_UNSPEC (both, the default).
    int family = AF_UNSPEC;
};

/// Resolves `host` to its addresses, each with port `port`.
///
/// - Numeric hosts ("127.0.0.1", "::1", "[::1]") and "localhost" (127.0.0.1,
///   then ::1; any letter case) resolve without a query. A numeric host of
///   the other family than `opts.family` rejects with dns_error.
/// - Other names go through evdns: /etc/hosts first, then the nameservers and
///   search domains of /etc/resolv.conf, unless configure_resolver said
///   otherwise.
///
/// The result holds no duplicates and keeps the resolver's order: the file's
/// order for /etc/hosts; from DNS, for AF_UNSPEC, the IPv4 addresses first.
/// It is never empty: a name that does not exist, has no address of the
/// family asked for, or that the resolver fails on rejects with
/// vow::net::dns_error, whose message names the host and the reason
/// ("resolve 'nosuch.example': name not found"). No answer within
/// `opts.timeout` rejects with vow::timeout_error; a stop request with
/// vow::cancelled_error (also if stop was requested before the call). Either
/// way the query is cancelled in evdns.
///
/// Throws vow::invalid_argument (nothing is started) for an empty host, one
/// longer than 253 bytes, or one with a NUL, a space or another control
/// character; for a timeout that is not positive; and for another family.
/// Called off the reactor's thread: aborts where thread checks are on
/// (docs/design.md, "Threading"), throws vow::usage_error where they are not.
[[nodiscard]] future<std::vector<address>> resolve(reactor& r, std::string_view host, std::uint16_t port = 0,
                                                   resolve_options opts = {});

/// How a reactor resolves names that need a query.
struct resolver_config {
    /// Where to send queries (port 0 means 53). Empty: the nameservers,
    /// search domains and options of /etc/resolv.conf (the two settings below
    /// override its "timeout" and "attempts"). If that file is missing
    /// or lists no nameserver, numeric hosts, localhost and /etc/hosts entries
    /// still resolve; other names reject with dns_error ("no nameserver
    /// configured").
    std::vector<address> nameservers = {};
    /// Answer from /etc/hosts before asking the nameservers (default true).
    bool use_hosts_file = true;
    /// How long evdns waits for one answer before it sends the query again
    /// (2 seconds by default).
    reactor::duration attempt_timeout = std::chrono::seconds(2);
    /// How many times evdns sends a query before it gives up (dns_error, if
    /// resolve's own timeout has not run out first); 1..255, default 2.
    int attempts = 2;
};

/// Replaces the reactor's resolver configuration for the lookups started
/// after this call. Lookups in flight keep the configuration they started
/// with: the old evdns base lives until its last lookup is over. A reactor
/// that was never configured uses `resolver_config{}`.
///
/// Reactor thread only. Throws vow::invalid_argument (and changes nothing)
/// for a nameserver that is an empty address, a non-positive attempt_timeout,
/// or attempts outside 1..255. A nameserver evdns cannot use (a socket it
/// cannot open) makes the lookups on this configuration reject with
/// dns_error, naming the server.
void configure_resolver(reactor& r, resolver_config config);

}  // namespace vow::net

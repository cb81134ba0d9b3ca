// Many connections at once through one tcp_server and one reactor: every
// client gets back exactly its own bytes, none lost, repeated or swapped.
#include <boost/test/unit_test.hpp>

#include <net_fixture.hpp>

#include <vow/net/tcp.hpp>
#include <vow/promise/all.hpp>
#include <vow/promise/event.hpp>
#include <vow/promise/make_future.hpp>
#include <vow/promise/semaphore.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <tuple>
#include <variant>
#include <vector>

#include <fmt/format.h>
#include <sys/resource.h>

BOOST_AUTO_TEST_SUITE(concurrency_test)

using vow::future;
using vow::net::tcp_server;
using vow::net::tcp_stream;
using vow::test::pattern;

namespace {

// Raises the soft limit on open files to the hard limit if `need` is above
// it: each connection costs two descriptors here (client and server end).
void ensure_open_files(rlim_t need) {
    rlimit lim{};
    BOOST_REQUIRE(::getrlimit(RLIMIT_NOFILE, &lim) == 0);
    if (lim.rlim_cur >= need)
        return;
    lim.rlim_cur = lim.rlim_max;
    BOOST_REQUIRE(::setrlimit(RLIMIT_NOFILE, &lim) == 0);
    BOOST_REQUIRE_MESSAGE(lim.rlim_cur == RLIM_INFINITY || lim.rlim_cur >= need,
                          "this test needs " << need << " open files; the hard limit is " << lim.rlim_max);
}

// The server side: an echo loop per connection, as in examples/echo_server.cpp.
// It counts the connections open at once and any error, which must not happen.
struct echo_server {
    tcp_server server;
    std::size_t open = 0;
    std::size_t most_open = 0;
    std::vector<std::string> errors;
    std::function<void()> on_accept;

    echo_server(vow::reactor& r, vow::net::server_options o) : server(r, "127.0.0.1", 0, o) {
        server.on_connection([this](tcp_stream s) {
            most_open = std::max(most_open, ++open);
            echo(std::move(s));
            if (on_accept)
                on_accept();
        });
    }

    void echo(tcp_stream s) {
        (void)s.read_some()
            .then([s](std::string data) mutable {
                if (data.empty())
                    return s.shutdown().then([] { return false; });
                return s.write(data).then([] { return true; });
            })
            .then([this, s](bool more) mutable {
                if (more) {
                    echo(s);
                } else {
                    s.close();
                    --open;
                }
            })
            .catch_([this, s](std::exception_ptr e) mutable {
                errors.push_back(vow::test::message_of(e));
                s.close();
                --open;
            });
    }
};

// Writes `data` in pieces of `piece` bytes, each after the last one's
// future resolved.
future<void> write_in_pieces(tcp_stream s, std::shared_ptr<const std::string> data, std::size_t offset,
                             std::size_t piece) {
    if (offset >= data->size())
        return vow::make_ready_future(s.get_reactor());
    const auto n = std::min(piece, data->size() - offset);
    return s.write(std::string_view(*data).substr(offset, n)).then([s, data, offset, n, piece] {
        return write_in_pieces(s, data, offset + n, piece);
    });
}

struct outcome {
    std::size_t verified = 0;
    std::vector<std::string> failures;
};

// Connects `n` clients (at most 64 handshakes in flight, so that a small
// somaxconn cannot drop SYNs), waits until every one is connected and
// accepted, then has all of them send their own pattern of `size` bytes at
// once and check the echo byte for byte, then the end of stream.
outcome run_clients(vow::test::net_fixture& fx, echo_server& echo, std::size_t n, std::size_t size,
                    std::size_t base_piece) {
    auto& r = fx.r;
    auto result = std::make_shared<outcome>();
    vow::semaphore handshakes(r, 64);
    vow::event all_open(r);
    std::size_t connected = 0;
    auto maybe_go = [&] {
        if (connected == n && echo.server.accepted() == n && !all_open.is_set())
            all_open.set();
    };
    echo.on_accept = maybe_go;
    const auto port = echo.server.port();

    std::vector<future<void>> clients;
    clients.reserve(n);
    for (std::size_t i = 0; i < n; ++i) {
        auto data = std::make_shared<const std::string>(pattern(size, static_cast<std::uint32_t>(i)));
        // Piece sizes differ per client, so writes and reads never line up.
        const std::size_t piece = base_piece + (i * 37) % base_piece;
        clients.push_back(
            handshakes.acquire()
                .then([&r, port] { return vow::net::connect(r, "127.0.0.1", port); })
                .then([&](tcp_stream s) {
                    handshakes.release();
                    ++connected;
                    maybe_go();
                    return all_open.wait().then([s] { return s; });
                })
                .then([data, piece, result](tcp_stream s) {
                    return vow::all(write_in_pieces(s, data, 0, piece), s.read_exactly(data->size()))
                        .then([s](std::tuple<std::monostate, std::string> t) mutable {
                            auto echoed = std::move(std::get<1>(t));
                            return s.shutdown().then([s, echoed = std::move(echoed)]() mutable {
                                return s.read_some().then([echoed = std::move(echoed)](std::string rest) {
                                    return echoed + rest;   // rest must be "": end of stream
                                });
                            });
                        })
                        .then([s, data, result](std::string echoed) mutable {
                            s.close();
                            if (echoed == *data)
                                ++result->verified;
                            else
                                result->failures.push_back(fmt::format(
                                    "{} bytes sent, {} echoed, first difference at {}", data->size(),
                                    echoed.size(),
                                    std::mismatch(data->begin(), data->end(), echoed.begin(), echoed.end()).first -
                                        data->begin()));
                        });
                }));
    }
    fx.wait_all(clients, std::chrono::seconds(90));
    // The server's side ends when it sees each client's end of stream.
    fx.wait_until([&] { return echo.open == 0; });
    echo.on_accept = nullptr;
    return *result;
}

vow::net::server_options with_backpressure() {
    vow::net::server_options o;
    o.stream.high_water = 16 * 1024;
    o.stream.max_write_buffer = 256 * 1024;
    return o;
}

}  // namespace

BOOST_FIXTURE_TEST_CASE(a_thousand_concurrent_connections_each_get_back_exactly_their_own_bytes,
                        vow::test::net_fixture) {
    constexpr std::size_t n = 1000;
    ensure_open_files(2 * n + 100);
    echo_server echo(r, {});
    auto got = run_clients(*this, echo, n, 6 * 1024 + 123, 1000);
    BOOST_TEST(got.verified == n);
    BOOST_TEST(got.failures.empty());
    for (const auto& f : got.failures)
        BOOST_TEST_MESSAGE(f);
    BOOST_TEST(echo.server.accepted() == n);
    BOOST_TEST(echo.most_open == n);   // every connection was open at the same time
    BOOST_TEST(echo.errors.empty());
    for (const auto& e : echo.errors)
        BOOST_TEST_MESSAGE("server: " << e);
}

BOOST_FIXTURE_TEST_CASE(a_hundred_connections_echo_through_backpressure_without_mixing_bytes,
                        vow::test::net_fixture) {
    // Each client sends far more than the server's high-water mark and
    // read-ahead, so every echo loop stops and starts on the window.
    constexpr std::size_t n = 100;
    ensure_open_files(2 * n + 100);
    echo_server echo(r, with_backpressure());
    auto got = run_clients(*this, echo, n, 384 * 1024 + 7, 48 * 1024);
    BOOST_TEST(got.verified == n);
    BOOST_TEST(got.failures.empty());
    for (const auto& f : got.failures)
        BOOST_TEST_MESSAGE(f);
    BOOST_TEST(echo.most_open == n);
    BOOST_TEST(echo.errors.empty());
}

BOOST_AUTO_TEST_SUITE_END()  // concurrency_test

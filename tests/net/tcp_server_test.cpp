// vow::net::tcp_server over loopback: binding, port 0, accept() and
// on_connection, closing, SO_REUSEPORT, errors, IPv6.
#include <boost/test/unit_test.hpp>

#include <net_fixture.hpp>

#include <vow/net/tcp.hpp>

#include <cstdint>
#include <exception>
#include <memory>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

BOOST_AUTO_TEST_SUITE(tcp_server_test)

using namespace std::chrono_literals;
using vow::net::io_error;
using vow::net::server_options;
using vow::net::tcp_server;
using vow::net::tcp_stream;
using vow::test::error_as;
using fixture = vow::test::net_fixture;

BOOST_FIXTURE_TEST_CASE(port_zero_picks_a_free_port_and_port_reports_it, fixture) {
    tcp_server server(r, "127.0.0.1", 0);
    BOOST_TEST(server.is_open());
    BOOST_TEST(server.port() != 0);
    BOOST_TEST(server.local_address().port() == server.port());
    BOOST_TEST(server.local_address().is_loopback());
    BOOST_TEST(server.local_address().host() == "127.0.0.1");
    // Two servers on port 0 get two different ports.
    tcp_server other(r, "127.0.0.1", 0);
    BOOST_TEST(other.port() != server.port());
    // And the reported port is the one that answers.
    auto accepted = server.accept();
    auto c = wait(vow::net::connect(r, "127.0.0.1", server.port()));
    auto s = wait(std::move(accepted));
    BOOST_TEST(c.peer_address().port() == server.port());
}

BOOST_FIXTURE_TEST_CASE(localhost_listens_on_127_0_0_1, fixture) {
    tcp_server server(r, "localhost", 0);
    BOOST_TEST(server.local_address().host() == "127.0.0.1");
}

BOOST_FIXTURE_TEST_CASE(accept_resolves_with_the_next_connection, fixture) {
    tcp_server server(r, "127.0.0.1", 0);
    auto accepted = server.accept();
    settle();
    BOOST_TEST(!accepted.available());
    auto c = wait(vow::net::connect(r, "127.0.0.1", server.port()));
    auto s = wait(std::move(accepted));
    BOOST_TEST(s.is_open());
    BOOST_TEST(s.peer_address() == c.local_address());
    BOOST_TEST(s.local_address() == c.peer_address());
    BOOST_TEST(server.accepted() == 1u);
    wait(s.write("welcome"));
    BOOST_TEST(wait(c.read_exactly(7)) == "welcome");
}

BOOST_FIXTURE_TEST_CASE(a_connection_made_before_accept_waits_in_the_backlog, fixture) {
    tcp_server server(r, "127.0.0.1", 0);
    auto c = wait(vow::net::connect(r, "127.0.0.1", server.port()));
    wait(c.write("queued"));
    settle();
    BOOST_TEST(server.accepted() == 0u);
    auto s = wait(server.accept());
    BOOST_TEST(wait(s.read_exactly(6)) == "queued");
    BOOST_TEST(server.accepted() == 1u);
}

BOOST_FIXTURE_TEST_CASE(on_connection_receives_every_connection_and_accepted_counts_them, fixture) {
    tcp_server server(r, "127.0.0.1", 0);
    std::vector<tcp_stream> got;
    server.on_connection([&](tcp_stream s) { got.push_back(std::move(s)); });
    std::vector<tcp_stream> clients;
    for (int i = 0; i < 5; ++i)
        clients.push_back(wait(vow::net::connect(r, "127.0.0.1", server.port())));
    wait_until([&] { return got.size() == 5; });
    BOOST_TEST(server.accepted() == 5u);
    // Each accepted stream is the other end of one client.
    for (std::size_t i = 0; i < clients.size(); ++i) {
        wait(clients[i].write(std::to_string(i)));
        bool matched = false;
        for (auto& s : got)
            if (s.peer_address() == clients[i].local_address()) {
                BOOST_TEST(wait(s.read_exactly(1)) == std::to_string(i));
                matched = true;
            }
        BOOST_TEST(matched);
    }
}

BOOST_FIXTURE_TEST_CASE(accepted_streams_take_the_servers_stream_options, fixture) {
    server_options o;
    o.stream.nodelay = false;
    tcp_server server(r, "127.0.0.1", 0, o);
    auto accepted = server.accept();
    auto c = wait(vow::net::connect(r, "127.0.0.1", server.port()));
    auto s = wait(std::move(accepted));
    int v = -1;
    socklen_t len = sizeof v;
    BOOST_REQUIRE(::getsockopt(s.native_handle(), IPPROTO_TCP, TCP_NODELAY, &v, &len) == 0);
    BOOST_TEST(v == 0);
}

BOOST_FIXTURE_TEST_CASE(accept_while_a_handler_is_set_throws_usage_error, fixture) {
    tcp_server server(r, "127.0.0.1", 0);
    server.on_connection([](tcp_stream) {});
    BOOST_CHECK_THROW((void)server.accept(), vow::usage_error);
}

BOOST_FIXTURE_TEST_CASE(on_connection_or_a_second_accept_while_an_accept_is_pending_throws_usage_error, fixture) {
    tcp_server server(r, "127.0.0.1", 0);
    auto pending = server.accept();
    BOOST_CHECK_THROW((void)server.accept(), vow::usage_error);
    BOOST_CHECK_THROW(server.on_connection([](tcp_stream) {}), vow::usage_error);
    // The pending accept is unharmed.
    auto c = wait(vow::net::connect(r, "127.0.0.1", server.port()));
    BOOST_TEST(wait(std::move(pending)).is_open());
}

BOOST_FIXTURE_TEST_CASE(an_empty_handler_hands_connections_back_to_accept, fixture) {
    tcp_server server(r, "127.0.0.1", 0);
    int handled = 0;
    server.on_connection([&](tcp_stream) { ++handled; });
    server.on_connection({});
    auto c = wait(vow::net::connect(r, "127.0.0.1", server.port()));
    auto s = wait(server.accept());
    BOOST_TEST(s.is_open());
    BOOST_TEST(handled == 0);
}

BOOST_FIXTURE_TEST_CASE(close_rejects_a_pending_accept_with_operation_canceled, fixture) {
    tcp_server server(r, "127.0.0.1", 0);
    auto port = server.port();
    auto pending = server.accept();
    server.close();
    BOOST_TEST(!server.is_open());
    auto e = error_as<io_error>(wait_error(std::move(pending)));
    BOOST_TEST(e.code() == std::errc::operation_canceled);
    // Closing again is harmless; accept() on a closed server rejects the same way.
    server.close();
    auto again = error_as<io_error>(wait_error(server.accept()));
    BOOST_TEST(again.code() == std::errc::operation_canceled);
    // Nobody listens on the port any more.
    auto refused = error_as<io_error>(wait_error(vow::net::connect(r, "127.0.0.1", port)));
    BOOST_TEST(refused.code() == std::errc::connection_refused);
}

BOOST_FIXTURE_TEST_CASE(closing_the_server_leaves_accepted_connections_open, fixture) {
    tcp_server server(r, "127.0.0.1", 0);
    auto accepted = server.accept();
    auto c = wait(vow::net::connect(r, "127.0.0.1", server.port()));
    auto s = wait(std::move(accepted));
    server.close();
    BOOST_TEST(s.is_open());
    wait(c.write("still here"));
    BOOST_TEST(wait(s.read_exactly(10)) == "still here");
}

BOOST_FIXTURE_TEST_CASE(a_handler_may_close_the_server, fixture) {
    tcp_server server(r, "127.0.0.1", 0);
    int handled = 0;
    server.on_connection([&](tcp_stream) {
        ++handled;
        server.close();
    });
    auto c = wait(vow::net::connect(r, "127.0.0.1", server.port()));
    wait_until([&] { return !server.is_open(); });
    BOOST_TEST(handled == 1);
}

BOOST_FIXTURE_TEST_CASE(accept_times_out_with_timeout_error_and_the_server_goes_on, fixture) {
    tcp_server server(r, "127.0.0.1", 0);
    vow::net::io_options o;
    o.timeout = 20ms;
    BOOST_CHECK_THROW(wait(server.accept(o)), vow::timeout_error);
    auto accepted = server.accept();
    auto c = wait(vow::net::connect(r, "127.0.0.1", server.port()));
    BOOST_TEST(wait(std::move(accepted)).is_open());
}

BOOST_FIXTURE_TEST_CASE(stopping_a_pending_accept_rejects_with_cancelled_error, fixture) {
    tcp_server server(r, "127.0.0.1", 0);
    std::stop_source stop;
    vow::net::io_options o;
    o.stop = stop.get_token();
    auto pending = server.accept(o);
    stop.request_stop();
    BOOST_CHECK_THROW(wait(std::move(pending)), vow::cancelled_error);
    // Already stopped: rejects without waiting.
    BOOST_CHECK_THROW(wait(server.accept(o)), vow::cancelled_error);
    BOOST_TEST(server.is_open());
}

BOOST_FIXTURE_TEST_CASE(binding_a_port_in_use_throws_io_error_naming_the_address, fixture) {
    tcp_server first(r, "127.0.0.1", 0);
    try {
        tcp_server second(r, "127.0.0.1", first.port());
        BOOST_FAIL("the second bind succeeded");
    } catch (const io_error& e) {
        BOOST_TEST(e.code() == std::errc::address_in_use);
        std::string what = e.what();
        BOOST_TEST(what.find("127.0.0.1:" + std::to_string(first.port())) != std::string::npos);
        BOOST_TEST(what.find("bind") != std::string::npos);
    }
    BOOST_TEST(first.is_open());
}

BOOST_FIXTURE_TEST_CASE(a_host_that_is_not_numeric_throws_invalid_argument, fixture) {
    BOOST_CHECK_THROW((void)tcp_server(r, "example.com", 0), vow::invalid_argument);
    BOOST_CHECK_THROW((void)tcp_server(r, "", 0), vow::invalid_argument);
    BOOST_CHECK_THROW((void)tcp_server(r, "127.0.0.256", 0), vow::invalid_argument);
    BOOST_CHECK_THROW((void)tcp_server(r, vow::net::address{}), vow::invalid_argument);
}

BOOST_FIXTURE_TEST_CASE(bad_server_options_throw_invalid_argument, fixture) {
    server_options o;
    o.backlog = 0;
    BOOST_CHECK_THROW((void)tcp_server(r, "127.0.0.1", 0, o), vow::invalid_argument);
    o = {};
    o.stream.high_water = 2;
    o.stream.max_write_buffer = 1;
    BOOST_CHECK_THROW((void)tcp_server(r, "127.0.0.1", 0, o), vow::invalid_argument);
}

BOOST_FIXTURE_TEST_CASE(reuse_port_lets_two_servers_listen_on_one_port, fixture) {
    server_options o;
    o.reuse_port = true;
    tcp_server a(r, "127.0.0.1", 0, o);
    tcp_server b(r, "127.0.0.1", a.port(), o);
    BOOST_TEST(b.port() == a.port());
    std::vector<tcp_stream> got;
    a.on_connection([&](tcp_stream s) { got.push_back(std::move(s)); });
    b.on_connection([&](tcp_stream s) { got.push_back(std::move(s)); });
    std::vector<tcp_stream> clients;
    for (int i = 0; i < 20; ++i)
        clients.push_back(wait(vow::net::connect(r, "127.0.0.1", a.port())));
    wait_until([&] { return got.size() == 20; });
    // The kernel spreads connections over both; which gets how many is its choice.
    BOOST_TEST(a.accepted() + b.accepted() == 20u);
}

BOOST_FIXTURE_TEST_CASE(without_reuse_port_a_second_listener_is_refused, fixture) {
    server_options o;
    o.reuse_port = true;
    tcp_server a(r, "127.0.0.1", 0, o);
    // Both sockets must ask for SO_REUSEPORT.
    try {
        tcp_server b(r, "127.0.0.1", a.port());
        BOOST_FAIL("the second bind succeeded");
    } catch (const io_error& e) {
        BOOST_TEST(e.code() == std::errc::address_in_use);
    }
}

BOOST_FIXTURE_TEST_CASE(a_throwing_connection_handler_is_reported_and_the_server_keeps_accepting, fixture) {
    tcp_server server(r, "127.0.0.1", 0);
    int calls = 0;
    std::vector<tcp_stream> kept;
    server.on_connection([&](tcp_stream s) {
        if (++calls == 1)
            throw std::runtime_error("handler failed on purpose");
        kept.push_back(std::move(s));
    });
    std::vector<tcp_stream> clients;
    for (int i = 0; i < 3; ++i)
        clients.push_back(wait(vow::net::connect(r, "127.0.0.1", server.port())));
    wait_until([&] { return kept.size() == 2; });
    BOOST_TEST(server.is_open());
    BOOST_TEST(server.accepted() == 3u);
    BOOST_REQUIRE(reported.size() == 1u);
    BOOST_TEST(reported[0].find("handler failed on purpose") != std::string::npos);
    BOOST_TEST(reported[0].find("tcp_server connection handler") != std::string::npos);
    reported.clear();
    // The stream the handler dropped was closed: that client sees end of stream.
    std::size_t ended = 0;
    for (auto& c : clients) {
        bool is_kept = false;
        for (auto& k : kept)
            is_kept = is_kept || k.peer_address() == c.local_address();
        if (!is_kept) {
            BOOST_TEST(wait(c.read_some()) == "");
            ++ended;
        }
    }
    BOOST_TEST(ended == 1u);
}

BOOST_FIXTURE_TEST_CASE(a_handler_may_replace_itself_while_it_runs, fixture) {
    // A handler that hands the next connections elsewhere (or stops
    // accepting) from inside itself: the running handler must not be
    // destroyed under its own feet. The capture lives only in the handler.
    tcp_server server(r, "127.0.0.1", 0);
    std::vector<tcp_stream> first, second;
    std::string seen;
    server.on_connection([&, tag = std::make_shared<std::string>("first handler")](tcp_stream s) {
        first.push_back(std::move(s));
        server.on_connection([&](tcp_stream t) { second.push_back(std::move(t)); });
        seen = *tag;   // still ours to use after replacing ourselves
    });
    auto c1 = wait(vow::net::connect(r, "127.0.0.1", server.port()));
    wait_until([&] { return first.size() == 1; });
    BOOST_TEST(seen == "first handler");
    auto c2 = wait(vow::net::connect(r, "127.0.0.1", server.port()));
    wait_until([&] { return second.size() == 1; });
    BOOST_TEST(first.size() == 1u);
}

BOOST_FIXTURE_TEST_CASE(a_handler_may_stop_accepting_from_inside_itself, fixture) {
    tcp_server server(r, "127.0.0.1", 0);
    std::vector<tcp_stream> got;
    std::string seen;
    server.on_connection([&, tag = std::make_shared<std::string>("only one")](tcp_stream s) {
        got.push_back(std::move(s));
        server.on_connection({});
        seen = *tag;
    });
    auto c1 = wait(vow::net::connect(r, "127.0.0.1", server.port()));
    wait_until([&] { return got.size() == 1; });
    BOOST_TEST(seen == "only one");
    // The next connection waits in the backlog for accept().
    auto c2 = wait(vow::net::connect(r, "127.0.0.1", server.port()));
    auto s2 = wait(server.accept());
    BOOST_TEST(s2.peer_address() == c2.local_address());
    BOOST_TEST(got.size() == 1u);
}

BOOST_FIXTURE_TEST_CASE(a_slow_connection_handler_is_reported_by_the_reactors_slow_callback_check, fixture) {
    std::vector<std::string> slow;
    r.set_slow_callback_handler([&](vow::reactor::duration took, std::string_view where) {
        if (took >= 20ms)
            slow.emplace_back(where);
    });
    r.set_slow_callback_duration(5ms);
    tcp_server server(r, "127.0.0.1", 0);
    std::vector<tcp_stream> kept;
    server.on_connection([&](tcp_stream s) {
        std::this_thread::sleep_for(20ms);
        kept.push_back(std::move(s));
    });
    auto client = wait(vow::net::connect(r, "127.0.0.1", server.port()));
    wait_until([&] { return kept.size() == 1; });
    r.set_slow_callback_duration(vow::reactor::duration::zero());
    BOOST_TEST(slow == std::vector<std::string>{"tcp_server connection handler"}, boost::test_tools::per_element());
}

// Every descriptor number below the lowest free one is taken, so with the
// soft limit there, accept4 fails with EMFILE. Restores the limit when it
// goes, whatever the test does meanwhile.
class out_of_descriptors {
public:
    out_of_descriptors() {
        BOOST_REQUIRE(::getrlimit(RLIMIT_NOFILE, &old_) == 0);
        int lowest_free = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
        BOOST_REQUIRE(lowest_free >= 0);
        ::close(lowest_free);
        rlimit low = old_;
        low.rlim_cur = static_cast<rlim_t>(lowest_free);
        BOOST_REQUIRE(::setrlimit(RLIMIT_NOFILE, &low) == 0);
    }
    out_of_descriptors(const out_of_descriptors&) = delete;
    out_of_descriptors& operator=(const out_of_descriptors&) = delete;
    ~out_of_descriptors() { end(); }
    void end() {
        if (!ended_)
            BOOST_REQUIRE(::setrlimit(RLIMIT_NOFILE, &old_) == 0);
        ended_ = true;
    }

private:
    rlimit old_{};
    bool ended_ = false;
};

BOOST_FIXTURE_TEST_CASE(out_of_file_descriptors_the_server_reports_each_episode_and_its_recovery, fixture) {
    tcp_server server(r, "127.0.0.1", 0);
    // Only keep the reports while no descriptor is left: looking into them
    // now may need one (UBSan's vptr check opens a pipe).
    std::vector<std::pair<std::exception_ptr, std::string>> reports;
    r.set_exception_handler([&](std::exception_ptr e, std::string_view where) {
        reports.emplace_back(std::move(e), std::string(where));
    });
    std::vector<tcp_stream> clients, got;
    for (std::size_t episode = 1; episode <= 2; ++episode) {
        server.on_connection({});   // not accepting: the new clients wait in the kernel's backlog
        for (int i = 0; i < 2; ++i)
            clients.push_back(wait(vow::net::connect(r, "127.0.0.1", server.port())));
        const auto before = got.size();
        {
            out_of_descriptors exhausted;
            server.on_connection([&](tcp_stream s) { got.push_back(std::move(s)); });
            wait_until([&] { return reports.size() == 2 * episode - 1; });
            settle(250ms);   // through two pauses at least: still one report, not one per wakeup
            const bool none_accepted = got.size() == before;
            const bool one_report = reports.size() == 2 * episode - 1;
            exhausted.end();
            BOOST_TEST(none_accepted);
            BOOST_TEST(one_report);
        }
        // With descriptors again, the first accept that works ends the episode.
        wait_until([&] { return got.size() == before + 2; });
        BOOST_REQUIRE(reports.size() == 2 * episode);
        const auto& failed = reports[2 * episode - 2];
        BOOST_TEST(failed.second == "tcp_server accept");
        auto e = error_as<io_error>(failed.first);
        BOOST_TEST(e.code() == std::errc::too_many_files_open);
        BOOST_TEST(std::string(e.what()).find("accept on " + server.local_address().to_string()) !=
                   std::string::npos);
        const auto& recovered = reports[2 * episode - 1];
        BOOST_TEST(recovered.second == "tcp_server accept recovered");
        auto back = error_as<io_error>(recovered.first);
        BOOST_TEST(back.code() == std::errc::too_many_files_open);
        BOOST_TEST(std::string(back.what()).find("accept on " + server.local_address().to_string() +
                                                 " works again") != std::string::npos);
    }
    BOOST_TEST(server.accepted() == 4u);
    // And the server goes on serving, with nothing more to report.
    clients.push_back(wait(vow::net::connect(r, "127.0.0.1", server.port())));
    wait_until([&] { return got.size() == 5; });
    wait(got.back().write("served"));
    BOOST_TEST(wait(clients.back().read_exactly(6)) == "served");
    BOOST_TEST(reports.size() == 4u);
}

BOOST_FIXTURE_TEST_CASE(accept_backlog_hands_every_waiting_connection_to_the_handler_at_once, fixture) {
    tcp_server server(r, "127.0.0.1", 0);
    server.on_connection({});
    std::vector<tcp_stream> clients;
    for (int i = 0; i < 100; ++i) {   // more than one accept loop's 64
        clients.push_back(wait(vow::net::connect(r, "127.0.0.1", server.port())));
        wait(clients.back().write(std::to_string(i) + "\n"));
    }
    std::vector<tcp_stream> got;
    server.on_connection([&](tcp_stream s) { got.push_back(std::move(s)); });
    BOOST_TEST(got.empty());   // the loop has not run
    BOOST_TEST(server.accept_backlog() == 100u);
    BOOST_TEST(got.size() == 100u);
    BOOST_TEST(server.accept_backlog() == 0u);
    server.close();
    // Accepted before the close, they keep what their clients sent.
    for (std::size_t i = 0; i < clients.size(); ++i)
        for (auto& s : got)
            if (s.peer_address() == clients[i].local_address())
                BOOST_TEST(wait(s.read_line()).value_or("(end)") == std::to_string(i));
}

BOOST_FIXTURE_TEST_CASE(accept_backlog_without_a_handler_leaves_the_backlog_to_accept, fixture) {
    tcp_server server(r, "127.0.0.1", 0);
    auto c = wait(vow::net::connect(r, "127.0.0.1", server.port()));
    BOOST_TEST(server.accept_backlog() == 0u);
    auto s = wait(server.accept());
    BOOST_TEST(s.peer_address() == c.local_address());
}

// Why accept_backlog exists: the kernel resets what the listener never took.
BOOST_FIXTURE_TEST_CASE(closing_the_server_resets_connections_still_in_its_backlog, fixture) {
    tcp_server server(r, "127.0.0.1", 0);
    auto c = wait(vow::net::connect(r, "127.0.0.1", server.port()));
    wait(c.write("lost"));
    server.close();
    auto e = error_as<io_error>(wait_error(c.read_some()));
    BOOST_TEST(e.code() == std::errc::connection_reset);
}

BOOST_FIXTURE_TEST_CASE(a_moved_from_server_throws_usage_error, fixture) {
    tcp_server a(r, "127.0.0.1", 0);
    auto port = a.port();
    tcp_server b = std::move(a);
    BOOST_TEST(!a.is_open());   // NOLINT(bugprone-use-after-move): testing the moved-from state
    BOOST_CHECK_THROW((void)a.accept(), vow::usage_error);
    BOOST_CHECK_THROW((void)a.port(), vow::usage_error);
    BOOST_TEST(b.port() == port);
    auto accepted = b.accept();
    auto c = wait(vow::net::connect(r, "127.0.0.1", port));
    BOOST_TEST(wait(std::move(accepted)).is_open());
}

BOOST_FIXTURE_TEST_CASE(destroying_the_server_stops_listening, fixture) {
    std::uint16_t port = 0;
    {
        tcp_server server(r, "127.0.0.1", 0);
        port = server.port();
    }
    auto e = error_as<io_error>(wait_error(vow::net::connect(r, "127.0.0.1", port)));
    BOOST_TEST(e.code() == std::errc::connection_refused);
}

BOOST_FIXTURE_TEST_CASE(ipv6_loopback_works, fixture, *vow::test::needs_ipv6_loopback()) {
    tcp_server server(r, "::1", 0);
    BOOST_TEST(server.local_address().is_v6());
    BOOST_TEST(server.local_address().to_string() == "[::1]:" + std::to_string(server.port()));
    auto accepted = server.accept();
    auto c = wait(vow::net::connect(r, "::1", server.port()));
    auto s = wait(std::move(accepted));
    BOOST_TEST(c.peer_address() == server.local_address());
    BOOST_TEST(s.peer_address().is_v6());
    wait(c.write("over IPv6"));
    BOOST_TEST(wait(s.read_exactly(9)) == "over IPv6");
}

BOOST_AUTO_TEST_SUITE_END()  // tcp_server_test

// vow::net::resolve and configure_resolver. Every lookup that needs a query
// goes to the fake server of fake_dns_server.hpp (127.0.0.1, port 0): no test
// touches the real network. Numeric hosts and localhost never query.
#include <boost/test/unit_test.hpp>
#include <promise_fixture.hpp>

#include "fake_dns_server.hpp"

#include <vow/config.hpp>
#include <vow/net/error.hpp>
#include <vow/net/dns/resolve.hpp>
#include <vow/vow.hpp>

#include <chrono>
#include <cstddef>
#include <exception>
#include <memory>
#include <optional>
#include <source_location>
#include <stop_token>
#include <string>
#include <thread>
#include <utility>
#include <vector>

BOOST_AUTO_TEST_SUITE(resolve_test)

using namespace std::chrono_literals;
using vow::net::address;
using vow::net::resolve;
using addresses = std::vector<address>;

namespace {

address addr(const char* host, std::uint16_t port) { return address::parse(host, port); }

struct fixture : vow::test::promise_fixture {
    vow::test::fake_dns_server dns{r};

    fixture() {
        vow::net::configure_resolver(r, {.nameservers = {dns.address()}, .use_hosts_file = false});
    }

    // A future that fulfils when the fake server receives a question for `name`.
    vow::future<void> question_for(const std::string& name) {
        auto p = std::make_shared<vow::promise<void>>(r);
        auto f = p->get_future();
        dns.on_query = [p, name](const vow::test::fake_dns_server::query& q) {
            if (q.name == name)
                (void)p->try_resolve();
        };
        return f;
    }
};

template <class E>
std::string expect_error(fixture& fx, vow::future<addresses> f) {
    auto e = fx.wait_error(std::move(f));
    try {
        std::rethrow_exception(e);
    } catch (const E& ex) {
        return ex.what();
    } catch (const std::exception& ex) {
        BOOST_ERROR("wrong error type: " << ex.what());
    }
    return {};
}

}  // namespace

BOOST_FIXTURE_TEST_SUITE(resolve_suite, fixture)

// ------------------------------------------------------------ no query

BOOST_AUTO_TEST_CASE(a_numeric_ipv4_host_resolves_to_itself_without_a_query) {
    BOOST_TEST(wait(resolve(r, "127.0.0.1", 80)) == addresses{addr("127.0.0.1", 80)});
    BOOST_TEST(wait(resolve(r, "10.1.2.3")) == addresses{addr("10.1.2.3", 0)});
    BOOST_TEST(dns.queries().empty());
}

BOOST_AUTO_TEST_CASE(a_numeric_ipv6_host_resolves_with_or_without_brackets) {
    BOOST_TEST(wait(resolve(r, "::1", 443)) == addresses{addr("::1", 443)});
    BOOST_TEST(wait(resolve(r, "[::1]", 443)) == addresses{addr("::1", 443)});
    BOOST_TEST(wait(resolve(r, "fd00::7", 1, {.family = AF_INET6})) == addresses{addr("fd00::7", 1)});
    BOOST_TEST(dns.queries().empty());
}

BOOST_AUTO_TEST_CASE(a_numeric_host_of_the_other_family_rejects_with_dns_error) {
    auto what = expect_error<vow::net::dns_error>(*this, resolve(r, "127.0.0.1", 80, {.family = AF_INET6}));
    BOOST_TEST(what.find("'127.0.0.1'") != std::string::npos, what);
    expect_error<vow::net::dns_error>(*this, resolve(r, "[::1]", 80, {.family = AF_INET}));
}

BOOST_AUTO_TEST_CASE(localhost_is_ipv4_then_ipv6_filtered_by_family_without_a_query) {
    BOOST_TEST(wait(resolve(r, "localhost", 8080)) == (addresses{addr("127.0.0.1", 8080), addr("::1", 8080)}));
    BOOST_TEST(wait(resolve(r, "localhost", 1, {.family = AF_INET})) == addresses{addr("127.0.0.1", 1)});
    BOOST_TEST(wait(resolve(r, "localhost", 1, {.family = AF_INET6})) == addresses{addr("::1", 1)});
    BOOST_TEST(wait(resolve(r, "LocalHost", 2, {.family = AF_INET})) == addresses{addr("127.0.0.1", 2)});
    BOOST_TEST(dns.queries().empty());
}

BOOST_AUTO_TEST_CASE(the_continuation_never_runs_inside_resolve) {
    bool ran = false;
    auto f = resolve(r, "127.0.0.1", 1).then([&](addresses a) {
        ran = true;
        return a.size();
    });
    BOOST_TEST(!ran);
    BOOST_TEST(wait(std::move(f)) == 1u);
    BOOST_TEST(ran);
}

// ------------------------------------------------------------ queries

BOOST_AUTO_TEST_CASE(a_name_resolves_through_the_nameserver_with_the_port_applied) {
    dns.add("www.test", {"10.0.0.1", "10.0.0.2"}, {"fd00::1"});
    auto got = wait(resolve(r, "www.test", 8443));
    BOOST_TEST(got == (addresses{addr("10.0.0.1", 8443), addr("10.0.0.2", 8443), addr("fd00::1", 8443)}));
}

BOOST_AUTO_TEST_CASE(duplicate_records_give_one_address) {
    dns.add("dup.test", {"10.0.0.7", "10.0.0.7", "10.0.0.8"}, {"fd00::7", "fd00::7"});
    BOOST_TEST(wait(resolve(r, "dup.test", 1)) ==
               (addresses{addr("10.0.0.7", 1), addr("10.0.0.8", 1), addr("fd00::7", 1)}));
}

BOOST_AUTO_TEST_CASE(the_family_option_asks_for_and_returns_that_family_only) {
    dns.add("both.test", {"10.0.0.3"}, {"fd00::3"});
    BOOST_TEST(wait(resolve(r, "both.test", 5, {.family = AF_INET})) == addresses{addr("10.0.0.3", 5)});
    BOOST_TEST_REQUIRE(dns.queries().size() == 1u);
    BOOST_TEST(dns.queries()[0].type == vow::test::fake_dns_server::type_a);

    BOOST_TEST(wait(resolve(r, "both.test", 5, {.family = AF_INET6})) == addresses{addr("fd00::3", 5)});
    BOOST_TEST_REQUIRE(dns.queries().size() == 2u);
    BOOST_TEST(dns.queries()[1].type == vow::test::fake_dns_server::type_aaaa);
}

BOOST_AUTO_TEST_CASE(a_name_without_an_address_of_the_family_rejects_with_dns_error) {
    dns.add("v4only.test", {"10.0.0.4"});
    auto what = expect_error<vow::net::dns_error>(*this, resolve(r, "v4only.test", 1, {.family = AF_INET6}));
    BOOST_TEST(what.starts_with("resolve 'v4only.test': "), what);
    // Asked for both, the missing AAAA records do not matter.
    BOOST_TEST(wait(resolve(r, "v4only.test", 1)) == addresses{addr("10.0.0.4", 1)});
}

BOOST_AUTO_TEST_CASE(a_name_that_does_not_exist_rejects_with_dns_error_naming_it) {
    auto what = expect_error<vow::net::dns_error>(*this, resolve(r, "nosuch.example", 80));
    BOOST_TEST(what == "resolve 'nosuch.example': name not found");
    BOOST_TEST(!dns.queries().empty());
}

BOOST_AUTO_TEST_CASE(a_server_that_never_answers_gives_timeout_error_after_the_timeout) {
    dns.silent("void.test");
    auto what = expect_error<vow::timeout_error>(*this, resolve(r, "void.test", 80, {.timeout = 200ms}));
    BOOST_TEST(what.find("'void.test'") != std::string::npos, what);
    BOOST_TEST(!dns.queries().empty());
}

// ------------------------------------------------------------ cancellation

BOOST_AUTO_TEST_CASE(a_stop_requested_before_the_call_rejects_with_cancelled_error_and_sends_nothing) {
    dns.add("www.test", {"10.0.0.1"});
    std::stop_source stop;
    stop.request_stop();
    auto what = expect_error<vow::cancelled_error>(*this, resolve(r, "www.test", 80, {.stop = stop.get_token()}));
    BOOST_TEST(what.find("'www.test'") != std::string::npos, what);
    expect_error<vow::cancelled_error>(*this, resolve(r, "127.0.0.1", 80, {.stop = stop.get_token()}));
    BOOST_TEST(dns.queries().empty());
}

BOOST_AUTO_TEST_CASE(a_stop_requested_during_the_lookup_rejects_with_cancelled_error) {
    dns.silent("void.test");
    std::stop_source stop;
    auto seen = question_for("void.test");
    auto f = resolve(r, "void.test", 80, {.stop = stop.get_token(), .timeout = 30s});
    wait(std::move(seen));
    stop.request_stop();
    auto what = expect_error<vow::cancelled_error>(*this, std::move(f));
    BOOST_TEST(what == "resolve 'void.test': cancelled: stop was requested on its stop_token");
}

BOOST_AUTO_TEST_CASE(a_stop_requested_on_another_thread_rejects_on_the_reactor_thread) {
    dns.silent("void.test");
    std::stop_source stop;
    auto seen = question_for("void.test");
    std::thread::id settled_on;
    auto f = resolve(r, "void.test", 80, {.stop = stop.get_token(), .timeout = 30s})
                 .catch_([&](const vow::cancelled_error&) {
                     settled_on = std::this_thread::get_id();
                     return addresses{};
                 });
    wait(std::move(seen));
    std::thread t([&] { stop.request_stop(); });
    BOOST_TEST(wait(std::move(f)).empty());
    t.join();
    BOOST_TEST((settled_on == reactor_thread));
}

BOOST_AUTO_TEST_CASE(an_answer_after_the_timeout_is_dropped_and_later_lookups_still_work) {
    dns.add("late.test", {"10.0.0.9"});
    dns.delay("late.test", 300ms);
    expect_error<vow::timeout_error>(*this, resolve(r, "late.test", 1, {.timeout = 100ms}));
    BOOST_TEST(wait(vow::sleep(r, 400ms).then([this] { return resolve(r, "late.test", 2); })) ==
               addresses{addr("10.0.0.9", 2)});
}

// ------------------------------------------------------------ arguments

BOOST_AUTO_TEST_CASE(bad_arguments_throw_invalid_argument_and_start_nothing) {
    BOOST_CHECK_THROW((void)resolve(r, "", 80), vow::invalid_argument);
    BOOST_CHECK_THROW((void)resolve(r, std::string(254, 'a'), 80), vow::invalid_argument);
    BOOST_CHECK_THROW((void)resolve(r, "a b.test", 80), vow::invalid_argument);
    BOOST_CHECK_THROW((void)resolve(r, std::string("a\0b.test", 8), 80), vow::invalid_argument);
    BOOST_CHECK_THROW((void)resolve(r, "a\tb.test", 80), vow::invalid_argument);
    BOOST_CHECK_THROW((void)resolve(r, "www.test", 80, {.timeout = 0s}), vow::invalid_argument);
    BOOST_CHECK_THROW((void)resolve(r, "www.test", 80, {.timeout = -1s}), vow::invalid_argument);
    BOOST_CHECK_THROW((void)resolve(r, "www.test", 80, {.family = AF_UNIX}), vow::invalid_argument);
    BOOST_TEST(r.queued() == 0u);
    BOOST_TEST(dns.queries().empty());
    // 253 bytes is still a name.
    std::string longest = std::string(63, 'a') + "." + std::string(63, 'b') + "." + std::string(63, 'c') + "." +
                          std::string(56, 'd') + ".test";
    BOOST_TEST_REQUIRE(longest.size() == 253u);
    expect_error<vow::net::dns_error>(*this, resolve(r, longest, 80));
}

// Where thread checks are on, the same calls abort instead (covered with the
// other checks by tests/reactor/thread_check_test.cpp).
BOOST_AUTO_TEST_CASE(calls_off_the_reactor_thread_throw_usage_error_where_thread_checks_are_off,
                     *boost::unit_test::precondition([](boost::unit_test::test_unit_id) {
                         boost::test_tools::assertion_result ok(VOW_THREAD_CHECKS == 0);
                         if (!ok)
                             ok.message() << "thread checks are on in this build: such a call aborts "
                                             "(tests/reactor/thread_check_test.cpp)";
                         return ok;
                     })) {
    bool resolve_threw = false, configure_threw = false;
    std::thread t([&] {
        try {
            (void)resolve(r, "127.0.0.1", 80);
        } catch (const vow::usage_error&) {
            resolve_threw = true;
        }
        try {
            vow::net::configure_resolver(r, {});
        } catch (const vow::usage_error&) {
            configure_threw = true;
        }
    });
    t.join();
    BOOST_TEST(resolve_threw);
    BOOST_TEST(configure_threw);
}

BOOST_AUTO_TEST_CASE(a_bad_resolver_configuration_throws_invalid_argument) {
    using vow::net::configure_resolver;
    BOOST_CHECK_THROW(configure_resolver(r, {.nameservers = {address()}}), vow::invalid_argument);
    BOOST_CHECK_THROW(configure_resolver(r, {.attempt_timeout = 0s}), vow::invalid_argument);
    BOOST_CHECK_THROW(configure_resolver(r, {.attempts = 0}), vow::invalid_argument);
    BOOST_CHECK_THROW(configure_resolver(r, {.attempts = 256}), vow::invalid_argument);
    // The fixture's configuration still holds.
    dns.add("www.test", {"10.0.0.1"});
    BOOST_TEST(wait(resolve(r, "www.test", 1)) == addresses{addr("10.0.0.1", 1)});
}

// ------------------------------------------------------------ configuration

BOOST_AUTO_TEST_CASE(reconfiguring_leaves_lookups_in_flight_on_their_old_server) {
    dns.add("moved.test", {"10.0.0.1"});
    dns.delay("moved.test", 100ms);
    vow::test::fake_dns_server other(r);
    other.add("moved.test", {"10.0.0.2"});

    auto seen = question_for("moved.test");
    auto before = resolve(r, "moved.test", 1, {.family = AF_INET});
    wait(std::move(seen));
    vow::net::configure_resolver(r, {.nameservers = {other.address()}, .use_hosts_file = false});
    auto after = resolve(r, "moved.test", 1, {.family = AF_INET});

    BOOST_TEST(wait(std::move(after)) == addresses{addr("10.0.0.2", 1)});
    BOOST_TEST(wait(std::move(before)) == addresses{addr("10.0.0.1", 1)});
    BOOST_TEST(dns.queries().size() == 1u);
    BOOST_TEST(other.queries().size() == 1u);
}

BOOST_AUTO_TEST_CASE(a_thousand_concurrent_lookups_are_all_answered) {
    constexpr unsigned n = 1000;
    std::vector<vow::future<addresses>> lookups;
    for (unsigned i = 0; i < n; ++i)
        lookups.push_back(resolve(r, fmt::format("{}.bulk.test", i), 7, {.timeout = 60s}));
    auto all = wait(vow::all(r, std::move(lookups)), 120s);
    BOOST_TEST_REQUIRE(all.size() == n);
    for (unsigned i = 0; i < n; ++i)
        BOOST_TEST((all[i] == addresses{addr(vow::test::fake_dns_server::bulk_address(i).c_str(), 7)}), i);
    BOOST_TEST(dns.queries().size() == 2 * n);  // A and AAAA each
}

BOOST_AUTO_TEST_SUITE_END()

// ------------------------------------------------------------ teardown

namespace {

// Records unhandled-rejection reports while it lives.
struct report_recorder {
    std::vector<std::string> reports;
    vow::unhandled_rejection_handler previous = vow::set_unhandled_rejection_handler(
        [this](std::exception_ptr e, const std::source_location&) { reports.push_back(vow::test::message_of(e)); });
    report_recorder() = default;
    report_recorder(const report_recorder&) = delete;
    report_recorder& operator=(const report_recorder&) = delete;
    ~report_recorder() { vow::set_unhandled_rejection_handler(std::move(previous)); }
};

}  // namespace

BOOST_AUTO_TEST_CASE(destroying_the_reactor_with_lookups_in_flight_is_silent_and_frees_everything) {
    report_recorder recorder;
    std::vector<std::string> escaped;
    {
        auto r = std::make_unique<vow::reactor>();
        r->set_exception_handler([&](std::exception_ptr e, std::string_view) {
            escaped.push_back(vow::test::message_of(e));
        });
        auto dns = std::make_unique<vow::test::fake_dns_server>(*r);
        dns->silent("void.test");
        dns->add("www.test", {"10.0.0.1"});
        dns->delay("www.test", 1h);
        vow::net::configure_resolver(*r, {.nameservers = {dns->address()}, .use_hosts_file = false});

        bool continued = false;
        {
            vow::promise<void> asked(*r);
            auto asked_f = asked.get_future();
            int questions = 0;
            dns->on_query = [&](const vow::test::fake_dns_server::query&) {
                if (++questions == 4)  // A and AAAA for both names
                    asked.resolve();
            };
            // Chains whose futures are dropped: the reactor's teardown frees them.
            auto a = resolve(*r, "void.test", 80, {.timeout = 1h}).then([&](addresses) { continued = true; });
            auto b = resolve(*r, "www.test", 80, {.timeout = 1h});
            (void)std::move(b).then([&](addresses) { continued = true; });
            vow::run_until_complete(*r, std::move(asked_f));
            dns->on_query = nullptr;
        }
        dns.reset();
        r.reset();  // joins the resolver thread after evdns let go of both queries
        BOOST_TEST(!continued);
    }
    BOOST_TEST(recorder.reports.empty());
    BOOST_TEST(escaped.empty());
}

BOOST_AUTO_TEST_CASE(destroying_the_reactor_right_after_a_timeout_frees_the_cancelled_query) {
    report_recorder recorder;
    {
        vow::reactor r;
        vow::test::fake_dns_server dns(r);
        dns.silent("void.test");
        vow::net::configure_resolver(r, {.nameservers = {dns.address()}, .use_hosts_file = false});
        BOOST_CHECK_THROW((void)vow::run_until_complete(r, resolve(r, "void.test", 80, {.timeout = 50ms})),
                          vow::timeout_error);
    }  // the cancellation may still be on its way to evdns: no leak under ASan, no crash
    BOOST_TEST(recorder.reports.empty());
}

BOOST_AUTO_TEST_SUITE_END()  // resolve_test

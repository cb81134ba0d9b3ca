// tests/pool/sharded_test.cpp - vow::sharded<T>: one instance per reactor,
// made, used and destroyed on its own reactor's thread.
#include <promise_fixture.hpp>
#include <vow/vow.hpp>

#include <boost/test/unit_test.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;

BOOST_AUTO_TEST_SUITE(sharded_test)

namespace {

// Records on which thread it was made and destroyed.
struct journal {
    std::mutex m;
    std::vector<std::string> lines;
    void add(std::string s) {
        std::lock_guard l(m);
        lines.push_back(std::move(s));
    }
};

struct counter {
    counter(journal& j, vow::reactor& r, std::size_t shard)
        : j(j), shard(shard), made_on(std::this_thread::get_id()), reactor_ok(r.in_reactor_thread()) {}
    ~counter() {
        j.add(std::this_thread::get_id() == made_on ? "destroyed on its thread" : "destroyed elsewhere");
    }
    journal& j;
    std::size_t shard;
    std::thread::id made_on;
    bool reactor_ok;
    std::uint64_t hits = 0;
};

// A T with a graceful shutdown: the pool calls it in step 1.
struct service {
    explicit service(vow::reactor& r) : r(r) {}
    vow::future<void> shutdown(vow::reactor::duration grace) {
        grace_seen = grace;
        return vow::sleep(r, 5ms).then([this] { shut_down = true; });
    }
    vow::reactor& r;
    vow::reactor::duration grace_seen{};
    bool shut_down = false;
};

}  // namespace

BOOST_AUTO_TEST_CASE(each_reactor_has_its_own_instance_made_and_destroyed_on_its_thread) {
    journal j;
    std::vector<std::size_t> shards_of_local(3, 99);
    std::vector<char> reactor_ok(3, false);
    std::uint64_t total = 0;
    {
        vow::reactor_pool pool({.threads = 3});
        vow::sharded<counter> counters(pool, [&](vow::reactor& r, std::size_t shard) {
            return std::make_unique<counter>(j, r, shard);
        });
        BOOST_TEST(counters.size() == 3u);
        pool.at(0).call_soon([&] {
            auto bump = counters.invoke_on_all([&](counter& c) {
                c.hits += c.shard + 1;
                reactor_ok[c.shard] = c.reactor_ok;
            });
            std::vector<vow::future<void>> locals;
            for (std::size_t i = 0; i < 3; ++i)
                locals.push_back(vow::submit_to(i, [&, i] { shards_of_local[i] = counters.local().shard; }));
            vow::all(std::move(bump), vow::all(std::move(locals)))
                .then([&](auto&&...) {
                    return counters.map_reduce([](counter& c) { return c.hits; }, std::uint64_t{0},
                                               std::plus<>{});
                })
                .then([&](std::uint64_t sum) { total = sum; })
                .finally([&] { pool.stop(0s); })
                .discard();
        });
        pool.run();
        // The pool's stop destroyed them, each on its own thread.
        BOOST_TEST(j.lines.size() == 3u);
    }
    BOOST_TEST(total == 1u + 2 + 3);
    for (std::size_t i = 0; i < 3; ++i) {
        BOOST_TEST(shards_of_local[i] == i);
        BOOST_TEST(reactor_ok[i]);
    }
    BOOST_TEST(j.lines == std::vector<std::string>(3, "destroyed on its thread"));
}

BOOST_AUTO_TEST_CASE(a_sharded_destroyed_before_the_pool_stops_destroys_each_instance_on_its_thread) {
    journal j;
    vow::reactor_pool pool({.threads = 2});
    {
        vow::sharded<counter> counters(pool, [&](vow::reactor& r, std::size_t shard) {
            return std::make_unique<counter>(j, r, shard);
        });
    }
    BOOST_TEST(j.lines == std::vector<std::string>(2, "destroyed on its thread"));
    // And a T returned by value (not movable is fine: it is made in place).
    struct pinned {
        explicit pinned(std::size_t s) : shard(s) {}
        pinned(const pinned&) = delete;
        std::size_t shard;
    };
    vow::sharded<pinned> by_value(pool, [](vow::reactor&, std::size_t shard) { return pinned(shard); });
    std::size_t seen = 99;
    pool.at(0).call_soon([&] {
        by_value.invoke_on(1, [](pinned& p) { return p.shard; })
            .then([&](std::size_t s) { seen = s; })
            .finally([&] { pool.stop(0s); })
            .discard();
    });
    pool.run();
    BOOST_TEST(seen == 1u);
}

BOOST_AUTO_TEST_CASE(a_factory_that_throws_undoes_what_was_made_and_rethrows) {
    journal j;
    vow::reactor_pool pool({.threads = 3});
    BOOST_CHECK_EXCEPTION(vow::sharded<counter>(pool,
                                                [&](vow::reactor& r, std::size_t shard) {
                                                    if (shard == 2)
                                                        throw std::runtime_error("no third");
                                                    return std::make_unique<counter>(j, r, shard);
                                                }),
                          std::runtime_error, [](const auto& e) { return std::string(e.what()) == "no third"; });
    BOOST_TEST(j.lines == std::vector<std::string>(2, "destroyed on its thread"));
    BOOST_CHECK_THROW(
        vow::sharded<counter>(pool, [](vow::reactor&, std::size_t) { return std::unique_ptr<counter>(); }),
        vow::invalid_argument);
}

BOOST_AUTO_TEST_CASE(an_instance_with_a_shutdown_is_shut_down_in_the_stop_before_it_is_destroyed) {
    vow::reactor_pool pool({.threads = 2});
    std::vector<char> finals(2, false);
    std::vector<vow::reactor::duration> graces(2);
    struct watched : service {
        watched(vow::reactor& r, std::vector<char>& f, std::vector<vow::reactor::duration>& g, std::size_t i)
            : service(r), f(f), g(g), i(i) {}
        ~watched() {
            f[i] = shut_down;
            g[i] = grace_seen;
        }
        std::vector<char>& f;
        std::vector<vow::reactor::duration>& g;
        std::size_t i;
    };
    vow::sharded<watched> services(pool, [&](vow::reactor& r, std::size_t i) {
        return std::make_unique<watched>(r, finals, graces, i);
    });
    pool.stop(3s);
    pool.run();
    BOOST_TEST(finals[0]);
    BOOST_TEST(finals[1]);
    BOOST_TEST((graces[1] == 3s));
    // Once stopped, local() says the instance is gone (reactor 0's thread).
    BOOST_CHECK_EXCEPTION((void)services.local(), vow::usage_error,
                          [](const auto& e) { return std::string(e.what()).find("destroyed") != std::string::npos; });
}

BOOST_AUTO_TEST_CASE(a_call_made_while_the_pool_closes_rejects_instead_of_vanishing) {
    // An instance's destructor runs in step 3, after the pool closed: a
    // submit_to there gives a future that has already failed.
    vow::reactor_pool pool({.threads = 2});
    std::atomic<int> failed{0}, tried{0};
    struct caller {
        caller(std::atomic<int>& f, std::atomic<int>& t) : f(f), t(t) {}
        ~caller() {
            ++t;
            auto fut = vow::submit_to(0, [] {});
            if (fut.failed())
                ++f;
            std::move(fut).catch_([](const vow::cancelled_error&) {}).discard();
        }
        std::atomic<int>& f;
        std::atomic<int>& t;
    };
    vow::sharded<caller> callers(pool, [&](vow::reactor&) { return std::make_unique<caller>(failed, tried); });
    pool.stop(0s);
    pool.run();
    BOOST_TEST(tried.load() == 2);
    BOOST_TEST(failed.load() == 2);
}

BOOST_AUTO_TEST_CASE(misuse_is_a_usage_error) {
    vow::reactor_pool pool({.threads = 2});
    std::string from_other;
    std::thread t([&] {
        try {
            vow::sharded<int> s(pool, [](vow::reactor&) { return 1; });
        } catch (const vow::usage_error& e) {
            from_other = e.what();
        }
    });
    t.join();
    BOOST_TEST(from_other.find("thread that made the pool") != std::string::npos, from_other);
    vow::sharded<int> ints(pool, [](vow::reactor&, std::size_t i) { return static_cast<int>(i); });
    std::string local_elsewhere;
    std::thread u([&] {
        try {
            (void)ints.local();
        } catch (const vow::usage_error& e) {
            local_elsewhere = e.what();
        }
    });
    u.join();
    BOOST_TEST(local_elsewhere.find("own pool") != std::string::npos, local_elsewhere);
    BOOST_TEST(ints.local() == 0);
    pool.stop();
    BOOST_CHECK_THROW(vow::sharded<int>(pool, [](vow::reactor&) { return 1; }), vow::usage_error);
    pool.run();
}

BOOST_AUTO_TEST_SUITE_END()

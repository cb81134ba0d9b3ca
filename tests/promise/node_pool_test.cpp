// The pool the promise layer's states live in (detail/node_pool.hpp): blocks
// are reused, given back by threads that free them or exit, safe to free on
// any thread, aligned for their size; a freed chain's memory serves the next
// one; trim() unmaps what is empty. Run under ThreadSanitizer too. Under
// AddressSanitizer and valgrind the pool is off (every block comes from
// operator new), and the cases that read its statistics say so and check
// only what still holds.
#include <boost/test/unit_test.hpp>
#include <memory_probe.hpp>
#include <promise_fixture.hpp>

#include <vow/promise/all.hpp>
#include <vow/promise/detail/node_pool.hpp>
#include <vow/promise/future.hpp>
#include <vow/promise/promise.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

BOOST_AUTO_TEST_SUITE(node_pool_test)

namespace pool = vow::detail::node_pool;
using namespace std::chrono_literals;

namespace {

bool pool_on() { return pool::get_stats().enabled; }

// A message in the log where a case checks less because the pool is off.
void note_pool_off() {
    if (!pool_on())
        BOOST_TEST_MESSAGE("the pool is off in this build (AddressSanitizer or valgrind): statistics not checked");
}

// Builds a chain of `n` thens on a pending promise, runs it, frees it.
long run_chain(vow::test::promise_fixture& fx, long n) {
    vow::promise<long> p(fx.r);
    vow::future<long> f = p.get_future();
    for (long i = 0; i < n; ++i)
        f = std::move(f).then([](long x) { return x + 1; });
    p.resolve(0);
    return fx.wait(std::move(f), 5min);
}

// A pattern that tells blocks apart, written over a whole block.
void stamp(void* p, std::size_t n, unsigned char tag) { std::memset(p, tag, n); }
bool stamped(const void* p, std::size_t n, unsigned char tag) {
    const auto* b = static_cast<const unsigned char*>(p);
    for (std::size_t i = 0; i < n; ++i)
        if (b[i] != tag)
            return false;
    return true;
}

// Blocks handed from one thread to another.
struct mailbox {
    std::mutex m;
    std::condition_variable cv;
    std::deque<std::pair<void*, unsigned char>> items;
    bool closed = false;

    void put(void* p, unsigned char tag) {
        {
            std::lock_guard lock(m);
            items.emplace_back(p, tag);
        }
        cv.notify_one();
    }
    void close() {
        {
            std::lock_guard lock(m);
            closed = true;
        }
        cv.notify_one();
    }
    // False once closed and empty.
    bool get(std::pair<void*, unsigned char>& out) {
        std::unique_lock lock(m);
        cv.wait(lock, [&] { return closed || !items.empty(); });
        if (items.empty())
            return false;
        out = items.front();
        items.pop_front();
        return true;
    }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(node_pool)

BOOST_AUTO_TEST_CASE(a_block_is_aligned_to_16_when_its_size_is_a_multiple_of_16_and_to_8_otherwise) {
    std::vector<std::pair<void*, std::size_t>> blocks;
    for (std::size_t n = 8; n <= pool::max_block + 64; n += 8)
        for (int i = 0; i < 3; ++i)
            blocks.emplace_back(pool::allocate(n), n);
    for (auto [p, n] : blocks) {
        auto addr = reinterpret_cast<std::uintptr_t>(p);
        BOOST_TEST(addr % (n % 16 == 0 ? 16 : 8) == 0u, "a block of " << n << " bytes at " << p);
        stamp(p, n, 0x5a);
    }
    for (auto [p, n] : blocks)
        pool::deallocate(p, n);
}

BOOST_AUTO_TEST_CASE(freed_blocks_are_reused_without_mapping_more_memory) {
    note_pool_off();
    std::vector<void*> blocks;
    for (int i = 0; i < 50'000; ++i)
        blocks.push_back(pool::allocate(56));
    for (void* p : blocks)
        pool::deallocate(p, 56);
    blocks.clear();
    auto before = pool::get_stats();
    for (int round = 0; round < 3; ++round) {
        for (int i = 0; i < 50'000; ++i)
            blocks.push_back(pool::allocate(56));
        for (void* p : blocks)
            pool::deallocate(p, 56);
        blocks.clear();
    }
    BOOST_TEST(pool::get_stats().segments == before.segments);
}

BOOST_FIXTURE_TEST_CASE(a_freed_million_step_chain_serves_the_next_one_without_new_segments,
                        vow::test::promise_fixture) {
    note_pool_off();
    BOOST_TEST(run_chain(*this, 1'000'000) == 1'000'000);
    auto after_first = pool::get_stats();
    if (pool_on())
        BOOST_TEST(after_first.empty_segments > 0u);  // a freed chain leaves whole segments empty
    BOOST_TEST(run_chain(*this, 1'000'000) == 1'000'000);
    BOOST_TEST(pool::get_stats().segments == after_first.segments);
}

BOOST_FIXTURE_TEST_CASE(building_a_freed_million_step_chain_again_grows_memory_by_less_than_8_mb,
                        vow::test::promise_fixture, *vow::test::memory_tests()) {
    // A million pending steps hold about 54 MB; the second chain must find
    // the first one's memory. (Not memory_probe: it would trim the pool.)
    BOOST_TEST(run_chain(*this, 1'000'000) == 1'000'000);
    BOOST_REQUIRE(vow::test::reset_peak_rss());
    auto rss = vow::test::proc_status_kib("VmRSS");
    BOOST_REQUIRE(rss.has_value());
    BOOST_TEST(run_chain(*this, 1'000'000) == 1'000'000);
    auto hwm = vow::test::proc_status_kib("VmHWM");
    BOOST_REQUIRE(hwm.has_value());
    long grown = *hwm - *rss;
    BOOST_TEST_MESSAGE("the second million-step chain: +" << grown << " KiB peak RSS");
    BOOST_TEST(grown < 8 * 1024);
}

BOOST_FIXTURE_TEST_CASE(trim_unmaps_the_segments_a_freed_chain_left_empty, vow::test::promise_fixture) {
    note_pool_off();
    BOOST_TEST(run_chain(*this, 500'000) == 500'000);
    auto before = pool::get_stats();
    pool::trim();
    auto after = pool::get_stats();
    BOOST_TEST(after.empty_segments == 0u);
    if (pool_on())
        BOOST_TEST(after.segments < before.segments);
    // And the pool still serves: the next chain maps what it needs again.
    BOOST_TEST(run_chain(*this, 100'000) == 100'000);
}

BOOST_AUTO_TEST_CASE(a_thread_that_exits_gives_its_cached_blocks_back) {
    note_pool_off();
    auto before = pool::get_stats().blocks_out;
    std::thread([] {
        std::vector<void*> blocks;
        for (int i = 0; i < 10'000; ++i)
            blocks.push_back(pool::allocate(72));
        for (void* p : blocks)
            pool::deallocate(p, 72);  // most stay in this thread's cache
    }).join();
    BOOST_TEST(pool::get_stats().blocks_out == before);
}

BOOST_AUTO_TEST_CASE(blocks_freed_and_reused_on_other_threads_keep_their_contents_apart) {
    // Two threads allocate, stamp and post blocks to each other; each checks
    // the stamp of what it receives and frees it into its own cache, which
    // serves its next allocations: blocks cross threads both ways, many
    // times. Corruption shows as a wrong stamp; a race on the pool, under
    // ThreadSanitizer.
    note_pool_off();
    auto before = pool::get_stats().blocks_out;
    constexpr int per_thread = 20'000;
    constexpr std::size_t size = 96;
    mailbox box[2];
    std::atomic<int> bad{0};
    auto take = [&](std::pair<void*, unsigned char> item) {
        if (!stamped(item.first, size, item.second))
            bad.fetch_add(1, std::memory_order_relaxed);
        pool::deallocate(item.first, size);
    };
    auto worker = [&](int me) {
        mailbox& mine = box[me];
        mailbox& theirs = box[1 - me];
        auto tag = static_cast<unsigned char>(0x10 + me);
        for (int i = 0; i < per_thread; ++i) {
            void* p = pool::allocate(size);
            stamp(p, size, tag);
            theirs.put(p, tag);
            std::unique_lock lock(mine.m);
            while (!mine.items.empty()) {
                auto item = mine.items.front();
                mine.items.pop_front();
                lock.unlock();
                take(item);
                lock.lock();
            }
        }
        theirs.close();
        std::pair<void*, unsigned char> item;
        while (mine.get(item))
            take(item);
    };
    std::thread a([&] { worker(0); });
    std::thread b([&] { worker(1); });
    a.join();
    b.join();
    BOOST_TEST(bad.load() == 0);
    BOOST_TEST(pool::get_stats().blocks_out == before);
}

BOOST_FIXTURE_TEST_CASE(states_made_on_other_threads_are_freed_on_the_reactor_thread,
                        vow::test::promise_fixture) {
    // Each worker makes promises (their states come from the worker's cache),
    // hands the futures over and resolves the promises; the reactor's thread
    // consumes the futures and frees the states. The workers then exit.
    constexpr int workers = 4, per_worker = 5'000;
    std::mutex m;
    std::vector<vow::future<long>> futures;
    std::vector<std::thread> threads;
    for (int w = 0; w < workers; ++w)
        threads.emplace_back([&, w] {
            std::vector<vow::promise<long>> promises;
            for (int i = 0; i < per_worker; ++i) {
                promises.emplace_back(r);
                auto f = promises.back().get_future();
                std::lock_guard lock(m);
                futures.push_back(std::move(f));
            }
            for (int i = 0; i < per_worker; ++i)
                promises[static_cast<std::size_t>(i)].resolve(long{w} * per_worker + i);
        });
    for (auto& t : threads)
        t.join();
    long sum = 0;
    for (long v : wait(vow::all(r, std::move(futures)), 1min))
        sum += v;
    const long n = long{workers} * per_worker;
    BOOST_TEST(sum == n * (n - 1) / 2);
}

BOOST_AUTO_TEST_CASE(blocks_made_on_one_thread_and_freed_on_another_reach_a_steady_number_of_segments) {
    // A producer thread allocates, a consumer thread frees, round after
    // round: the consumer's cache overflows into the segments and the
    // producer's misses take from them, so memory stays where the first
    // rounds put it instead of piling up in the consumer's cache.
    note_pool_off();
    constexpr int rounds = 200, per_round = 10'000;
    constexpr std::size_t size = 64;
    mailbox box;
    std::atomic<long> freed{0};
    std::size_t after_warm_up = 0, at_end = 0;
    std::thread consumer([&] {
        std::pair<void*, unsigned char> item;
        while (box.get(item)) {
            pool::deallocate(item.first, size);
            freed.fetch_add(1, std::memory_order_release);
        }
    });
    std::thread producer([&] {
        for (int round = 0; round < rounds; ++round) {
            for (int i = 0; i < per_round; ++i)
                box.put(pool::allocate(size), 0);
            // At most one round in flight: what is measured is the pool,
            // not a backlog in the mailbox.
            while (freed.load(std::memory_order_acquire) < long{round + 1} * per_round)
                std::this_thread::yield();
            if (round == 10)
                after_warm_up = pool::get_stats().segments;
        }
        at_end = pool::get_stats().segments;
        box.close();
    });
    producer.join();
    consumer.join();
    BOOST_TEST_MESSAGE("segments after 10 rounds: " << after_warm_up << ", after " << rounds << ": " << at_end);
    BOOST_TEST(at_end <= after_warm_up);
}

BOOST_FIXTURE_TEST_CASE(promises_made_and_resolved_on_a_worker_and_freed_on_the_reactor_thread_reuse_memory,
                        vow::test::promise_fixture) {
    // The same pattern through the promise layer: each round a worker makes
    // promises, hands the futures over and resolves the promises (the
    // settle is posted with call_soon_threadsafe); the reactor's thread
    // consumes and frees every state.
    note_pool_off();
    constexpr int rounds = 40, per_round = 5'000;
    std::size_t after_warm_up = 0;
    for (int round = 0; round < rounds; ++round) {
        std::vector<vow::future<long>> futures;
        std::thread worker([&] {
            std::vector<vow::promise<long>> promises;
            for (int i = 0; i < per_round; ++i) {
                promises.emplace_back(r);
                futures.push_back(promises.back().get_future());
            }
            for (int i = 0; i < per_round; ++i)
                promises[static_cast<std::size_t>(i)].resolve(i);
        });
        worker.join();
        long sum = 0;
        for (long v : wait(vow::all(r, std::move(futures)), 1min))
            sum += v;
        BOOST_TEST(sum == long{per_round} * (per_round - 1) / 2);
        if (round == 4)
            after_warm_up = pool::get_stats().segments;
    }
    BOOST_TEST(pool::get_stats().segments <= after_warm_up + 2);
}

BOOST_FIXTURE_TEST_CASE(futures_built_on_one_thread_are_resolved_and_destroyed_on_another,
                        vow::test::promise_fixture) {
    // The reactor moves to a worker thread (run() there), which builds
    // chains whose nodes come from its cache, and exits; the reactor comes
    // back to this thread, which resolves the promises, runs the chains and
    // destroys them, some before they ran.
    constexpr int chains = 1'000, depth = 8;
    std::vector<vow::promise<long>> promises;
    std::vector<vow::future<long>> futures;
    std::thread worker([&] {
        r.run();  // nothing to do: returns at once, this thread owns the reactor now
        for (int i = 0; i < chains; ++i) {
            promises.emplace_back(r);
            auto f = promises.back().get_future();
            for (int d = 0; d < depth; ++d)
                f = std::move(f).then([](long x) { return x + 1; });
            futures.push_back(std::move(f));
        }
    });
    worker.join();
    r.run();  // and back to this thread
    for (int i = 0; i < chains; ++i)
        promises[static_cast<std::size_t>(i)].resolve(i);
    futures.resize(chains / 2);  // half destroyed without running
    long sum = 0;
    for (long v : wait(vow::all(r, std::move(futures)), 1min))
        sum += v;
    const long half = chains / 2;
    BOOST_TEST(sum == half * (half - 1) / 2 + half * depth);
}

BOOST_AUTO_TEST_CASE(a_block_freed_while_its_thread_exits_goes_back_to_the_pool) {
    // A thread_local made before the thread's cache is destroyed after it:
    // its destructor frees and allocates with the cache gone.
    note_pool_off();
    struct late {
        void* held = nullptr;
        ~late() {
            pool::deallocate(held, 40);
            pool::deallocate(pool::allocate(40), 40);
        }
    };
    auto before = pool::get_stats().blocks_out;
    std::thread([] {
        thread_local late l;
        l.held = pool::allocate(40);  // the cache is made here, after `l`
    }).join();
    BOOST_TEST(pool::get_stats().blocks_out == before);
}

BOOST_FIXTURE_TEST_CASE(over_aligned_values_pass_through_a_chain_aligned, vow::test::promise_fixture) {
    struct alignas(64) wide {
        long v;
    };
    auto f = vow::make_ready_future(r, wide{1})
                 .then([](wide w) { return wide{w.v + 1}; })
                 .then([](wide w) {
                     // The parameter lives in the node's frame; the value
                     // lived in the over-aligned state on its way here.
                     return w.v;
                 });
    BOOST_TEST(wait(std::move(f)) == 2);
}

BOOST_AUTO_TEST_CASE(a_pending_then_step_on_a_long_with_a_captureless_handler_is_56_bytes) {
    // The layout a long chain pays per step (docs/design.md, "Where states
    // live"): vtable, reactor, continuation, upstream, source location,
    // count and flags, and the value or error in one slot.
    auto add_one = [](long x) { return x + 1; };
    using node = vow::detail::then_node<long, decltype(add_one), long>;
    if constexpr (sizeof(void*) == 8)
        BOOST_TEST(sizeof(node) == 56u);
    else
        BOOST_TEST_MESSAGE("not an LP64 target: the size is not checked");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE_END()  // node_pool_test

// vow::fs's io_uring engine, where the thread pool has nothing to show: a
// call cancelled inside the kernel or while it waits for room in the ring,
// more calls than the ring holds, a reactor destroyed with calls in flight,
// a file closed under its calls, the pool's errors word for word, and a
// large copy checked by hash. Skipped, by name, where io_uring is
// unavailable (tests/support/fs_engine.hpp).
#include <boost/test/unit_test.hpp>
#include <fnv1a.hpp>
#include <fs_engine.hpp>
#include <open_fds.hpp>
#include <pattern.hpp>
#include <promise_fixture.hpp>
#include <temp_dir.hpp>

// The engine's own calls, for a descriptor open() would not give it: a FIFO
// whose reads wait in the kernel for as long as a test wants.
#include <vow/fs.hpp>
#include <vow/vow.hpp>

#include <fs/uring.hpp>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <fcntl.h>
#include <map>
#include <memory>
#include <source_location>
#include <stop_token>
#include <string>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>
#include <vector>

BOOST_AUTO_TEST_SUITE(uring_test, *boost::unit_test::fixture<vow::test::need_io_uring>())

using namespace std::chrono_literals;
namespace fs = vow::fs;
using vow::test::fds_on;
using vow::test::message_of;
using vow::test::pattern;

namespace {

// A FIFO open for reading and writing (so its open does not wait for a
// peer): a read of it waits in the kernel until something is written.
struct fifo {
    std::string path;
    std::shared_ptr<fs::detail::fd_holder> holder;

    explicit fifo(std::string p) : path(std::move(p)) {
        BOOST_REQUIRE(::mkfifo(path.c_str(), 0600) == 0);
        int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
        BOOST_REQUIRE(fd >= 0);
        holder = std::make_shared<fs::detail::fd_holder>(fd, path);
    }

    // A read of `n` bytes on r's ring, as file::read would submit it.
    vow::future<std::string> read(vow::reactor& r, std::size_t n,
                                  const std::stop_token& stop = {}) {
        return fs::detail::uring_read({r, vow::thread_pool::default_pool(), holder}, 0, n, stop,
                                      "file::read", std::source_location::current());
    }
};

struct fixture : vow::test::promise_fixture {
    vow::test::temp_dir tmp{"vow-uring"};

    std::string at(const std::string& name) const { return tmp.at(name); }

    fs::file open_ring(const std::string& path, fs::open_mode mode = fs::open_mode::read) {
        auto f = wait(fs::open(r, path, mode, {.engine = fs::engine::io_uring}));
        BOOST_REQUIRE((f.engine() == fs::engine::io_uring));
        return f;
    }
};

constexpr auto rw_create = fs::open_mode::read | fs::open_mode::write | fs::open_mode::create;

}  // namespace

BOOST_FIXTURE_TEST_CASE(a_stop_request_rejects_a_call_in_the_kernel_at_once_and_cancels_it,
                        fixture) {
    fifo pipe(at("fifo"));
    std::stop_source stop;
    auto reading = pipe.read(r, 5, stop.get_token());
    wait(vow::sleep(r, 20ms));
    BOOST_TEST(!reading.available());  // waiting in the kernel for a writer
    stop.request_stop();
    auto e = wait_error(std::move(reading), 5s);
    BOOST_CHECK_THROW(std::rethrow_exception(e), vow::cancelled_error);
    BOOST_TEST(message_of(e) ==
               "vow::fs::file::read: cancelled: stop was requested on its stop_token");
    // The kernel dropped that read: what is written now goes to the next one.
    BOOST_REQUIRE(::write(pipe.holder->fd, "after", 5) == 5);
    BOOST_TEST(wait(pipe.read(r, 5)) == "after");

    // A stop already requested: nothing is submitted.
    const auto path = at("kept");
    wait(fs::write_file(r, path, "kept"));
    auto f = open_ring(path, fs::open_mode::write);
    std::stop_source early;
    early.request_stop();
    BOOST_CHECK_THROW(wait(f.pwrite(0, "XXXX", early.get_token())), vow::cancelled_error);
    BOOST_CHECK_THROW(wait(f.write("XXXX", early.get_token())), vow::cancelled_error);
    BOOST_CHECK_THROW(wait(f.sync(early.get_token())), vow::cancelled_error);
    BOOST_TEST(f.position() == 0u);
    BOOST_TEST(wait(fs::read_file(r, path)) == "kept");
}

BOOST_FIXTURE_TEST_CASE(an_idle_ring_lets_run_return, fixture) {
    // The completions' watcher keeps run() running while calls are in the
    // ring, and must stop once they are done (a few tasks later: the next
    // call usually comes from a continuation).
    const auto path = at("data");
    wait(fs::write_file(r, path, "0123456789"));
    vow::reactor local;
    auto f = vow::run_until_complete(
        local, fs::open(local, path, fs::open_mode::read, {.engine = fs::engine::io_uring}));
    std::string got;
    f.pread(2, 3)
        .then([&](std::string s) {
            return f.pread(5, 3).then([&, s](std::string t) { got = s + t; });
        })
        .discard();
    std::atomic<bool> returned{false};
    std::thread guard([&] {
        for (int i = 0; i < 1000 && !returned; ++i)
            std::this_thread::sleep_for(10ms);
        if (!returned)
            local.stop();
    });
    local.run();
    returned = true;
    guard.join();
    BOOST_TEST(!local.stopped());  // it returned for lack of work, not by the guard's stop
    BOOST_TEST(got == "234567");
}

BOOST_FIXTURE_TEST_CASE(a_call_waiting_for_room_in_the_ring_is_removed_by_a_stop_request, fixture) {
    fifo pipe(at("fifo"));
    std::stop_source all;
    std::vector<vow::future<std::string>> blocked;
    for (int i = 0; i < 256; ++i)  // the ring's size: it is full
        blocked.push_back(pipe.read(r, 1, all.get_token()));
    const auto path = at("data");
    wait(fs::write_file(r, path, "abcdef"));
    auto f = open_ring(path, fs::open_mode::read | fs::open_mode::write);
    std::stop_source one;
    auto queued = f.pwrite(0, "XY", one.get_token());
    auto behind = f.pread(0, 6);  // waits behind it
    wait(vow::sleep(r, 20ms));
    BOOST_TEST(!queued.available());
    BOOST_TEST(!behind.available());
    one.request_stop();
    BOOST_CHECK_THROW(wait(std::move(queued)), vow::cancelled_error);
    BOOST_TEST(!behind.available());  // still no room
    all.request_stop();
    for (auto& b : blocked)
        BOOST_CHECK_THROW(wait(std::move(b)), vow::cancelled_error);
    // The cancelled pwrite never ran: the read behind it sees the file as it was.
    BOOST_TEST(wait(std::move(behind)) == "abcdef");
    BOOST_TEST(wait(fs::read_file(r, path)) == "abcdef");
    // And the ring goes on.
    BOOST_REQUIRE(::write(pipe.holder->fd, "z", 1) == 1);
    BOOST_TEST(wait(pipe.read(r, 1)) == "z");
}

BOOST_FIXTURE_TEST_CASE(more_calls_than_the_ring_holds_all_complete_at_their_offsets, fixture) {
    constexpr std::size_t calls = 1000, size = 4096;  // four times the ring's 256 entries
    const auto path = at("blocks");
    auto f = open_ring(path, rw_create);
    std::vector<vow::future<void>> writes;
    for (std::size_t i = 0; i < calls; ++i)
        writes.push_back(f.pwrite(i * size, pattern(size, static_cast<unsigned>(i))));
    wait_all(writes);
    std::vector<vow::future<std::string>> reads;
    for (std::size_t i = calls; i-- > 0;)
        reads.push_back(f.pread(i * size, size));
    std::size_t wrong = 0;
    for (std::size_t k = 0; k < calls; ++k)
        if (wait(std::move(reads[k])) != pattern(size, static_cast<unsigned>(calls - 1 - k)))
            ++wrong;
    BOOST_TEST(wrong == 0u);
    BOOST_TEST(wait(f.stat()).size == calls * size);
}

BOOST_FIXTURE_TEST_CASE(
    a_reactor_destroyed_with_calls_in_flight_waits_for_the_kernel_and_frees_them, fixture) {
    const auto path = at("big");
    constexpr std::size_t size = std::size_t{8} << 20;
    wait(fs::write_file(r, path, pattern(size, 5)));
    const auto pipe_path = at("fifo");
    {
        vow::reactor local;
        fifo pipe(pipe_path);
        std::vector<vow::future<std::string>> reads;
        {
            auto f = vow::run_until_complete(local, fs::open(local, path, fs::open_mode::read,
                                                             {.engine = fs::engine::io_uring}));
            for (std::size_t i = 0; i < 300; ++i)  // more than the ring holds: some wait for room
                reads.push_back(f.pread(i * 4096, 64 * 1024));
            std::stop_source stop;
            reads.push_back(f.pread(0, 10, stop.get_token()));
            stop.request_stop();  // its cancel is still on its way to the loop
        }                         // the file's handle goes; the calls hold its descriptor
        reads.push_back(pipe.read(local, 5));  // never completes on its own
        pipe.holder.reset();
        reads.clear();  // dropping a future does not cancel: the calls stay in flight
    }                   // ~reactor: the ring cancels what is in the kernel, waits, frees every call
    // Every descriptor is closed (the FIFO's at once; the file's on the pool).
    BOOST_TEST(fds_on(pipe_path) == 0u);
    for (int i = 0; i < 500 && fds_on(path) != 0; ++i)
        std::this_thread::sleep_for(10ms);
    BOOST_TEST(fds_on(path) == 0u);
    // (Under ASan, LeakSanitizer checks at exit that no call was left behind.)
}

BOOST_FIXTURE_TEST_CASE(a_file_closed_under_its_calls_keeps_its_descriptor_until_they_end,
                        fixture) {
    const auto path = at("data");
    const auto data = pattern(std::size_t{4} << 20, 9);
    wait(fs::write_file(r, path, data));
    auto f = open_ring(path);
    std::vector<vow::future<std::string>> reads;
    for (std::size_t i = 0; i < 64; ++i)
        reads.push_back(f.pread(i * 65536, 65536));
    auto closed = f.close();  // the handle is empty at once; the descriptor waits for the calls
    BOOST_TEST(!f.is_open());
    std::size_t wrong = 0;
    for (std::size_t i = 0; i < 64; ++i)
        if (wait(std::move(reads[i])) != data.substr(i * 65536, 65536))
            ++wrong;
    BOOST_TEST(wrong == 0u);
    wait(std::move(closed));
    BOOST_TEST(settle_until([&] { return fds_on(path) == 0; }));
}

BOOST_FIXTURE_TEST_CASE(errors_are_the_thread_pools_word_for_word, fixture) {
    const auto path = at("w");
    const auto pipe_path = at("fifo");
    wait(fs::write_file(r, path, "data"));
    BOOST_REQUIRE(::mkfifo(pipe_path.c_str(), 0600) == 0);
    std::map<fs::engine, std::vector<std::string>> said;
    for (auto e : {fs::engine::thread_pool, fs::engine::io_uring}) {
        auto& words = said[e];
        auto error = [&](auto f) { words.push_back(message_of(wait_error(std::move(f)))); };
        // EBADF: a read of a file open to write, a write of one open to read.
        auto wo = wait(fs::open(r, path, fs::open_mode::write, {.engine = e}));
        BOOST_TEST((wo.engine() == e));
        error(wo.pread(0, 4));
        error(wo.read(4));
        auto ro = wait(fs::open(r, path, fs::open_mode::read, {.engine = e}));
        error(ro.write("x"));
        error(ro.pwrite(0, "x"));
        // A FIFO has no offsets (ESPIPE: read() reads at the position too),
        // nothing to sync (EINVAL), but takes a write at its position.
        auto pipe = wait(fs::open(
            r, pipe_path, fs::open_mode::read | fs::open_mode::write | fs::open_mode::append,
            {.engine = e}));
        error(pipe.pread(0, 4));
        error(pipe.read(4));
        error(pipe.pwrite(0, "x"));
        error(pipe.sync());
        wait(pipe.write("abc"));
        char got[3] = {};
        BOOST_TEST(::read(pipe.native_handle(), got, 3) == 3);
        BOOST_TEST(std::string(got, 3) == "abc");
        // A directory is refused by open(), whatever the engine.
        error(fs::open(r, tmp.path().string(), fs::open_mode::read, {.engine = e}));
        // A stop requested before the call.
        std::stop_source stop;
        stop.request_stop();
        error(ro.pread(0, 1, stop.get_token()));
        error(ro.read(1, stop.get_token()));
    }
    BOOST_TEST(said[fs::engine::io_uring] == said[fs::engine::thread_pool],
               boost::test_tools::per_element());
    BOOST_TEST(said[fs::engine::io_uring].front() ==
               "vow::fs::file::pread: '" + path + "': Bad file descriptor");
    for (const auto& w : said[fs::engine::io_uring])
        BOOST_TEST_MESSAGE(w);
}

BOOST_FIXTURE_TEST_CASE(a_large_file_copied_through_the_ring_has_the_same_hash, fixture) {
    const auto src = at("big.src"), dst = at("big.dst");
    const auto data = pattern(std::size_t{32} << 20, 3);  // 32 MiB
    vow::test::fnv1a expected;
    expected.add(data);
    wait(fs::write_file(r, src, data));
    auto in = open_ring(src);
    auto out =
        open_ring(dst, fs::open_mode::write | fs::open_mode::create | fs::open_mode::truncate);
    wait(in.for_each_chunk(256 * 1024,
                           [&](std::string chunk) { return out.write(std::move(chunk)); }),
         120s);
    BOOST_TEST(out.position() == data.size());
    wait(out.sync());
    wait(out.close());
    auto back = open_ring(dst);
    vow::test::fnv1a got;
    std::uint64_t bytes = 0;
    wait(back.for_each_chunk(1 << 20,
                             [&](std::string chunk) {
                                 bytes += chunk.size();
                                 got.add(chunk);
                             }),
         120s);
    BOOST_TEST(bytes == data.size());
    BOOST_TEST(got.h == expected.h);
}

BOOST_AUTO_TEST_SUITE_END()

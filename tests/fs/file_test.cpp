// vow::fs: files and directories as futures, on the engine VOW_FS_ENGINE
// names (tests/fs/meson.build runs this file on each: `fs / file` on the
// thread pool, `fs / file (io_uring)` on io_uring).
#include <vow/fs.hpp>
#include <vow/vow.hpp>

#include <boost/test/unit_test.hpp>
#include <fs_engine.hpp>
#include <nobody_pool.hpp>
#include <open_fds.hpp>
#include <pattern.hpp>
#include <promise_fixture.hpp>
#include <temp_dir.hpp>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <memory>
#include <string>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <thread>
#include <unistd.h>
#include <vector>

BOOST_AUTO_TEST_SUITE(file_test, *boost::unit_test::fixture<vow::test::need_environment_engine>())

using namespace std::chrono_literals;
namespace fs = vow::fs;
using vow::test::fds_on;
using vow::test::message_of;
using vow::test::pattern;

namespace {

struct fixture : vow::test::promise_fixture {
    vow::test::temp_dir tmp{"vow-fs"};
    const std::filesystem::path& dir = tmp.path();

    std::string at(const std::string& name) const { return tmp.at(name); }

    // The errno of an fs_error that `f` rejects with (failing if it is not one).
    template <class T>
    int errno_of(vow::future<T> f, const std::string& path_in_message) {
        auto e = wait_error(std::move(f));
        try {
            std::rethrow_exception(e);
        } catch (const fs::fs_error& err) {
            BOOST_TEST(std::string(err.what()).find(path_in_message) != std::string::npos, err.what());
            BOOST_TEST(std::string(err.what()).starts_with("vow::fs::"), err.what());
            return err.code().value();
        } catch (...) {
            BOOST_ERROR("not a vow::fs::fs_error: " << message_of(e));
        }
        return 0;
    }
};

}  // namespace

BOOST_FIXTURE_TEST_CASE(a_written_file_reads_back_and_stats_its_size, fixture) {
    const auto path = at("a.txt");
    wait(fs::write_file(r, path, "hello, files\n"));
    BOOST_TEST(wait(fs::read_file(r, path)) == "hello, files\n");
    auto st = wait(fs::stat(r, path));
    BOOST_TEST(st.size == 13u);
    BOOST_TEST((st.type == fs::file_type::regular));
    BOOST_TEST((st.modified > std::chrono::system_clock::now() - 1h));

    auto f = wait(fs::open(r, path));
    BOOST_TEST(f.is_open());
    BOOST_TEST(f.path() == path);
    BOOST_TEST(wait(f.read(5)) == "hello");
    BOOST_TEST(f.position() == 5u);
    BOOST_TEST(wait(f.read(100)) == ", files\n");
    BOOST_TEST(wait(f.read(100)) == "");   // the end
    BOOST_TEST(wait(f.pread(7, 5)) == "files");
    BOOST_TEST(f.position() == 13u);
    f.seek(0);
    BOOST_TEST(wait(f.read(1)) == "h");
    BOOST_TEST(wait(f.stat()).size == 13u);
    // The descriptor is the file's own, for system calls vow does not wrap.
    BOOST_TEST(f.native_handle() >= 0);
    char c = 0;
    BOOST_TEST(::pread(f.native_handle(), &c, 1, 7) == 1);
    BOOST_TEST(c == 'f');
    wait(f.close());
    BOOST_TEST(!f.is_open());
    BOOST_TEST(f.native_handle() == -1);
}

BOOST_FIXTURE_TEST_CASE(files_run_on_the_engine_the_environment_names, fixture) {
    const auto path = at("e");
    wait(fs::write_file(r, path, "e"));
    auto f = wait(fs::open(r, path));
    switch (vow::test::engine_from_environment()) {
        case fs::engine::io_uring:
            BOOST_TEST((f.engine() == fs::engine::io_uring));
            break;
        case fs::engine::thread_pool:
            BOOST_TEST((f.engine() == fs::engine::thread_pool));
            break;
        case fs::engine::automatic:
            BOOST_TEST((f.engine() != fs::engine::automatic));
            break;
    }
    BOOST_TEST(wait(f.read(10)) == "e");
}

BOOST_FIXTURE_TEST_CASE(writes_go_at_the_position_or_at_the_end_with_append, fixture) {
    const auto path = at("w.txt");
    auto f = wait(fs::open(r, path, fs::open_mode::read | fs::open_mode::write | fs::open_mode::create));
    wait(f.write("abcdef"));
    BOOST_TEST(f.position() == 6u);
    f.seek(2);
    wait(f.write("XY"));
    wait(f.pwrite(10, "end"));   // a hole, read back as zeros
    wait(f.sync());
    BOOST_TEST(wait(f.pread(0, 100)) == std::string("abXYef\0\0\0\0end", 13));
    wait(f.close());

    auto a = wait(fs::open(r, path, fs::open_mode::write | fs::open_mode::append));
    wait(a.write("+1"));
    wait(a.write("+2"));
    a = fs::file();   // closes (on the pool)
    BOOST_TEST(wait(fs::read_file(r, path)) == std::string("abXYef\0\0\0\0end+1+2", 17));

    auto t = wait(fs::open(r, path, fs::open_mode::write | fs::open_mode::truncate));
    wait(t.close());
    BOOST_TEST(wait(fs::stat(r, path)).size == 0u);
}

BOOST_FIXTURE_TEST_CASE(errors_are_fs_errors_that_name_the_operation_and_the_path, fixture) {
    const auto missing = at("missing.txt");
    BOOST_TEST(errno_of(fs::open(r, missing), missing) == ENOENT);
    BOOST_TEST(errno_of(fs::read_file(r, missing), missing) == ENOENT);
    BOOST_TEST(errno_of(fs::stat(r, missing), missing) == ENOENT);
    BOOST_TEST(errno_of(fs::unlink(r, missing), missing) == ENOENT);
    BOOST_TEST(errno_of(fs::rename(r, missing, at("b")), missing + "' -> '" + at("b")) == ENOENT);
    try {
        std::rethrow_exception(wait_error(fs::rename(r, missing, at("b"))));
    } catch (const fs::fs_error& err) {
        BOOST_TEST(err.path() == missing);   // the source; the message names both
        BOOST_TEST(err.operation() == "rename");
    }
    BOOST_TEST(errno_of(fs::readdir(r, missing), missing) == ENOENT);

    // A directory is not a file, whichever way it is opened.
    const auto d = dir.string();
    BOOST_TEST(errno_of(fs::open(r, d), d) == EISDIR);
    BOOST_TEST(errno_of(fs::open(r, d, fs::open_mode::write), d) == EISDIR);
    BOOST_TEST(errno_of(fs::read_file(r, d), d) == EISDIR);
    BOOST_TEST(errno_of(fs::unlink(r, d), d) == EISDIR);
    BOOST_TEST(errno_of(fs::mkdir(r, d), d) == EEXIST);

    const auto file = at("f");
    wait(fs::write_file(r, file, "12345"));
    BOOST_TEST(errno_of(fs::readdir(r, file), file) == ENOTDIR);
    BOOST_TEST(errno_of(fs::open(r, file, fs::open_mode::write | fs::open_mode::create | fs::open_mode::exclusive),
                        file) == EEXIST);
    BOOST_TEST(errno_of(fs::read_file(r, file, 4), file) == EFBIG);   // over its limit, before reading
    BOOST_TEST(wait(fs::read_file(r, file, 5)) == "12345");

    auto e = wait_error(fs::open(r, missing));
    BOOST_TEST(message_of(e) == "vow::fs::open: '" + missing + "': No such file or directory");
}

BOOST_FIXTURE_TEST_CASE(a_file_without_permission_is_eacces, fixture) {
    const auto path = at("secret");
    wait(fs::write_file(r, path, "x"));
    ::chmod(path.c_str(), 0600);
    if (::geteuid() != 0) {
        ::chmod(path.c_str(), 0);
        BOOST_TEST(errno_of(fs::open(r, path), path) == EACCES);
        return;
    }
    // Root reads anything: the open runs on a pool whose worker is nobody.
    ::chmod(dir.c_str(), 0755);
    vow::test::nobody_pool nobody;
    if (!nobody.ready()) {
        BOOST_TEST_MESSAGE("skipped: a_file_without_permission_is_eacces: " << nobody.why());
        return;
    }
    BOOST_TEST(errno_of(fs::open(r, path, fs::open_mode::read, {.pool = &nobody.pool}), path) == EACCES);
    BOOST_TEST(wait(fs::read_file(r, path)) == "x");   // root, on the default pool, still reads it
}

BOOST_FIXTURE_TEST_CASE(misuse_is_refused_at_the_call, fixture) {
    const auto path = at("m");
    BOOST_CHECK_THROW((void)fs::open(r, path, fs::open_mode::create), vow::invalid_argument);
    BOOST_CHECK_THROW((void)fs::open(r, path, fs::open_mode::read | fs::open_mode::truncate), vow::invalid_argument);
    BOOST_CHECK_THROW((void)fs::open(r, path, fs::open_mode::write | fs::open_mode::exclusive),
                      vow::invalid_argument);

    wait(fs::write_file(r, path, pattern(1 << 20, 1)));
    auto f = wait(fs::open(r, path));
    auto first = f.read(1 << 20);
    BOOST_CHECK_THROW((void)f.read(10), vow::usage_error);    // one at the position at a time
    BOOST_CHECK_THROW((void)f.write("x"), vow::usage_error);
    BOOST_CHECK_THROW(f.seek(0), vow::usage_error);
    auto side = f.pread(0, 10);                                // at an offset: fine
    BOOST_TEST(wait(std::move(first)).size() == std::size_t{1} << 20);
    BOOST_TEST(wait(std::move(side)) == pattern(1 << 20, 1).substr(0, 10));
    wait(f.close());
    BOOST_CHECK_THROW((void)f.read(1), vow::usage_error);
    BOOST_CHECK_THROW((void)f.close(), vow::usage_error);
    fs::file never;
    BOOST_CHECK_THROW((void)never.stat(), vow::usage_error);
}

BOOST_FIXTURE_TEST_CASE(overlapping_pwrites_and_preads_each_hit_their_own_offset, fixture) {
    const auto path = at("blocks");
    auto f = wait(fs::open(r, path, fs::open_mode::read | fs::open_mode::write | fs::open_mode::create));
    constexpr std::size_t blocks = 64, size = 4096;
    std::vector<vow::future<void>> writes;
    for (std::size_t i = 0; i < blocks; ++i)
        writes.push_back(f.pwrite(i * size, pattern(size, static_cast<unsigned>(i))));
    wait_all(writes);
    std::vector<vow::future<std::string>> reads;
    for (std::size_t i = blocks; i-- > 0;)
        reads.push_back(f.pread(i * size, size));
    for (std::size_t k = 0; k < blocks; ++k)
        BOOST_TEST(wait(std::move(reads[k])) == pattern(size, static_cast<unsigned>(blocks - 1 - k)));
    BOOST_TEST(wait(f.stat()).size == blocks * size);
}

BOOST_FIXTURE_TEST_CASE(directories_list_make_and_remove, fixture) {
    wait(fs::mkdir(r, at("sub")));
    wait(fs::write_file(r, at("one"), "1"));
    wait(fs::write_file(r, at("sub/two"), "22"));
    ::symlink("one", at("link").c_str());
    auto entries = wait(fs::readdir(r, dir.string()));
    std::map<std::string, fs::file_type> seen;
    for (auto& e : entries)
        seen[e.name] = e.type;
    BOOST_TEST(seen.size() == 3u);
    BOOST_TEST((seen["sub"] == fs::file_type::directory));
    BOOST_TEST((seen["one"] == fs::file_type::regular));
    BOOST_TEST((seen["link"] == fs::file_type::symlink));
    BOOST_TEST((wait(fs::stat(r, at("link"))).type == fs::file_type::regular));   // stat follows it

    wait(fs::rename(r, at("sub/two"), at("three")));
    BOOST_TEST(wait(fs::read_file(r, at("three"))) == "22");
    BOOST_TEST(errno_of(fs::rmdir(r, dir.string()), dir.string()) == ENOTEMPTY);
    wait(fs::rmdir(r, at("sub")));
    wait(fs::unlink(r, at("three")));
    BOOST_TEST(wait(fs::readdir(r, dir.string())).size() == 2u);
}

BOOST_FIXTURE_TEST_CASE(chunks_arrive_in_order_and_the_next_read_waits_for_the_consumer, fixture) {
    const auto path = at("chunks");
    const auto data = pattern(1'000'000, 7);
    wait(fs::write_file(r, path, data));
    auto f = wait(fs::open(r, path));
    std::string got;
    std::size_t calls = 0;
    bool consuming = false;
    wait(f.for_each_chunk(64 * 1024, [&](std::string chunk) {
        BOOST_TEST(!consuming);   // never called while the previous consumer's future waits
        BOOST_TEST(chunk.size() <= 64u * 1024);
        consuming = true;
        ++calls;
        got += chunk;
        return vow::sleep(r, 1ms).then([&] { consuming = false; });
    }));
    BOOST_TEST(calls == 16u);   // 15 full chunks and one of 16,960 bytes
    BOOST_TEST((got == data));
    BOOST_TEST(f.position() == data.size());

    // A consumer's error ends the loop with it.
    f.seek(0);
    auto e = wait_error(f.for_each_chunk(1000, [](std::string) { throw std::runtime_error("consumer gave up"); }));
    BOOST_TEST(message_of(e) == "consumer gave up");
}

BOOST_FIXTURE_TEST_CASE(a_large_file_copied_in_chunks_is_the_same_byte_for_byte, fixture) {
    const auto src = at("big.src"), dst = at("big.dst");
    const auto data = pattern(32u << 20, 3);   // 32 MiB
    wait(fs::write_file(r, src, data));
    auto in = wait(fs::open(r, src));
    auto out = wait(fs::open(r, dst, fs::open_mode::write | fs::open_mode::create | fs::open_mode::truncate));
    wait(in.for_each_chunk(256 * 1024, [&](std::string chunk) { return out.write(std::move(chunk)); }), 120s);
    wait(out.close());
    BOOST_TEST(wait(fs::stat(r, dst)).size == data.size());
    BOOST_TEST((wait(fs::read_file(r, dst)) == data));
}

BOOST_FIXTURE_TEST_CASE(a_stop_request_removes_a_queued_call_before_it_runs, fixture) {
    const auto path = at("keep");
    wait(fs::write_file(r, path, "still here"));
    vow::thread_pool pool(1);
    std::promise<void> release;
    auto released = release.get_future().share();
    std::atomic<bool> blocking{false};
    pool.submit([released, &blocking] {
        blocking = true;
        released.wait();
    });
    struct releaser {
        std::promise<void>& p;
        ~releaser() {
            try {
                p.set_value();
            } catch (...) {
            }
        }
    } guard{release};
    while (!blocking)
        std::this_thread::yield();

    std::stop_source stop;
    auto gone = fs::unlink(r, path, {.pool = &pool, .stop = stop.get_token()});
    stop.request_stop();
    auto e = wait_error(std::move(gone));
    BOOST_TEST(message_of(e).find("cancelled") != std::string::npos, message_of(e));
    BOOST_CHECK_THROW(std::rethrow_exception(e), vow::cancelled_error);
    release.set_value();
    // The pool reaches the call, and skips it: the file is still there.
    auto after = fs::stat(r, path, {.pool = &pool});
    BOOST_TEST(wait(std::move(after)).size == 10u);

    // A stop requested before the call: it is never queued.
    auto early = fs::unlink(r, path, {.pool = &pool, .stop = stop.get_token()});
    BOOST_CHECK_THROW(wait(std::move(early)), vow::cancelled_error);
    BOOST_TEST(wait(fs::read_file(r, path)) == "still here");
}

BOOST_FIXTURE_TEST_CASE(a_stop_request_while_the_call_runs_discards_its_result_and_closes_the_file, fixture) {
    // Opening a FIFO to read blocks until a writer comes: a call that runs
    // for as long as the test wants.
    const auto fifo = at("fifo");
    BOOST_REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    vow::thread_pool pool(1);   // (outlives the file the open makes: the test waits for it to close)
    std::stop_source stop;
    auto opening = fs::open(r, fifo, fs::open_mode::read, {.pool = &pool, .stop = stop.get_token()});
    wait(vow::sleep(r, 50ms));   // the worker is inside open(2) by now (and if not, the call is dropped instead)
    stop.request_stop();
    BOOST_CHECK_THROW(wait(std::move(opening)), vow::cancelled_error);
    // Let the open finish: its file is discarded and closed, nothing leaks.
    // (Without blocking: a writer opens only while a reader waits in open(2).)
    int writer = -1;
    for (int i = 0; i < 200 && writer < 0; ++i) {
        writer = ::open(fifo.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
        if (writer < 0)
            wait(vow::sleep(r, 10ms));
    }
    if (writer < 0) {
        BOOST_TEST_MESSAGE("the open was dropped before a worker took it (a slow machine)");
        return;
    }
    ::close(writer);
    // A job behind the open on the one worker: once it ran, the open has
    // returned its descriptor; the discarded file then closes it.
    wait(vow::to_thread(r, pool, [] {}));
    BOOST_TEST(settle_until([&] { return fds_on(fifo) == 0; }), fds_on(fifo) << " descriptors still open on the FIFO");
    wait(vow::to_thread(r, pool, [] {}));   // the pool is idle: it may go
}

BOOST_AUTO_TEST_SUITE_END()

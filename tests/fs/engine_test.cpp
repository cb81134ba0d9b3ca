// vow::fs::engine: which engine a file gets (io_uring where it works, else
// the thread pool; the pool for a file given a pool of its own; what
// VOW_FS_ENGINE says instead of automatic), and io_uring refused, saying
// why, where a seccomp filter forbids it, with automatic falling back to
// the pool there. Runs everywhere, io_uring or not.
#include <vow/fs.hpp>
#include <vow/vow.hpp>

#include <boost/test/unit_test.hpp>
#include <promise_fixture.hpp>
#include <temp_dir.hpp>

#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <exception>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <optional>
#include <string>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <thread>
#include <unistd.h>

BOOST_AUTO_TEST_SUITE(engine_test)

namespace fs = vow::fs;
using vow::test::message_of;

namespace {

// Sets VOW_FS_ENGINE for its lifetime (unset with nullptr), then puts back
// what was there.
class environment_engine {
public:
    explicit environment_engine(const char* value) {
        if (const char* old = std::getenv("VOW_FS_ENGINE"))
            old_ = old;
        set(value);
    }
    ~environment_engine() { set(old_ ? old_->c_str() : nullptr); }
    environment_engine(const environment_engine&) = delete;
    environment_engine& operator=(const environment_engine&) = delete;

private:
    static void set(const char* value) {
        if (value)
            ::setenv("VOW_FS_ENGINE", value, 1);
        else
            ::unsetenv("VOW_FS_ENGINE");
    }
    std::optional<std::string> old_;
};

struct fixture : vow::test::promise_fixture {
    vow::test::temp_dir tmp{"vow-fs-engine"};
    std::string path = tmp.at("data");
    std::string uring_why;  // "" where io_uring works

    fixture() {
        wait(fs::write_file(r, path, "0123456789"));
        uring_why = fs::engine_unavailable(r, fs::engine::io_uring);
    }

    fs::engine engine_of(fs::open_options o = {}) {
        auto f = wait(fs::open(r, path, fs::open_mode::read, o));
        BOOST_TEST(wait(f.pread(2, 3)) == "234");  // and it reads, on whichever engine
        return f.engine();
    }
};

// Installs, on the calling thread only, a seccomp filter under which
// io_uring_setup(2) fails with EPERM (as container runtimes' default
// profiles make it fail). False, with errno, if the kernel refuses filters.
bool forbid_io_uring_on_this_thread() {
    sock_filter code[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_io_uring_setup, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA)),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    sock_fprog prog{static_cast<unsigned short>(sizeof code / sizeof code[0]), code};
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
        return false;
    // No SECCOMP_FILTER_FLAG_TSYNC: the filter is this thread's alone.
    return ::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) == 0;
}

}  // namespace

BOOST_FIXTURE_TEST_CASE(automatic_is_io_uring_where_it_works_and_the_pool_elsewhere, fixture) {
    environment_engine unset(nullptr);
    BOOST_TEST_MESSAGE("io_uring here: " << (uring_why.empty() ? "available" : uring_why));
    BOOST_TEST(fs::engine_unavailable(r, fs::engine::thread_pool) == "");
    BOOST_TEST(fs::engine_unavailable(r, fs::engine::automatic) == "");
    BOOST_TEST(
        (engine_of() == (uring_why.empty() ? fs::engine::io_uring : fs::engine::thread_pool)));
    BOOST_TEST((engine_of({.engine = fs::engine::thread_pool}) == fs::engine::thread_pool));
    fs::file closed;
    BOOST_TEST((closed.engine() == fs::engine::automatic));  // not open: no engine
}

BOOST_FIXTURE_TEST_CASE(a_file_given_a_pool_stays_on_it_unless_it_asks_for_io_uring, fixture) {
    environment_engine unset(nullptr);
    vow::thread_pool pool(1);
    BOOST_TEST((engine_of({.pool = &pool}) == fs::engine::thread_pool));
    if (uring_why.empty())
        BOOST_TEST(
            (engine_of({.pool = &pool, .engine = fs::engine::io_uring}) == fs::engine::io_uring));
    wait(vow::to_thread(r, pool, [] {}));  // the files' closes have run: the pool may go
}

BOOST_FIXTURE_TEST_CASE(the_environment_replaces_automatic_but_not_an_explicit_engine, fixture) {
    {
        environment_engine pool("thread_pool");
        BOOST_TEST((engine_of() == fs::engine::thread_pool));
        if (uring_why.empty())
            BOOST_TEST((engine_of({.engine = fs::engine::io_uring}) == fs::engine::io_uring));
    }
    {
        environment_engine automatic("automatic");
        BOOST_TEST(
            (engine_of() == (uring_why.empty() ? fs::engine::io_uring : fs::engine::thread_pool)));
    }
    {
        environment_engine uring("io_uring");
        BOOST_TEST((engine_of({.engine = fs::engine::thread_pool}) == fs::engine::thread_pool));
        if (uring_why.empty())
            BOOST_TEST((engine_of() == fs::engine::io_uring));
        else
            BOOST_CHECK_THROW((void)fs::open(r, path), vow::invalid_argument);
    }
    {
        environment_engine typo("iouring");
        try {
            (void)fs::open(r, path);
            BOOST_ERROR("open() took VOW_FS_ENGINE=iouring");
        } catch (const vow::invalid_argument& e) {
            BOOST_TEST(
                std::string(e.what()) ==
                "vow::fs::open: '" + path +
                    "': the environment's VOW_FS_ENGINE is 'iouring'; expected thread_pool, io_uring or "
                    "automatic");
        }
    }
}

BOOST_FIXTURE_TEST_CASE(
    io_uring_forbidden_by_seccomp_is_refused_by_name_and_automatic_uses_the_pool, fixture) {
    environment_engine unset(nullptr);
    // A thread of its own, with its own reactor: the filter stays with it.
    bool filtered = false;
    int refused = 0;
    std::string why, refusal, pooled, read, env_refusal;
    std::exception_ptr failed;
    std::thread t([&] {
        try {
            filtered = forbid_io_uring_on_this_thread();
            if (!filtered) {
                refused = errno;
                return;
            }
            vow::reactor tr;
            why = fs::engine_unavailable(tr, fs::engine::io_uring);
            try {
                (void)fs::open(tr, path, fs::open_mode::read, {.engine = fs::engine::io_uring});
            } catch (const vow::invalid_argument& e) {
                refusal = e.what();
            }
            {
                environment_engine uring("io_uring");
                try {
                    (void)fs::open(tr, path);
                } catch (const vow::invalid_argument& e) {
                    env_refusal = e.what();
                }
            }
            auto f = vow::run_until_complete(tr, fs::open(tr, path));
            pooled = f.engine() == fs::engine::thread_pool ? "pool" : "not the pool";
            read = vow::run_until_complete(tr, f.read(100));
        } catch (...) {
            failed = std::current_exception();
        }
    });
    t.join();
    if (failed)
        BOOST_FAIL("the filtered thread failed: " << message_of(failed));
    if (!filtered) {
        BOOST_TEST_MESSAGE("skipped: this kernel refuses a seccomp filter (errno " << refused
                                                                                   << ")");
        return;
    }
    BOOST_TEST(!why.empty());
    BOOST_TEST(why.find(uring_why.empty() ? "io_uring_setup(2) failed: Operation not permitted"
                                          : "") != std::string::npos,
               why);
    BOOST_TEST(
        refusal ==
        "vow::fs::open: '" + path +
            "': open_options::engine asks for engine::io_uring, which is unavailable: " + why);
    BOOST_TEST(env_refusal ==
               "vow::fs::open: '" + path +
                   "': VOW_FS_ENGINE asks for engine::io_uring, which is unavailable: " + why);
    BOOST_TEST(pooled == "pool");
    BOOST_TEST(read == "0123456789");
    // The other threads never had the filter: io_uring still works here if it did.
    BOOST_TEST(fs::engine_unavailable(r, fs::engine::io_uring) == uring_why);
}

BOOST_AUTO_TEST_SUITE_END()

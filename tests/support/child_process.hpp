// tests/support/child_process.hpp - other programs as peers of a test: a
// child process with a pipe to its stdin and one from its stdout and
// stderr, a check that a program is installed (a test that needs a missing
// one is skipped, saying so), and a free loopback port for a peer to listen
// on.
//
//   BOOST_FIXTURE_TEST_CASE(s_client_connects, my_fixture, *vow::test::needs_program("openssl")) {
//       vow::test::child_process peer({"openssl", "s_client", "-connect", "127.0.0.1:4433"});
//       BOOST_TEST(peer.wait_for("CONNECTED"), peer.output());
//   }
//
// wait_for() and wait_exit() block the calling thread, and with it the
// reactor: for a peer that must talk to vow meanwhile, watch output_fd()
// with reactor::add_reader and call read_available() when it is readable
// (tests/ws/interop_test.cpp does).
#pragma once

#include <boost/test/unit_test.hpp>

#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

namespace vow::test {

// True if `name` is an executable on PATH.
inline bool have_program(const std::string& name) {
    return std::system(("command -v " + name + " >/dev/null 2>&1").c_str()) == 0;
}

// A Boost.Test precondition: skips the case, saying why, without `name`.
inline auto needs_program(std::string name) {
    return boost::unit_test::precondition([name](boost::unit_test::test_unit_id) {
        boost::test_tools::assertion_result ok(have_program(name));
        if (!ok)
            ok.message() << "skipped: '" << name << "' is not installed, and this test runs it as the peer";
        return ok;
    });
}

// A port nobody listens on now (the kernel's choice for port 0).
inline std::uint16_t free_port() {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    BOOST_REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    ::close(fd);
    return ntohs(a.sin_port);
}

// A program run as a peer: its stdin is a pipe we write, its stdout and
// stderr one pipe we read. Killed (SIGKILL, by its pid) when destroyed.
class child_process {
public:
    explicit child_process(std::vector<std::string> argv) {
        int in[2], out[2];
        BOOST_REQUIRE(::pipe2(in, O_CLOEXEC) == 0);
        BOOST_REQUIRE(::pipe2(out, O_CLOEXEC) == 0);
        pid_ = ::fork();
        BOOST_REQUIRE(pid_ >= 0);
        if (pid_ == 0) {
            ::dup2(in[0], 0);
            ::dup2(out[1], 1);
            ::dup2(out[1], 2);
            std::vector<char*> args;
            for (auto& a : argv)
                args.push_back(a.data());
            args.push_back(nullptr);
            ::execvp(args[0], args.data());
            ::_exit(127);
        }
        ::close(in[0]);
        ::close(out[1]);
        in_ = in[1];
        out_ = out[0];
    }
    child_process(const child_process&) = delete;
    child_process& operator=(const child_process&) = delete;
    ~child_process() {
        if (in_ >= 0)
            ::close(in_);
        ::close(out_);
        if (!reaped_) {
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, nullptr, 0);
        }
    }

    void write(const std::string& s) {
        BOOST_REQUIRE(::write(in_, s.data(), s.size()) == static_cast<ssize_t>(s.size()));
    }
    void close_stdin() {
        ::close(in_);
        in_ = -1;
    }
    // Reads until `text` appears in the output (true) or `limit` passes or
    // the output ends (false). Everything read is kept in output().
    bool wait_for(const std::string& text, std::chrono::milliseconds limit = std::chrono::seconds(10)) {
        const auto give_up = std::chrono::steady_clock::now() + limit;
        while (output_.find(text) == std::string::npos) {
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(give_up - std::chrono::steady_clock::now());
            if (left.count() <= 0)
                return false;
            pollfd p{out_, POLLIN, 0};
            if (::poll(&p, 1, static_cast<int>(left.count())) <= 0)
                return false;
            char buf[4096];
            const ssize_t n = ::read(out_, buf, sizeof buf);
            if (n <= 0)
                return false;
            output_.append(buf, static_cast<std::size_t>(n));
        }
        return true;
    }
    // Reads what the program has written so far, without waiting, into
    // output(). False once its output has ended (it closed its stdout and
    // stderr, usually by exiting): a reactor watching output_fd() must then
    // stop watching it.
    bool read_available() {
        for (;;) {
            pollfd p{out_, POLLIN, 0};
            if (::poll(&p, 1, 0) <= 0)
                return true;
            char buf[4096];
            const ssize_t n = ::read(out_, buf, sizeof buf);
            if (n <= 0)
                return false;
            output_.append(buf, static_cast<std::size_t>(n));
        }
    }
    // The read end of the program's stdout and stderr (owned by this).
    [[nodiscard]] int output_fd() const noexcept { return out_; }
    // Waits for the program to exit; its exit status (-1 if killed by a
    // signal or still running after `limit`). Reads the rest of the output.
    int wait_exit(std::chrono::milliseconds limit = std::chrono::seconds(10)) {
        wait_for("\x01no such text\x01", limit);   // drains the output until it ends
        int status = 0;
        const auto give_up = std::chrono::steady_clock::now() + limit;
        while (::waitpid(pid_, &status, WNOHANG) == 0) {
            if (std::chrono::steady_clock::now() > give_up)
                return -1;
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
        reaped_ = true;
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    }
    [[nodiscard]] const std::string& output() const noexcept { return output_; }

private:
    pid_t pid_ = -1;
    bool reaped_ = false;   // waited for: its pid may belong to another process now
    int in_ = -1;
    int out_ = -1;
    std::string output_;
};

}  // namespace vow::test

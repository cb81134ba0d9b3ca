// tests/tls/tls_fixture.hpp - what the TLS tests share: the certificates
// (made once per test process by make_certs.sh into a temporary directory),
// contexts made from them, a TLS pair over loopback with both handshakes
// run together, and real peers (openssl s_server / s_client, python3's ssl)
// as child processes on free ports.
//
//   BOOST_FIXTURE_TEST_CASE(bytes_arrive, vow::test::tls_fixture) {
//       auto p = pair(server_context(), client_context());
//       wait(p.client.write("hi"));
//       BOOST_TEST(wait(p.server.read_exactly(2)) == "hi");
//   }
//
// A test that needs the openssl CLI or python3 is skipped, with the reason
// in the log, where the program is missing (needs_program).
#pragma once

#include <net_fixture.hpp>

#include <vow/net/tcp.hpp>
#include <vow/net/tls.hpp>

#include <boost/test/unit_test.hpp>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef VOW_TLS_TEST_SOURCE_DIR
#error "tests/tls/meson.build defines VOW_TLS_TEST_SOURCE_DIR (where make_certs.sh is)"
#endif

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

// The directory of the test certificates (see make_certs.sh), made on first
// use and removed when the process exits.
inline const std::string& cert_dir() {
    static const std::string dir = [] {
        std::string templ = (std::filesystem::temp_directory_path() / "vow-tls-XXXXXX").string();
        if (!::mkdtemp(templ.data()))
            throw std::runtime_error("cannot make a temporary directory for the test certificates");
        const std::string cmd =
            std::string("sh '") + VOW_TLS_TEST_SOURCE_DIR + "/make_certs.sh' '" + templ + "' >/dev/null 2>&1";
        if (std::system(cmd.c_str()) != 0)
            throw std::runtime_error("make_certs.sh failed (is the openssl CLI installed?): " + cmd);
        static std::string to_remove = templ;
        std::atexit([] {
            std::error_code ec;
            std::filesystem::remove_all(to_remove, ec);
        });
        return templ;
    }();
    return dir;
}
inline std::string cert(const std::string& name) { return cert_dir() + "/" + name; }

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

// The result of a future that may fail: its value, or its error.
template <class T>
struct outcome {
    std::optional<T> value;
    std::exception_ptr error;
    [[nodiscard]] std::string message() const { return error ? message_of(error) : std::string("(no error)"); }
};

struct tls_fixture : net_fixture {
    std::shared_ptr<net::tls_context> server_context(net::tls_server_options o = {}) {
        if (o.cert_file.empty()) {
            o.cert_file = cert("server.pem");
            o.key_file = cert("server.key");
        }
        return net::tls_context::server(std::move(o));
    }
    std::shared_ptr<net::tls_context> client_context(net::tls_client_options o = {}) {
        if (o.ca_file.empty() && o.verify)
            o.ca_file = cert("ca.pem");
        return net::tls_context::client(std::move(o));
    }

    // settle(duration) lets the loop run; settle(future) waits for an outcome.
    using net_fixture::settle;
    template <class T>
    outcome<T> settle(future<T> f) {
        outcome<T> o;
        try {
            o.value.emplace(wait(std::move(f)));
        } catch (const vow::stalled_error& e) {
            BOOST_FAIL("the future did not settle: " << e.what());
        } catch (...) {
            o.error = std::current_exception();
        }
        return o;
    }

    outcome<bool> settle(future<void> f) {
        return settle(std::move(f).then([] { return true; }));
    }

    struct handshakes {
        outcome<net::tls_stream> client, server;
    };
    // Both ends of a handshake over a fresh loopback connection, run
    // together; the client asks for `host`.
    handshakes handshake(const std::shared_ptr<net::tls_context>& server_ctx,
                         const std::shared_ptr<net::tls_context>& client_ctx, std::string host = "localhost",
                         net::io_options opts = {.timeout = std::chrono::seconds(10)}) {
        net::tcp_server listener(r, "127.0.0.1", 0);
        auto accepted = listener.accept();
        auto tcp = wait(net::connect(r, "127.0.0.1", listener.port()));
        auto peer = wait(std::move(accepted));
        auto s = net::tls_stream::accept(server_ctx, peer, opts);
        auto c = net::tls_stream::connect(client_ctx, tcp, std::move(host), opts);
        handshakes h;
        h.client = settle(std::move(c));
        h.server = settle(std::move(s));
        return h;
    }

    struct tls_pair {
        net::tls_stream client, server;
    };
    // A pair whose handshakes must work.
    tls_pair pair(const std::shared_ptr<net::tls_context>& server_ctx,
                  const std::shared_ptr<net::tls_context>& client_ctx, std::string host = "localhost") {
        auto h = handshake(server_ctx, client_ctx, std::move(host));
        BOOST_REQUIRE_MESSAGE(!h.client.error, "client handshake: " << h.client.message());
        BOOST_REQUIRE_MESSAGE(!h.server.error, "server handshake: " << h.server.message());
        return {std::move(*h.client.value), std::move(*h.server.value)};
    }
    tls_pair pair() { return pair(server_context(), client_context()); }

    // read_to_end: net_fixture's, which takes any stream.
};

}  // namespace vow::test

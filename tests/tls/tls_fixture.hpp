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
// in the log, where the program is missing (needs_program, from
// tests/support/child_process.hpp with child_process and free_port).
#pragma once

#include <child_process.hpp>
#include <net_fixture.hpp>

#include <vow/net/tcp.hpp>
#include <vow/net/tls.hpp>

#include <boost/test/unit_test.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#ifndef VOW_TLS_TEST_SOURCE_DIR
#error "tests/tls/meson.build defines VOW_TLS_TEST_SOURCE_DIR (where make_certs.sh is)"
#endif

namespace vow::test {

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

// HTTPS: vow's http_client and http_server with a tls_context (through
// vow::net::tls_layer), against each other and against real peers: curl and
// python3's ssl as clients of vow's server, nginx (its own configuration, a
// free port) as vow's client's server. Hostile clients of the TLS port, the
// pool keyed by scheme, redirects across http/https, and a response cut
// without close_notify.
#include <boost/test/unit_test.hpp>

#include "tls_fixture.hpp"

#include <vow/fs/file.hpp>
#include <vow/net/http.hpp>
#include <vow/net/tls.hpp>
#include <vow/promise/loop.hpp>
#include <vow/promise/make_future.hpp>
#include <vow/promise/sleep.hpp>

#include <fmt/format.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>

#include <unistd.h>

BOOST_AUTO_TEST_SUITE(https_test)

using namespace std::chrono_literals;
using vow::net::http_client;
using vow::net::http_client_options;
using vow::net::http_request;
using vow::net::http_response;
using vow::net::http_server;
using vow::net::http_server_options;
using vow::net::tls_context;
using vow::test::cert;
using vow::test::child_process;
using vow::test::needs_program;

namespace {

bool contains(const std::string& text, std::string_view part) { return text.find(part) != std::string::npos; }

// The routes every test server has.
void add_routes(http_server& server, std::uint16_t* plain_port = nullptr) {
    server.get("/hello", [](const http_request&) { return http_response::text("hello over tls"); });
    server.post("/echo", [](const http_request& req) { return http_response::text(req.body); });
    server.get("/to-http", [plain_port](const http_request&) {
        http_response res;
        res.status = 302;
        res.headers.set("Location", fmt::format("http://127.0.0.1:{}/plain", plain_port ? *plain_port : 1));
        return res;
    });
}

// A vow HTTPS server on its own reactor and thread, for peers that block
// this thread (curl, python3). Stops when destroyed.
class server_thread {
public:
    explicit server_thread(std::shared_ptr<tls_context> ctx, http_server_options opts = {}) {
        opts.tls = std::move(ctx);
        std::promise<std::pair<std::uint16_t, vow::promise<void>>> ready;
        auto started = ready.get_future();
        thread_ = std::thread([&ready, opts]() mutable {
            try {
                vow::reactor r;
                http_server server(r, "127.0.0.1", 0, opts);
                add_routes(server);
                vow::promise<void> stop(r);
                stop.get_future().then([&] { server.close(); }).discard();
                ready.set_value({server.port(), std::move(stop)});
                r.run();
            } catch (...) {
                ready.set_exception(std::current_exception());
            }
        });
        auto [port, stop] = started.get();
        port_ = port;
        stop_.emplace(std::move(stop));
    }
    server_thread(const server_thread&) = delete;
    server_thread& operator=(const server_thread&) = delete;
    ~server_thread() {
        stop_->resolve();
        thread_.join();
    }
    [[nodiscard]] std::uint16_t port() const { return port_; }
    [[nodiscard]] std::string url(std::string_view path, std::string_view host = "localhost") const {
        return fmt::format("https://{}:{}{}", host, port_, path);
    }

private:
    std::thread thread_;
    std::uint16_t port_ = 0;
    std::optional<vow::promise<void>> stop_;
};

// nginx with TLS: one worker, no master, its own directory and a free port,
// `return 200` on /hello. Killed when destroyed.
class nginx_tls {
public:
    explicit nginx_tls(std::string protocols) : port_(vow::test::free_port()) {
        dir_ = vow::test::cert_dir() + fmt::format("/nginx-{}", port_);
        std::filesystem::create_directories(dir_);
        std::ofstream(dir_ + "/nginx.conf") << fmt::format(
            R"(daemon off;
master_process off;
worker_processes 1;
pid {0}/nginx.pid;
error_log {0}/error.log warn;
events {{ worker_connections 256; }}
http {{
    access_log off;
    client_body_temp_path {0}/body;
    proxy_temp_path {0}/proxy;
    fastcgi_temp_path {0}/fastcgi;
    uwsgi_temp_path {0}/uwsgi;
    scgi_temp_path {0}/scgi;
    server {{
        listen 127.0.0.1:{1} ssl;
        ssl_certificate {2};
        ssl_certificate_key {3};
        ssl_protocols {4};
        location /hello {{ default_type text/plain; return 200 "hello from nginx"; }}
        location /redirect {{ return 302 "http://127.0.0.1:1/"; }}
    }}
}}
)",
            dir_, port_, cert("server.pem"), cert("server.key"), protocols);
        proc_.emplace(std::vector<std::string>{"nginx", "-p", dir_, "-c", dir_ + "/nginx.conf", "-e",
                                               dir_ + "/error.log"});
        // Up when it accepts a connection.
        auto give_up = std::chrono::steady_clock::now() + 10s;
        while (!accepts()) {
            if (std::chrono::steady_clock::now() > give_up)
                throw std::runtime_error("nginx did not start: " + proc_->output());
            std::this_thread::sleep_for(20ms);
        }
    }
    [[nodiscard]] std::string url(std::string_view path) const {
        return fmt::format("https://localhost:{}{}", port_, path);
    }

private:
    [[nodiscard]] bool accepts() const {
        int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(port_);
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
        ::close(fd);
        return ok;
    }
    std::uint16_t port_;
    std::string dir_;
    std::optional<child_process> proc_;
};

std::shared_ptr<tls_context> default_server_context() {
    return tls_context::server({.cert_file = cert("server.pem"), .key_file = cert("server.key")});
}

struct https_fixture : vow::test::tls_fixture {
    std::shared_ptr<tls_context> client_tls = client_context();
    http_client client{r, {.tls = client_tls}};
};

}  // namespace

// ------------------------------------------------------- vow to vow

BOOST_FIXTURE_TEST_CASE(vow_client_and_server_speak_https_and_keep_the_connection_alive, https_fixture) {
    http_server server(r, "127.0.0.1", 0, {.tls = server_context()});
    add_routes(server);
    auto base = fmt::format("https://localhost:{}", server.port());
    for (int i = 0; i < 3; ++i) {
        auto res = wait(client.get(base + "/hello"));
        BOOST_TEST(res.status == 200);
        BOOST_TEST(res.body == "hello over tls");
    }
    auto echoed = wait(client.post(base + "/echo", std::string(100000, 'e')));
    BOOST_TEST(echoed.body == std::string(100000, 'e'));
    BOOST_TEST(client.connections_opened() == 1u);
    // An IP address works too: it is verified against the certificate's IP SAN.
    BOOST_TEST(wait(client.get(fmt::format("https://127.0.0.1:{}/hello", server.port()))).status == 200);
}

BOOST_FIXTURE_TEST_CASE(a_file_body_over_https_is_read_in_chunks_not_sent_with_sendfile, https_fixture) {
    // sendfile(2) would put plaintext on the wire: over TLS the server reads
    // the file region on the file's pool and encrypts it chunk by chunk.
    std::string path = (std::filesystem::temp_directory_path() / fmt::format("vow-https-body-{}", ::getpid())).string();
    std::string content;
    for (int i = 0; i < 300000; ++i)
        content.push_back(static_cast<char>('A' + i % 23));
    std::ofstream(path, std::ios::binary) << content;
    auto f = std::make_shared<vow::fs::file>(wait(vow::fs::open(r, path)));
    std::filesystem::remove(path);
    http_server server(r, "127.0.0.1", 0, {.tls = server_context()});
    server.get("/file", [&](const http_request&) {
        http_response res;
        res.body_source = vow::net::http_body_source::from_file(f, 7, 200000);
        return res;
    });
    auto res = wait(client.get(fmt::format("https://localhost:{}/file", server.port())));
    BOOST_TEST(res.status == 200);
    BOOST_TEST(res.headers.get("Content-Length").value_or("") == "200000");
    BOOST_TEST((res.body == content.substr(7, 200000)));
}

BOOST_FIXTURE_TEST_CASE(a_streamed_upload_over_https_reaches_a_streaming_route_whole, https_fixture) {
    // Both ends stream through the TLS stream: the client's producer
    // (chunked, no length) and the route's req.body_source.
    http_server server(r, "127.0.0.1", 0, {.tls = server_context()});
    server.route("PUT", "/up", {.stream_body = true}, [&](const http_request& req) {
        struct tally {
            std::uint64_t bytes = 0, sum = 0;
        };
        auto t = std::make_shared<tally>();
        auto next = req.body_source.next;
        return vow::repeat(r,
                           [t, next] {
                               return next().then([t](std::optional<std::string> chunk) {
                                   if (!chunk)
                                       return vow::stop_iteration::yes;
                                   t->bytes += chunk->size();
                                   for (unsigned char ch : *chunk)
                                       t->sum = t->sum * 31 + ch;
                                   return vow::stop_iteration::no;
                               });
                           })
            .then([t] { return http_response::text(fmt::format("{} {}", t->bytes, t->sum)); });
    });
    constexpr int pieces = 48;
    constexpr std::size_t piece = 64 * 1024;   // 3 MiB in all
    std::uint64_t sum = 0;
    for (int i = 0; i < pieces; ++i)
        for (std::size_t j = 0; j < piece; ++j)
            sum = sum * 31 + static_cast<unsigned char>('a' + (i + j) % 26);
    vow::net::request_options ro;
    ro.body_source.next = [this, i = 0]() mutable {
        if (i == pieces)
            return vow::make_ready_future(r, std::optional<std::string>());
        std::string s(piece, '\0');
        for (std::size_t j = 0; j < piece; ++j)
            s[j] = static_cast<char>('a' + (i + j) % 26);
        ++i;
        return vow::make_ready_future(r, std::optional<std::string>(std::move(s)));
    };
    auto res = wait(client.request("PUT", fmt::format("https://localhost:{}/up", server.port()), {}, std::move(ro)));
    BOOST_TEST(res.status == 200);
    BOOST_TEST(res.body == fmt::format("{} {}", pieces * piece, sum));
}

BOOST_FIXTURE_TEST_CASE(the_pool_keeps_http_and_https_to_one_host_apart, https_fixture) {
    http_server secure(r, "127.0.0.1", 0, {.tls = server_context()});
    add_routes(secure);
    http_server plain(r, "127.0.0.1", 0);
    add_routes(plain);
    BOOST_TEST(wait(client.get(fmt::format("https://localhost:{}/hello", secure.port()))).status == 200);
    BOOST_TEST(wait(client.get(fmt::format("http://localhost:{}/hello", plain.port()))).status == 200);
    BOOST_TEST(wait(client.get(fmt::format("https://localhost:{}/hello", secure.port()))).status == 200);
    BOOST_TEST(client.connections_opened() == 2u);
    BOOST_TEST(client.idle_connections() == 2u);
}

BOOST_FIXTURE_TEST_CASE(a_server_certificate_for_another_host_is_refused_with_a_certificate_error,
                        https_fixture) {
    http_server server(r, "127.0.0.1", 0,
                       {.tls = server_context({.cert_file = cert("other.pem"), .key_file = cert("other.key")})});
    add_routes(server);
    auto e = vow::test::error_as<vow::net::tls_error>(
        wait_error(client.get(fmt::format("https://localhost:{}/hello", server.port()))));
    BOOST_TEST(contains(e.what(), "certificate"));
    BOOST_TEST(contains(e.what(), "other.example"));
    BOOST_TEST(server.requests() == 0u);
}

BOOST_FIXTURE_TEST_CASE(without_the_test_ca_the_client_does_not_trust_the_server, vow::test::tls_fixture) {
    http_server server(r, "127.0.0.1", 0, {.tls = server_context()});
    add_routes(server);
    http_client client(r, {.tls = tls_context::client()});   // the system store only
    auto e = vow::test::error_as<vow::net::tls_error>(
        wait_error(client.get(fmt::format("https://localhost:{}/hello", server.port()))));
    BOOST_TEST(contains(e.what(), "certificate"));
}

BOOST_FIXTURE_TEST_CASE(a_redirect_from_https_to_http_is_refused_unless_allowed, https_fixture) {
    http_server plain(r, "127.0.0.1", 0);
    plain.get("/plain", [](const http_request&) { return http_response::text("plain"); });
    std::uint16_t plain_port = plain.port();
    http_server secure(r, "127.0.0.1", 0, {.tls = server_context()});
    add_routes(secure, &plain_port);
    auto from = fmt::format("https://localhost:{}/to-http", secure.port());
    auto e = vow::test::error_as<vow::net::http_error>(wait_error(client.get(from)));
    BOOST_TEST(contains(e.what(), "leaves HTTPS for plain HTTP"));
    BOOST_TEST(plain.requests() == 0u);

    http_client lenient(r, {.tls = client_tls, .allow_https_to_http_redirects = true});
    BOOST_TEST(wait(lenient.get(from)).body == "plain");
}

BOOST_FIXTURE_TEST_CASE(a_redirect_from_http_to_https_is_followed_without_credentials, https_fixture) {
    http_server secure(r, "127.0.0.1", 0, {.tls = server_context()});
    secure.get("/landing", [](const http_request& req) {
        return http_response::text(req.headers.contains("Authorization") ? "with credentials" : "secure");
    });
    http_server plain(r, "127.0.0.1", 0);
    plain.get("/start", [port = secure.port()](const http_request&) {
        http_response res;
        res.status = 301;
        res.headers.set("Location", fmt::format("https://localhost:{}/landing", port));
        return res;
    });
    vow::net::request_options ro;
    ro.headers.add("Authorization", "Bearer t");
    BOOST_TEST(wait(client.get(fmt::format("http://localhost:{}/start", plain.port()), ro)).body == "secure");
}

BOOST_FIXTURE_TEST_CASE(an_upgrade_over_https_hands_over_the_tls_stream, https_fixture) {
    http_server server(r, "127.0.0.1", 0, {.tls = server_context()});
    std::optional<vow::net::stream> taken;
    server.get("/up", [&](const http_request&) {
        http_response res;
        res.status = 101;
        res.headers.set("Connection", "Upgrade");
        res.headers.set("Upgrade", "echo");
        res.upgrade = [&](vow::net::stream s, http_request) {
            // The TLS stream, not the TCP one under it: the line it reads
            // was decrypted, or the echo below would be ciphertext.
            taken = s;
            s.read_line().then([s](std::optional<std::string> line) mutable {
                (void)s.write("echo: " + line.value_or("(end)") + "\n");
            }).discard();
        };
        return res;
    });
    auto tcp = wait(vow::net::connect(r, "127.0.0.1", server.port()));
    auto tls = wait(vow::net::tls_stream::connect(client_tls, tcp, "localhost"));
    wait(tls.write("GET /up HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n"));
    auto head = wait(tls.read_until("\r\n\r\n", 4096));
    BOOST_TEST(head.starts_with("HTTP/1.1 101 "));
    wait(tls.write("over tls\n"));
    BOOST_TEST(*wait(tls.read_line()) == "echo: over tls");
    BOOST_REQUIRE(taken.has_value());
    BOOST_TEST(taken->peer_address().port() == tls.local_address().port());
    BOOST_TEST(server.connections() == 0u);
}

// --------------------------------------------------- hostile clients

BOOST_FIXTURE_TEST_CASE(plaintext_garbage_and_stalled_handshakes_are_dropped_without_disturbing_others,
                        https_fixture) {
    http_server server(r, "127.0.0.1", 0, {.header_timeout = 300ms, .tls = server_context()});
    add_routes(server);
    auto plain = wait(vow::net::connect(r, "127.0.0.1", server.port()));
    auto garbage = wait(vow::net::connect(r, "127.0.0.1", server.port()));
    auto stalled = wait(vow::net::connect(r, "127.0.0.1", server.port()));
    wait(plain.write("GET /hello HTTP/1.1\r\nHost: localhost\r\n\r\n"));
    wait(garbage.write(std::string(64, '\x7f')));
    wait(stalled.write(std::string("\x16\x03\x01", 3)));   // the start of a ClientHello, then nothing
    // Meanwhile a real client is served.
    BOOST_TEST(wait(client.get(fmt::format("https://localhost:{}/hello", server.port()))).body == "hello over tls");
    // Each bad one ends: at once (not TLS) or at header_timeout (stalled);
    // none gets an HTTP response.
    for (auto* s : {&plain, &garbage, &stalled}) {
        std::string got;
        for (;;) {
            auto chunk = settle(s->read_some({.timeout = 5s}));
            if (chunk.error || chunk.value->empty())
                break;
            got += *chunk.value;
        }
        BOOST_TEST(!contains(got, "HTTP/1.1"));
    }
    wait_until([&] { return server.connections() <= 1u; });   // the client's pooled one at most
    BOOST_TEST(server.requests() == 1u);
}

// A close-delimited response whose connection is cut without TLS's
// close_notify may be truncated by an attacker: an error, not a short body.
BOOST_FIXTURE_TEST_CASE(a_close_delimited_response_cut_without_close_notify_is_an_error, https_fixture) {
    vow::net::tcp_server listener(r, "127.0.0.1", 0);
    auto srv_ctx = server_context();
    listener.on_connection([&, srv_ctx](vow::net::tcp_stream tcp) {
        vow::net::tls_stream::accept(srv_ctx, tcp, {.timeout = 10s})
            .then([](vow::net::tls_stream s) {
                return s.read_until("\r\n\r\n", 16384).then([s](std::string) mutable {
                    return s.write("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\npart of a body");
                }).then([s]() mutable { s.transport().close(); });   // no close_notify
            })
            .discard();
    });
    auto e = wait_error(client.get(fmt::format("https://localhost:{}/", listener.port())));
    BOOST_TEST(contains(vow::test::message_of(e), "close_notify"));
}

// ------------------------------------------------------- real peers

BOOST_AUTO_TEST_CASE(curl_gets_from_the_vow_server_and_refuses_it_without_the_ca,
                     *needs_program("curl")) {
    server_thread server(default_server_context());
    child_process ok({"curl", "-sS", "--http1.1", "--cacert", cert("ca.pem"), server.url("/hello")});
    BOOST_TEST(ok.wait_exit() == 0);
    BOOST_TEST(ok.output() == "hello over tls");
    child_process post({"curl", "-sS", "--cacert", cert("ca.pem"), "--data-binary", "posted body",
                        server.url("/echo", "127.0.0.1")});
    BOOST_TEST(post.wait_exit() == 0);
    BOOST_TEST(post.output() == "posted body");
    child_process refused({"curl", "-sS", server.url("/hello")});
    BOOST_TEST(refused.wait_exit() == 60);   // curl: peer certificate cannot be authenticated
    for (const char* version : {"--tlsv1.2", "--tlsv1.3"}) {
        std::vector<std::string> argv{"curl", "-sS", "--cacert", cert("ca.pem"), version, server.url("/hello")};
        if (std::string(version) == "--tlsv1.2")
            argv.insert(argv.begin() + 1, "--tls-max");
        if (std::string(version) == "--tlsv1.2")
            argv.insert(argv.begin() + 2, "1.2");
        child_process c(argv);
        BOOST_TEST(c.wait_exit() == 0, version << ": " << c.output());
        BOOST_TEST(c.output() == "hello over tls");
    }
}

BOOST_AUTO_TEST_CASE(python_ssl_gets_from_the_vow_server, *needs_program("python3")) {
    server_thread server(default_server_context());
    child_process py({"python3", "-c",
                      fmt::format("import http.client, ssl\n"
                                  "ctx = ssl.create_default_context(cafile='{}')\n"
                                  "c = http.client.HTTPSConnection('localhost', {}, context=ctx)\n"
                                  "for _ in range(2):\n"
                                  "    c.request('GET', '/hello'); r = c.getresponse()\n"
                                  "    print(r.status, r.read().decode(), c.sock.version())\n",
                                  cert("ca.pem"), server.port())});
    BOOST_TEST(py.wait_exit() == 0, py.output());
    BOOST_TEST(py.output() == "200 hello over tls TLSv1.3\n200 hello over tls TLSv1.3\n");
}

BOOST_FIXTURE_TEST_CASE(the_vow_client_gets_from_nginx_over_tls_1_2_and_1_3, https_fixture,
                        *needs_program("nginx")) {
    for (const char* protocols : {"TLSv1.2", "TLSv1.3"}) {
        nginx_tls nginx(protocols);
        http_client c(r, {.tls = client_tls});
        for (int i = 0; i < 3; ++i) {
            auto res = wait(c.get(nginx.url("/hello")));
            BOOST_TEST(res.status == 200, protocols);
            BOOST_TEST(res.body == "hello from nginx", protocols);
        }
        BOOST_TEST(c.connections_opened() == 1u, protocols);
        auto e = vow::test::error_as<vow::net::http_error>(wait_error(c.get(nginx.url("/redirect"))));
        BOOST_TEST(contains(e.what(), "leaves HTTPS"));
    }
}

BOOST_AUTO_TEST_SUITE_END()

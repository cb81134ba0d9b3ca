// tests/pool/http_test.cpp - an http_server on every reactor of a pool, on one
// port (SO_REUSEPORT): each reactor serves the connections it accepted, a
// reactor whose handler throws or stalls does not hold up the others, and
// the pool's stop loses no connection already accepted or queued.
//
// The clients are plain blocking sockets on threads of their own, so that
// they are independent of every reactor; reactor 0 runs in pool.run() on
// the test's thread.
#include <promise_fixture.hpp>
#include <vow/vow.hpp>

#include <boost/test/unit_test.hpp>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

using namespace std::chrono_literals;
using vow::net::http_request;
using vow::net::http_response;

BOOST_AUTO_TEST_SUITE(http_test)

namespace {

// A blocking client connection with a receive timeout (so that a test that
// goes wrong fails instead of hanging).
class client {
public:
    // Connects within 5 s. Empty on failure, with the errno in `error`.
    static std::optional<client> connect(std::uint16_t port, int& error) {
        int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0) {
            error = errno;
            return std::nullopt;
        }
        sockaddr_in to{};
        to.sin_family = AF_INET;
        to.sin_port = htons(port);
        to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        int rc = ::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to);
        if (rc != 0 && errno == EINPROGRESS) {
            pollfd p{fd, POLLOUT, 0};
            rc = ::poll(&p, 1, 5000) == 1 ? 0 : -1;
            int err = ETIMEDOUT;
            socklen_t len = sizeof err;
            if (rc == 0)
                ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
            errno = err;
            rc = err == 0 ? 0 : -1;
        }
        if (rc != 0) {
            error = errno;
            ::close(fd);
            return std::nullopt;
        }
        int flags = 0;   // blocking from here on, with timeouts
        ::ioctl(fd, FIONBIO, &flags);
        timeval tv{10, 0};
        ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        int one = 1;
        ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        return client(fd);
    }
    client(client&& o) noexcept : fd_(std::exchange(o.fd_, -1)), buf_(std::move(o.buf_)) {}
    ~client() {
        if (fd_ >= 0)
            ::close(fd_);
    }

    bool send_get(const std::string& path) {
        std::string req = "GET " + path + " HTTP/1.1\r\nHost: test\r\n\r\n";
        return ::send(fd_, req.data(), req.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(req.size());
    }

    struct response {
        int status = 0;
        std::string body;
        std::string failure;   // empty if a whole response came
    };
    // Reads one response (Content-Length bodies only: what vow sends here).
    response read_response() {
        response res;
        for (;;) {
            auto end = buf_.find("\r\n\r\n");
            if (end != std::string::npos) {
                res.status = std::atoi(buf_.c_str() + 9);
                std::size_t len = 0;
                auto cl = buf_.find("Content-Length: ");
                if (cl != std::string::npos && cl < end)
                    len = std::strtoul(buf_.c_str() + cl + 16, nullptr, 10);
                if (buf_.size() >= end + 4 + len) {
                    res.body = buf_.substr(end + 4, len);
                    buf_.erase(0, end + 4 + len);
                    return res;
                }
            }
            char chunk[4096];
            ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
            if (n <= 0) {
                res.failure = n == 0 ? "end of stream before a whole response"
                                     : std::string("recv: ") + std::strerror(errno);
                return res;
            }
            buf_.append(chunk, static_cast<std::size_t>(n));
        }
    }
    response get(const std::string& path) {
        if (!send_get(path))
            return {0, {}, std::string("send: ") + std::strerror(errno)};
        return read_response();
    }

private:
    explicit client(int fd) : fd_(fd) {}
    int fd_;
    std::string buf_;
};

// One server per reactor on one port: shard 0 picks it, the others share it.
struct servers {
    std::atomic<std::uint16_t> port{0};
    std::optional<vow::sharded<vow::net::http_server>> all;

    servers(vow::reactor_pool& pool, const std::function<void(vow::net::http_server&, std::size_t)>& routes) {
        vow::net::http_server_options opts;
        opts.tcp.reuse_port = true;
        all.emplace(pool, [&](vow::reactor& r, std::size_t shard) {
            auto s = std::make_unique<vow::net::http_server>(r, "127.0.0.1", port.load(), opts);
            port = s->port();
            s->get("/who", [shard](const http_request&) { return http_response::text(std::to_string(shard)); });
            routes(*s, shard);
            return s;
        });
    }
};

}  // namespace

BOOST_AUTO_TEST_CASE(a_reactor_whose_handler_throws_or_stalls_does_not_hold_up_the_others) {
    vow::reactor_pool pool({.threads = 2});
    std::atomic<bool> release{false};
    std::atomic<int> handler_errors{0};
    servers srv(pool, [&](vow::net::http_server& s, std::size_t) {
        s.get("/stall", [&](const http_request&) {
            // Holds this reactor's thread until the test lets go (or 30 s).
            auto until = std::chrono::steady_clock::now() + 30s;
            while (!release && std::chrono::steady_clock::now() < until)
                std::this_thread::sleep_for(100us);
            return http_response::text("stalled");
        });
        s.get("/throw", [](const http_request&) -> http_response { throw std::runtime_error("handler failed"); });
        s.on_error([&](std::exception_ptr, const http_request&) { ++handler_errors; });
    });
    const std::uint16_t port = srv.port;

    // What the pool counted, summed over its reactors, at the stop.
    std::atomic<std::uint64_t> counted{0};
    pool.on_stop([&](vow::reactor::duration) {
        return srv.all->map_reduce([](vow::net::http_server& s) { return s.requests(); }, std::uint64_t{0},
                                   std::plus<>{})
            .then([&](std::uint64_t n) { counted = n; });
    });

    std::atomic<std::uint64_t> sent{0};
    std::vector<std::string> failures;
    std::mutex failures_mutex;
    auto fail = [&](std::string what) {
        std::lock_guard l(failures_mutex);
        failures.push_back(std::move(what));
    };
    std::thread driver([&] {
        struct finally {
            vow::reactor_pool& p;
            ~finally() { p.stop(5s); }
        } stop_at_end{pool};
        // A keep-alive connection to each reactor: connect until both came.
        std::optional<client> on[2];
        int err = 0;
        for (int i = 0; i < 1000 && (!on[0] || !on[1]); ++i) {
            auto c = client::connect(port, err);
            if (!c) {
                fail(std::string("connect: ") + std::strerror(err));
                return;
            }
            auto who = c->get("/who");
            ++sent;
            if (!who.failure.empty() || (who.body != "0" && who.body != "1")) {
                fail("who: " + who.failure + who.body);
                return;
            }
            auto& slot = on[who.body == "1"];
            if (!slot)
                slot.emplace(std::move(*c));
        }
        if (!on[0] || !on[1]) {
            fail("1000 connections all went to one reactor");
            return;
        }
        // Load on both reactors meanwhile: a thread per reactor, each on a
        // keep-alive connection of its own to that reactor.
        std::atomic<bool> load_done{false};
        std::atomic<int> load_answers[2] = {0, 0};
        std::vector<std::thread> load;
        for (int t = 0; t < 2; ++t)
            load.emplace_back([&, t] {
                std::optional<client> mine;
                for (int i = 0; i < 1000 && !mine; ++i) {
                    int e = 0;
                    auto c = client::connect(port, e);
                    if (!c) {
                        fail(std::string("load connect: ") + std::strerror(e));
                        return;
                    }
                    auto res = c->get("/who");
                    ++sent;
                    if (res.body == std::to_string(t))
                        mine.emplace(std::move(*c));
                }
                while (mine && !load_done) {
                    auto res = mine->get("/who");
                    ++sent;
                    if (!res.failure.empty() || res.body != std::to_string(t)) {
                        fail("load: " + res.failure + res.body);
                        return;
                    }
                    ++load_answers[t];
                }
            });
        for (int i = 0; i < 5000 && (load_answers[0] == 0 || load_answers[1] == 0); ++i)
            std::this_thread::sleep_for(1ms);

        // Reactor 1 stalls in a handler: reactor 0 keeps answering.
        if (!on[1]->send_get("/stall"))
            fail("send /stall");
        ++sent;
        const int before = load_answers[0];
        for (int i = 0; i < 200; ++i) {
            auto res = on[0]->get("/who");
            ++sent;
            if (!res.failure.empty() || res.body != "0")
                fail("reactor 0 during the stall: " + res.failure + res.body);
        }
        for (int i = 0; i < 2000 && load_answers[0] - before < 20; ++i)
            std::this_thread::sleep_for(1ms);
        if (load_answers[0] - before < 20)
            fail("the load on reactor 0 stopped during the stall");
        release = true;
        auto stalled = on[1]->read_response();
        if (stalled.body != "stalled")
            fail("stall response: " + stalled.failure + stalled.body);

        // Reactor 1's handler throws: a 500 there, reactor 0 goes on, and so
        // does reactor 1 on its next connection.
        auto thrown = on[1]->get("/throw");
        ++sent;
        if (thrown.status != 500)
            fail("throw: status " + std::to_string(thrown.status) + " " + thrown.failure);
        for (int i = 0; i < 50; ++i) {
            auto res = on[0]->get("/who");
            ++sent;
            if (res.body != "0")
                fail("reactor 0 after the throw: " + res.failure + res.body);
        }
        const int ones = load_answers[1];
        for (int i = 0; i < 2000 && load_answers[1] - ones < 20; ++i)
            std::this_thread::sleep_for(1ms);
        if (load_answers[1] - ones < 20)
            fail("reactor 1 serves nothing after its handler threw");
        load_done = true;
        for (auto& t : load)
            t.join();
    });
    pool.run();
    driver.join();
    BOOST_TEST(failures.empty(), failures.size() << " failures, first: " << (failures.empty() ? "" : failures[0]));
    BOOST_TEST(handler_errors.load() == 1);
    BOOST_TEST(counted.load() == sent.load());   // the per-reactor counts, summed
}

BOOST_AUTO_TEST_CASE(the_pools_stop_loses_no_connection_accepted_or_queued) {
    // Clients connect without pause, one request per connection, while the
    // pool stops; half of them take 5 ms between connecting and sending, as
    // a client with work to do (or a TLS handshake) would. Each connection
    // either gets its whole response or is refused: none is reset, none
    // ends without an answer.
    vow::reactor_pool pool({.threads = 2});
    servers srv(pool, [&](vow::net::http_server& s, std::size_t) {
        s.get("/slow", [&s](const http_request&) {
            return vow::sleep(s.get_reactor(), 20ms).then([] { return http_response::text("ok"); });
        });
    });
    const std::uint16_t port = srv.port;
    std::atomic<int> answered{0}, refused{0};
    std::vector<std::string> lost;
    std::mutex lost_mutex;
    std::vector<std::thread> clients;
    for (int t = 0; t < 6; ++t)
        clients.emplace_back([&, t] {
            for (int i = 0; i < 100000; ++i) {
                int err = 0;
                auto c = client::connect(port, err);
                if (!c) {
                    if (err == ECONNREFUSED) {
                        ++refused;
                        return;
                    }
                    std::lock_guard l(lost_mutex);
                    lost.push_back(std::string("connect: ") + std::strerror(err));
                    return;
                }
                if (t % 2)
                    std::this_thread::sleep_for(5ms);
                auto res = c->get("/slow");
                if (res.failure.empty() && res.status == 200 && res.body == "ok") {
                    ++answered;
                    continue;
                }
                std::lock_guard l(lost_mutex);
                lost.push_back(res.failure.empty() ? "status " + std::to_string(res.status) : res.failure);
            }
        });
    std::thread stopper([&] {
        for (int i = 0; i < 5000 && answered < 50; ++i)
            std::this_thread::sleep_for(1ms);
        pool.stop(10s);
    });
    pool.run();
    stopper.join();
    for (auto& t : clients)
        t.join();
    BOOST_TEST(lost.empty(), lost.size() << " connections lost, first: " << (lost.empty() ? "" : lost[0]));
    BOOST_TEST(answered.load() >= 50);
    BOOST_TEST(refused.load() == 6);
}

BOOST_AUTO_TEST_SUITE_END()

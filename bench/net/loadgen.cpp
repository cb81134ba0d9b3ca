// bench/net/loadgen.cpp - the TCP echo load generator for the network
// benchmarks: N connections, each sending S bytes, waiting for exactly S
// bytes back, checking every byte, and doing it again.
//
//   loadgen --host 127.0.0.1 --port 7000 --connections 100 --size 64 --seconds 5
//   loadgen --port 7000 --connections 1 --size 16384 --seconds 5 --warmup 1
//   loadgen --port 7000 --connections 10000 --size 64 --seconds 1 --hold 2
//
// It prints one JSON line when done, for example
//
//   {"connections": 100, "size": 64, "seconds": 5.000, "round_trips": 812345,
//    "round_trips_per_s": 162469.0, "bytes_per_s": 10398016.0,
//    "total_round_trips": 974814, "errors": 0, "error_detail": ""}
//
// (on one line). `round_trips` counts the round trips completed inside the
// timed window (after the warm-up); `bytes_per_s` is the payload echoed per
// second in one direction (S per round trip). `total_round_trips` includes
// the warm-up, so that a harness that reads the server's CPU time before and
// after this whole process can divide it by every byte the server echoed.
//
// With --hold H (idle mode, for the memory benchmark) each connection makes
// exactly one checked round trip and then stays open and silent: once every
// connection has made its round trip the program prints "idle N" on a line
// of its own, holds the connections for H seconds (the harness reads the
// server's memory meanwhile), closes them and prints the JSON line, with
// round_trips = N. --seconds then bounds the wait for the round trips.
//
// Correctness first: each round's payload is a different window of a
// pseudo-random pattern, chosen by the connection's index and the round
// number, so a server that echoes stale bytes, bytes of another connection or
// bytes in the wrong order is caught. A mismatch, an early close, a reset or
// a connect failure counts as an error, closes that connection (it is not
// reopened) and makes the exit status 1. Status 2 is a usage error.
//
// The program has no vow dependency on purpose: it is the fixed yardstick
// that vow and its peers are measured with. One thread, one level-triggered
// epoll set, nonblocking sockets with TCP_NODELAY; a round trip costs it one
// write and one read in the common case, so it is not the bottleneck at 64 B.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace {

using clock_type = std::chrono::steady_clock;

struct options {
    std::string host = "127.0.0.1";
    int port = 0;
    int connections = 1;
    std::size_t size = 64;
    double seconds = 5.0;
    double warmup = 1.0;
    double hold = 0;  // > 0: idle mode (see above)
};

[[noreturn]] void usage(const char* why) {
    std::fprintf(stderr,
                 "loadgen: %s\n"
                 "usage: loadgen --host H --port P --connections N --size S --seconds T "
                 "[--warmup W] [--hold H]\n",
                 why);
    std::exit(2);
}

options parse(int argc, char** argv) {
    options o;
    for (int i = 1; i < argc; ++i) {
        std::string_view a = argv[i];
        if (i + 1 >= argc) {
            usage("every option takes a value");
        }
        const char* v = argv[++i];
        char* end = nullptr;
        if (a == "--host") {
            o.host = v;
            continue;
        }
        double d = std::strtod(v, &end);
        if (end == v || *end != '\0' || d < 0) {
            usage("option values must be non-negative numbers");
        }
        if (a == "--port") {
            o.port = static_cast<int>(d);
        } else if (a == "--connections") {
            o.connections = static_cast<int>(d);
        } else if (a == "--size") {
            o.size = static_cast<std::size_t>(d);
        } else if (a == "--seconds") {
            o.seconds = d;
        } else if (a == "--warmup") {
            o.warmup = d;
        } else if (a == "--hold") {
            o.hold = d;
        } else {
            usage("unknown option");
        }
    }
    if (o.port <= 0 || o.port > 65535) {
        usage("--port must be 1..65535");
    }
    if (o.connections <= 0 || o.size == 0 || o.seconds <= 0) {
        usage("--connections, --size and --seconds must be positive");
    }
    return o;
}

// The payload of round r on connection c is pattern[off .. off + S) with
// off = (c * 37 + r) % window. A window of 251 (prime) offsets makes
// consecutive rounds and neighbouring connections differ.
constexpr std::size_t window = 251;

std::vector<unsigned char> make_pattern(std::size_t size) {
    std::vector<unsigned char> p(size + window);
    std::uint64_t x = 0x9E3779B97F4A7C15ull;
    for (auto& b : p) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        b = static_cast<unsigned char>(x >> 24);
    }
    return p;
}

struct connection {
    int fd = -1;
    int index = 0;
    std::uint64_t round = 0;
    std::size_t sent = 0;      // bytes of this round's payload written
    std::size_t received = 0;  // bytes of this round's echo read and checked
    bool want_write = false;   // EPOLLOUT registered
};

struct loadgen {
    options opt;
    std::vector<unsigned char> pattern;
    std::vector<unsigned char> buffer;
    std::vector<connection> conns;
    int epfd = -1;
    int open = 0;

    bool measuring = false;
    std::uint64_t measured = 0;  // round trips inside the timed window
    std::uint64_t total = 0;     // round trips since the start
    std::uint64_t errors = 0;
    std::string first_error;

    const unsigned char* payload(const connection& c) const {
        return pattern.data() + (static_cast<std::size_t>(c.index) * 37 + c.round) % window;
    }

    void fail(connection& c, const std::string& why) {
        ++errors;
        if (first_error.empty()) {
            first_error = "connection " + std::to_string(c.index) + ": " + why;
        }
        if (c.fd >= 0) {
            ::epoll_ctl(epfd, EPOLL_CTL_DEL, c.fd, nullptr);
            ::close(c.fd);
            c.fd = -1;
            --open;
        }
    }

    void set_events(connection& c, bool want_write) {
        if (c.want_write == want_write) {
            return;
        }
        c.want_write = want_write;
        epoll_event ev{};
        ev.events = EPOLLIN | (want_write ? EPOLLOUT : 0u);
        ev.data.u32 = static_cast<std::uint32_t>(c.index);
        ::epoll_ctl(epfd, EPOLL_CTL_MOD, c.fd, &ev);
    }

    // Writes what remains of this round's payload; registers for EPOLLOUT
    // only when the socket buffer is full.
    void write_some(connection& c) {
        while (c.sent < opt.size) {
            ssize_t n = ::send(c.fd, payload(c) + c.sent, opt.size - c.sent, MSG_NOSIGNAL);
            if (n > 0) {
                c.sent += static_cast<std::size_t>(n);
                continue;
            }
            if (n < 0 && errno == EINTR) {
                continue;
            }
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
                set_events(c, true);
                return;
            }
            fail(c, std::string("send failed: ") + std::strerror(errno));
            return;
        }
        set_events(c, false);
    }

    // Reads at most what this round still expects: anything the server sends
    // beyond S bytes stays in the socket and fails the next round's check.
    void read_some(connection& c) {
        while (c.fd >= 0) {
            std::size_t want = opt.size - c.received;
            ssize_t n = ::recv(c.fd, buffer.data(), want, 0);
            if (n == 0) {
                fail(c, "server closed the connection after " + std::to_string(c.received) +
                            " of " + std::to_string(opt.size) + " bytes of round " +
                            std::to_string(c.round));
                return;
            }
            if (n < 0) {
                if (errno == EINTR) {
                    continue;
                }
                if (errno != EAGAIN && errno != EWOULDBLOCK) {
                    fail(c, std::string("recv failed: ") + std::strerror(errno));
                }
                return;
            }
            auto got = static_cast<std::size_t>(n);
            if (c.received + got > c.sent) {
                fail(c, "server sent bytes before they were sent to it");
                return;
            }
            if (std::memcmp(buffer.data(), payload(c) + c.received, got) != 0) {
                std::size_t at = 0;
                while (buffer[at] == payload(c)[c.received + at]) {
                    ++at;
                }
                fail(c, "byte " + std::to_string(c.received + at) + " of round " +
                            std::to_string(c.round) + " differs from what was sent");
                return;
            }
            c.received += got;
            if (c.received < opt.size) {
                continue;
            }
            ++total;
            if (measuring) {
                ++measured;
            }
            ++c.round;
            c.sent = 0;
            c.received = 0;
            if (opt.hold <= 0) {
                write_some(c);
            }
            return;  // level-triggered: the next echo is reported by epoll
        }
    }

    bool connect_all() {
        sockaddr_in sa{};
        sa.sin_family = AF_INET;
        sa.sin_port = htons(static_cast<std::uint16_t>(opt.port));
        if (::inet_pton(AF_INET, opt.host.c_str(), &sa.sin_addr) != 1) {
            std::fprintf(stderr, "loadgen: --host must be an IPv4 address, not %s\n",
                         opt.host.c_str());
            std::exit(2);
        }
        epfd = ::epoll_create1(0);
        conns.resize(static_cast<std::size_t>(opt.connections));
        for (int i = 0; i < opt.connections; ++i) {
            connection& c = conns[static_cast<std::size_t>(i)];
            c.index = i;
            // A blocking connect keeps this simple; the listen backlog of
            // every server here exceeds the connection counts used.
            c.fd = ::socket(AF_INET, SOCK_STREAM, 0);
            if (c.fd < 0 || ::connect(c.fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
                int err = errno;
                if (c.fd >= 0) {
                    ::close(c.fd);
                }
                c.fd = -1;
                ++errors;
                if (first_error.empty()) {
                    first_error = "connection " + std::to_string(i) +
                                  ": connect failed: " + std::strerror(err);
                }
                continue;
            }
            int one = 1;
            ::setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            ::fcntl(c.fd, F_SETFL, ::fcntl(c.fd, F_GETFL) | O_NONBLOCK);
            epoll_event ev{};
            ev.events = EPOLLIN;
            ev.data.u32 = static_cast<std::uint32_t>(i);
            ::epoll_ctl(epfd, EPOLL_CTL_ADD, c.fd, &ev);
            ++open;
        }
        return open > 0;
    }

    // Idle mode: one round trip per connection, then hold them all open.
    int run_idle() {
        pattern = make_pattern(opt.size);
        buffer.resize(opt.size);
        connect_all();
        for (auto& c : conns) {
            if (c.fd >= 0) {
                write_some(c);
            }
        }
        std::vector<epoll_event> events(conns.size());
        auto deadline = clock_type::now() + std::chrono::duration_cast<clock_type::duration>(
                                                std::chrono::duration<double>(opt.seconds));
        while (open > 0 && total < static_cast<std::uint64_t>(open)) {
            auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(deadline -
                                                                            clock_type::now())
                          .count();
            if (ms <= 0) {
                ++errors;
                if (first_error.empty()) {
                    first_error = "only " + std::to_string(total) + " of " +
                                  std::to_string(open) + " connections echoed in time";
                }
                break;
            }
            int n = ::epoll_wait(epfd, events.data(), static_cast<int>(events.size()),
                                 static_cast<int>(ms));
            if (n < 0 && errno != EINTR) {
                std::perror("loadgen: epoll_wait");
                return 1;
            }
            for (int i = 0; i < n; ++i) {
                connection& c = conns[events[static_cast<std::size_t>(i)].data.u32];
                std::uint32_t what = events[static_cast<std::size_t>(i)].events;
                if (c.fd >= 0 && (what & EPOLLOUT)) {
                    write_some(c);
                }
                if (c.fd >= 0 && (what & (EPOLLIN | EPOLLERR | EPOLLHUP))) {
                    read_some(c);
                }
            }
        }
        std::printf("idle %d\n", open);
        std::fflush(stdout);
        ::usleep(static_cast<useconds_t>(opt.hold * 1e6));
        for (auto& c : conns) {
            if (c.fd >= 0) {
                ::close(c.fd);
            }
        }
        ::close(epfd);
        std::printf(
            "{\"connections\": %d, \"size\": %zu, \"idle\": %d, \"round_trips\": %llu, "
            "\"errors\": %llu, \"error_detail\": \"%s\"}\n",
            opt.connections, opt.size, open, static_cast<unsigned long long>(total),
            static_cast<unsigned long long>(errors), escaped(first_error).c_str());
        std::fflush(stdout);
        return errors > 0 ? 1 : 0;
    }

    static std::string escaped(const std::string& s) {
        std::string out;
        for (char ch : s) {
            if (ch == '"' || ch == '\\') {
                out += '\\';
            }
            out += ch;
        }
        return out;
    }

    int run() {
        if (opt.hold > 0) {
            return run_idle();
        }
        pattern = make_pattern(opt.size);
        buffer.resize(opt.size);
        connect_all();
        auto start = clock_type::now();
        auto window_start = start + std::chrono::duration_cast<clock_type::duration>(
                                        std::chrono::duration<double>(opt.warmup));
        auto window_end = window_start + std::chrono::duration_cast<clock_type::duration>(
                                             std::chrono::duration<double>(opt.seconds));
        for (auto& c : conns) {
            if (c.fd >= 0) {
                write_some(c);
            }
        }
        std::vector<epoll_event> events(conns.size());
        auto now = start;
        auto measured_from = window_start;
        if (opt.warmup <= 0) {
            measuring = true;
            measured_from = start;
        }
        while (open > 0) {
            auto until = measuring ? window_end : window_start;
            auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(until - now).count();
            int n = ::epoll_wait(epfd, events.data(), static_cast<int>(events.size()),
                                 static_cast<int>(ms < 0 ? 0 : ms + 1));
            if (n < 0 && errno != EINTR) {
                std::perror("loadgen: epoll_wait");
                return 1;
            }
            for (int i = 0; i < n; ++i) {
                connection& c = conns[events[static_cast<std::size_t>(i)].data.u32];
                std::uint32_t what = events[static_cast<std::size_t>(i)].events;
                if (c.fd >= 0 && (what & EPOLLOUT)) {
                    write_some(c);
                }
                if (c.fd >= 0 && (what & (EPOLLIN | EPOLLERR | EPOLLHUP))) {
                    read_some(c);
                }
            }
            now = clock_type::now();
            if (!measuring && now >= window_start) {
                measuring = true;
                measured_from = now;
            } else if (measuring && now >= window_end) {
                break;
            }
        }
        auto measured_to = clock_type::now();
        for (auto& c : conns) {
            if (c.fd >= 0) {
                ::close(c.fd);
            }
        }
        ::close(epfd);
        double secs = std::chrono::duration<double>(measured_to - measured_from).count();
        if (!measuring || secs <= 0) {
            secs = 0;
        }
        double rate = secs > 0 ? static_cast<double>(measured) / secs : 0.0;
        std::string detail;
        for (char ch : first_error) {
            if (ch == '"' || ch == '\\') {
                detail += '\\';
            }
            detail += ch;
        }
        std::printf(
            "{\"connections\": %d, \"size\": %zu, \"seconds\": %.3f, \"round_trips\": %llu, "
            "\"round_trips_per_s\": %.1f, \"bytes_per_s\": %.1f, \"total_round_trips\": %llu, "
            "\"errors\": %llu, \"error_detail\": \"%s\"}\n",
            opt.connections, opt.size, secs, static_cast<unsigned long long>(measured), rate,
            rate * static_cast<double>(opt.size), static_cast<unsigned long long>(total),
            static_cast<unsigned long long>(errors), detail.c_str());
        std::fflush(stdout);
        if (errors > 0) {
            std::fprintf(stderr, "loadgen: %llu error(s); first: %s\n",
                         static_cast<unsigned long long>(errors), first_error.c_str());
            return 1;
        }
        return measured > 0 ? 0 : 1;
    }
};

}  // namespace

int main(int argc, char** argv) {
    loadgen g;
    g.opt = parse(argc, argv);
    return g.run();
}

// bench/net/ws_loadgen.cpp - the WebSocket echo load generator for the
// network benchmarks: what loadgen.cpp does for TCP, over RFC 6455. N
// connections, each upgraded with an HTTP/1.1 handshake, each keeping one
// message in flight: a masked binary frame of S payload bytes out, the whole
// echoed message back, every byte checked, and again.
//
//   ws_loadgen --host 127.0.0.1 --port 7000 --connections 100 --size 64 --seconds 5
//   ws_loadgen --port 7000 --connections 100 --size 16384 --seconds 5 --warmup 1
//   ws_loadgen --port 7000 --connections 10000 --size 64 --seconds 10 --hold 2
//
// It prints one JSON line when done, in loadgen's shape (a round trip is one
// message sent and its echo received), for example
//
//   {"connections": 100, "size": 64, "seconds": 5.000, "round_trips": 812345,
//    "round_trips_per_s": 162469.0, "bytes_per_s": 10398016.0,
//    "total_round_trips": 974814, "upgrade_seconds": 0.012, "errors": 0,
//    "error_detail": ""}
//
// (on one line). `round_trips` counts the messages echoed inside the timed
// window, which starts after every connection has been upgraded and after
// the warm-up; `bytes_per_s` is the payload echoed per second in one
// direction; `total_round_trips` includes the warm-up, so a harness that
// reads the server's CPU time around this whole process can divide it by
// every message echoed; `upgrade_seconds` is how long opening and upgrading
// every connection took.
//
// With --hold H (idle mode, for the memory benchmark) each connection makes
// exactly one checked round trip and then stays open and silent: once all
// have, the program prints "idle N" on a line of its own, holds them for H
// seconds (answering any ping with a pong, so a server's keepalive does not
// drop them), closes them and prints the JSON line. --seconds then bounds
// the wait for the round trips.
//
// The upgrade: a GET / with a fixed Sec-WebSocket-Key and no extension or
// subprotocol offered; the answer must be a 101 with "Upgrade: websocket",
// "Connection: upgrade" and the Sec-WebSocket-Accept that RFC 6455 derives
// from the key (base64 of the SHA-1 of key + GUID; the SHA-1 is below, and
// checked at start-up against the RFC's own example), and no
// Sec-WebSocket-Extensions or -Protocol. At most 128 connections are being
// opened at a time, so no server's listen backlog overflows.
//
// Correctness first: each round's payload is a different window of a
// pseudo-random pattern, chosen by the connection's index and the round
// number (as in loadgen), so a stale echo, another connection's bytes or
// bytes in the wrong order are caught. Every client frame has a fresh mask.
// The echo must be one binary message (fragments are accepted) of exactly
// the bytes sent, in unmasked frames without RSV bits; a ping is answered
// with a pong, a pong is ignored. A wrong or refused upgrade, a mismatch, a
// text message, a close frame, an early close, a reset or a connect failure
// counts as an error, closes that connection (it is not reopened) and makes
// the exit status 1. Status 2 is a usage error.
//
// Connections end with a plain close() (no closing handshake), as loadgen's
// do: the same for every server, and outside the timed window.
//
// The program has no vow dependency on purpose: it is the fixed yardstick
// that vow and its peers are measured with. One thread, one level-triggered
// epoll set, nonblocking sockets with TCP_NODELAY; a 64 B round trip costs
// it one send and one recv in the common case.
#include <algorithm>
#include <arpa/inet.h>
#include <array>
#include <bit>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string>
#include <string_view>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <vector>

namespace {

using clock_type = std::chrono::steady_clock;

// ---------------------------------------------------------------------------
// SHA-1 (FIPS 180-4) and base64: only what Sec-WebSocket-Accept needs. SHA-1
// is broken for collisions, which does not matter here: RFC 6455 uses it to
// show that the server understood the handshake, not for security.

class sha1 {
public:
    void update(std::string_view data) {
        for (char ch : data) {
            block_[used_++] = static_cast<unsigned char>(ch);
            if (used_ == block_.size()) {
                compress();
                used_ = 0;
            }
        }
        length_ += data.size();
    }

    // The digest; the object is spent afterwards.
    std::array<unsigned char, 20> finish() {
        std::uint64_t bits = length_ * 8;
        update(std::string_view("\x80", 1));
        while (used_ != 56) {
            update(std::string_view("\0", 1));
        }
        for (int i = 7; i >= 0; --i) {
            block_[used_++] = static_cast<unsigned char>(bits >> (8 * i));
        }
        compress();
        std::array<unsigned char, 20> out{};
        for (std::size_t i = 0; i < 5; ++i) {
            for (std::size_t j = 0; j < 4; ++j) {
                out[4 * i + j] = static_cast<unsigned char>(h_[i] >> (24 - 8 * j));
            }
        }
        return out;
    }

private:
    void compress() {
        std::array<std::uint32_t, 80> w{};
        for (std::size_t i = 0; i < 16; ++i) {
            w[i] = std::uint32_t{block_[4 * i]} << 24 | std::uint32_t{block_[4 * i + 1]} << 16 |
                   std::uint32_t{block_[4 * i + 2]} << 8 | std::uint32_t{block_[4 * i + 3]};
        }
        for (std::size_t i = 16; i < 80; ++i) {
            w[i] = std::rotl(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
        }
        std::uint32_t a = h_[0], b = h_[1], c = h_[2], d = h_[3], e = h_[4];
        for (std::size_t i = 0; i < 80; ++i) {
            std::uint32_t f = 0;
            std::uint32_t k = 0;
            if (i < 20) {
                f = (b & c) | (~b & d);
                k = 0x5A827999u;
            } else if (i < 40) {
                f = b ^ c ^ d;
                k = 0x6ED9EBA1u;
            } else if (i < 60) {
                f = (b & c) | (b & d) | (c & d);
                k = 0x8F1BBCDCu;
            } else {
                f = b ^ c ^ d;
                k = 0xCA62C1D6u;
            }
            std::uint32_t t = std::rotl(a, 5) + f + e + k + w[i];
            e = d;
            d = c;
            c = std::rotl(b, 30);
            b = a;
            a = t;
        }
        h_[0] += a;
        h_[1] += b;
        h_[2] += c;
        h_[3] += d;
        h_[4] += e;
    }

    std::array<std::uint32_t, 5> h_{0x67452301u, 0xEFCDAB89u, 0x98BADCFEu, 0x10325476u,
                                    0xC3D2E1F0u};
    std::array<unsigned char, 64> block_{};
    std::size_t used_ = 0;
    std::uint64_t length_ = 0;  // bytes
};

std::string base64(const unsigned char* p, std::size_t n) {
    static constexpr char digits[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    for (std::size_t i = 0; i < n; i += 3) {
        std::uint32_t v = std::uint32_t{p[i]} << 16;
        if (i + 1 < n) {
            v |= std::uint32_t{p[i + 1]} << 8;
        }
        if (i + 2 < n) {
            v |= p[i + 2];
        }
        out += digits[v >> 18 & 63];
        out += digits[v >> 12 & 63];
        out += i + 1 < n ? digits[v >> 6 & 63] : '=';
        out += i + 2 < n ? digits[v & 63] : '=';
    }
    return out;
}

// RFC 6455, 4.2.2: base64(SHA-1(key + the protocol's GUID)).
std::string accept_for(std::string_view key) {
    sha1 h;
    h.update(key);
    h.update("258EAFA5-E914-47DA-95CA-C5AB0DC85B11");
    auto digest = h.finish();
    return base64(digest.data(), digest.size());
}

std::string sha1_hex(std::string_view data) {
    sha1 h;
    h.update(data);
    std::string out;
    for (unsigned char b : h.finish()) {
        out += "0123456789abcdef"[b >> 4];
        out += "0123456789abcdef"[b & 15];
    }
    return out;
}

// A yardstick that computes the wrong Accept would reject every server, or
// accept a wrong one: check it against published values before any run.
bool self_test() {
    return sha1_hex("abc") == "a9993e364706816aba3e25717850c26c9cd0d89d" &&
           sha1_hex("") == "da39a3ee5e6b4b0d3255bfef95601890afd80709" &&
           sha1_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
               "84983e441c3bd26ebaae4aa1f95129e5e54670f1" &&
           accept_for("dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";
}

// The key every connection sends: base64 of the 16 bytes "vow ws loadgen16".
constexpr std::string_view client_key = "dm93IHdzIGxvYWRnZW4xNg==";

// ---------------------------------------------------------------------------
// Options, as loadgen's

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
                 "ws_loadgen: %s\n"
                 "usage: ws_loadgen --host H --port P --connections N --size S --seconds T "
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
// off = (c * 37 + r) % window, as in loadgen.
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

constexpr int max_opening = 128;          // connections being opened at once
constexpr double upgrade_timeout = 60;    // seconds for every connection to open
constexpr std::size_t max_head = 8192;    // bytes of the 101 answer's head
constexpr std::size_t max_control = 125;  // a control frame's payload (RFC 6455, 5.5)

enum class phase : unsigned char { connecting, upgrading, open, closed };

enum opcode : unsigned {
    op_continuation = 0x0,
    op_text = 0x1,
    op_binary = 0x2,
    op_close = 0x8,
    op_ping = 0x9,
    op_pong = 0xA,
};

struct connection {
    int fd = -1;
    int index = 0;
    phase state = phase::closed;
    bool want_write = false;  // EPOLLOUT registered
    std::uint64_t round = 0;

    // Bytes still to write: the upgrade request, then frames (a round's
    // message, pongs). `payload_at` is where this round's payload starts in
    // `out` and `sent` how much of it has been written, for the causal check.
    std::vector<unsigned char> out;
    std::size_t out_done = 0;
    std::size_t payload_at = 0;
    std::size_t sent = 0;
    bool in_flight = false;  // a message was sent and its echo is not complete

    std::string head;  // the upgrade answer, until its blank line

    // The frame being read: its header (`have` of `need` bytes: 2, 4 or 10;
    // no mask from a server), then its payload.
    std::array<unsigned char, 10> header{};
    std::uint8_t have = 0;
    std::uint8_t need = 2;
    bool in_payload = false;
    unsigned frame_op = 0;
    bool frame_fin = false;
    std::uint64_t frame_left = 0;  // payload bytes of the frame still to read
    bool in_message = false;       // a fragmented echo has begun
    std::size_t received = 0;      // bytes of this round's echo read and checked
    std::string control;           // a control frame's payload
};

struct ws_loadgen {
    options opt;
    std::string expected_accept = accept_for(client_key);
    std::vector<unsigned char> pattern;
    std::vector<unsigned char> buffer = std::vector<unsigned char>(std::size_t{64} * 1024);
    std::vector<connection> conns;
    sockaddr_in target{};
    int epfd = -1;
    int next = 0;     // the next connection to open
    int opening = 0;  // connecting or upgrading
    int open = 0;     // upgraded and not failed
    std::uint64_t mask_state = 0x2545F4914F6CDD1Dull;

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
        }
        if (c.state == phase::open) {
            --open;
        } else if (c.state != phase::closed) {
            --opening;
        }
        c.state = phase::closed;
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

    std::uint32_t next_mask() {
        mask_state ^= mask_state << 13;
        mask_state ^= mask_state >> 7;
        mask_state ^= mask_state << 17;
        return static_cast<std::uint32_t>(mask_state >> 16);
    }

    // Appends one masked client frame (FIN set) carrying `n` bytes at `data`;
    // returns where its payload starts in c.out.
    std::size_t append_frame(connection& c, unsigned op, const unsigned char* data, std::size_t n) {
        auto& out = c.out;
        out.push_back(static_cast<unsigned char>(0x80u | op));
        if (n < 126) {
            out.push_back(static_cast<unsigned char>(0x80u | n));
        } else if (n <= 0xFFFF) {
            out.push_back(0x80u | 126u);
            out.push_back(static_cast<unsigned char>(n >> 8));
            out.push_back(static_cast<unsigned char>(n));
        } else {
            out.push_back(0x80u | 127u);
            for (int i = 7; i >= 0; --i) {
                out.push_back(static_cast<unsigned char>(static_cast<std::uint64_t>(n) >> (8 * i)));
            }
        }
        std::array<unsigned char, 4> mask{};
        std::uint32_t m = next_mask();
        std::memcpy(mask.data(), &m, 4);
        out.insert(out.end(), mask.begin(), mask.end());
        std::size_t at = out.size();
        out.resize(at + n);
        for (std::size_t i = 0; i < n; ++i) {
            out[at + i] = data[i] ^ mask[i & 3];
        }
        return at;
    }

    // Writes what is queued; registers for EPOLLOUT only when the socket
    // buffer is full.
    void write_some(connection& c) {
        while (c.out_done < c.out.size()) {
            ssize_t n =
                ::send(c.fd, c.out.data() + c.out_done, c.out.size() - c.out_done, MSG_NOSIGNAL);
            if (n > 0) {
                c.out_done += static_cast<std::size_t>(n);
                continue;
            }
            if (n < 0 && errno == EINTR) {
                continue;
            }
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
                // (A pong queued after a fully written message leaves
                // payload_at at 0: max() keeps the message counted as sent.)
                if (c.in_flight && c.out_done > c.payload_at) {
                    c.sent = std::max(c.sent, std::min(opt.size, c.out_done - c.payload_at));
                }
                set_events(c, true);
                return;
            }
            fail(c, std::string("send failed: ") + std::strerror(errno));
            return;
        }
        if (c.in_flight) {
            c.sent = opt.size;
        }
        c.out.clear();
        c.out_done = 0;
        c.payload_at = 0;
        set_events(c, false);
    }

    void start_round(connection& c) {
        c.in_flight = true;
        c.sent = 0;
        c.received = 0;
        c.payload_at = append_frame(c, op_binary, payload(c), opt.size);
        write_some(c);
    }

    // --- the upgrade

    void start_connect(int i) {
        connection& c = conns[static_cast<std::size_t>(i)];
        c.index = i;
        c.state = phase::connecting;
        ++opening;
        c.fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        if (c.fd < 0) {
            fail(c, std::string("socket failed: ") + std::strerror(errno));
            return;
        }
        int one = 1;
        ::setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        if (::connect(c.fd, reinterpret_cast<sockaddr*>(&target), sizeof target) != 0 &&
            errno != EINPROGRESS) {
            fail(c, std::string("connect failed: ") + std::strerror(errno));
            return;
        }
        // Writable once connected (or failed): on_connected() then sends
        // the request.
        c.want_write = true;
        epoll_event ev{};
        ev.events = EPOLLIN | EPOLLOUT;
        ev.data.u32 = static_cast<std::uint32_t>(i);
        ::epoll_ctl(epfd, EPOLL_CTL_ADD, c.fd, &ev);
    }

    void open_more() {
        while (next < opt.connections && opening < max_opening) {
            start_connect(next++);
        }
    }

    void on_connected(connection& c) {
        int err = 0;
        socklen_t len = sizeof err;
        if (::getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
            fail(c, std::string("connect failed: ") + std::strerror(err ? err : errno));
            return;
        }
        c.state = phase::upgrading;
        std::string req = "GET / HTTP/1.1\r\nHost: " + opt.host + ":" + std::to_string(opt.port) +
                          "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                          "Sec-WebSocket-Key: " +
                          std::string(client_key) + "\r\nSec-WebSocket-Version: 13\r\n\r\n";
        c.out.assign(req.begin(), req.end());
        c.out_done = 0;
        write_some(c);
    }

    static std::string lower(std::string_view s) {
        std::string out(s);
        for (auto& ch : out) {
            if (ch >= 'A' && ch <= 'Z') {
                ch = static_cast<char>(ch - 'A' + 'a');
            }
        }
        return out;
    }

    static std::string_view trim(std::string_view s) {
        while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
            s.remove_prefix(1);
        }
        while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
            s.remove_suffix(1);
        }
        return s;
    }

    // Checks the answer's head (up to its blank line); returns what is wrong
    // with it, or "".
    std::string check_upgrade(std::string_view head) const {
        std::size_t eol = head.find("\r\n");
        std::string_view status = head.substr(0, eol);
        if (status.substr(0, 13) != "HTTP/1.1 101 " && status != "HTTP/1.1 101") {
            return "answered '" + std::string(status.substr(0, 80)) + "', not 101";
        }
        bool upgrade = false;
        bool connection_upgrade = false;
        std::string accept;
        bool have_accept = false;
        while (eol != std::string_view::npos && eol + 2 < head.size()) {
            std::size_t start = eol + 2;
            eol = head.find("\r\n", start);
            std::string_view line = head.substr(start, eol - start);
            if (line.empty()) {
                break;
            }
            std::size_t colon = line.find(':');
            if (colon == std::string_view::npos) {
                return "a header line without a colon: '" + std::string(line.substr(0, 80)) + "'";
            }
            std::string name = lower(trim(line.substr(0, colon)));
            std::string_view value = trim(line.substr(colon + 1));
            if (name == "upgrade") {
                upgrade = lower(value) == "websocket";
            } else if (name == "connection") {
                // A token list: "Upgrade", or "keep-alive, Upgrade".
                std::string v = lower(value);
                for (std::size_t at = 0; at <= v.size();) {
                    std::size_t comma = v.find(',', at);
                    if (trim(std::string_view(v).substr(at, comma - at)) == "upgrade") {
                        connection_upgrade = true;
                    }
                    at = comma == std::string::npos ? v.size() + 1 : comma + 1;
                }
            } else if (name == "sec-websocket-accept") {
                accept = std::string(value);
                have_accept = true;
            } else if (name == "sec-websocket-extensions" || name == "sec-websocket-protocol") {
                return "the 101 names " + std::string(line.substr(0, colon)) +
                       " although none was offered";
            }
        }
        if (!upgrade) {
            return "the 101 has no 'Upgrade: websocket'";
        }
        if (!connection_upgrade) {
            return "the 101 has no 'Connection: upgrade'";
        }
        if (!have_accept) {
            return "the 101 has no Sec-WebSocket-Accept";
        }
        if (accept != expected_accept) {
            return "Sec-WebSocket-Accept is '" + accept.substr(0, 64) + "', expected '" +
                   expected_accept + "'";
        }
        return "";
    }

    void read_upgrade(connection& c) {
        for (;;) {
            ssize_t n = ::recv(c.fd, buffer.data(), buffer.size(), 0);
            if (n == 0) {
                fail(c, "server closed the connection during the upgrade (after " +
                            std::to_string(c.head.size()) + " bytes of its answer)");
                return;
            }
            if (n < 0) {
                if (errno == EINTR) {
                    continue;
                }
                if (errno != EAGAIN && errno != EWOULDBLOCK) {
                    fail(c, std::string("recv failed during the upgrade: ") + std::strerror(errno));
                }
                return;
            }
            std::size_t old = c.head.size();
            c.head.append(reinterpret_cast<const char*>(buffer.data()),
                          static_cast<std::size_t>(n));
            // Search from a little before the new bytes: the blank line may
            // straddle two reads.
            std::size_t end = c.head.find("\r\n\r\n", old < 3 ? 0 : old - 3);
            if (end == std::string::npos) {
                if (c.head.size() > max_head) {
                    fail(c, "the upgrade answer's head is longer than " + std::to_string(max_head) +
                                " bytes");
                    return;
                }
                continue;
            }
            std::string problem = check_upgrade(std::string_view(c.head).substr(0, end + 4));
            if (!problem.empty()) {
                fail(c, "upgrade refused: " + problem);
                return;
            }
            std::string rest = c.head.substr(end + 4);
            std::string().swap(c.head);
            c.state = phase::open;
            --opening;
            ++open;
            // Bytes after the head are frames: none is expected yet.
            if (!rest.empty()) {
                feed(c, reinterpret_cast<const unsigned char*>(rest.data()), rest.size());
            }
            return;
        }
    }

    // --- frames from the server

    void begin_frame(connection& c) {
        unsigned b0 = c.header[0];
        unsigned b1 = c.header[1];
        c.frame_fin = (b0 & 0x80u) != 0;
        c.frame_op = b0 & 0x0Fu;
        std::uint64_t len = b1 & 0x7Fu;
        if (len == 126) {
            len = std::uint64_t{c.header[2]} << 8 | c.header[3];
        } else if (len == 127) {
            len = 0;
            for (int i = 2; i < 10; ++i) {
                len = len << 8 | c.header[static_cast<std::size_t>(i)];
            }
        }
        c.frame_left = len;
        c.have = 0;  // the next header starts afresh
        c.need = 2;
        if ((b0 & 0x70u) != 0) {
            fail(c, "a frame with RSV bits set (no extension was agreed)");
            return;
        }
        switch (c.frame_op) {
            case op_close:
            case op_ping:
            case op_pong:
                if (!c.frame_fin || len > max_control) {
                    fail(c, "a fragmented or oversized control frame");
                    return;
                }
                c.control.clear();
                break;
            case op_text:
                fail(c, "the echo is a text message; a binary one was sent");
                return;
            case op_binary:
            case op_continuation:
                if (!c.in_flight) {
                    fail(c, "a message from the server when none was sent to it (round " +
                                std::to_string(c.round) + ")");
                    return;
                }
                if ((c.frame_op == op_binary) == c.in_message) {
                    fail(c, c.in_message ? "a new message inside a fragmented one"
                                         : "a continuation frame outside a message");
                    return;
                }
                if (len > opt.size - c.received) {
                    fail(c, "the echo of round " + std::to_string(c.round) +
                                " is longer than the " + std::to_string(opt.size) + " bytes sent");
                    return;
                }
                c.in_message = true;
                break;
            default:
                fail(c, "a frame with the unknown opcode " + std::to_string(c.frame_op));
                return;
        }
        if (len == 0) {
            end_frame(c);
        } else {
            c.in_payload = true;
        }
    }

    void end_frame(connection& c) {
        switch (c.frame_op) {
            case op_close: {
                unsigned code = c.control.size() >= 2
                                    ? static_cast<unsigned char>(c.control[0]) << 8 |
                                          static_cast<unsigned char>(c.control[1])
                                    : 0;
                fail(c, "the server closed the connection (close frame, code " +
                            std::to_string(code) + " '" +
                            (c.control.size() > 2 ? c.control.substr(2) : "") + "')");
                return;
            }
            case op_ping:
                append_frame(c, op_pong, reinterpret_cast<const unsigned char*>(c.control.data()),
                             c.control.size());
                write_some(c);
                return;
            case op_pong:
                return;
            default:
                break;
        }
        if (!c.frame_fin) {
            return;  // more fragments follow
        }
        c.in_message = false;
        if (c.received != opt.size) {
            fail(c, "the echo of round " + std::to_string(c.round) + " has " +
                        std::to_string(c.received) + " bytes; " + std::to_string(opt.size) +
                        " were sent");
            return;
        }
        c.in_flight = false;
        ++total;
        if (measuring) {
            ++measured;
        }
        ++c.round;
        if (opt.hold <= 0) {
            start_round(c);
        }
    }

    void frame_payload(connection& c, const unsigned char* p, std::size_t n) {
        if (c.frame_op >= op_close) {
            c.control.append(reinterpret_cast<const char*>(p), n);
            return;
        }
        if (c.received + n > c.sent) {
            fail(c, "the server echoed bytes before they were sent to it");
            return;
        }
        if (std::memcmp(p, payload(c) + c.received, n) != 0) {
            std::size_t at = 0;
            while (p[at] == payload(c)[c.received + at]) {
                ++at;
            }
            fail(c, "byte " + std::to_string(c.received + at) + " of round " +
                        std::to_string(c.round) + "'s echo differs from what was sent");
            return;
        }
        c.received += n;
    }

    // Parses what arrived: frame headers, payloads, whole frames.
    void feed(connection& c, const unsigned char* p, std::size_t n) {
        while (n > 0 && c.fd >= 0) {
            if (!c.in_payload) {
                std::size_t take = std::min<std::size_t>(n, c.need - c.have);
                std::memcpy(c.header.data() + c.have, p, take);
                c.have = static_cast<std::uint8_t>(c.have + take);
                p += take;
                n -= take;
                if (c.have == 2) {
                    if ((c.header[1] & 0x80u) != 0) {
                        fail(c, "a masked frame from the server");
                        return;
                    }
                    unsigned len7 = c.header[1] & 0x7Fu;
                    c.need = len7 == 126 ? 4 : len7 == 127 ? 10 : 2;
                }
                if (c.have == c.need) {
                    begin_frame(c);
                }
                continue;
            }
            std::size_t take = static_cast<std::size_t>(std::min<std::uint64_t>(n, c.frame_left));
            frame_payload(c, p, take);
            p += take;
            n -= take;
            c.frame_left -= take;
            if (c.fd >= 0 && c.frame_left == 0) {
                c.in_payload = false;
                end_frame(c);
            }
        }
    }

    void read_frames(connection& c) {
        while (c.fd >= 0) {
            ssize_t n = ::recv(c.fd, buffer.data(), buffer.size(), 0);
            if (n == 0) {
                fail(c, "server closed the connection (round " + std::to_string(c.round) + ", " +
                            std::to_string(c.received) + " of " + std::to_string(opt.size) +
                            " bytes echoed)");
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
            std::uint64_t before = total;
            feed(c, buffer.data(), static_cast<std::size_t>(n));
            // A completed echo means the next message has just been sent: its
            // echo cannot be there yet, so skip the recv that would say
            // EAGAIN (level-triggered epoll reports anything that is).
            if (total != before || static_cast<std::size_t>(n) < buffer.size()) {
                return;
            }
        }
    }

    // --- the loop

    void poll_once(std::vector<epoll_event>& events, int timeout_ms) {
        int n = ::epoll_wait(epfd, events.data(), static_cast<int>(events.size()), timeout_ms);
        if (n < 0 && errno != EINTR) {
            std::perror("ws_loadgen: epoll_wait");
            std::exit(1);
        }
        for (int i = 0; i < n; ++i) {
            connection& c = conns[events[static_cast<std::size_t>(i)].data.u32];
            std::uint32_t what = events[static_cast<std::size_t>(i)].events;
            if (c.fd >= 0 && c.state == phase::connecting && (what & (EPOLLOUT | EPOLLERR))) {
                on_connected(c);
                continue;
            }
            if (c.fd >= 0 && (what & EPOLLOUT)) {
                write_some(c);
            }
            if (c.fd >= 0 && (what & (EPOLLIN | EPOLLERR | EPOLLHUP))) {
                if (c.state == phase::upgrading) {
                    read_upgrade(c);
                } else {
                    read_frames(c);
                }
            }
        }
        open_more();
    }

    static int ms_until(clock_type::time_point t) {
        auto ms =
            std::chrono::duration_cast<std::chrono::milliseconds>(t - clock_type::now()).count();
        return ms < 0 ? 0 : static_cast<int>(ms + 1);
    }

    static clock_type::duration secs(double s) {
        return std::chrono::duration_cast<clock_type::duration>(std::chrono::duration<double>(s));
    }

    // Opens and upgrades every connection, at most max_opening at a time.
    void open_all(std::vector<epoll_event>& events) {
        sockaddr_in& sa = target;
        sa.sin_family = AF_INET;
        sa.sin_port = htons(static_cast<std::uint16_t>(opt.port));
        if (::inet_pton(AF_INET, opt.host.c_str(), &sa.sin_addr) != 1) {
            std::fprintf(stderr, "ws_loadgen: --host must be an IPv4 address, not %s\n",
                         opt.host.c_str());
            std::exit(2);
        }
        epfd = ::epoll_create1(0);
        conns.resize(static_cast<std::size_t>(opt.connections));
        auto deadline = clock_type::now() + secs(upgrade_timeout);
        open_more();
        while (next < opt.connections || opening > 0) {
            if (clock_type::now() >= deadline) {
                ++errors;
                if (first_error.empty()) {
                    first_error = std::to_string(opening + opt.connections - next) +
                                  " connections were not upgraded within " +
                                  std::to_string(static_cast<int>(upgrade_timeout)) + " s";
                }
                for (auto& c : conns) {
                    if (c.fd >= 0 && c.state != phase::open) {
                        ::epoll_ctl(epfd, EPOLL_CTL_DEL, c.fd, nullptr);
                        ::close(c.fd);
                        c.fd = -1;
                        c.state = phase::closed;
                    }
                }
                opening = 0;
                next = opt.connections;
                break;
            }
            poll_once(events, ms_until(deadline));
        }
    }

    void close_all() {
        for (auto& c : conns) {
            if (c.fd >= 0) {
                ::close(c.fd);
            }
        }
        ::close(epfd);
    }

    static std::string escaped(const std::string& s) {
        std::string out;
        for (char ch : s) {
            if (ch == '"' || ch == '\\') {
                out += '\\';
            }
            out += static_cast<unsigned char>(ch) < 0x20 ? ' ' : ch;
        }
        return out;
    }

    // Idle mode: one round trip per connection, then hold them all open.
    int run_idle() {
        pattern = make_pattern(opt.size);
        std::vector<epoll_event> events(static_cast<std::size_t>(std::min(opt.connections, 4096)));
        auto start = clock_type::now();
        open_all(events);
        double upgrade_s = std::chrono::duration<double>(clock_type::now() - start).count();
        for (auto& c : conns) {
            if (c.fd >= 0) {
                start_round(c);
            }
        }
        auto deadline = clock_type::now() + secs(opt.seconds);
        while (open > 0 && total < static_cast<std::uint64_t>(open)) {
            if (clock_type::now() >= deadline) {
                ++errors;
                if (first_error.empty()) {
                    first_error = "only " + std::to_string(total) + " of " + std::to_string(open) +
                                  " connections echoed in time";
                }
                break;
            }
            poll_once(events, ms_until(deadline));
        }
        std::printf("idle %d\n", open);
        std::fflush(stdout);
        // Hold: answer pings, notice closes; nothing else should arrive.
        auto hold_end = clock_type::now() + secs(opt.hold);
        while (open > 0 && clock_type::now() < hold_end) {
            poll_once(events, ms_until(hold_end));
        }
        int held = open;
        close_all();
        std::printf(
            "{\"connections\": %d, \"size\": %zu, \"idle\": %d, \"round_trips\": %llu, "
            "\"upgrade_seconds\": %.3f, \"errors\": %llu, \"error_detail\": \"%s\"}\n",
            opt.connections, opt.size, held, static_cast<unsigned long long>(total), upgrade_s,
            static_cast<unsigned long long>(errors), escaped(first_error).c_str());
        std::fflush(stdout);
        return errors > 0 ? 1 : 0;
    }

    int run() {
        if (!self_test()) {
            std::fprintf(stderr, "ws_loadgen: the SHA-1 self-test failed\n");
            return 2;
        }
        if (opt.hold > 0) {
            return run_idle();
        }
        pattern = make_pattern(opt.size);
        std::vector<epoll_event> events(static_cast<std::size_t>(std::min(opt.connections, 4096)));
        auto upgrade_start = clock_type::now();
        open_all(events);
        auto start = clock_type::now();
        double upgrade_s = std::chrono::duration<double>(start - upgrade_start).count();
        auto window_start = start + secs(opt.warmup);
        auto window_end = window_start + secs(opt.seconds);
        for (auto& c : conns) {
            if (c.fd >= 0) {
                start_round(c);
            }
        }
        auto now = start;
        auto measured_from = window_start;
        if (opt.warmup <= 0) {
            measuring = true;
            measured_from = start;
        }
        while (open > 0) {
            poll_once(events, ms_until(measuring ? window_end : window_start));
            now = clock_type::now();
            if (!measuring && now >= window_start) {
                measuring = true;
                measured_from = now;
            } else if (measuring && now >= window_end) {
                break;
            }
        }
        auto measured_to = clock_type::now();
        close_all();
        double seconds = std::chrono::duration<double>(measured_to - measured_from).count();
        if (!measuring || seconds <= 0) {
            seconds = 0;
        }
        double rate = seconds > 0 ? static_cast<double>(measured) / seconds : 0.0;
        std::printf(
            "{\"connections\": %d, \"size\": %zu, \"seconds\": %.3f, \"round_trips\": %llu, "
            "\"round_trips_per_s\": %.1f, \"bytes_per_s\": %.1f, \"total_round_trips\": %llu, "
            "\"upgrade_seconds\": %.3f, \"errors\": %llu, \"error_detail\": \"%s\"}\n",
            opt.connections, opt.size, seconds, static_cast<unsigned long long>(measured), rate,
            rate * static_cast<double>(opt.size), static_cast<unsigned long long>(total), upgrade_s,
            static_cast<unsigned long long>(errors), escaped(first_error).c_str());
        std::fflush(stdout);
        if (errors > 0) {
            std::fprintf(stderr, "ws_loadgen: %llu error(s); first: %s\n",
                         static_cast<unsigned long long>(errors), first_error.c_str());
            return 1;
        }
        return measured > 0 ? 0 : 1;
    }
};

}  // namespace

int main(int argc, char** argv) {
    ws_loadgen g;
    g.opt = parse(argc, argv);
    return g.run();
}

// tests/dns/fake_dns_server.hpp - a tiny authoritative DNS server for the
// resolver tests: a UDP socket on 127.0.0.1 (port 0), served on a reactor.
//
//   fake_dns_server dns(r);
//   dns.add("www.test", {"10.0.0.1"}, {"fd00::1"});   // A and AAAA records
//   dns.silent("void.test");                          // queries are never answered
//   vow::net::configure_resolver(r, {.nameservers = {dns.address()}, .use_hosts_file = false});
//
// It answers A and AAAA questions for the names it knows (no records of the
// asked type: NOERROR with no answer), NXDOMAIN for the others, and nothing
// for silent names. Names compare without regard to case, since evdns
// randomises the case of its questions (the "0x20" hack); the question is
// echoed byte for byte, as evdns checks. Thread-bound to its reactor; stops
// serving when destroyed.
#pragma once

#include <vow/net/address.hpp>
#include <vow/reactor/reactor.hpp>

#include <boost/test/unit_test.hpp>
#include <fmt/format.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace vow::test {

class fake_dns_server {
public:
    static constexpr std::uint16_t type_a = 1;
    static constexpr std::uint16_t type_aaaa = 28;

    struct query {
        std::string name;  // lower case
        std::uint16_t type;
    };

    explicit fake_dns_server(vow::reactor& r) : r_(r) {
        fd_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd_ < 0)
            throw std::runtime_error("fake_dns_server: socket() failed");
        sockaddr_in sin{};
        sin.sin_family = AF_INET;
        sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof sin;
        if (::bind(fd_, reinterpret_cast<sockaddr*>(&sin), sizeof sin) != 0 ||
            ::getsockname(fd_, reinterpret_cast<sockaddr*>(&sin), &len) != 0) {
            ::close(fd_);
            throw std::runtime_error("fake_dns_server: bind() failed");
        }
        address_ = vow::net::address::from_native(reinterpret_cast<sockaddr*>(&sin), len);
        reader_ = r_.add_reader(fd_, [this] { serve(); });
    }
    fake_dns_server(const fake_dns_server&) = delete;
    fake_dns_server& operator=(const fake_dns_server&) = delete;
    ~fake_dns_server() {
        reader_.cancel();
        for (auto& h : delayed_)
            h.cancel();
        ::close(fd_);
    }

    [[nodiscard]] vow::net::address address() const { return address_; }

    // Records for `name`. Repeating an address gives a duplicate record.
    void add(const std::string& name, std::vector<std::string> v4, std::vector<std::string> v6 = {}) {
        records_[lower(name)] = {std::move(v4), std::move(v6)};
    }
    // Never answer `name`.
    void silent(const std::string& name) { silent_.insert(lower(name)); }
    // Answer `name` only `delay` after its question arrived.
    void delay(const std::string& name, std::chrono::milliseconds delay) { delays_[lower(name)] = delay; }
    // Answers every name "<n>.bulk.test" (n < 65536) with 10.1.<n / 256>.<n % 256>.
    static std::string bulk_address(unsigned n) { return fmt::format("10.1.{}.{}", n / 256, n % 256); }

    // Every question received, in order.
    [[nodiscard]] const std::vector<query>& queries() const { return queries_; }
    // Called for each question, after it is logged and before it is answered.
    std::function<void(const query&)> on_query;

private:
    struct rrset {
        std::vector<std::string> v4, v6;
    };

    static std::string lower(std::string s) {
        std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
        return s;
    }

    static void put16(std::string& out, std::uint16_t v) {
        out.push_back(static_cast<char>(v >> 8));
        out.push_back(static_cast<char>(v & 0xff));
    }

    void serve() {
        unsigned char buf[1500];
        sockaddr_storage peer{};
        socklen_t peer_len = sizeof peer;
        ssize_t n = ::recvfrom(fd_, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&peer), &peer_len);
        if (n < 12)
            return;
        // Header, then one question: labels, type, class.
        std::size_t pos = 12;
        std::string name;
        while (pos < static_cast<std::size_t>(n) && buf[pos] != 0) {
            std::size_t len = buf[pos];
            if (len > 63 || pos + 1 + len >= static_cast<std::size_t>(n)) {
                BOOST_ERROR("fake_dns_server: a malformed question");
                return;
            }
            if (!name.empty())
                name.push_back('.');
            name.append(reinterpret_cast<const char*>(buf + pos + 1), len);
            pos += 1 + len;
        }
        pos += 1;  // the root label
        if (pos + 4 > static_cast<std::size_t>(n))
            return;
        const std::uint16_t type = static_cast<std::uint16_t>(buf[pos] << 8 | buf[pos + 1]);
        const std::size_t question_end = pos + 4;
        name = lower(name);
        queries_.push_back({name, type});
        if (on_query)
            on_query(queries_.back());
        if (silent_.count(name))
            return;

        std::vector<std::string> answers;
        std::uint16_t rcode = 0;
        if (auto it = records_.find(name); it != records_.end()) {
            answers = type == type_a ? it->second.v4 : type == type_aaaa ? it->second.v6 : std::vector<std::string>{};
        } else if (name.size() > 10 && name.ends_with(".bulk.test")) {
            if (type == type_a)
                answers.push_back(bulk_address(static_cast<unsigned>(std::stoul(name.substr(0, name.size() - 10)))));
        } else {
            rcode = 3;  // NXDOMAIN
        }

        std::string out;
        out.append(reinterpret_cast<const char*>(buf), 2);  // the query's id
        const std::uint16_t rd = static_cast<std::uint16_t>((buf[2] & 0x01) << 8);
        put16(out, static_cast<std::uint16_t>(0x8000 | 0x0400 | rd | 0x0080 | rcode));  // QR AA RD RA rcode
        put16(out, 1);
        put16(out, static_cast<std::uint16_t>(answers.size()));
        put16(out, 0);
        put16(out, 0);
        out.append(reinterpret_cast<const char*>(buf + 12), question_end - 12);
        for (const auto& a : answers) {
            unsigned char raw[16];
            const bool v6 = type == type_aaaa;
            if (inet_pton(v6 ? AF_INET6 : AF_INET, a.c_str(), raw) != 1)
                throw std::runtime_error("fake_dns_server: a bad address in the records: " + a);
            put16(out, 0xc00c);  // the name: a pointer to the question's
            put16(out, type);
            put16(out, 1);  // IN
            put16(out, 0);
            put16(out, 60);  // TTL
            put16(out, v6 ? 16 : 4);
            out.append(reinterpret_cast<const char*>(raw), v6 ? 16 : 4);
        }

        auto send = [this, out, peer, peer_len] {
            (void)::sendto(fd_, out.data(), out.size(), 0, reinterpret_cast<const sockaddr*>(&peer), peer_len);
        };
        if (auto d = delays_.find(name); d != delays_.end())
            delayed_.push_back(r_.call_later(d->second, send));
        else
            send();
    }

    vow::reactor& r_;
    int fd_ = -1;
    vow::net::address address_;
    vow::handle reader_;
    std::vector<vow::handle> delayed_;
    std::map<std::string, rrset> records_;
    std::set<std::string> silent_;
    std::map<std::string, std::chrono::milliseconds> delays_;
    std::vector<query> queries_;
};

}  // namespace vow::test

// vow::net::address: numeric parsing and printing with inet_pton/inet_ntop.
#include <vow/net/address.hpp>

#include <vow/error.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>

namespace vow::net {

address::address() noexcept {
    std::memset(&storage_, 0, sizeof storage_);
    storage_.ss_family = AF_UNSPEC;
}

std::optional<address> address::try_parse(std::string_view host, std::uint16_t port) noexcept {
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
        host = host.substr(1, host.size() - 2);
    char buf[INET6_ADDRSTRLEN + 1];
    if (host.empty() || host.size() >= sizeof buf)
        return std::nullopt;
    std::memcpy(buf, host.data(), host.size());
    buf[host.size()] = '\0';
    address a;
    if (host.find(':') == std::string_view::npos) {
        sockaddr_in sin{};
        if (inet_pton(AF_INET, buf, &sin.sin_addr) != 1)
            return std::nullopt;
        sin.sin_family = AF_INET;
        sin.sin_port = htons(port);
        std::memcpy(&a.storage_, &sin, sizeof sin);
        a.len_ = sizeof sin;
    } else {
        sockaddr_in6 sin6{};
        if (inet_pton(AF_INET6, buf, &sin6.sin6_addr) != 1)
            return std::nullopt;
        sin6.sin6_family = AF_INET6;
        sin6.sin6_port = htons(port);
        std::memcpy(&a.storage_, &sin6, sizeof sin6);
        a.len_ = sizeof sin6;
    }
    return a;
}

address address::parse(std::string_view host, std::uint16_t port) {
    if (auto a = try_parse(host, port))
        return *a;
    throw vow::invalid_argument(
        fmt::format("vow::net::address::parse: '{}' is not a numeric IPv4 or IPv6 address", host));
}

address address::from_native(const sockaddr* sa, socklen_t len) {
    address a;
    if (sa && sa->sa_family == AF_INET && len >= static_cast<socklen_t>(sizeof(sockaddr_in))) {
        std::memcpy(&a.storage_, sa, sizeof(sockaddr_in));
        a.len_ = sizeof(sockaddr_in);
    } else if (sa && sa->sa_family == AF_INET6 && len >= static_cast<socklen_t>(sizeof(sockaddr_in6))) {
        std::memcpy(&a.storage_, sa, sizeof(sockaddr_in6));
        a.len_ = sizeof(sockaddr_in6);
    } else {
        throw vow::invalid_argument(fmt::format(
            "vow::net::address::from_native: not an IPv4 or IPv6 address (family {}, length {})",
            sa ? sa->sa_family : -1, len));
    }
    return a;
}

bool address::is_loopback() const noexcept {
    if (is_v4()) {
        auto* sin = reinterpret_cast<const sockaddr_in*>(&storage_);
        return (ntohl(sin->sin_addr.s_addr) >> 24) == 127;
    }
    if (is_v6()) {
        auto* sin6 = reinterpret_cast<const sockaddr_in6*>(&storage_);
        return IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr);
    }
    return false;
}

std::uint16_t address::port() const noexcept {
    if (is_v4())
        return ntohs(reinterpret_cast<const sockaddr_in*>(&storage_)->sin_port);
    if (is_v6())
        return ntohs(reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_port);
    return 0;
}

address address::with_port(std::uint16_t port) const noexcept {
    address a = *this;
    if (is_v4())
        reinterpret_cast<sockaddr_in*>(&a.storage_)->sin_port = htons(port);
    else if (is_v6())
        reinterpret_cast<sockaddr_in6*>(&a.storage_)->sin6_port = htons(port);
    return a;
}

std::string address::host() const {
    char buf[INET6_ADDRSTRLEN] = {};
    if (is_v4())
        inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&storage_)->sin_addr, buf, sizeof buf);
    else if (is_v6())
        inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_addr, buf, sizeof buf);
    return buf;
}

std::string address::to_string() const {
    if (is_v4())
        return fmt::format("{}:{}", host(), port());
    if (is_v6())
        return fmt::format("[{}]:{}", host(), port());
    return {};
}

bool operator==(const address& a, const address& b) noexcept {
    return a.len_ == b.len_ && std::memcmp(&a.storage_, &b.storage_, a.len_) == 0;
}

}  // namespace vow::net

// vow/net/address.hpp - an IPv4 or IPv6 socket address (host and port).
//
//   auto a = vow::net::address::parse("127.0.0.1", 8080);
//   a.to_string();   // "127.0.0.1:8080"; IPv6 as "[::1]:8080"
//
// A value type: cheap to copy, comparable, printable with fmt ("{}").
// Names are resolved by vow::net::resolve (vow/net/dns/resolve.hpp); this type
// only holds numeric addresses.
#pragma once

#include <vow/error.hpp>

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>

#include <fmt/format.h>
#include <sys/socket.h>

namespace vow::net {

class address {
public:
    // An empty address (family AF_UNSPEC); `empty()` is true.
    address() noexcept;

    // A numeric IPv4 ("127.0.0.1") or IPv6 ("::1", also "[::1]") host.
    // Throws vow::invalid_argument if `host` is not a numeric address.
    static address parse(std::string_view host, std::uint16_t port);
    // As parse, but returns nullopt instead of throwing.
    static std::optional<address> try_parse(std::string_view host, std::uint16_t port) noexcept;
    // From a socket API address (AF_INET or AF_INET6).
    // Throws vow::invalid_argument for other families or a short length.
    static address from_native(const sockaddr* sa, socklen_t len);

    [[nodiscard]] bool empty() const noexcept { return family() == AF_UNSPEC; }
    [[nodiscard]] int family() const noexcept { return storage_.ss_family; }
    [[nodiscard]] bool is_v4() const noexcept { return family() == AF_INET; }
    [[nodiscard]] bool is_v6() const noexcept { return family() == AF_INET6; }
    [[nodiscard]] bool is_loopback() const noexcept;

    [[nodiscard]] std::uint16_t port() const noexcept;
    [[nodiscard]] address with_port(std::uint16_t port) const noexcept;
    // The numeric host: "127.0.0.1", "::1".
    [[nodiscard]] std::string host() const;
    // Host and port: "127.0.0.1:80", "[::1]:80"; "" for an empty address.
    [[nodiscard]] std::string to_string() const;

    [[nodiscard]] const sockaddr* native() const noexcept {
        return reinterpret_cast<const sockaddr*>(&storage_);
    }
    [[nodiscard]] socklen_t native_size() const noexcept { return len_; }

    friend bool operator==(const address& a, const address& b) noexcept;
    friend std::ostream& operator<<(std::ostream& os, const address& a) { return os << a.to_string(); }

private:
    sockaddr_storage storage_;
    socklen_t len_ = 0;
};

}  // namespace vow::net

template <>
struct fmt::formatter<vow::net::address> : fmt::formatter<std::string_view> {
    template <class Ctx>
    auto format(const vow::net::address& a, Ctx& ctx) const {
        return fmt::formatter<std::string_view>::format(a.to_string(), ctx);
    }
};

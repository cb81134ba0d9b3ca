/// @file
/// vow::net::address: an IPv4 or IPv6 socket address (host and port).
///
/// @code
/// auto a = vow::net::address::parse("127.0.0.1", 8080);
/// a.to_string();   // "127.0.0.1:8080"; IPv6 as "[::1]:8080"
/// @endcode
///
/// A value type: cheap to copy, comparable, printable with fmt ("{}").
/// Names are resolved by vow::net::resolve (`<vow/net/dns/resolve.hpp>`); this
/// type only holds numeric addresses.
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

/// An IPv4 or IPv6 socket address: a numeric host and a port.
///
/// A value type: cheap to copy, comparable, printable with fmt ("{}") and
/// with `<<`. Names are resolved by vow::net::resolve; this type only holds
/// numeric addresses.
class address {
public:
    /// An empty address (family AF_UNSPEC); `empty()` is true.
    address() noexcept;

    /// A numeric IPv4 ("127.0.0.1") or IPv6 ("::1", also "[::1]") host.
    /// Throws vow::invalid_argument if `host` is not a numeric address.
    static address parse(std::string_view host, std::uint16_t port);
    /// As parse, but returns nullopt instead of throwing.
    static std::optional<address> try_parse(std::string_view host, std::uint16_t port) noexcept;
    /// From a socket API address (AF_INET or AF_INET6).
    /// Throws vow::invalid_argument for other families or a short length.
    static address from_native(const sockaddr* sa, socklen_t len);

    /// True for the empty address (family AF_UNSPEC).
    [[nodiscard]] bool empty() const noexcept { return family() == AF_UNSPEC; }
    /// The address family: AF_INET, AF_INET6, or AF_UNSPEC when empty.
    [[nodiscard]] int family() const noexcept { return storage_.ss_family; }
    /// True for an IPv4 address.
    [[nodiscard]] bool is_v4() const noexcept { return family() == AF_INET; }
    /// True for an IPv6 address.
    [[nodiscard]] bool is_v6() const noexcept { return family() == AF_INET6; }
    /// True for a loopback host: 127.0.0.0/8 or ::1; false when empty.
    [[nodiscard]] bool is_loopback() const noexcept;

    /// The port (host byte order); 0 for an empty address.
    [[nodiscard]] std::uint16_t port() const noexcept;
    /// A copy with the port replaced by `port` (an empty address stays empty).
    [[nodiscard]] address with_port(std::uint16_t port) const noexcept;
    /// The numeric host: "127.0.0.1", "::1".
    [[nodiscard]] std::string host() const;
    /// Host and port: "127.0.0.1:80", "[::1]:80"; "" for an empty address.
    [[nodiscard]] std::string to_string() const;

    /// The address for the socket API (points into this object).
    [[nodiscard]] const sockaddr* native() const noexcept {
        return reinterpret_cast<const sockaddr*>(&storage_);
    }
    /// The length in bytes of native()'s address; 0 when empty.
    [[nodiscard]] socklen_t native_size() const noexcept { return len_; }

    /// True if both hold the same family, host and port.
    friend bool operator==(const address& a, const address& b) noexcept;
    /// Writes to_string().
    friend std::ostream& operator<<(std::ostream& os, const address& a) { return os << a.to_string(); }

private:
    sockaddr_storage storage_;
    socklen_t len_ = 0;
};

}  // namespace vow::net

/// \cond
// {fmt} formats an address as to_string() does.
template <>
struct fmt::formatter<vow::net::address> : fmt::formatter<std::string_view> {
    template <class Ctx>
    auto format(const vow::net::address& a, Ctx& ctx) const {
        return fmt::formatter<std::string_view>::format(a.to_string(), ctx);
    }
};
/// \endcond

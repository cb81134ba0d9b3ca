/// @file
/// vow::net::url: an http:// or https:// URL split into what an HTTP client
/// needs.
///
/// @code
/// auto u = vow::net::url::parse("http://example.com:8080/users/7?x=1#top");
/// u.host;            // "example.com"
/// u.port;            // 8080
/// u.target;          // "/users/7?x=1" (the fragment is dropped)
/// u.host_header();   // "example.com:8080"
/// u.resolve("../a"); // http://example.com:8080/a
/// @endcode
#pragma once

#include <vow/net/error.hpp>

#include <cstdint>
#include <string>
#include <string_view>

namespace vow::net {

/// An http://, https://, ws:// or wss:// URL split into what an HTTP client
/// needs.
///
/// "http", "https", "ws" and "wss" are supported. parse() is strict: no user
/// info, no spaces or control bytes, a port in 1..65535. Bytes 0x80 and above
/// in the path or query are percent-encoded. A value type; one thread at a
/// time, like any standard type.
struct url {
    std::string scheme;       ///< "http", "https", "ws" or "wss" (lower-cased)
    std::string host;         ///< "example.com" (lower-cased), "127.0.0.1", "::1" (no brackets)
    std::uint16_t port = 80;  ///< explicit or the scheme's default (80, 443)
    std::string target;       ///< path + "?" + query; "/" when empty

    /// Parses an absolute URL. Throws vow::net::url_error with a message that
    /// names the text and the problem ("ftp://a/: unsupported scheme 'ftp'").
    static url parse(std::string_view text);

    /// 443 for https and wss, 80 for http and ws.
    [[nodiscard]] std::uint16_t default_port() const noexcept;
    /// The Host header value: "example.com", "example.com:8080", "[::1]:8080"
    /// (the port only when it is not the default).
    [[nodiscard]] std::string host_header() const;
    /// The URL as text, without a default port:
    /// "http://example.com:8080/users/7?x=1".
    [[nodiscard]] std::string to_string() const;
    /// Where a redirect's Location leads from here: an absolute URL,
    /// "//host/path", "/abs", "?query", or "rel" (relative to the directory of
    /// the current path); "." and ".." segments are removed (RFC 3986 5.2).
    /// Throws url_error as parse does.
    [[nodiscard]] url resolve(std::string_view location) const;

    /// True if all four fields are equal.
    friend bool operator==(const url&, const url&) = default;
};

}  // namespace vow::net

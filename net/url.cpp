// vow::net::url: parsing http:// URLs and resolving redirect locations.
#include <vow/net/url.hpp>

#include <vow/net/address.hpp>

#include <fmt/format.h>

#include <vector>

namespace vow::net {

namespace {

// The text as it can be printed in a message: control bytes as \xNN, so a
// URL from a peer cannot forge log lines.
std::string printable(std::string_view text) {
    std::string s;
    for (char c : text.substr(0, 256)) {
        auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u == 0x7f)
            s += fmt::format("\\x{:02x}", u);
        else
            s.push_back(c);
    }
    return s;
}

[[noreturn]] void fail(std::string_view text, std::string_view problem) {
    throw url_error(fmt::format("invalid URL '{}': {}", printable(text), problem));
}

constexpr char lower(char c) noexcept { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }
constexpr bool is_alpha(char c) noexcept { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
constexpr bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }

void check_bytes(std::string_view text) {
    for (char c : text) {
        auto u = static_cast<unsigned char>(c);
        if (u <= 0x20 || u == 0x7f)
            fail(text, u == ' ' ? "it contains a space" : "it contains a control byte");
    }
}

// The length of a leading "scheme:" (RFC 3986 3.1), or 0 if there is none.
std::size_t scheme_length(std::string_view s) noexcept {
    if (s.empty() || !is_alpha(s[0]))
        return 0;
    for (std::size_t i = 1; i < s.size(); ++i) {
        char c = s[i];
        if (c == ':')
            return i;
        if (!is_alpha(c) && !is_digit(c) && c != '+' && c != '-' && c != '.')
            return 0;
    }
    return 0;
}

// RFC 3986 5.2.4, on a path that starts with '/'.
std::string remove_dot_segments(std::string_view path) {
    std::vector<std::string_view> out;
    std::string_view rest = path.substr(1);
    for (;;) {
        auto slash = rest.find('/');
        std::string_view seg = rest.substr(0, slash);
        bool last = slash == std::string_view::npos;
        if (seg == "..") {
            if (!out.empty())
                out.pop_back();
            if (last)
                out.emplace_back();
        } else if (seg == ".") {
            if (last)
                out.emplace_back();
        } else {
            out.push_back(seg);
        }
        if (last)
            break;
        rest.remove_prefix(slash + 1);
    }
    std::string r;
    r.reserve(path.size());
    for (auto seg : out) {
        r.push_back('/');
        r.append(seg);
    }
    return r.empty() ? std::string("/") : r;
}

// Path and query as a request target: "/" when empty, bytes >= 0x80
// percent-encoded, the path's dot segments removed if `dots`.
std::string make_target(std::string_view path_query, bool dots) {
    auto q = path_query.find('?');
    std::string_view path = path_query.substr(0, q);
    std::string_view query = q == std::string_view::npos ? std::string_view() : path_query.substr(q);
    std::string raw = path.empty() ? std::string("/") : dots ? remove_dot_segments(path) : std::string(path);
    raw.append(query);
    std::string t;
    t.reserve(raw.size());
    for (char c : raw) {
        auto u = static_cast<unsigned char>(c);
        if (u >= 0x80)
            t.append(fmt::format("%{:02X}", u));
        else
            t.push_back(c);
    }
    return t;
}

}  // namespace

url url::parse(std::string_view text) {
    if (text.empty())
        throw url_error("invalid URL '': it is empty");
    check_bytes(text);
    std::size_t n = scheme_length(text);
    if (n == 0)
        fail(text, "no scheme (expected http://host/... or https://host/...)");
    url u;
    u.scheme.reserve(n);
    for (char c : text.substr(0, n))
        u.scheme.push_back(lower(c));
    if (u.scheme != "http" && u.scheme != "https" && u.scheme != "ws" && u.scheme != "wss")
        fail(text, fmt::format("unsupported scheme '{}' (only http://, https://, ws:// and wss:// URLs)", u.scheme));
    u.port = u.default_port();
    if (text.substr(n, 3) != "://")
        fail(text, fmt::format("expected '//' after '{}:'", u.scheme));

    std::string_view rest = text.substr(n + 3);
    rest = rest.substr(0, rest.find('#'));
    auto auth_end = rest.find_first_of("/?");
    std::string_view authority = rest.substr(0, auth_end);
    std::string_view path_query = auth_end == std::string_view::npos ? std::string_view() : rest.substr(auth_end);
    if (authority.find('@') != std::string_view::npos)
        fail(text, "user info ('user@host') is not supported");

    std::string_view host, port_text;
    bool has_port = false;
    if (!authority.empty() && authority.front() == '[') {
        auto close = authority.find(']');
        if (close == std::string_view::npos)
            fail(text, "'[' without ']' around an IPv6 address");
        host = authority.substr(1, close - 1);
        if (host.find(':') == std::string_view::npos || !address::try_parse(host, 0))
            fail(text, fmt::format("'{}' is not an IPv6 address", host));
        auto after = authority.substr(close + 1);
        if (!after.empty()) {
            if (after.front() != ':')
                fail(text, "junk after ']'");
            has_port = true;
            port_text = after.substr(1);
        }
    } else {
        auto colon = authority.find(':');
        host = authority.substr(0, colon);
        if (colon != std::string_view::npos) {
            has_port = true;
            port_text = authority.substr(colon + 1);
        }
        for (char c : host)
            if (!is_alpha(c) && !is_digit(c) && c != '-' && c != '.' && c != '_' && c != '~')
                fail(text, fmt::format("invalid character '{}' in the host", c));
    }
    if (host.empty())
        fail(text, "empty host");
    u.host.reserve(host.size());
    for (char c : host)
        u.host.push_back(lower(c));

    // "host:" with nothing after the colon means the default port (RFC 3986 3.2.3).
    if (has_port && !port_text.empty()) {
        unsigned value = 0;
        bool ok = port_text.size() <= 5;
        for (char c : port_text) {
            if (!is_digit(c)) {
                ok = false;
                break;
            }
            value = value * 10 + static_cast<unsigned>(c - '0');
        }
        if (!ok || value == 0 || value > 65535)
            fail(text, fmt::format("bad port '{}' (expected 1-65535)", port_text));
        u.port = static_cast<std::uint16_t>(value);
    }
    u.target = make_target(path_query, false);
    return u;
}

std::string url::host_header() const {
    bool v6 = host.find(':') != std::string::npos;
    std::string h = v6 ? fmt::format("[{}]", host) : host;
    if (port != default_port())
        h += fmt::format(":{}", port);
    return h;
}

std::uint16_t url::default_port() const noexcept { return scheme == "https" || scheme == "wss" ? 443 : 80; }

std::string url::to_string() const {
    return fmt::format("{}://{}{}", scheme, host_header(), target);
}

url url::resolve(std::string_view location) const {
    check_bytes(location);
    location = location.substr(0, location.find('#'));
    if (scheme_length(location) > 0)
        return parse(location);
    if (location.substr(0, 2) == "//")
        return parse(fmt::format("{}:{}", scheme, location));
    url u = *this;
    if (location.empty())
        return u;
    std::string_view current_path = std::string_view(target).substr(0, target.find('?'));
    if (location.front() == '/') {
        u.target = make_target(location, true);
    } else if (location.front() == '?') {
        u.target = make_target(fmt::format("{}{}", current_path, location), false);
    } else {
        auto dir = current_path.substr(0, current_path.rfind('/') + 1);
        if (dir.empty())
            dir = "/";
        u.target = make_target(fmt::format("{}{}", dir, location), true);
    }
    return u;
}

}  // namespace vow::net

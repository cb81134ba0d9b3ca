// serialize_response, serialize_request and the cached Date value
// (net/http/parser.hpp).
//
// Header names and values are checked before they are written: a CR or LF
// in a value taken from user input would otherwise let it add headers or a
// whole second response (response splitting).
#include <vow/error.hpp>

#include "parser.hpp"
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <iterator>
#include <optional>
#include <string>

namespace vow::net::detail {

using namespace std::string_view_literals;

namespace {

bool is_token(std::string_view s) noexcept {
    if (s.empty())
        return false;
    for (char c : s)
        if (!is_tchar(c))
            return false;
    return true;
}

// True if `s` holds a CR, LF or NUL: eight bytes at a time (a byte is one of
// them when the word, XORed with it repeated, has a zero byte).
bool has_line_break(std::string_view s) noexcept {
    constexpr std::uint64_t ones = 0x0101010101010101ull;
    constexpr std::uint64_t highs = 0x8080808080808080ull;
    auto has_zero_byte = [](std::uint64_t v) { return ((v - ones) & ~v & highs) != 0; };
    std::size_t i = 0;
    for (; i + 8 <= s.size(); i += 8) {
        std::uint64_t w;
        std::memcpy(&w, s.data() + i, 8);
        if (has_zero_byte(w) || has_zero_byte(w ^ (ones * '\r')) ||
            has_zero_byte(w ^ (ones * '\n')))
            return true;
    }
    for (; i < s.size(); ++i)
        if (s[i] == '\r' || s[i] == '\n' || s[i] == '\0')
            return true;
    return false;
}

void append_number(std::string& out, std::uint64_t n) {
    char buf[24];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, n);
    (void)ec;   // 24 bytes hold any 64-bit number
    out.append(buf, end);
}

void append_field(std::string& out, std::string_view name, std::string_view value) {
    out.append(name);
    out.append(": "sv);
    out.append(value);
    out.append("\r\n"sv);
}

// Writes a head into `out` through a cursor: room for at most `most` more
// bytes is made once, each piece is a memcpy, and done() trims `out` to
// what was written. A piece that would pass the room is a bug in the
// caller's bound, and aborts rather than writing past it.
class head_writer {
public:
    head_writer(std::string& out, std::size_t most) : out_(out) {
        const std::size_t at = out.size();
        out.resize(at + most);
        p_ = out.data() + at;
        end_ = out.data() + out.size();
    }
    void put(std::string_view s) noexcept {
        room(s.size());
        std::memcpy(p_, s.data(), s.size());
        p_ += s.size();
    }
    void put(char c) noexcept {
        room(1);
        *p_++ = c;
    }
    void put_number(std::uint64_t n) noexcept {
        room(20);
        p_ = std::to_chars(p_, end_, n).ptr;
    }
    void put_field(std::string_view name, std::string_view value) noexcept {
        put(name);
        put(": "sv);
        put(value);
        put("\r\n"sv);
    }
    void done() { out_.resize(static_cast<std::size_t>(p_ - out_.data())); }

private:
    void room(std::size_t n) const noexcept {
        if (n > static_cast<std::size_t>(end_ - p_))
            std::abort();
    }
    std::string& out_;
    char* p_;
    char* end_;
};

void check_field(const char* who, const http_headers::field& f) {
    if (!is_token(f.first))
        throw vow::invalid_argument(fmt::format("{}: header name '{}' is not a token", who, f.first));
    if (has_line_break(f.second))
        throw vow::invalid_argument(
            fmt::format("{}: the value of header '{}' holds CR, LF or NUL", who, f.first));
}

}  // namespace

namespace {

constexpr std::array<std::string_view, 7> day_names{"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
constexpr std::array<std::string_view, 12> month_names{"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

// A date's field: its digits as an int (nullopt if not all digits).
std::optional<int> date_digits(std::string_view s) noexcept {
    std::uint64_t n = 0;
    return parse_decimal(s, n) ? std::optional<int>(static_cast<int>(n)) : std::nullopt;
}

}  // namespace

std::string http_date(std::time_t t) {
    std::tm tm{};
    gmtime_r(&t, &tm);
    return fmt::format("{}, {:02} {} {:04} {:02}:{:02}:{:02} GMT", day_names[static_cast<std::size_t>(tm.tm_wday) % 7],
                       tm.tm_mday, month_names[static_cast<std::size_t>(tm.tm_mon) % 12], tm.tm_year + 1900,
                       tm.tm_hour, tm.tm_min, tm.tm_sec);
}

std::optional<std::time_t> parse_http_date(std::string_view s) noexcept {
    if (s.size() != 29 || s.substr(3, 2) != ", " || s.substr(25) != " GMT" || s[7] != ' ' || s[11] != ' ' ||
        s[16] != ' ' || s[19] != ':' || s[22] != ':')
        return std::nullopt;
    auto day = date_digits(s.substr(5, 2)), year = date_digits(s.substr(12, 4)),
         hour = date_digits(s.substr(17, 2)), minute = date_digits(s.substr(20, 2)),
         second = date_digits(s.substr(23, 2));
    auto month = std::find(month_names.begin(), month_names.end(), s.substr(8, 3));
    if (!day || !year || !hour || !minute || !second || month == month_names.end() || *day < 1 || *day > 31 ||
        *hour > 23 || *minute > 59 || *second > 60)
        return std::nullopt;
    std::tm tm{};
    tm.tm_mday = *day;
    tm.tm_mon = static_cast<int>(month - month_names.begin());
    tm.tm_year = *year - 1900;
    tm.tm_hour = *hour;
    tm.tm_min = *minute;
    tm.tm_sec = *second;
    return ::timegm(&tm);
}

std::string_view http_date_now() {
    thread_local std::time_t cached_second = -1;
    thread_local std::string cached;
    std::time_t now = std::time(nullptr);
    if (now != cached_second) {
        cached = http_date(now);
        cached_second = now;
    }
    return cached;
}

void serialize_response(std::string& out, const http_response& r, bool keep_alive, bool head_only,
                        bool announce_keep_alive, bool http10_peer) {
    constexpr const char* who = "vow::net::http_response";
    if (r.status < 100 || r.status > 999)
        throw vow::invalid_argument(fmt::format("{}: status {} is not a three-digit code", who, r.status));
    if (has_line_break(r.reason))
        throw vow::invalid_argument(fmt::format("{}: the reason phrase holds CR, LF or NUL", who));
    std::string_view reason = r.reason.empty() ? http_reason_phrase(r.status) : std::string_view(r.reason);
    bool body_allowed = status_has_body(r.status);
    // One look at the fields: the framing the caller set, and the room
    // they take written out.
    bool user_te = false;
    bool user_length = false;
    std::size_t fields_size = 0;
    for (const auto& f : r.headers) {
        user_te = user_te || iequals(f.first, "Transfer-Encoding");
        user_length = user_length || iequals(f.first, "Content-Length");
        fields_size += f.first.size() + f.second.size() + 4;
    }
    bool keep_user_length = head_only && user_length;
    const bool streamed = static_cast<bool>(r.body_source);
    if (streamed) {
        if (!r.body.empty())
            throw vow::invalid_argument(fmt::format("{}: both a body and a body_source", who));
        if (user_te)
            throw vow::invalid_argument(
                fmt::format("{}: a Transfer-Encoding header with a body_source (the server frames it)", who));
        if (r.body_source.file && !r.body_source.length)
            throw vow::invalid_argument(fmt::format("{}: a body_source file without a length", who));
    }
    std::string_view date = http_date_now();
    // The most the head can take: the status line, the fields, the
    // framing line (Content-Length with 20 digits, or chunked), the
    // Connection line, the Date line and the blank line.
    const std::size_t most = 15 + reason.size() + fields_size + 38 + 24 + 8 + date.size() + 2;
    head_writer w(out, most);
    w.put("HTTP/1.1 "sv);
    w.put_number(static_cast<std::uint64_t>(r.status));
    w.put(' ');
    w.put(reason);
    w.put("\r\n"sv);
    bool user_date = false;
    bool user_close = false;
    bool user_connection = false;
    for (const auto& f : r.headers) {
        check_field(who, f);
        if (!keep_user_length && iequals(f.first, "Content-Length"))
            continue;
        if (iequals(f.first, "Date")) {
            user_date = true;
        } else if (iequals(f.first, "Connection")) {
            user_connection = true;
            user_close = user_close || list_has_token(f.second, "close");
        }
        w.put_field(f.first, f.second);
    }
    if (body_allowed && !user_te && !keep_user_length) {
        if (!streamed || r.body_source.length) {
            w.put("Content-Length: "sv);
            w.put_number(streamed ? *r.body_source.length : r.body.size());
            w.put("\r\n"sv);
        } else if (!http10_peer && !head_only) {
            w.put("Transfer-Encoding: chunked\r\n"sv);
        }
    }
    if (!keep_alive && !user_close)
        w.put("Connection: close\r\n"sv);
    else if (keep_alive && announce_keep_alive && !user_connection)
        w.put("Connection: keep-alive\r\n"sv);
    if (!user_date)
        w.put_field("Date"sv, date);
    w.put("\r\n"sv);
    w.done();
    if (!head_only && body_allowed)
        out.append(r.body);
}

void append_chunk(std::string& out, std::string_view chunk) {
    fmt::format_to(std::back_inserter(out), "{:x}\r\n", chunk.size());
    out.append(chunk);
    out.append("\r\n");
}

namespace {

// The request line, Host and the caller's fields but Content-Length (the
// caller writes the framing), and Transfer-Encoding too when `drop_te`.
void append_request_start(std::string& out, std::string_view method, std::string_view target,
                          std::string_view host_header, const http_headers& headers, bool drop_te) {
    constexpr const char* who = "vow::net::serialize_request";
    if (!is_token(method))
        throw vow::invalid_argument(fmt::format("{}: method '{}' is not a token", who, method));
    if (target.empty())
        throw vow::invalid_argument(fmt::format("{}: empty request target", who));
    for (char c : target) {
        auto u = static_cast<unsigned char>(c);
        if (u <= 0x20 || u == 0x7f)
            throw vow::invalid_argument(
                fmt::format("{}: request target '{}' holds a space or control byte", who, target));
    }
    if (has_line_break(host_header))
        throw vow::invalid_argument(fmt::format("{}: the Host value holds CR, LF or NUL", who));
    out.reserve(out.size() + 128 + target.size());
    out.append(method);
    out.push_back(' ');
    out.append(target);
    out.append(" HTTP/1.1\r\n");
    if (!headers.contains("Host"))
        append_field(out, "Host", host_header);
    for (const auto& f : headers) {
        check_field(who, f);
        if (iequals(f.first, "Content-Length") || (drop_te && iequals(f.first, "Transfer-Encoding")))
            continue;
        append_field(out, f.first, f.second);
    }
}

}  // namespace

void serialize_request(std::string& out, std::string_view method, std::string_view target,
                       std::string_view host_header, const http_headers& headers, std::string_view body) {
    bool user_te = headers.contains("Transfer-Encoding");
    bool send_length = !user_te && (!body.empty() || method == "POST" || method == "PUT" || method == "PATCH");
    append_request_start(out, method, target, host_header, headers, false);
    if (send_length) {
        out.append("Content-Length: ");
        append_number(out, body.size());
        out.append("\r\n");
    }
    out.append("\r\n");
    out.append(body);
}

void serialize_request_head(std::string& out, std::string_view method, std::string_view target,
                            std::string_view host_header, const http_headers& headers,
                            std::optional<std::uint64_t> length) {
    append_request_start(out, method, target, host_header, headers, true);
    if (length) {
        out.append("Content-Length: ");
        append_number(out, *length);
        out.append("\r\n");
    } else {
        out.append("Transfer-Encoding: chunked\r\n");
    }
    out.append("\r\n");
}

}  // namespace vow::net::detail

// The incremental HTTP/1.1 request and response parsers (net/http/parser.hpp).
//
// Both share message_parser: scan_head finds the blank line ending the header
// block with memchr, checking each line end is CRLF as it goes and resuming
// where it stopped; the start line and fields are then parsed in one pass;
// read_body decodes the framing the fields chose, again resuming where it
// stopped.
#include "parser.hpp"

#include <fmt/format.h>

#include <array>
#include <cstring>
#include <limits>

namespace vow::net::detail {

namespace {

constexpr bool is_ows(char c) noexcept { return c == ' ' || c == '\t'; }
// field-vchar, SP, HTAB and obs-text: anything but CTLs other than HTAB, and DEL.
constexpr bool is_field_byte(char c) noexcept {
    auto u = static_cast<unsigned char>(c);
    return (u >= 0x20 && u != 0x7f) || u == '\t';
}
// The first byte of `s` that is a control byte other than HTAB, or DEL;
// npos if none. Eight bytes at a time: header values are most of a head.
std::size_t find_control(std::string_view s) noexcept {
    constexpr std::uint64_t ones = 0x0101010101010101ull;
    constexpr std::uint64_t highs = 0x8080808080808080ull;
    std::size_t i = 0;
    for (; i + 8 <= s.size(); i += 8) {
        std::uint64_t w;
        std::memcpy(&w, s.data() + i, 8);
        // High bit set in a byte below 0x20 (bytes >= 0x80 are excluded by ~w),
        // or in a byte equal to 0x7f.
        std::uint64_t below = (w - ones * 0x20) & ~w & highs;
        std::uint64_t x = w ^ (ones * 0x7f);
        std::uint64_t del = (x - ones) & ~x & highs;
        if ((below | del) != 0)
            break;   // the bytewise loop below finds it (or it was only a tab)
    }
    for (; i < s.size(); ++i)
        if (!is_field_byte(s[i]))
            return i;
    return std::string_view::npos;
}

constexpr char lower(char c) noexcept { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }

// Printable form of a byte for error reasons.
std::string show(char c) {
    auto u = static_cast<unsigned char>(c);
    if (u > 0x20 && u < 0x7f)
        return fmt::format("'{}'", c);
    return fmt::format("0x{:02x}", u);
}

parse_result more() {
    return parse_result{};
}
parse_result done(std::size_t consumed) {
    parse_result r;
    r.status = parse_status::complete;
    r.consumed = consumed;
    return r;
}
parse_result fail(int status, std::string reason) {
    parse_result r;
    r.status = parse_status::error;
    r.error_status = status;
    r.error_reason = std::move(reason);
    return r;
}

}  // namespace

std::string_view trim_ows(std::string_view s) noexcept {
    while (!s.empty() && is_ows(s.front())) s.remove_prefix(1);
    while (!s.empty() && is_ows(s.back())) s.remove_suffix(1);
    return s;
}

bool parse_decimal(std::string_view s, std::uint64_t& v) noexcept {
    if (s.empty())
        return false;
    v = 0;
    for (char c : s) {
        if (c < '0' || c > '9')
            return false;
        auto d = static_cast<std::uint64_t>(c - '0');
        if (v > (std::numeric_limits<std::uint64_t>::max() - d) / 10)
            return false;
        v = v * 10 + d;
    }
    return true;
}

namespace {

// "HTTP/1.1" -> minor 1; returns 0 ok, 400 malformed, 505 other major version.
int parse_version(std::string_view v, int& minor) noexcept {
    if (v.size() != 8 || v.substr(0, 5) != "HTTP/" || v[6] != '.' || v[5] < '0' || v[5] > '9' ||
        v[7] < '0' || v[7] > '9')
        return 400;
    if (v[5] != '1')
        return 505;
    // HTTP/1.2 and later 1.x speak 1.1 to us (RFC 9110 2.5).
    minor = v[7] == '0' ? 0 : 1;
    return 0;
}

bool iequals_lower(std::string_view s, std::string_view lower_literal) noexcept {
    if (s.size() != lower_literal.size())
        return false;
    for (std::size_t i = 0; i < s.size(); ++i)
        if (lower(s[i]) != lower_literal[i])
            return false;
    return true;
}

// Checks one field line (no CRLF): `name: value`. On success sets name and value.
bool split_field(std::string_view line, std::string_view& name, std::string_view& value,
                 std::string& why) {
    if (is_ows(line.front())) {
        why = "obsolete line folding (a header line starts with whitespace)";
        return false;
    }
    std::size_t i = 0;
    while (i < line.size() && is_tchar(line[i])) ++i;
    if (i == line.size()) {
        why = fmt::format("header line without a colon: '{}'", line.substr(0, 64));
        return false;
    }
    if (line[i] != ':') {
        if (is_ows(line[i]))
            why = fmt::format("whitespace before the colon in header '{}'", line.substr(0, std::min<std::size_t>(i, 64)));
        else
            why = fmt::format("invalid character {} in a header name", show(line[i]));
        return false;
    }
    if (i == 0) {
        why = "empty header name";
        return false;
    }
    name = line.substr(0, i);
    std::string_view v = line.substr(i + 1);
    if (std::size_t bad = find_control(v); bad != std::string_view::npos) {
        why = fmt::format("invalid character {} in the value of header '{}'", show(v[bad]), name);
        return false;
    }
    value = trim_ows(v);
    return true;
}

// Parses a chunk-size line without its CRLF (RFC 9112 7.1): hex digits,
// then optional chunk extensions, "BWS ; ...", which are ignored but must be
// clean (no CR, LF or other control bytes). On failure sets `err` (400).
bool parse_chunk_size(std::string_view line, std::uint64_t& size, parse_result& err) {
    size = 0;
    std::size_t i = 0;
    for (; i < line.size(); ++i) {
        int d = hex_value(line[i]);
        if (d < 0)
            break;
        if (size > (std::numeric_limits<std::uint64_t>::max() >> 4)) {
            err = fail(400, "chunk size overflows");
            return false;
        }
        size = (size << 4) | static_cast<std::uint64_t>(d);
    }
    if (i == 0) {
        err = fail(400, line.empty() ? std::string("empty chunk size")
                                     : fmt::format("invalid chunk size starting with {}", show(line[0])));
        return false;
    }
    while (i < line.size() && is_ows(line[i])) ++i;
    if (i < line.size() && line[i] != ';') {
        err = fail(400, fmt::format("invalid character {} after a chunk size", show(line[i])));
        return false;
    }
    for (; i < line.size(); ++i)
        if (!is_field_byte(line[i])) {
            err = fail(400, fmt::format("invalid character {} in a chunk extension", show(line[i])));
            return false;
        }
    return true;
}

// Checks a request-target (RFC 9112 3.2) and finds its path and query:
// origin-form "/p?q"; asterisk-form "*" (OPTIONS only); absolute-form
// "http://host/p?q", whose path and query are taken after the authority
// (empty for "http://host"). On failure sets `err` (400).
bool split_target(std::string_view method, std::string_view target, std::string_view& path_and_query,
                  parse_result& err) {
    if (target.empty()) {
        err = fail(400, "empty request target");
        return false;
    }
    for (char c : target) {
        auto u = static_cast<unsigned char>(c);
        if (u <= 0x20 || u == 0x7f) {
            err = fail(400, fmt::format("invalid character {} in the request target", show(c)));
            return false;
        }
    }
    if (target.front() == '/' || (target == "*" && method == "OPTIONS")) {
        path_and_query = target;
        return true;
    }
    std::size_t scheme = 0;   // length of "http://" or "https://"
    if (target.size() > 7 && iequals_lower(target.substr(0, 7), "http://"))
        scheme = 7;
    else if (target.size() > 8 && iequals_lower(target.substr(0, 8), "https://"))
        scheme = 8;
    if (scheme == 0) {
        err = fail(400, fmt::format("request target '{}' does not start with '/'", target.substr(0, 64)));
        return false;
    }
    auto rest = target.substr(scheme);
    auto slash = rest.find_first_of("/?");
    if (slash == 0) {
        err = fail(400, "absolute request target without a host");
        return false;
    }
    path_and_query = slash == std::string_view::npos ? std::string_view() : rest.substr(slash);
    return true;
}

// Sets the request's path ("/" if the target has none) and query (after
// '?', without it) from a target's path-and-query part.
void assign_path_and_query(http_request& req, std::string_view path_and_query) {
    auto q = path_and_query.find('?');
    if (path_and_query.empty() || q == 0)
        req.path.assign(1, '/');   // not = "/": GCC 12 -O3 warns falsely (-Wrestrict, PR105329)
    else
        req.path.assign(path_and_query.substr(0, q));
    if (q != std::string_view::npos)
        req.query.assign(path_and_query.substr(q + 1));
    else
        req.query.clear();
}

// Moves a parsed message to the caller's object by swapping members, then
// empties ours: the caller's previous strings and header vector come back
// to us with their capacity, so a connection that reuses one object parses
// without allocating once the buffers have grown.
void clear(http_request& r) noexcept { clear_request(r); }
void clear(http_response& r) noexcept {
    r.status = 200;
    r.reason.clear();
    r.headers.clear();
    r.body.clear();
    r.version_minor = 1;
}
void hand_over(http_request& from, http_request& to) noexcept {
    to.method.swap(from.method);
    to.target.swap(from.target);
    to.path.swap(from.path);
    to.query.swap(from.query);
    to.version_minor = from.version_minor;
    std::swap(to.headers, from.headers);
    to.body.swap(from.body);
    to.params.swap(from.params);
    clear(from);
}
void hand_over(http_response& from, http_response& to) noexcept {
    to.status = from.status;
    to.reason.swap(from.reason);
    std::swap(to.headers, from.headers);
    to.body.swap(from.body);
    to.version_minor = from.version_minor;
    clear(from);
}

}  // namespace

void clear_request(http_request& r) noexcept {
    r.method.clear();
    r.target.clear();
    r.path.clear();
    r.query.clear();
    r.version_minor = 1;
    r.headers.clear();
    r.body.clear();
    r.params.clear();
    r.body_source = {};
}

bool iequals(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size())
        return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (lower(a[i]) != lower(b[i]))
            return false;
    return true;
}

bool list_has_token(std::string_view list, std::string_view token) noexcept {
    while (!list.empty()) {
        auto comma = list.find(',');
        if (iequals(trim_ows(list.substr(0, comma)), token))
            return true;
        if (comma == std::string_view::npos)
            break;
        list.remove_prefix(comma + 1);
    }
    return false;
}

// ---------------------------------------------------------------------------
// message_parser

void message_parser::reset_framing() noexcept {
    phase_ = phase::head;
    scan_ = line_ = msg_start_ = start_line_end_ = lines_ = head_end_ = pos_ = 0;
    remaining_ = 0;
    overhead_ = trailer_bytes_ = seen_ = 0;
    chunked_body_.clear();
    streaming_ = false;
    trailers_.clear();
    streamed_ = 0;
}

parse_result message_parser::error(int status, std::string reason) {
    return fail(status, std::move(reason));
}

parse_result message_parser::scan_head(std::string_view data) {
    const char* base = data.data();
    for (;;) {
        const void* hit = scan_ < data.size() ? std::memchr(base + scan_, '\n', data.size() - scan_) : nullptr;
        if (hit == nullptr) {
            scan_ = data.size();
            if (data.size() > limits_.max_header_bytes)
                return error(431, fmt::format("header section larger than {} bytes", limits_.max_header_bytes));
            return more();
        }
        auto nl = static_cast<std::size_t>(static_cast<const char*>(hit) - base);
        if (nl + 1 > limits_.max_header_bytes)
            return error(431, fmt::format("header section larger than {} bytes", limits_.max_header_bytes));
        // The '\r' must belong to this line: a line that is only "\n" has the
        // previous line's '\n' before it.
        if (nl == line_ || base[nl - 1] != '\r')
            return error(400, "bare LF where CRLF is required");
        std::size_t start = line_;
        line_ = scan_ = nl + 1;
        if (nl - 1 == start) {                // an empty line
            if (start_line_end_ == 0) {
                msg_start_ = line_;           // before the start line: skipped
                continue;
            }
            head_end_ = line_;
            return done(0);
        }
        if (start_line_end_ == 0)
            start_line_end_ = nl - 1;
        else if (++lines_ > limits_.max_headers)
            return error(431, fmt::format("more than {} header fields", limits_.max_headers));
    }
}

bool message_parser::parse_fields(std::string_view data, http_headers& out, framing& f,
                                  parse_result& err) const {
    out.clear();
    out.reserve(lines_);
    std::string why;
    std::size_t at = start_line_end_ + 2;
    while (at + 2 < head_end_) {
        auto eol = data.find('\r', at);   // each line was checked to end in CRLF
        std::string_view line = data.substr(at, eol - at);
        std::string_view name, value;
        // A bare CR inside a line makes find() stop early; the byte after it
        // is then not '\n', which split_field cannot see, so check here.
        if (data[eol + 1] != '\n') {
            err = fail(400, "bare CR where CRLF is required");
            return false;
        }
        if (!split_field(line, name, value, why)) {
            err = fail(400, std::move(why));
            return false;
        }
        at = eol + 2;
        switch (name.size()) {
        case 4:
            if (iequals_lower(name, "host"))
                ++f.host_count;
            break;
        case 14:
            if (iequals_lower(name, "content-length")) {
                std::uint64_t n = 0;
                if (!parse_decimal(value, n)) {
                    err = fail(400, fmt::format("invalid Content-Length '{}'", value.substr(0, 64)));
                    return false;
                }
                if (f.length_count++ > 0 && n != f.content_length)
                    f.length_differs = true;
                f.content_length = n;
            }
            break;
        case 17:
            if (iequals_lower(name, "transfer-encoding")) {
                f.has_te = true;
                std::string_view list = value;
                while (true) {
                    auto comma = list.find(',');
                    auto coding = trim_ows(list.substr(0, comma));
                    // A coding may carry parameters ("gzip;q=1"); only its name matters here.
                    auto semi = coding.find(';');
                    auto coding_name = trim_ows(coding.substr(0, semi));
                    if (!coding_name.empty()) {
                        if (f.chunked_last && iequals_lower(coding_name, "chunked"))
                            f.chunked_twice = true;
                        f.chunked_last = iequals_lower(coding_name, "chunked") && semi == std::string_view::npos;
                        if (!f.chunked_last && f.unknown_coding.empty() &&
                            !iequals_lower(coding, "chunked"))
                            f.unknown_coding = coding;
                    }
                    if (comma == std::string_view::npos)
                        break;
                    list.remove_prefix(comma + 1);
                }
            }
            break;
        default:
            break;
        }
        out.add(std::string(name), std::string(value));
    }
    return true;
}

template <class Message, class ParseHead>
parse_result message_parser::parse_message(std::string_view data, Message& msg, Message& out,
                                           ParseHead parse_head) {
    if (data.size() < seen_)
        return error(500, "parse() was given less data than before (pass everything since the message began)");
    seen_ = data.size();
    if (phase_ == phase::head) {
        auto r = scan_head(data);
        if (r.status != parse_status::complete)
            return r;
        r = parse_head(data);
        if (r.status != parse_status::complete)
            return r;
        if (streaming_) {
            hand_over(msg, out);
            return done(head_end_);
        }
        if (head_first_) {
            r = done(head_end_);
            r.status = parse_status::head;
            return r;
        }
    }
    std::string& body = phase_ == phase::fixed_body ? msg.body : chunked_body_;
    auto r = phase_ == phase::fixed_body && remaining_ == 0
                 ? done(head_end_)
                 : read_body(data, body);
    if (r.status == parse_status::complete) {
        if (&body != &msg.body)
            msg.body = std::move(body);
        hand_over(msg, out);
    }
    return r;
}

bool message_parser::expect_chunked_body(const framing& f, bool http10_request, parse_result& err) {
    if (f.length_count > 0)
        err = error(400, "both Content-Length and Transfer-Encoding");
    else if (http10_request)
        err = error(400, "Transfer-Encoding in an HTTP/1.0 request");
    else if (f.chunked_twice)
        err = error(400, "chunked applied twice");
    else if (!f.unknown_coding.empty())
        err = error(501, fmt::format("unsupported transfer coding '{}'", f.unknown_coding.substr(0, 32)));
    else if (!f.chunked_last)
        err = error(400, "Transfer-Encoding does not end in chunked");
    else {
        phase_ = phase::chunk_size;
        pos_ = head_end_;
        return true;
    }
    return false;
}

bool message_parser::expect_fixed_body(std::uint64_t length, parse_result& err) {
    if (length > limits_.max_body_bytes && !head_first_) {
        err = error(413, fmt::format("Content-Length {} exceeds the {}-byte body limit", length,
                                     limits_.max_body_bytes));
        return false;
    }
    phase_ = phase::fixed_body;
    remaining_ = length;
    return true;
}

bool message_parser::read_chunk_size(std::string_view data, std::size_t body_size, parse_result& r) {
    const char* base = data.data();
    const void* hit = pos_ < data.size() ? std::memchr(base + pos_, '\n', data.size() - pos_) : nullptr;
    if (hit == nullptr) {
        if (data.size() - pos_ > limits_.max_header_bytes)
            r = error(400, "chunk size line too long");
        return false;   // r is need_more otherwise
    }
    auto nl = static_cast<std::size_t>(static_cast<const char*>(hit) - base);
    // The same limit as while the line is incomplete, checked first: the
    // verdict must not depend on how the bytes were split.
    if (nl - pos_ > limits_.max_header_bytes) {
        r = error(400, "chunk size line too long");
        return false;
    }
    if (nl == pos_ || base[nl - 1] != '\r') {
        r = error(400, "bare LF where CRLF is required after a chunk size");
        return false;
    }
    std::string_view line = data.substr(pos_, nl - 1 - pos_);
    std::uint64_t size = 0;
    if (!parse_chunk_size(line, size, r))
        return false;
    overhead_ += line.size() + 2;
    if (overhead_ > limits_.max_body_bytes + limits_.max_header_bytes) {
        r = error(413, "chunked framing larger than the body limit");
        return false;
    }
    pos_ = nl + 1;
    if (size == 0) {
        phase_ = phase::trailer;
        return true;
    }
    if (size > limits_.max_body_bytes - body_size) {
        r = error(413, fmt::format("body larger than {} bytes", limits_.max_body_bytes));
        return false;
    }
    remaining_ = size;
    phase_ = phase::chunk_data;
    return true;
}

parse_result message_parser::read_body(std::string_view data, std::string& body) {
    const char* base = data.data();
    for (;;) {
        switch (phase_) {
        case phase::head:
            return error(400, "internal: read_body before the head");
        case phase::fixed_body: {
            if (data.size() - head_end_ < remaining_)
                return more();
            body.assign(data.substr(head_end_, static_cast<std::size_t>(remaining_)));
            return done(head_end_ + static_cast<std::size_t>(remaining_));
        }
        case phase::until_close:
            if (data.size() - head_end_ > limits_.max_body_bytes)
                return error(413, fmt::format("body larger than {} bytes", limits_.max_body_bytes));
            return more();
        case phase::chunk_size:
            if (parse_result r; !read_chunk_size(data, body.size(), r))
                return r;
            break;
        case phase::chunk_data: {
            auto n = std::min<std::uint64_t>(remaining_, data.size() - pos_);
            body.append(data.substr(pos_, static_cast<std::size_t>(n)));
            pos_ += static_cast<std::size_t>(n);
            remaining_ -= n;
            if (remaining_ > 0)
                return more();
            phase_ = phase::chunk_crlf;
            break;
        }
        case phase::chunk_crlf:
            if (pos_ < data.size() && base[pos_] != '\r')
                return error(400, "missing CRLF after chunk data");
            if (pos_ + 1 >= data.size())
                return more();
            if (base[pos_ + 1] != '\n')
                return error(400, "missing CRLF after chunk data");
            pos_ += 2;
            overhead_ += 2;
            phase_ = phase::chunk_size;
            break;
        case phase::trailer: {
            const void* hit = pos_ < data.size() ? std::memchr(base + pos_, '\n', data.size() - pos_) : nullptr;
            if (hit == nullptr) {
                if (trailer_bytes_ + (data.size() - pos_) > limits_.max_header_bytes)
                    return error(431, fmt::format("trailer section larger than {} bytes", limits_.max_header_bytes));
                return more();
            }
            auto nl = static_cast<std::size_t>(static_cast<const char*>(hit) - base);
            // The size first, as while the line is incomplete, so that the
            // verdict does not depend on how the bytes were split.
            trailer_bytes_ += nl + 1 - pos_;
            if (trailer_bytes_ > limits_.max_header_bytes)
                return error(431, fmt::format("trailer section larger than {} bytes", limits_.max_header_bytes));
            if (nl == pos_ || base[nl - 1] != '\r')
                return error(400, "bare LF where CRLF is required in the trailer section");
            std::string_view line = data.substr(pos_, nl - 1 - pos_);
            pos_ = nl + 1;
            if (line.empty())
                return done(pos_);
            // Trailer fields are checked like header fields; the response
            // parser keeps them, the request parser drops them.
            std::string_view name, value;
            std::string why;
            if (!split_field(line, name, value, why))
                return error(400, "in the trailer section: " + why);
            if (keep_trailers_) {
                if (trailers_.size() >= limits_.max_headers)
                    return error(431, fmt::format("more than {} trailer fields", limits_.max_headers));
                trailers_.add(std::string(name), std::string(value));
            }
            break;
        }
        }
    }
}

parse_result message_parser::read_body_some(std::string_view data, std::string& chunk) {
    parse_result r;
    std::size_t before = chunk.size();
    switch (phase_) {
    case phase::head:
        return error(400, "internal: body_some before the head");
    case phase::fixed_body: {
        auto n = static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, data.size()));
        chunk.append(data.substr(0, n));
        remaining_ -= n;
        r = remaining_ == 0 ? done(n) : more();
        r.consumed = n;
        break;
    }
    case phase::until_close:
        chunk.append(data);
        r.consumed = data.size();
        break;
    default:
        // The chunked phases work on offsets from pos_; the caller drops
        // what was consumed, so every call starts at 0.
        pos_ = 0;
        r = read_body(data, chunk);
        if (r.status == parse_status::need_more)
            r.consumed = pos_;
        break;
    }
    streamed_ += chunk.size() - before;
    return r;
}

// ---------------------------------------------------------------------------
// request_parser

request_parser::request_parser(http_limits limits) : message_parser(limits), max_body_bytes_(limits.max_body_bytes) {}

void request_parser::reset() {
    reset_framing();
    limits_.max_body_bytes = max_body_bytes_;
    clear(req_);
}

parse_result request_parser::buffer_body() {
    if (phase_ == phase::fixed_body && remaining_ > limits_.max_body_bytes)
        return error(413, fmt::format("Content-Length {} exceeds the {}-byte body limit", remaining_,
                                      limits_.max_body_bytes));
    return done(0);
}

void request_parser::stream_body(http_request& out) {
    hand_over(req_, out);
    streaming_ = true;
    // The chunked decoder checks chunk sizes and framing against the body
    // limit; a streamed body is bounded by its reader instead.
    limits_.max_body_bytes = std::numeric_limits<std::size_t>::max() / 4;
}

parse_result request_parser::parse(std::string_view data, http_request& out) {
    return parse_message(data, req_, out, [this](std::string_view d) { return parse_head(d); });
}

parse_result request_parser::parse_head(std::string_view data) {
    // request-line = method SP request-target SP HTTP-version
    std::string_view line = data.substr(msg_start_, start_line_end_ - msg_start_);
    std::size_t sp1 = 0;
    while (sp1 < line.size() && is_tchar(line[sp1])) ++sp1;
    if (sp1 == line.size() || line[sp1] != ' ' || sp1 == 0)
        return error(400, sp1 == 0 || sp1 == line.size() || line[sp1] == ' '
                              ? std::string("malformed request line")
                              : fmt::format("invalid character {} in the method", show(line[sp1])));
    std::string_view method = line.substr(0, sp1);
    std::size_t sp2 = line.find(' ', sp1 + 1);
    if (sp2 == std::string_view::npos)
        return error(400, "malformed request line (no HTTP version)");
    std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
    std::string_view version = line.substr(sp2 + 1);
    int minor = 1;
    if (int st = parse_version(version, minor); st != 0)
        return error(st, st == 505 ? fmt::format("unsupported HTTP version '{}'", version.substr(0, 16))
                                   : fmt::format("malformed HTTP version '{}'", version.substr(0, 16)));
    parse_result err;
    std::string_view path_and_query;
    if (!split_target(method, target, path_and_query, err))
        return err;

    framing f;
    if (!parse_fields(data, req_.headers, f, err))
        return err;
    if (minor == 1 && f.host_count == 0)
        return error(400, "no Host header in an HTTP/1.1 request");
    if (f.host_count > 1)
        return error(400, "more than one Host header");
    if (f.length_count > 1)
        return error(400, "two Content-Length headers");
    // Without either header the body is empty (RFC 9112 6.3, item 7).
    if (f.has_te) {
        if (!expect_chunked_body(f, minor == 0, err))
            return err;
    } else if (!expect_fixed_body(f.content_length, err)) {
        return err;
    }

    req_.method.assign(method);
    req_.target.assign(target);
    assign_path_and_query(req_, path_and_query);
    req_.version_minor = minor;
    return done(0);
}

// ---------------------------------------------------------------------------
// response_parser

response_parser::response_parser(http_limits limits) : message_parser(limits) { keep_trailers_ = true; }

void response_parser::reset() {
    reset_framing();
    clear(resp_);
    no_body_ = false;
}

parse_result response_parser::parse(std::string_view data, http_response& out) {
    auto r = parse_message(data, resp_, out, [this](std::string_view d) { return parse_head(d); });
    if (r.status == parse_status::complete && !streaming_)
        out.trailers = std::move(trailers_);
    return r;
}

parse_result response_parser::body_some(std::string_view data, std::string& chunk, http_headers& trailers) {
    auto r = read_body_some(data, chunk);
    if (r.status == parse_status::complete)
        trailers = std::move(trailers_);
    return r;
}

parse_result message_parser::finish_streamed_body() {
    switch (phase_) {
    case phase::until_close:
        return done(0);
    case phase::fixed_body:
        return error(0, fmt::format("the connection closed after {} of {} body bytes", streamed_,
                                    streamed_ + remaining_));
    case phase::head:
        return error(0, "internal: finish_body before the head");
    default:
        return error(0, fmt::format("the connection closed in the middle of a chunked body (after {} bytes)",
                                    streamed_));
    }
}

parse_result response_parser::finish(std::string_view data, http_response& out) {
    auto r = parse(data, out);
    if (r.status != parse_status::need_more)
        return r;
    switch (phase_) {
    case phase::until_close:
        resp_.body.assign(data.substr(head_end_));
        hand_over(resp_, out);
        return done(data.size());
    case phase::head:
        if (data.size() == msg_start_)
            return error(0, "the connection closed before a response arrived");
        return error(0, "the connection closed in the middle of the response headers");
    case phase::fixed_body:
        return error(0, fmt::format("the connection closed after {} of {} body bytes", data.size() - head_end_,
                                    remaining_));
    default:
        return error(0, "the connection closed in the middle of a chunked body");
    }
}

parse_result response_parser::parse_head(std::string_view data) {
    // status-line = HTTP-version SP status-code SP [ reason-phrase ]
    // Some servers omit the SP after the code when the reason is empty;
    // that is accepted.
    std::string_view line = data.substr(msg_start_, start_line_end_ - msg_start_);
    int minor = 1;
    if (int st = parse_version(line.substr(0, 8), minor); st != 0)
        return error(st, fmt::format("malformed status line '{}'", line.substr(0, 64)));
    if (line.size() < 12 || line[8] != ' ' || line[9] < '1' || line[9] > '9' || line[10] < '0' ||
        line[10] > '9' || line[11] < '0' || line[11] > '9' || (line.size() > 12 && line[12] != ' '))
        return error(400, fmt::format("malformed status line '{}'", line.substr(0, 64)));
    int status = (line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0');
    std::string_view reason = line.size() > 13 ? line.substr(13) : std::string_view();
    for (char c : reason)
        if (!is_field_byte(c))
            return error(400, fmt::format("invalid character {} in the reason phrase", show(c)));

    framing f;
    parse_result err;
    if (!parse_fields(data, resp_.headers, f, err))
        return err;
    // RFC 9112 6.3: repeated identical Content-Length values may be accepted.
    if (f.length_differs)
        return error(400, "two different Content-Length headers");
    bool framed = true;
    if (no_body_ || !status_has_body(status))
        framed = expect_fixed_body(0, err);
    else if (f.has_te)
        framed = expect_chunked_body(f, false, err);
    else if (f.length_count > 0)
        framed = expect_fixed_body(f.content_length, err);
    else
        phase_ = phase::until_close;   // the body ends when the server closes (RFC 9112 6.3, item 8)
    if (!framed)
        return err;
    resp_.status = status;
    resp_.reason.assign(reason);
    resp_.version_minor = minor;
    return done(0);
}

}  // namespace vow::net::detail

// net/ws/deflate.cpp - permessage-deflate (RFC 7692) on zlib: the
// negotiation of its parameters and the per-connection compressors.
#include "protocol.hpp"

#include <fmt/format.h>

#include <zlib.h>

#include <charconv>
#include <new>

namespace vow::net::detail::ws {

namespace {

std::string_view trim(std::string_view s) noexcept {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
        s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
        s.remove_suffix(1);
    return s;
}

bool iequal(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size())
        return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        char x = a[i], y = b[i];
        if (x >= 'A' && x <= 'Z')
            x = static_cast<char>(x - 'A' + 'a');
        if (y >= 'A' && y <= 'Z')
            y = static_cast<char>(y - 'A' + 'a');
        if (x != y)
            return false;
    }
    return true;
}

// "10" or "\"10\"" -> 10 if in 8..15.
bool window_bits(std::string_view v, int& out) noexcept {
    if (v.size() >= 2 && v.front() == '"' && v.back() == '"')
        v = v.substr(1, v.size() - 2);
    int x = 0;
    auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), x);
    if (ec != std::errc() || p != v.data() + v.size() || v.empty() || v[0] == '0' || x < 8 || x > 15)
        return false;
    out = x;
    return true;
}

// Calls fn(element) for each comma-separated element of a header value.
template <class F>
void each_element(std::string_view header, F fn) {
    while (!header.empty()) {
        auto comma = header.find(',');
        auto e = trim(header.substr(0, comma));
        if (!e.empty() && !fn(e))
            return;
        if (comma == std::string_view::npos)
            break;
        header.remove_prefix(comma + 1);
    }
}

// Splits "permessage-deflate; a; b=1" into its name and its parameters.
std::string_view extension_name(std::string_view element, std::string_view& params) noexcept {
    auto semi = element.find(';');
    params = semi == std::string_view::npos ? std::string_view() : element.substr(semi);
    return trim(element.substr(0, semi));
}

}  // namespace

bool parse_deflate_params(std::string_view params, deflate_params& out) noexcept {
    deflate_params p;
    bool seen[4] = {};
    while (!params.empty()) {
        if (params.front() == ';')
            params.remove_prefix(1);
        auto semi = params.find(';');
        auto item = trim(params.substr(0, semi));
        params = semi == std::string_view::npos ? std::string_view() : params.substr(semi);
        if (item.empty())
            return false;
        auto eq = item.find('=');
        auto name = trim(item.substr(0, eq));
        bool has_value = eq != std::string_view::npos;
        auto value = has_value ? trim(item.substr(eq + 1)) : std::string_view();
        int which;
        if (iequal(name, "server_no_context_takeover")) {
            which = 0;
            if (has_value)
                return false;
            p.server_no_context_takeover = true;
        } else if (iequal(name, "client_no_context_takeover")) {
            which = 1;
            if (has_value)
                return false;
            p.client_no_context_takeover = true;
        } else if (iequal(name, "server_max_window_bits")) {
            which = 2;
            if (!has_value || !window_bits(value, p.server_max_window_bits))
                return false;
        } else if (iequal(name, "client_max_window_bits")) {
            which = 3;
            p.client_max_window_bits_offered = true;
            if (has_value && !window_bits(value, p.client_max_window_bits))
                return false;
        } else {
            return false;
        }
        if (seen[which])
            return false;
        seen[which] = true;
    }
    out = p;
    return true;
}

bool negotiate_deflate(std::string_view header, const ws_deflate_options& ours, deflate_params& agreed,
                       std::string& response) {
    bool found = false;
    each_element(header, [&](std::string_view e) {
        std::string_view params;
        if (!iequal(extension_name(e, params), "permessage-deflate"))
            return true;
        deflate_params offer;
        if (!parse_deflate_params(params, offer))
            return true;   // unusable offer: try the next one
        // zlib cannot make raw deflate streams with an 8-bit window.
        if (offer.server_max_window_bits < 9)
            return true;
        deflate_params a;
        a.server_no_context_takeover = offer.server_no_context_takeover || ours.no_context_takeover;
        a.client_no_context_takeover = offer.client_no_context_takeover || ours.no_context_takeover;
        a.server_max_window_bits = std::min(offer.server_max_window_bits, ours.max_window_bits);
        a.client_max_window_bits = offer.client_max_window_bits;
        response = "permessage-deflate";
        if (a.server_no_context_takeover)
            response += "; server_no_context_takeover";
        if (a.client_no_context_takeover)
            response += "; client_no_context_takeover";
        if (a.server_max_window_bits < 15)
            response += fmt::format("; server_max_window_bits={}", a.server_max_window_bits);
        if (offer.client_max_window_bits_offered && offer.client_max_window_bits < 15)
            response += fmt::format("; client_max_window_bits={}", a.client_max_window_bits);
        agreed = a;
        found = true;
        return false;
    });
    return found;
}

std::string deflate_offer(const ws_deflate_options& ours) {
    std::string s = "permessage-deflate; client_max_window_bits";
    if (ours.max_window_bits < 15)
        s = fmt::format("permessage-deflate; client_max_window_bits={}", ours.max_window_bits);
    if (ours.no_context_takeover)
        s += "; client_no_context_takeover";
    return s;
}

bool accept_deflate_response(std::string_view response, const ws_deflate_options& ours, deflate_params& agreed,
                             std::string& why) {
    std::string_view params;
    auto name = extension_name(trim(response), params);
    if (!iequal(name, "permessage-deflate")) {
        why = fmt::format("the server agreed to the extension '{}', which was not offered", name);
        return false;
    }
    deflate_params p;
    if (!parse_deflate_params(params, p)) {
        why = fmt::format("the server's permessage-deflate parameters are malformed: '{}'", response);
        return false;
    }
    if (p.client_max_window_bits_offered && p.client_max_window_bits > ours.max_window_bits) {
        why = "the server asked for a larger client window than offered";
        return false;
    }
    if (!p.client_max_window_bits_offered)
        p.client_max_window_bits = ours.max_window_bits;
    if (p.client_max_window_bits < 9) {
        why = "the server asked for an 8-bit client window, which zlib cannot produce";
        return false;
    }
    if (ours.no_context_takeover)
        p.client_no_context_takeover = true;
    agreed = p;
    return true;
}

// ---- compressors --------------------------------------------------------------

struct inflater::state {
    z_stream z{};
};

inflater::inflater(int window_bits, bool no_context_takeover) : s_(new state), no_context_(no_context_takeover) {
    // The peer's window may be up to window_bits; zlib needs the largest it
    // may see, and 15 always works.
    (void)window_bits;
    if (inflateInit2(&s_->z, -15) != Z_OK)
        throw std::bad_alloc();
}

inflater::~inflater() { inflateEnd(&s_->z); }

inflater::result inflater::inflate(std::string_view in, std::string& out, std::size_t limit, std::string& why) {
    static const unsigned char tail[4] = {0x00, 0x00, 0xff, 0xff};
    out.clear();
    z_stream& z = s_->z;
    result res = result::ok;
    for (int part = 0; part < 2 && res == result::ok; ++part) {
        z.next_in = part == 0 ? reinterpret_cast<Bytef*>(const_cast<char*>(in.data()))
                              : const_cast<Bytef*>(tail);
        z.avail_in = part == 0 ? static_cast<uInt>(in.size()) : 4u;
        while (z.avail_in > 0) {
            std::size_t have = out.size();
            std::size_t room = std::max<std::size_t>(4096, std::min<std::size_t>(have, 1 << 20));
            if (have >= limit + 1) {
                res = result::too_big;
                break;
            }
            room = std::min(room, limit + 1 - have);
            out.resize(have + room);
            z.next_out = reinterpret_cast<Bytef*>(out.data() + have);
            z.avail_out = static_cast<uInt>(room);
            int rc = ::inflate(&z, Z_SYNC_FLUSH);
            out.resize(have + room - z.avail_out);
            if (rc == Z_STREAM_END || rc == Z_NEED_DICT || rc == Z_DATA_ERROR || rc == Z_MEM_ERROR) {
                why = z.msg ? z.msg : (rc == Z_STREAM_END ? "the deflate stream ended (a final block)" : "bad data");
                res = result::corrupt;
                break;
            }
            if (rc == Z_BUF_ERROR && z.avail_out > 0)
                break;   // no progress possible: the input is used up
            if (out.size() > limit) {
                res = result::too_big;
                break;
            }
        }
    }
    if (res != result::ok || no_context_)
        inflateReset(&z);
    if (res != result::ok)
        out.clear();
    return res;
}

struct deflater::state {
    z_stream z{};
};

deflater::deflater(int window_bits, bool no_context_takeover, int level) : s_(new state), no_context_(no_context_takeover) {
    if (deflateInit2(&s_->z, level, Z_DEFLATED, -window_bits, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        throw std::bad_alloc();
}

deflater::~deflater() { deflateEnd(&s_->z); }

void deflater::deflate(std::string_view in, std::string& out) {
    z_stream& z = s_->z;
    out.resize(deflateBound(&z, static_cast<uLong>(in.size())) + 16);
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    z.avail_in = static_cast<uInt>(in.size());
    std::size_t used = 0;
    for (;;) {
        z.next_out = reinterpret_cast<Bytef*>(out.data() + used);
        z.avail_out = static_cast<uInt>(out.size() - used);
        ::deflate(&z, Z_SYNC_FLUSH);
        used = out.size() - z.avail_out;
        if (z.avail_out > 0)
            break;
        out.resize(out.size() * 2);
    }
    out.resize(used);
    if (out.size() >= 4 && out.compare(out.size() - 4, 4, std::string_view("\x00\x00\xff\xff", 4)) == 0)
        out.resize(out.size() - 4);
    if (no_context_)
        deflateReset(&z);
}

}  // namespace vow::net::detail::ws

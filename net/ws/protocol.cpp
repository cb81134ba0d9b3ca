// net/ws/protocol.cpp - WebSocket's wire format: UTF-8, frames, the message
// reader, the handshake's values. permessage-deflate is in deflate.cpp.
#include "protocol.hpp"

#include <vow/error.hpp>

#include <fmt/format.h>

#include <sys/random.h>

#include <cerrno>
#include <cstring>
#include <system_error>

namespace vow::net::detail::ws {

// ---- UTF-8 ----------------------------------------------------------------

bool utf8_validator::feed(const unsigned char* p, std::size_t n) noexcept {
    std::size_t i = 0;
    while (i < n) {
        if (need_ == 0) {
            // ASCII runs, a word at a time.
            while (i + 8 <= n) {
                std::uint64_t w;
                std::memcpy(&w, p + i, 8);
                if (w & 0x8080808080808080ull)
                    break;
                i += 8;
            }
            if (i == n)
                break;
            unsigned char c = p[i++];
            if (c < 0x80)
                continue;
            if (c < 0xC2)
                return false;   // a continuation byte, or an overlong 2-byte form
            if (c < 0xE0) {
                need_ = 1;
                lo_ = 0x80;
                hi_ = 0xBF;
            } else if (c < 0xF0) {
                need_ = 2;
                lo_ = c == 0xE0 ? 0xA0 : 0x80;   // E0: no overlong forms
                hi_ = c == 0xED ? 0x9F : 0xBF;   // ED: no surrogates
            } else if (c < 0xF5) {
                need_ = 3;
                lo_ = c == 0xF0 ? 0x90 : 0x80;   // F0: no overlong forms
                hi_ = c == 0xF4 ? 0x8F : 0xBF;   // F4: nothing above U+10FFFF
            } else {
                return false;
            }
        } else {
            unsigned char c = p[i++];
            if (c < lo_ || c > hi_)
                return false;
            --need_;
            lo_ = 0x80;
            hi_ = 0xBF;
        }
    }
    return true;
}

bool valid_utf8(std::string_view s) noexcept {
    utf8_validator v;
    return v.feed(s) && v.complete();
}

// ---- frames ---------------------------------------------------------------

bool close_code_receivable(std::uint16_t code) noexcept {
    return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999);
}

void apply_mask(char* p, std::size_t n, std::array<unsigned char, 4> mask, std::size_t offset) noexcept {
    unsigned char m[8];
    for (std::size_t k = 0; k < 8; ++k)
        m[k] = mask[(offset + k) & 3];
    std::size_t i = 0;
    if (n >= 8) {
        std::uint64_t w;
        std::memcpy(&w, m, 8);
        for (; i + 8 <= n; i += 8) {
            std::uint64_t v;
            std::memcpy(&v, p + i, 8);
            v ^= w;
            std::memcpy(p + i, &v, 8);
        }
    }
    for (; i < n; ++i)
        p[i] = static_cast<char>(static_cast<unsigned char>(p[i]) ^ m[i & 7]);
}

std::size_t write_header(char* out, opcode op, bool fin, bool rsv1, std::uint64_t length,
                         const unsigned char* mask) noexcept {
    auto* o = reinterpret_cast<unsigned char*>(out);
    o[0] = static_cast<unsigned char>((fin ? 0x80 : 0) | (rsv1 ? 0x40 : 0) | static_cast<unsigned char>(op));
    unsigned char m = mask ? 0x80 : 0;
    std::size_t n;
    if (length < 126) {
        o[1] = static_cast<unsigned char>(m | length);
        n = 2;
    } else if (length <= 0xFFFF) {
        o[1] = m | 126;
        o[2] = static_cast<unsigned char>(length >> 8);
        o[3] = static_cast<unsigned char>(length);
        n = 4;
    } else {
        o[1] = m | 127;
        for (int k = 0; k < 8; ++k)
            o[2 + k] = static_cast<unsigned char>(length >> (56 - 8 * k));
        n = 10;
    }
    if (mask) {
        std::memcpy(o + n, mask, 4);
        n += 4;
    }
    return n;
}

std::array<unsigned char, 4> random_mask() {
    // 256 bytes of the kernel's randomness at a time: 64 keys per call.
    thread_local unsigned char pool[256];
    thread_local std::size_t used = sizeof pool;
    if (used == sizeof pool) {
        std::size_t got = 0;
        while (got < sizeof pool) {
            ssize_t r = ::getrandom(pool + got, sizeof pool - got, 0);
            if (r < 0) {
                if (errno == EINTR)
                    continue;
                throw std::system_error(errno, std::generic_category(), "vow::net WebSocket: getrandom");
            }
            got += static_cast<std::size_t>(r);
        }
        used = 0;
    }
    std::array<unsigned char, 4> k;
    std::memcpy(k.data(), pool + used, 4);
    used += 4;
    return k;
}

void append_frame(std::string& out, opcode op, bool fin, bool rsv1, std::string_view payload, bool client) {
    char head[max_header_size];
    std::array<unsigned char, 4> mask{};
    if (client)
        mask = random_mask();
    std::size_t h = write_header(head, op, fin, rsv1, payload.size(), client ? mask.data() : nullptr);
    std::size_t at = out.size();
    out.resize(at + h + payload.size());
    std::memcpy(out.data() + at, head, h);
    if (!payload.empty()) {
        std::memcpy(out.data() + at + h, payload.data(), payload.size());
        if (client)
            apply_mask(out.data() + at + h, payload.size(), mask, 0);
    }
}

// ---- reading --------------------------------------------------------------

std::size_t frame_reader::fail(reader_event& ev, std::uint16_t code, std::string what, std::size_t consumed) {
    failed_ = true;
    ev.kind = reader_event::error;
    ev.code = code;
    ev.data = std::move(what);
    message_.clear();
    message_.shrink_to_fit();
    return consumed;
}

std::size_t frame_reader::next(char* data, std::size_t n, reader_event& ev) {
    ev.kind = reader_event::none;
    if (failed_)
        return 0;
    std::size_t pos = 0;
    for (;;) {
        if (!in_payload_) {
            if (n - pos < 2)
                return pos;
            auto* p = reinterpret_cast<const unsigned char*>(data + pos);
            std::size_t h = 2;
            std::uint64_t len = p[1] & 0x7F;
            if (len == 126)
                h = 4;
            else if (len == 127)
                h = 10;
            bool masked = (p[1] & 0x80) != 0;
            if (masked)
                h += 4;
            if (n - pos < h)
                return pos;
            bool fin = (p[0] & 0x80) != 0;
            bool rsv1 = (p[0] & 0x40) != 0;
            unsigned raw_op = p[0] & 0x0F;
            if (p[0] & 0x30)
                return fail(ev, ws_close::protocol_error, "a frame with reserved bits RSV2/RSV3 set", pos);
            if ((raw_op >= 3 && raw_op <= 7) || raw_op >= 11)
                return fail(ev, ws_close::protocol_error, fmt::format("a frame with reserved opcode {:#x}", raw_op),
                            pos);
            auto op = static_cast<opcode>(raw_op);
            bool control = raw_op >= 8;
            if (len == 126) {
                len = (std::uint64_t{p[2]} << 8) | p[3];
            } else if (len == 127) {
                len = 0;
                for (int k = 0; k < 8; ++k)
                    len = (len << 8) | p[2 + k];
                if (len >> 63)
                    return fail(ev, ws_close::protocol_error, "a frame length with its most significant bit set", pos);
            }
            if (masked != from_client_)
                return fail(ev, ws_close::protocol_error,
                            from_client_ ? "an unmasked frame from the client" : "a masked frame from the server", pos);
            if (control) {
                if (!fin)
                    return fail(ev, ws_close::protocol_error, "a fragmented control frame", pos);
                if (len > 125)
                    return fail(ev, ws_close::protocol_error,
                                fmt::format("a control frame of {} bytes (at most 125)", len), pos);
                if (rsv1)
                    return fail(ev, ws_close::protocol_error, "a control frame with RSV1 set", pos);
            } else if (op == opcode::continuation) {
                if (!in_message_)
                    return fail(ev, ws_close::protocol_error, "a continuation frame with no message to continue", pos);
                if (rsv1)
                    return fail(ev, ws_close::protocol_error, "a continuation frame with RSV1 set", pos);
            } else {
                if (in_message_)
                    return fail(ev, ws_close::protocol_error, "a new data frame inside a fragmented message", pos);
                if (rsv1 && !inflater_)
                    return fail(ev, ws_close::protocol_error,
                                "a frame with RSV1 set, but no extension was agreed that uses it", pos);
            }
            if (!control && len > max_message_ - message_.size())
                return fail(ev, ws_close::message_too_big,
                            fmt::format("a message of more than {} bytes (the limit)", max_message_), pos);
            if (masked)
                std::memcpy(mask_.data(), p + h - 4, 4);
            pos += h;
            fin_ = fin;
            masked_ = masked;
            op_ = op;
            left_ = len;
            mask_pos_ = 0;
            in_payload_ = true;
            if (control) {
                control_.clear();
            } else if (op != opcode::continuation) {
                in_message_ = true;
                compressed_ = rsv1;
                type_ = op == opcode::text ? ws_message_type::text : ws_message_type::binary;
                utf8_.reset();
            }
        }
        // The payload, as much as has arrived.
        std::size_t take = static_cast<std::size_t>(std::min<std::uint64_t>(left_, n - pos));
        char* chunk = data + pos;
        if (masked_ && take)
            apply_mask(chunk, take, mask_, mask_pos_);
        mask_pos_ += take;
        left_ -= take;
        pos += take;
        bool control = static_cast<unsigned>(op_) >= 8;
        if (control) {
            control_.append(chunk, take);
        } else if (take) {
            if (type_ == ws_message_type::text && !compressed_ &&
                !utf8_.feed(reinterpret_cast<const unsigned char*>(chunk), take))
                return fail(ev, ws_close::invalid_data, "invalid UTF-8 in a text message", pos);
            message_.append(chunk, take);
        }
        if (left_ > 0)
            return pos;
        in_payload_ = false;
        if (control) {
            if (!finish_control(ev))
                return pos;
            return pos;
        }
        if (fin_) {
            finish_message(ev);
            return pos;
        }
    }
}

bool frame_reader::finish_control(reader_event& ev) {
    switch (op_) {
    case opcode::ping:
        ev.kind = reader_event::ping;
        ev.data = std::move(control_);
        return true;
    case opcode::pong:
        ev.kind = reader_event::pong;
        ev.data = std::move(control_);
        return true;
    default:   // close
        break;
    }
    if (control_.size() == 1) {
        fail(ev, ws_close::protocol_error, "a close frame with a 1-byte payload", 0);
        return false;
    }
    std::uint16_t code = ws_close::no_status;
    std::string_view reason;
    if (control_.size() >= 2) {
        code = static_cast<std::uint16_t>((static_cast<unsigned char>(control_[0]) << 8) |
                                          static_cast<unsigned char>(control_[1]));
        if (!close_code_receivable(code)) {
            fail(ev, ws_close::protocol_error, fmt::format("a close frame with the invalid code {}", code), 0);
            return false;
        }
        reason = std::string_view(control_).substr(2);
        if (!valid_utf8(reason)) {
            fail(ev, ws_close::invalid_data, "invalid UTF-8 in a close frame's reason", 0);
            return false;
        }
    }
    ev.kind = reader_event::close;
    ev.code = code;
    ev.data = std::string(reason);
    failed_ = true;   // nothing may follow a close frame
    return true;
}

bool frame_reader::finish_message(reader_event& ev) {
    in_message_ = false;
    if (compressed_) {
        std::string out;
        std::string why;
        switch (inflater_->inflate(message_, out, max_message_, why)) {
        case inflater::result::ok:
            break;
        case inflater::result::too_big:
            fail(ev, ws_close::message_too_big,
                 fmt::format("a compressed message that inflates past {} bytes (the limit)", max_message_), 0);
            return false;
        case inflater::result::corrupt:
            fail(ev, ws_close::invalid_data, fmt::format("a compressed message that does not inflate: {}", why), 0);
            return false;
        }
        message_ = std::move(out);
        if (type_ == ws_message_type::text && !valid_utf8(message_)) {
            fail(ev, ws_close::invalid_data, "invalid UTF-8 in a text message", 0);
            return false;
        }
    } else if (type_ == ws_message_type::text && !utf8_.complete()) {
        fail(ev, ws_close::invalid_data, "invalid UTF-8 in a text message (it ends inside a character)", 0);
        return false;
    }
    ev.kind = reader_event::message;
    ev.type = type_;
    ev.data = std::move(message_);
    message_ = std::string();
    return true;
}

// ---- the handshake ----------------------------------------------------------

namespace {

std::uint32_t rotl(std::uint32_t x, int n) noexcept { return (x << n) | (x >> (32 - n)); }

void sha1_block(std::uint32_t h[5], const unsigned char* b) noexcept {
    std::uint32_t w[80];
    for (std::size_t t = 0; t < 16; ++t)
        w[t] = (std::uint32_t{b[4 * t]} << 24) | (std::uint32_t{b[4 * t + 1]} << 16) |
               (std::uint32_t{b[4 * t + 2]} << 8) | std::uint32_t{b[4 * t + 3]};
    for (int t = 16; t < 80; ++t)
        w[t] = rotl(w[t - 3] ^ w[t - 8] ^ w[t - 14] ^ w[t - 16], 1);
    std::uint32_t a = h[0], bb = h[1], c = h[2], d = h[3], e = h[4];
    for (int t = 0; t < 80; ++t) {
        std::uint32_t f, k;
        if (t < 20) {
            f = (bb & c) | (~bb & d);
            k = 0x5A827999;
        } else if (t < 40) {
            f = bb ^ c ^ d;
            k = 0x6ED9EBA1;
        } else if (t < 60) {
            f = (bb & c) | (bb & d) | (c & d);
            k = 0x8F1BBCDC;
        } else {
            f = bb ^ c ^ d;
            k = 0xCA62C1D6;
        }
        std::uint32_t tmp = rotl(a, 5) + f + e + k + w[t];
        e = d;
        d = c;
        c = rotl(bb, 30);
        bb = a;
        a = tmp;
    }
    h[0] += a;
    h[1] += bb;
    h[2] += c;
    h[3] += d;
    h[4] += e;
}

constexpr char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

constexpr std::string_view ws_guid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

}  // namespace

std::array<unsigned char, 20> sha1(std::string_view data) noexcept {
    std::uint32_t h[5] = {0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0};
    auto* p = reinterpret_cast<const unsigned char*>(data.data());
    std::size_t n = data.size();
    std::size_t i = 0;
    for (; i + 64 <= n; i += 64)
        sha1_block(h, p + i);
    unsigned char last[128] = {};
    std::size_t rest = n - i;
    std::memcpy(last, p + i, rest);
    last[rest] = 0x80;
    std::size_t blocks = rest + 9 <= 64 ? 1 : 2;
    std::uint64_t bits = static_cast<std::uint64_t>(n) * 8;
    for (int k = 0; k < 8; ++k)
        last[blocks * 64 - 1 - k] = static_cast<unsigned char>(bits >> (8 * k));
    for (std::size_t b = 0; b < blocks; ++b)
        sha1_block(h, last + 64 * b);
    std::array<unsigned char, 20> out;
    for (int k = 0; k < 5; ++k)
        for (int j = 0; j < 4; ++j)
            out[4 * k + j] = static_cast<unsigned char>(h[k] >> (24 - 8 * j));
    return out;
}

std::string base64_encode(const unsigned char* p, std::size_t n) {
    std::string out;
    out.reserve((n + 2) / 3 * 4);
    std::size_t i = 0;
    for (; i + 3 <= n; i += 3) {
        std::uint32_t v = (std::uint32_t{p[i]} << 16) | (std::uint32_t{p[i + 1]} << 8) | p[i + 2];
        out += b64[v >> 18];
        out += b64[(v >> 12) & 63];
        out += b64[(v >> 6) & 63];
        out += b64[v & 63];
    }
    if (n - i == 1) {
        std::uint32_t v = std::uint32_t{p[i]} << 16;
        out += b64[v >> 18];
        out += b64[(v >> 12) & 63];
        out += "==";
    } else if (n - i == 2) {
        std::uint32_t v = (std::uint32_t{p[i]} << 16) | (std::uint32_t{p[i + 1]} << 8);
        out += b64[v >> 18];
        out += b64[(v >> 12) & 63];
        out += b64[(v >> 6) & 63];
        out += '=';
    }
    return out;
}

bool valid_key(std::string_view key) noexcept {
    // 16 bytes: 22 characters of the alphabet, the last of which carries
    // 2 bits (so its low 4 bits are zero: A, Q, g or w), then "==".
    if (key.size() != 24 || key[22] != '=' || key[23] != '=')
        return false;
    constexpr std::string_view alphabet(b64, 64);  // without b64's terminating '\0'
    for (std::size_t i = 0; i < 22; ++i)
        if (alphabet.find(key[i]) == std::string_view::npos)
            return false;
    char last = key[21];
    return last == 'A' || last == 'Q' || last == 'g' || last == 'w';
}

std::string accept_value(std::string_view key) {
    std::string s;
    s.reserve(key.size() + ws_guid.size());
    s.append(key);
    s.append(ws_guid);
    auto d = sha1(s);
    return base64_encode(d.data(), d.size());
}

std::string new_key() {
    unsigned char k[16];
    for (std::size_t i = 0; i < 4; ++i) {
        auto m = random_mask();
        std::memcpy(k + 4 * i, m.data(), 4);
    }
    return base64_encode(k, 16);
}

}  // namespace vow::net::detail::ws

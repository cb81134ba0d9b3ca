// net/read_framing.hpp - how a stream's reads are cut out of its buffered
// input: read_exactly, read_until and read_line completed from a
// byte_buffer, the end of stream for each, and the dropping of a line longer
// than read_line's max. One definition for every stream (tcp_stream's
// stream_impl, vow-tls's buffered_reader), so they keep one contract
// (vow/net/tcp/stream.hpp). Private to the network layer and header-only,
// like byte_buffer.hpp; the callers keep what differs (where bytes come from,
// read_some's storage, closing and socket errors).
#pragma once

#include "byte_buffer.hpp"

#include <vow/net/error.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <exception>
#include <limits>
#include <string>
#include <string_view>

namespace vow::net::detail {

enum class read_kind : unsigned char { some, exactly, until, line };

// What a completion decided: a value, read_line's clean end of stream
// (`end`: std::nullopt), or an error.
struct read_result {
    std::string value;
    std::exception_ptr error;
    bool end = false;
};

// read_exactly(n): the first n bytes once there are.
inline bool frame_exactly(byte_buffer& in, std::size_t n, read_result& res) {
    if (in.size() < n)
        return false;
    res.value = in.take(n);
    return true;
}

// read_until(delim, max): the bytes through the first delimiter within max
// bytes, or a limit_error once max bytes hold none (they stay buffered).
// `scanned` carries how far earlier calls searched. `type` names the stream
// in the message ("tcp_stream").
inline bool frame_until(byte_buffer& in, std::string_view delim, std::size_t max, std::size_t& scanned,
                        read_result& res, std::string_view type) {
    const std::string_view buf = in.view();
    const std::size_t dl = delim.size();
    const std::size_t from = scanned >= dl ? scanned - (dl - 1) : 0;
    const std::size_t limit = std::min(buf.size(), max);
    const std::size_t pos = buf.substr(0, limit).find(delim, from);
    if (pos != std::string_view::npos) {
        res.value = in.take(pos + dl);
        return true;
    }
    scanned = limit;
    if (buf.size() < max)
        return false;
    res.error = std::make_exception_ptr(limit_error(fmt::format(
        "vow::net::{}::read_until: no delimiter in the first {} bytes (max_bytes); they stay buffered", type, max)));
    return true;
}

// read_line(max): the line at the front if it is complete, or a limit_error
// once the bytes prove it longer than max, and then its buffered bytes are
// dropped through its '\n'. A line of max bytes plus "\r\n" has its '\n'
// within the first max + 2 bytes, so no more are ever searched. Sets
// `rest_to_drop` when the line's '\n' has not arrived yet: the caller then
// drops what arrives until it (unless the stream has ended).
inline bool frame_line(byte_buffer& in, std::size_t max, std::size_t& scanned, read_result& res,
                       std::string_view type, bool& rest_to_drop) {
    const std::string_view buf = in.view();
    const std::size_t window =
        std::min(buf.size(), max > std::numeric_limits<std::size_t>::max() - 2 ? buf.size() : max + 2);
    const std::size_t pos = buf.substr(0, window).find('\n', scanned);
    if (pos != std::string_view::npos) {
        const std::size_t len = pos > 0 && buf[pos - 1] == '\r' ? pos - 1 : pos;
        if (len <= max) {
            res.value = in.take(pos + 1);
            res.value.resize(len);
            return true;
        }
    } else {
        scanned = window;
        // Still within max, or max + 1 bytes whose last is a '\r' that a
        // '\n' may follow: the line may yet fit.
        if (buf.size() <= max || (buf.size() - max == 1 && buf[max] == '\r'))
            return false;
    }
    res.error = std::make_exception_ptr(limit_error(
        fmt::format("vow::net::{}::read_line: a line is longer than max ({} bytes); it is dropped through its "
                    "'\\n', so the next read starts on the line after it",
                    type, max)));
    const std::size_t nl = in.view().find('\n', pos == std::string_view::npos ? window : pos);
    if (nl != std::string_view::npos) {
        in.consume(nl + 1);
    } else {
        in.clear();
        rest_to_drop = true;
    }
    return true;
}

// The end of stream for a read of `kind` that the buffer could not
// complete: read_some "" (nothing to do), read_line its unterminated last
// line (without a '\r' that ends it, a "\r\n" cut short, as Go's
// bufio.ScanLines) or std::nullopt, read_exactly and read_until an
// incomplete_read holding what did arrive. `name` is the operation.
inline void frame_at_end(byte_buffer& in, read_kind kind, std::size_t n, read_result& res, std::string_view type,
                         std::string_view name) {
    if (kind == read_kind::some)
        return;   // "" marks the end of stream
    if (kind == read_kind::line) {
        // frame_line left at most max bytes, or max + 1 ending in '\r'.
        if (in.empty()) {
            res.end = true;
        } else {
            res.value = in.take_all();
            if (res.value.back() == '\r')
                res.value.pop_back();
        }
        return;
    }
    auto partial = in.take_all();
    const auto got = partial.size();
    res.error = std::make_exception_ptr(incomplete_read(
        fmt::format("vow::net::{}::{}: the stream ended after {} of {} bytes", type, name, got,
                    kind == read_kind::exactly ? fmt::to_string(n) : fmt::format("at most {}", n)),
        std::move(partial)));
}

// Drops the start of a chunk that belongs to a too-long line, through its
// '\n' (clearing `dropping` there); false if nothing is left of the chunk.
inline bool skip_dropped_line(const char*& data, std::size_t& size, bool& dropping) noexcept {
    const void* nl = std::memchr(data, '\n', size);
    if (!nl)
        return false;
    dropping = false;
    const auto skip = static_cast<std::size_t>(static_cast<const char*>(nl) - data) + 1;
    data += skip;
    size -= skip;
    return size > 0;
}

}  // namespace vow::net::detail

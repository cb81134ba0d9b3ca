// vow::net::static_files: request path -> a name beneath the root (decoded
// once, refused if suspicious), vow::fs::open_beneath_with_status on the
// pool, then validators, conditionals and ranges on the reactor's thread.
#include <vow/error.hpp>
#include <vow/fs/directory.hpp>
#include <vow/fs/error.hpp>
#include <vow/net/http/static_files.hpp>
#include <vow/promise/make_future.hpp>

#include "parser.hpp"
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdint>
#include <ctime>
#include <memory>
#include <optional>
#include <utility>
#include <variant>

namespace vow::net {

namespace {

using detail::http_date;
using detail::iequals;
using detail::parse_http_date;
using detail::trim_ows;

// --- Content types ---------------------------------------------------------

struct type_row {
    std::string_view extension;
    std::string_view type;
};

constexpr std::array<type_row, 40> content_types{{
    {"html", "text/html; charset=utf-8"},
    {"htm", "text/html; charset=utf-8"},
    {"css", "text/css; charset=utf-8"},
    {"js", "text/javascript; charset=utf-8"},
    {"mjs", "text/javascript; charset=utf-8"},
    {"json", "application/json"},
    {"map", "application/json"},
    {"webmanifest", "application/manifest+json"},
    {"txt", "text/plain; charset=utf-8"},
    {"md", "text/markdown; charset=utf-8"},
    {"csv", "text/csv; charset=utf-8"},
    {"xml", "application/xml"},
    {"svg", "image/svg+xml"},
    {"png", "image/png"},
    {"jpg", "image/jpeg"},
    {"jpeg", "image/jpeg"},
    {"gif", "image/gif"},
    {"webp", "image/webp"},
    {"avif", "image/avif"},
    {"ico", "image/vnd.microsoft.icon"},
    {"bmp", "image/bmp"},
    {"wasm", "application/wasm"},
    {"pdf", "application/pdf"},
    {"zip", "application/zip"},
    {"gz", "application/gzip"},
    {"tar", "application/x-tar"},
    {"mp4", "video/mp4"},
    {"webm", "video/webm"},
    {"ogv", "video/ogg"},
    {"mp3", "audio/mpeg"},
    {"ogg", "audio/ogg"},
    {"oga", "audio/ogg"},
    {"wav", "audio/wav"},
    {"flac", "audio/flac"},
    {"woff", "font/woff"},
    {"woff2", "font/woff2"},
    {"ttf", "font/ttf"},
    {"otf", "font/otf"},
    {"eot", "application/vnd.ms-fontobject"},
    {"yaml", "application/yaml"},
}};

constexpr std::string_view octet_stream = "application/octet-stream";

// --- Request path -> a name beneath the root --------------------------------

// The name to open, or the response that refuses the request.
struct wanted {
    std::string relative;    // "" for the root itself
    bool directory = false;  // the path ended with '/' (or was the prefix)
};

http_response refuse(int status, std::string_view why) {
    return http_response::text(fmt::format("{}: {}\n", http_reason_phrase(status), why), status);
}

std::variant<wanted, http_response> decode_path(std::string_view path,
                                                const static_files_options& o) {
    if (!path.starts_with(o.prefix))
        return refuse(404, "the path is not under this handler's prefix");
    std::string_view rest = path.substr(o.prefix.size());
    wanted w;
    w.directory = rest.empty() || rest.back() == '/';
    std::string& out = w.relative;
    out.reserve(rest.size());
    std::size_t segment_start = 0;
    // Each segment is checked once it is complete (at '/' or the end).
    auto end_segment = [&]() -> std::optional<http_response> {
        std::string_view segment = std::string_view(out).substr(segment_start);
        if (segment == "." || segment == "..")
            return refuse(404, "the path has a '.' or '..' segment");
        if (segment.size() > NAME_MAX)
            return refuse(404, "a name in the path is longer than NAME_MAX");
        if (!o.dot_files && segment.starts_with('.'))
            return refuse(404, "names that start with '.' are not served");
        return std::nullopt;
    };
    for (std::size_t i = 0; i < rest.size(); ++i) {
        char c = rest[i];
        if (c == '/') {
            if (out.size() == segment_start)
                return refuse(404, "the path has an empty segment");
            if (auto refused = end_segment())
                return std::move(*refused);
            out += '/';
            segment_start = out.size();
            continue;
        }
        if (c == '%') {
            int hi = i + 2 < rest.size() ? detail::hex_value(rest[i + 1]) : -1;
            int lo = hi >= 0 ? detail::hex_value(rest[i + 2]) : -1;
            if (lo < 0)
                return refuse(400, "a '%' in the path is not followed by two hex digits");
            c = static_cast<char>(hi * 16 + lo);
            i += 2;
            if (c == '/')
                return refuse(404, "the path has an encoded '/' (%2F)");
        }
        const auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u == 0x7f)
            return refuse(400, "the path has a NUL or control character");
        if (c == '\\')
            return refuse(404, "the path has a '\\'");
        out += c;
    }
    if (out.size() > segment_start)
        if (auto refused = end_segment())
            return std::move(*refused);
    if (out.size() + o.index.size() >= PATH_MAX)
        return refuse(404, "the path is longer than PATH_MAX");
    return w;
}

// --- Dates, validators, ranges ----------------------------------------------

std::optional<std::uint64_t> number(std::string_view s) noexcept {
    std::uint64_t n = 0;
    return detail::parse_decimal(s, n) ? std::optional<std::uint64_t>(n) : std::nullopt;
}

// If-None-Match: "*", or a list of entity tags compared weakly (W/ ignored).
bool none_match(std::string_view header, std::string_view etag) noexcept {
    if (trim_ows(header) == "*")
        return true;
    while (!header.empty()) {
        std::size_t comma = header.find(',');
        std::string_view tag = trim_ows(header.substr(0, comma));
        if (tag.starts_with("W/"))
            tag.remove_prefix(2);
        if (tag == etag)
            return true;
        header = comma == std::string_view::npos ? std::string_view() : header.substr(comma + 1);
    }
    return false;
}

struct byte_range {
    std::uint64_t first = 0;
    std::uint64_t length = 0;
};

// A Range header: the whole file (nullopt: several ranges, or it does not
// parse), one range, or unsatisfiable (a range of length 0).
struct range_answer {
    bool whole = true;
    byte_range range;
};

range_answer parse_range(std::string_view header, std::uint64_t size) noexcept {
    header = trim_ows(header);
    if (header.size() < 6 || !iequals(header.substr(0, 6), "bytes="))
        return {};
    std::string_view spec = trim_ows(header.substr(6));
    if (spec.find(',') != std::string_view::npos)
        return {};  // several ranges: the whole file, which the RFC allows
    std::size_t dash = spec.find('-');
    if (dash == std::string_view::npos)
        return {};
    std::string_view a = trim_ows(spec.substr(0, dash)), b = trim_ows(spec.substr(dash + 1));
    if (a.empty()) {  // -n: the last n bytes
        auto n = number(b);
        if (!n)
            return {};
        std::uint64_t length = std::min(*n, size);
        return {false, {size - length, length}};  // n == 0 or an empty file: unsatisfiable
    }
    auto first = number(a);
    auto last = b.empty() ? std::optional<std::uint64_t>(UINT64_MAX) : number(b);
    if (!first || !last || *last < *first)
        return {};
    if (*first >= size)
        return {false, {0, 0}};
    return {false, {*first, std::min(*last, size - 1) - *first + 1}};
}

std::time_t seconds_of(std::chrono::system_clock::time_point t) {
    return static_cast<std::time_t>(
        std::chrono::floor<std::chrono::seconds>(t.time_since_epoch()).count());
}

}  // namespace

std::string_view content_type_for(std::string_view file_name) noexcept {
    std::size_t dot = file_name.rfind('.');
    std::size_t slash = file_name.rfind('/');
    if (dot == std::string_view::npos || (slash != std::string_view::npos && dot < slash))
        return octet_stream;
    std::string_view extension = file_name.substr(dot + 1);
    for (const auto& row : content_types)
        if (iequals(row.extension, extension))
            return row.type;
    return octet_stream;
}

struct static_files::state {
    reactor* r;
    fs::directory root;
    static_files_options options;

    // Opens `relative` and answers with it; `redirect_directory`: a
    // directory gets a 301 to the path with a '/'.
    future<http_response> serve(const std::shared_ptr<const state>& self, const http_request& req,
                                std::string relative, bool redirect_directory) const;
    // The response for an opened file, given its status and the request.
    http_response respond(const http_request& req, std::shared_ptr<fs::file> f,
                          const fs::file_status& st) const;
};

static_files::static_files(reactor& r, std::string root, static_files_options options) {
    const auto& p = options.prefix;
    if (p.empty() || p.front() != '/' || p.back() != '/')
        throw invalid_argument(
            fmt::format("vow::net::static_files: the prefix '{}' must start and end with '/'", p));
    const auto& i = options.index;
    if (i.find('/') != std::string::npos || i == "." || i == ".." ||
        i.find('\0') != std::string::npos)
        throw invalid_argument(fmt::format(
            "vow::net::static_files: the index '{}' must be a plain file name (or empty)", i));
    state_ = std::make_shared<const state>(
        state{&r, fs::directory(std::move(root)), std::move(options)});
}

http_response static_files::state::respond(const http_request& req, std::shared_ptr<fs::file> f,
                                           const fs::file_status& st) const {
    const auto modified = seconds_of(st.modified);
    const auto nanoseconds =
        std::chrono::duration_cast<std::chrono::nanoseconds>(st.modified.time_since_epoch());
    const std::string etag = fmt::format("\"{:x}-{:x}\"", st.size, nanoseconds.count());
    const std::string last_modified = http_date(modified);

    http_response res;
    res.headers.add("ETag", etag);
    res.headers.add("Last-Modified", last_modified);
    if (!options.cache_control.empty())
        res.headers.add("Cache-Control", options.cache_control);

    // RFC 9110, 13.2.2: If-None-Match, when present, decides alone.
    bool not_modified = false;
    if (auto inm = req.headers.get("If-None-Match"))
        not_modified = none_match(*inm, etag);
    else if (auto ims = req.headers.get("If-Modified-Since"))
        if (auto since = parse_http_date(trim_ows(*ims)))
            not_modified = modified <= *since;
    if (not_modified) {
        res.status = 304;
        return res;
    }

    res.headers.add("Content-Type", std::string(content_type_for(f->path())));
    res.headers.add("Accept-Ranges", "bytes");
    range_answer ranged;
    if (auto range = req.headers.get("Range"); range && req.method == "GET") {
        bool current = true;
        if (auto if_range = req.headers.get("If-Range")) {
            std::string_view v = trim_ows(*if_range);
            current = v.starts_with('"')
                          ? v == etag
                          : parse_http_date(v) == std::optional<std::time_t>(modified);
        }
        if (current)
            ranged = parse_range(*range, st.size);
    }
    if (!ranged.whole && ranged.range.length == 0) {
        res.status = 416;
        res.headers.add("Content-Range", fmt::format("bytes */{}", st.size));
        res.headers.set("Content-Type", "text/plain; charset=utf-8");
        res.body = fmt::format("Range Not Satisfiable: the file has {} bytes\n", st.size);
        return res;
    }
    byte_range region{0, st.size};
    if (!ranged.whole) {
        region = ranged.range;
        res.status = 206;
        res.headers.add("Content-Range", fmt::format("bytes {}-{}/{}", region.first,
                                                     region.first + region.length - 1, st.size));
    }
    // The fields themselves, not http_body_source::from_file: the same
    // value, without needing the sending side's definition.
    res.body_source.file = std::move(f);
    res.body_source.offset = region.first;
    res.body_source.length = region.length;
    return res;
}

future<http_response> static_files::operator()(const http_request& req) const {
    auto s = state_;
    if (req.method != "GET" && req.method != "HEAD") {
        auto res = refuse(405, "static files answer GET and HEAD only");
        res.headers.add("Allow", "GET, HEAD");
        return make_ready_future(*s->r, std::move(res));
    }
    auto decoded = decode_path(req.path, s->options);
    if (auto* refused = std::get_if<http_response>(&decoded))
        return make_ready_future(*s->r, std::move(*refused));
    auto& w = std::get<wanted>(decoded);
    if (!w.directory)
        return s->serve(s, req, std::move(w.relative), true);
    if (s->options.index.empty())
        return make_ready_future(*s->r, refuse(404, "directories are not listed"));
    return s->serve(s, req, w.relative + s->options.index, false);
}

future<http_response> static_files::state::serve(const std::shared_ptr<const state>& self,
                                                 const http_request& req, std::string relative,
                                                 bool redirect_directory) const {
    fs::open_beneath_options how;
    how.follow_symlinks_outside = options.follow_symlinks_outside_root;
    how.pool = options.pool;
    // `req` outlives the future: the server keeps it until the response is
    // complete (vow/net/http/server.hpp), and so must a direct caller.
    return fs::open_beneath_with_status(*r, root, std::move(relative), how)
        .then([self, &req](fs::opened_file opened) {
            return self->respond(req, std::make_shared<fs::file>(std::move(opened.f)),
                                 opened.status);
        })
        .catch_([self, &req, redirect_directory](const fs::fs_error& e) -> http_response {
            switch (e.code().value()) {
                case EISDIR:
                    if (redirect_directory && !self->options.index.empty()) {
                        http_response res =
                            refuse(301, "a directory: its index is at the path with a '/'");
                        res.headers.add("Location", req.query.empty()
                                                        ? req.path + "/"
                                                        : req.path + "/?" + req.query);
                        return res;
                    }
                    return refuse(404, "not found");
                case ENOENT:
                case ENOTDIR:
                case EXDEV:  // outside the root: say no more than for a missing file
                case ELOOP:
                case ENAMETOOLONG:
                    return refuse(404, "not found");
                case EACCES:
                case EPERM:
                    return refuse(403, "the file cannot be served");
                default:
                    throw e;
            }
        });
}

}  // namespace vow::net

/// @file
/// HTTP bodies of any size: sent from a producer of chunks or from a file,
/// received by a consumer of chunks.
///
/// Memory stays bounded by one chunk plus the stream's high-water mark,
/// whatever the body's size.
///
/// @code
/// // A response (or a request) whose body is produced as it is sent:
/// vow::net::http_response res;
/// res.body_source.next = [n = 0]() mutable -> vow::future<std::optional<std::string>> {
///     if (n == 1000)
///         return vow::make_ready_future(std::optional<std::string>());   // the end
///     return vow::make_ready_future(std::optional<std::string>(fmt::format("line {}\n", n++)));
/// };                                    // no length: sent chunked (Transfer-Encoding)
///
/// // A file, whole or a region of it (sendfile(2) on a plain TCP connection):
/// vow::net::http_body_source::from_file(std::make_shared<vow::fs::file>(std::move(f)), 0, size);
/// @endcode
///
/// A producer is called on the reactor's thread, one call at a time, and
/// again only once the chunk it gave was taken by the connection (into the
/// kernel, or down to the stream's high-water mark): a slow peer slows the
/// producer. A rejected chunk future aborts the message: the connection is
/// closed (its framing cannot be finished), and the error goes where the
/// sender reports errors (the server's error hook, the client's future).
#pragma once

#include <vow/fs/file.hpp>
#include <vow/promise/future.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace vow::net {

/// A body sent as it is produced (`next`) or from a file (`file`), set in
/// http_response::body_source or request_options::body_source. Empty (false)
/// by default: the message's plain `body` is sent instead.
struct http_body_source {
    /// The next chunk, std::nullopt at the end (an empty chunk is skipped).
    std::function<future<std::optional<std::string>>()> next = {};
    /// The body's size when known: sent as Content-Length, and the producer
    /// must give exactly that many bytes (more, or an end before them, aborts
    /// the message with vow::net::http_error). nullopt: sent with the chunked
    /// transfer coding. Required with `file`.
    std::optional<std::uint64_t> length = {};
    /// Instead of `next`: the region [offset, offset + *length) of an open
    /// file, sent with sendfile(2) on a plain TCP connection and read in
    /// chunks on the file's pool otherwise (TLS). The file is shared so that
    /// it stays open until the body is sent.
    std::shared_ptr<fs::file> file = {};
    /// With `file`: where in the file the body starts (0 by default).
    std::uint64_t offset = 0;

    /// Whether there is a body to stream (a producer or a file).
    [[nodiscard]] explicit operator bool() const noexcept { return next || file; }

    /// The region [offset, offset + length) of `f`. Throws
    /// vow::invalid_argument if `f` is null or not open.
    [[nodiscard]] static http_body_source from_file(std::shared_ptr<fs::file> f, std::uint64_t offset,
                                                    std::uint64_t length);
};

/// Receives a body in chunks, on the reactor's thread, in order: the next
/// chunk is read from the connection only once the returned future settles
/// (a slow consumer slows the sender through TCP's window). A rejection
/// aborts the transfer with that error.
using http_body_sink = std::function<future<void>(std::string chunk)>;

/// Opens `path` to read (vow::fs::open) and gives the whole file as a body
/// source: {file, 0, its size}. Rejects with vow::fs::fs_error as open() and
/// stat() do (ENOENT, EACCES, ...). The size is the one at the call: a file
/// that shrinks before it is sent fails the transfer (http_error).
///
/// @code
/// vow::net::file_body(r, "upload.bin").then([&](vow::net::http_body_source src) {
///     vow::net::request_options ro;
///     ro.body_source = std::move(src);
///     return client.request("PUT", url, {}, std::move(ro));
/// });
/// @endcode
[[nodiscard]] future<http_body_source> file_body(reactor& r, std::string path);

/// A sink that writes each chunk at `f`'s position (file::write), the next
/// chunk accepted once the last is written: a slow disk slows the sender.
/// `f` is shared so that it stays open while chunks are in flight. Throws
/// vow::invalid_argument if `f` is null or not open.
///
/// @code
/// ro.on_body = vow::net::file_sink(std::make_shared<vow::fs::file>(std::move(out)));
/// @endcode
[[nodiscard]] http_body_sink file_sink(std::shared_ptr<fs::file> f);

}  // namespace vow::net

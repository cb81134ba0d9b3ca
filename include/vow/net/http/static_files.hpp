/// @file
/// vow::net::static_files: an http_server handler that serves the files under
/// one directory.
///
/// @code
/// vow::net::http_server server(r, "0.0.0.0", 8080);
/// vow::net::static_files files(r, "./public", {.prefix = "/static/"});
/// server.get("/static/{path...}", files);   // /static/css/site.css -> ./public/css/site.css
/// server.get("/{path...}", vow::net::static_files(r, "./public"));   // / -> ./public/index.html
/// @endcode
#pragma once

#include <vow/net/http/message.hpp>
#include <vow/promise/future.hpp>
#include <vow/promise/thread_pool.hpp>
#include <vow/reactor/reactor.hpp>

#include <memory>
#include <string>
#include <string_view>

namespace vow::net {

/// How a static_files handler maps paths to files, and what it serves.
struct static_files_options {
    /// The part of req.path that names the root; it must start and end with
    /// '/' (vow::invalid_argument otherwise).
    std::string prefix = "/";
    /// Served for a path that names a directory; "" for none (404).
    std::string index = "index.html";
    /// Let symlinks under the root lead outside it (off: refused, 404).
    bool follow_symlinks_outside_root = false;
    /// Serve names that start with '.' (off: 404, so that a ".git/" or
    /// ".env" left in the root does not leak).
    bool dot_files = false;
    /// The Cache-Control value of 200, 206 and 304 responses; "" for none.
    std::string cache_control = {};
    /// Where the file system calls run; nullptr: thread_pool::default_pool().
    thread_pool* pool = nullptr;
};

/// The Content-Type for a file name, by its extension (case-insensitive):
/// "text/html; charset=utf-8" for "a.html", "application/octet-stream" for
/// one the table does not know. Text types carry "; charset=utf-8".
[[nodiscard]] std::string_view content_type_for(std::string_view file_name) noexcept;

/// An http_server handler that serves the files under one directory: GET and
/// HEAD, Content-Type by extension, conditional requests (ETag, Last-Modified,
/// 304), single byte ranges (206, 416), an index file, and no way out of the
/// directory.
///
/// What a request asks for is `req.path` (as sent, never decoded by the
/// server) without `prefix`: a request whose path does not start with it is
/// answered 404. The handler percent-decodes that rest once and splits it
/// at '/'. It answers 400 (plain text saying why) to a path that is not
/// well-formed: a `%` not followed by two hex digits, or a decoded NUL or
/// control character. It answers 404, before any file system call, to
/// names it will not serve: a "." or ".." segment, an empty segment (as in
/// "a//b"; a trailing '/' is not one), a ``'\'`` (raw or `%5C`), a '/' that
/// came from `%2F`, a segment over NAME_MAX (255) bytes or a path over PATH_MAX
/// (4096), and (unless `dot_files`) a segment that starts with '.' (".env",
/// ".git/"). Decoding is done once only: `%252e%252e` is the name `"%2e%2e"`.
///
/// The file is then opened with vow::fs::open_beneath (`<vow/fs/directory.hpp>`:
/// openat2 with RESOLVE_BENEATH where the kernel has it, open-then-verify
/// through /proc where it does not), so a symlink that leads outside the
/// root is refused by the kernel while it resolves the path, not by a check
/// that a rename could race; such a refusal is a 404, which says nothing of
/// what lies outside. `follow_symlinks_outside_root` lets symlinks lead
/// anywhere (nginx's default; the request's own path still cannot climb
/// out). A missing file, or a file with a '/' after its name, is 404; a file
/// the process may not read, or one that is not a regular file (a FIFO, a
/// device), 403; any other error rejects the future, which the server
/// answers with 500 and reports to its error hook.
///
/// Directories: a path that ends with '/' (or is the prefix itself) serves
/// `index` in that directory; a directory named without the '/' is
/// redirected there (301, as nginx does, so that relative links in the index
/// work). With no index file, or `index` empty, a directory is 404: there is
/// never a listing.
///
/// Responses: 200 with the file as `body_source` (http_body_source with
/// `file`, `offset` 0 and `length` the size: the server sends it, with
/// sendfile(2) where it can), Content-Type by extension (content_type_for),
/// Accept-Ranges: bytes, ETag, Last-Modified, and Cache-Control if set.
/// HEAD gets the same response (the server sends no body for HEAD).
///
/// Validators: the ETag is strong, `"<size>-<mtime>"` in hex, the
/// modification time in nanoseconds, as nginx's (which uses seconds):
/// strong, so that If-Range may use it; it assumes a file is not rewritten
/// to the same size within one clock tick of the file system. Last-Modified
/// is the modification time in seconds. If-None-Match (a list, or "*";
/// compared weakly) answers 304 when it matches, and when it is present
/// If-Modified-Since is ignored (RFC 9110, 13.2.2); otherwise
/// If-Modified-Since answers 304 when the file is not newer than it. Dates
/// are read in the IMF-fixdate form ("Sun, 06 Nov 1994 08:49:37 GMT"); a date
/// in another form is ignored (and the full file sent), as the RFC allows for
/// an invalid one. 304 carries ETag, Last-Modified and Cache-Control, no body.
///
/// Ranges (GET only; RFC 9110 has a server ignore Range on other methods):
/// one range "bytes=a-b", "bytes=a-" or "bytes=-n" answers 206 with
/// Content-Range and that region as `body_source`; one that starts past the
/// end (or "-0", or any range of an empty file) answers 416 with
/// `"Content-Range: bytes */<size>"`. Several ranges, or a Range header that
/// does not parse, get the whole file (200), as the RFC allows. If-Range with
/// an ETag (compared strongly) or a date (equal to Last-Modified) that does
/// not match gets the whole file too.
///
/// Methods: registered with http_server::get(), the handler sees only GET
/// and HEAD (the router answers 405 for the rest); called with another
/// method it answers 405 with "Allow: GET, HEAD".
///
/// Thread safety: thread-bound. A static_files is a handle to shared,
/// immutable state (copies are cheap and share the root's descriptor); call
/// it on the reactor's thread it was made with, where its futures settle.
/// The file system calls run on `pool`, never on the loop.
class static_files {
public:
    /// Opens `root` now (vow::fs::directory: one open(2) on the calling
    /// thread). Throws vow::fs::fs_error if it cannot be opened or is not a
    /// directory, vow::invalid_argument for a prefix that does not start and
    /// end with '/' or an index that is not a plain file name.
    static_files(reactor& r, std::string root, static_files_options options = {});

    /// Answers one request (see the class description); rejects only for unexpected file
    /// system errors (the server's 500). Reactor thread.
    [[nodiscard]] future<http_response> operator()(const http_request& req) const;

    struct state;

private:
    std::shared_ptr<const state> state_;
};

}  // namespace vow::net

/// @file
/// vow::fs::directory and open_beneath(): a directory held open, and files
/// opened beneath it that cannot escape it: what a file server resolves
/// request paths with.
///
/// @code
/// vow::fs::directory root("./public");                  // throws fs_error if not a directory
/// vow::fs::open_beneath(r, root, "css/site.css")        // future<vow::fs::file>
///     .then([](vow::fs::file f) { ... });
/// vow::fs::open_beneath(r, root, "../etc/passwd")       // rejects: fs_error EXDEV
/// @endcode
///
/// open_beneath() resolves the relative path with openat2(2) and
/// RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS: the kernel itself refuses, while
/// it resolves, any ".." above the directory, any absolute path, and any
/// symbolic link whose target lies outside the directory (or is absolute,
/// even one that points back inside) or goes through /proc's magic links.
/// There is no check-then-open window for a rename or a new symlink to slip
/// through. On a kernel without openat2 (ENOSYS: before Linux 5.6, or a
/// seccomp filter that hides it) it falls back to open-then-verify: openat(2)
/// beneath the directory's descriptor, then the opened file's path is read
/// back from /proc/self/fd and must lie under the directory's real path
/// (resolved when the directory was opened); otherwise the file is closed
/// and the call rejects with EXDEV. Without /proc the fallback cannot verify
/// and rejects with ENOTSUP. The fallback follows magic links like any
/// other (only where they lead is checked), and with follow_symlinks_outside
/// it checks nothing.
///
/// Before any system call, `relative` must be relative and free of ".."
/// segments and NUL bytes (EXDEV for the first two, EINVAL for NUL): what is
/// asked for is beneath the directory by its spelling, whatever the options.
///
/// Thread safety: a directory is an immutable shared handle (copies share
/// one descriptor, closed when the last copy goes): copies may be used from
/// any threads. open_beneath() is thread-bound like every call that makes a
/// future (`<vow/fs/file.hpp>`): call it on the reactor's thread.
#pragma once

#include <vow/fs/file.hpp>
#include <vow/promise/future.hpp>
#include <vow/promise/thread_pool.hpp>
#include <vow/reactor/reactor.hpp>

#include <memory>
#include <source_location>
#include <stop_token>
#include <string>

namespace vow::fs {

namespace detail {
struct directory_state;
struct directory_access;
}  // namespace detail

/// A directory held open, as the root that open_beneath() opens files under.
///
/// An immutable shared handle: copies share one descriptor, closed when the
/// last copy goes, and may be used from any threads.
class directory {
public:
    /// No directory (what a default-constructed one is).
    directory() noexcept = default;
    /// Opens `path` (O_PATH | O_DIRECTORY) now, on the calling thread: one
    /// open(2) and one readlink(2), for a program's setup, not for a loop
    /// that serves. Throws vow::fs::fs_error "open_directory" (ENOENT,
    /// ENOTDIR, EACCES, ...).
    explicit directory(std::string path);

    /// True unless default-constructed.
    [[nodiscard]] bool is_open() const noexcept { return state_ != nullptr; }
    /// The path it was opened with; throws vow::usage_error if not open.
    [[nodiscard]] const std::string& path() const;
    /// Its canonical absolute path when it was opened (no symlinks, no "..").
    [[nodiscard]] const std::string& real_path() const;

private:
    friend struct detail::directory_access;
    std::shared_ptr<const detail::directory_state> state_;
};

/// The options of open_beneath() and open_beneath_with_status().
struct open_beneath_options {
    /// Follow symbolic links wherever they lead, also outside the directory
    /// (nginx's default; drops RESOLVE_BENEATH). `relative` itself must still
    /// be beneath by its spelling (no "..", not absolute), and /proc's magic
    /// links are still refused.
    bool follow_symlinks_outside = false;
    /// Where the call runs and, with engine::thread_pool, the file's later
    /// calls; nullptr: thread_pool::default_pool(). Setting it makes
    /// engine::automatic choose the pool, as open_options::pool does.
    thread_pool* pool = nullptr;
    /// Which engine runs the file's reads (`<vow/fs/file.hpp>`); open_beneath
    /// throws vow::invalid_argument for engine::io_uring where it is unavailable.
    vow::fs::engine engine = vow::fs::engine::automatic;
    /// Cancels the open (`<vow/fs/file.hpp>`: a file opened meanwhile is closed).
    std::stop_token stop{};
};

/// Opens the regular file `relative` beneath `root` for reading. Rejects
/// with vow::fs::fs_error "open_beneath" naming root.path() + "/" +
/// relative: EXDEV if the path or a symlink on it leads outside `root`;
/// ENOENT, ENOTDIR (a trailing '/' on a file, too), ELOOP (a magic link, or
/// too many links), EACCES as open(2) says; EISDIR for a directory; EPERM for
/// what is neither a regular file nor a directory (a FIFO, a device, a
/// socket: never opened in a mode that could block). Throws
/// vow::invalid_argument if `root` is not open.
[[nodiscard]] future<file>
open_beneath(reactor& r, const directory& root, std::string relative,
             open_beneath_options options = {},
             std::source_location where = std::source_location::current());

/// What open_beneath_with_status gives: the file, and its status as
/// fstat(2) told it right after the open.
struct opened_file {
    file f;                   ///< The file, open for reading.
    file_status status = {};  ///< Its status right after the open.
};

/// open_beneath, with the file's status from the same job on the pool: one
/// trip to a worker where open_beneath and then file::stat take two (what a
/// file server does for every request). Same errors.
[[nodiscard]] future<opened_file>
open_beneath_with_status(reactor& r, const directory& root, std::string relative,
                         open_beneath_options options = {},
                         std::source_location where = std::source_location::current());

}  // namespace vow::fs

/// @file
/// vow::fs::file and vow::fs::open(): files without blocking the loop
/// (aiofiles' and Node.js fs.promises' job): every call returns a future
/// settled on the reactor's thread, and the system calls run off the loop,
/// on io_uring or on a thread pool.
///
/// @code
/// vow::fs::open(r, "data.csv")                          // future<vow::fs::file>
///     .then([](vow::fs::file f) {
///         auto fp = std::make_shared<vow::fs::file>(std::move(f));
///         return fp->for_each_chunk(64 * 1024, [](std::string chunk) {
///             fmt::print("{} bytes\n", chunk.size());   // or return a future<void>: the next
///         });                                            // read waits for it (backpressure)
///     });
///
/// vow::fs::open(r, "out.log", vow::fs::open_mode::write | vow::fs::open_mode::create |
///                                 vow::fs::open_mode::append)
///     .then([](vow::fs::file f) { ... f.write("a line\n") ... f.close() ... });
/// @endcode
///
/// Where the calls run: the kernel offers no non-blocking read of a regular
/// file, so a file's calls run on one of two engines (vow::fs::engine, chosen
/// at open(); file::engine() says which):
///
/// - **io_uring**, where vow was built with liburing and the kernel lets it
///   set up a ring (Linux 5.6 or later; containers and
///   `/proc/sys/kernel/io_uring_disabled` may forbid it): read(), write(),
///   pread(), pwrite() and sync() are submitted to the reactor's own ring
///   (one per reactor, made at the first such open) and their completions
///   come back through the loop, with no thread of vow's involved (the
///   kernel hands what cannot complete at once, such as ext4's buffered
///   writes, to workers of its own). The default where it works: cached
///   reads run at two to three times the pool's rate for a quarter to a
///   half of its CPU (bench/RESULTS.md, "Files").
/// - **thread_pool**: every call is a job on `open_options::pool`, by
///   default the process-wide pool vow::to_thread uses
///   (thread_pool::default_pool()), as libuv and aiofiles do. The fallback
///   wherever io_uring is unavailable, and what a file opened with an
///   `open_options::pool` gets unless it asks for io_uring.
///
/// Either way, open() itself, stat(), the close and the free functions of
/// <vow/fs/ops.hpp> and <vow/fs/directory.hpp> run on the pool (the
/// file's pool, or the default one), which must outlive the file and its
/// calls (the default pool lives until the process exits). The environment
/// variable `VOW_FS_ENGINE` (`thread_pool`, `io_uring` or `automatic`)
/// replaces engine::automatic, for tests and for trying one engine without
/// a rebuild; an explicit open_options::engine wins over it.
///
/// Errors: vow::fs::fs_error (a std::system_error naming the operation and
/// the path: "vow::fs::open: 'data.csv': No such file or directory"), the
/// same under both engines. Misuse (a call on a closed or moved-from file,
/// two reads or writes at the file's position at once) throws
/// vow::usage_error at the call.
///
/// Cancellation: every call takes a std::stop_token. A stop request while
/// the call still waits (for a worker, or for room in the ring) cancels it:
/// it never runs, and its future rejects with vow::cancelled_error. One that
/// comes while the call runs rejects the future with vow::cancelled_error at
/// once; the call is asked to stop (io_uring: IORING_OP_ASYNC_CANCEL; a pool
/// worker's system call cannot be taken back) and whatever it does, its
/// result is discarded: a read or write may still have happened, in part or
/// whole. The call's buffer and descriptor live until the kernel is done
/// with them. A stop already requested when the call is made submits
/// nothing. A file opened by a cancelled open() is closed.
///
/// Closing: a file closes itself when its last handle goes (it is a move-only
/// handle, so: when it is destroyed), on the pool, after the calls still
/// running on it. close() does the same and returns a future that says
/// whether the close succeeded (a deferred write error can surface there).
/// A reactor destroyed while io_uring calls run waits for the kernel to
/// finish or cancel them, then drops their futures unsettled, as it does
/// every pending callable.
///
/// Thread safety: thread-bound (docs/design.md, "Threading"): call on the
/// reactor's thread, like every vow object that makes futures.
#pragma once

#include <vow/fs/error.hpp>
#include <vow/promise/future.hpp>
#include <vow/promise/loop.hpp>
#include <vow/promise/make_future.hpp>
#include <vow/promise/promise.hpp>
#include <vow/promise/thread_pool.hpp>
#include <vow/reactor/reactor.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <source_location>
#include <stop_token>
#include <string>
#include <type_traits>
#include <utility>

namespace vow::fs {

/// How to open a file: flags, combined with `|`: read, write or both, and
/// what to do about a missing or existing file. As fopen's modes:
/// @code{.unparsed}
/// "r"  read                           "r+" read | write
/// "w"  write | create | truncate      "w+" read | write | create | truncate
/// "a"  write | create | append        "a+" read | write | create | append
/// "wx" write | create | exclusive (fails with EEXIST if it exists)
/// @endcode
enum class open_mode : unsigned {
    read = 1,        ///< Open for reading.
    write = 2,       ///< Open for writing.
    create = 4,      ///< create it if missing (with open_options::permissions)
    truncate = 8,    ///< empty it (needs write)
    append = 16,     ///< every write goes to the end (needs write)
    exclusive = 32,  ///< with create: fail if it exists
};
/// Combines two sets of open_mode flags.
[[nodiscard]] constexpr open_mode operator|(open_mode a, open_mode b) noexcept {
    return static_cast<open_mode>(static_cast<unsigned>(a) | static_cast<unsigned>(b));
}
/// True if `a` and `b` share a flag (`mode & open_mode::write`: is write set?).
[[nodiscard]] constexpr bool operator&(open_mode a, open_mode b) noexcept {
    return (static_cast<unsigned>(a) & static_cast<unsigned>(b)) != 0;
}

/// Where a file's calls run (the file description says more).
enum class engine : unsigned char {
    /// io_uring where it is available on the reactor (vow::fs::engine_unavailable
    /// says why not), else thread_pool; thread_pool for a file opened with an
    /// open_options::pool. `VOW_FS_ENGINE` in the environment replaces it.
    automatic,
    /// Every call is a job on the file's thread pool (open_options::pool).
    thread_pool,
    /// read(), write(), pread(), pwrite() and sync() go to the reactor's
    /// io_uring; the other calls run on the file's pool. open() throws
    /// vow::invalid_argument, saying why, where io_uring is unavailable.
    io_uring,
};

/// The options of open().
struct open_options {
    /// The permission bits of a created file, before the umask.
    unsigned permissions = 0644;
    /// Where the open(), the file's stat() and its close run, and with
    /// engine::thread_pool all its calls; nullptr: thread_pool::default_pool().
    /// Setting it makes engine::automatic choose the pool.
    thread_pool* pool = nullptr;
    /// Which engine runs the file's reads, writes and syncs.
    vow::fs::engine engine = vow::fs::engine::automatic;
    /// Cancels the open() (not the file's later calls).
    std::stop_token stop{};
};

/// What kind of file a path names.
enum class file_type : unsigned char {
    regular,    ///< A regular file.
    directory,  ///< A directory.
    symlink,    ///< A symbolic link (only where links are not followed: readdir()).
    other       ///< Anything else: a FIFO, a device, a socket.
};

/// A file's status: what stat(2) says about it, in part.
struct file_status {
    file_type type = file_type::other;               ///< What kind of file it is.
    std::uint64_t size = 0;                          ///< bytes
    unsigned permissions = 0;                        ///< the mode's permission bits (07777)
    std::chrono::system_clock::time_point modified;  ///< Its last modification (mtime).
};

/// The most one read() or pread() returns: a request for more reads this
/// much, so that no call allocates without bound.
inline constexpr std::size_t max_read = std::size_t{64} << 20;

namespace detail {
struct fd_holder;
struct file_access;
}  // namespace detail

/// An open file, whose calls run off the loop (on io_uring or a thread pool)
/// and return futures.
///
/// A move-only handle: the file closes itself, on its pool, when the handle
/// is destroyed, after the calls still running on it. Thread-bound: call
/// it on the reactor's thread (this file's description says more).
class file {
public:
    /// A file that is not open (what a moved-from file is).
    file() noexcept = default;
    /// Closes the file, on its pool, once the calls still running on it end.
    ~file();
    /// Takes over `other`'s file; `other` is left not open.
    file(file&& other) noexcept;
    /// Closes this file (as the destructor does), then takes over `other`'s.
    file& operator=(file&& other) noexcept;
    file(const file&) = delete;
    file& operator=(const file&) = delete;

    /// True until closed or moved from.
    [[nodiscard]] bool is_open() const noexcept { return fd_ != nullptr; }
    /// The path it was opened with. Throws vow::usage_error if not open.
    [[nodiscard]] const std::string& path() const;
    /// The reactor its futures settle on. Throws vow::usage_error if the file
    /// was never opened.
    [[nodiscard]] reactor& get_reactor() const;
    /// The engine its calls run on: engine::io_uring or engine::thread_pool,
    /// as open() chose; engine::automatic if the file is not open.
    [[nodiscard]] vow::fs::engine engine() const noexcept {
        return fd_ ? engine_ : vow::fs::engine::automatic;
    }
    /// The file's descriptor, or -1 if not open, for system calls vow does
    /// not wrap (sendfile(2), posix_fadvise(2)). It stays owned by the file:
    /// never close it, and use it only while the file is open; dup(2) it to
    /// keep it longer (tcp_stream::send_file does). The file's own calls may
    /// be running meanwhile (on its pool, or in the kernel's io_uring
    /// workers); calls at an offset (pread(2),
    /// sendfile(2) with an offset) leave its shared position alone.
    [[nodiscard]] int native_handle() const noexcept;

    /// Reads up to `max_bytes` (at most max_read) at the file's position and
    /// moves the position past them; "" at the end of the file. One read or
    /// write at the position at a time (vow::usage_error otherwise): use
    /// pread / pwrite for calls that overlap.
    [[nodiscard]] future<std::string> read(std::size_t max_bytes, std::stop_token stop = {},
                                           std::source_location where = std::source_location::current());
    /// Writes all of `data` at the file's position (at the end with
    /// open_mode::append) and moves the position past it. On an error the
    /// position stays where it was (part of `data` may have been written).
    [[nodiscard]] future<void> write(std::string data, std::stop_token stop = {},
                                     std::source_location where = std::source_location::current());
    /// Reads up to `max_bytes` (at most max_read) at `offset`, without using
    /// or moving the position; "" at or past the end of the file. pread and
    /// pwrite may overlap each other and read() / write().
    [[nodiscard]] future<std::string> pread(std::uint64_t offset, std::size_t max_bytes, std::stop_token stop = {},
                                            std::source_location where = std::source_location::current());
    /// Writes all of `data` at `offset`, without using or moving the
    /// position; may overlap other calls, as pread.
    [[nodiscard]] future<void> pwrite(std::uint64_t offset, std::string data, std::stop_token stop = {},
                                      std::source_location where = std::source_location::current());
    /// fsync(2): what was written is on the device.
    [[nodiscard]] future<void> sync(std::stop_token stop = {},
                                    std::source_location where = std::source_location::current());
    /// fstat(2): the open file's status.
    [[nodiscard]] future<file_status> stat(std::stop_token stop = {},
                                           std::source_location where = std::source_location::current());

    /// The position read() and write() use; seek() sets it (no call at the
    /// position may be running: vow::usage_error).
    [[nodiscard]] std::uint64_t position() const;
    /// Sets the position to `offset` (no read() or write() may be running:
    /// vow::usage_error).
    void seek(std::uint64_t offset);

    /// Reads the file from its position to the end in chunks of up to
    /// `chunk_size` bytes, calling fn(std::string chunk) for each on the
    /// reactor's thread. fn returns void, or a future<void> that the next
    /// read waits for: a slow consumer slows the reading, and memory stays
    /// at one chunk. Resolves at the end of the file; rejects with the first
    /// error (a read's, or fn's). The file must outlive the loop.
    template <class F>
    [[nodiscard]] future<void> for_each_chunk(std::size_t chunk_size, F fn, std::stop_token stop = {});

    /// Closes the file: this handle is empty at once; the file closes on its
    /// pool once the calls still running on it end, and the future says how
    /// that went (vow::fs::fs_error "file::close"). Throws vow::usage_error
    /// if not open.
    [[nodiscard]] future<void> close(std::source_location where = std::source_location::current());

private:
    friend struct detail::file_access;
    struct position_state {
        std::uint64_t offset = 0;
        bool busy = false;   // a read() or write() is running
    };

    file(reactor& r, thread_pool& pool, vow::fs::engine e, std::shared_ptr<detail::fd_holder> fd,
         bool append);
    void check_open(const char* function) const;
    void check_idle(const char* function) const;

    reactor* r_ = nullptr;
    thread_pool* pool_ = nullptr;
    std::shared_ptr<detail::fd_holder> fd_;
    std::shared_ptr<position_state> pos_;
    vow::fs::engine engine_ = vow::fs::engine::thread_pool;
    bool append_ = false;
};

/// Opens `path`. Rejects with vow::fs::fs_error (ENOENT, EACCES, EISDIR for
/// a directory opened to write, ...); throws vow::invalid_argument for a
/// mode without read or write, truncate / append / exclusive without what
/// they need, engine::io_uring asked for (in `options` or through
/// `VOW_FS_ENGINE`) where it is unavailable, or a `VOW_FS_ENGINE` that is
/// none of `thread_pool`, `io_uring` and `automatic`. Reactor thread only.
[[nodiscard]] future<file> open(reactor& r, std::string path, open_mode mode = open_mode::read,
                                open_options options = {},
                                std::source_location where = std::source_location::current());

/// Why files opened on `r` cannot use `e`: "" if they can (always, for
/// engine::thread_pool and engine::automatic), else the reason in words
/// ("vow was built without liburing", "io_uring_setup(2) failed: Operation
/// not permitted (...)"). For engine::io_uring it sets up `r`'s ring if
/// that was not done yet, as the first open() with it would. Reactor
/// thread only.
[[nodiscard]] std::string engine_unavailable(reactor& r, vow::fs::engine e);

template <class F>
future<void> file::for_each_chunk(std::size_t chunk_size, F fn, std::stop_token stop) {
    static_assert(std::is_invocable_v<F&, std::string>, "vow::fs::file::for_each_chunk: fn takes a std::string");
    using R = std::invoke_result_t<F&, std::string>;
    static_assert(std::is_void_v<R> || std::is_same_v<R, future<void>>,
                  "vow::fs::file::for_each_chunk: fn returns void or future<void>");
    check_open("file::for_each_chunk");
    return repeat(*r_, [this, chunk_size, stop = std::move(stop), fn = std::move(fn)]() mutable {
        if constexpr (std::is_void_v<R>) {
            return read(chunk_size, stop).then([&fn](std::string chunk) {
                if (chunk.empty())
                    return stop_iteration::yes;
                fn(std::move(chunk));
                return stop_iteration::no;
            });
        } else {
            return read(chunk_size, stop).then([this, &fn](std::string chunk) {
                if (chunk.empty())
                    return make_ready_future(*r_, stop_iteration::yes);
                return fn(std::move(chunk)).then([] { return stop_iteration::no; });
            });
        }
    });
}

}  // namespace vow::fs

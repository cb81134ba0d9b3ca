// vow::fs::file and open(): descriptors shared by a handle and its running
// calls (fs/internal.hpp); each call a detail::run on the file's pool, or,
// for the data calls of a file on the io_uring engine, an op on the
// reactor's ring (fs/uring.hpp).
#include <vow/error.hpp>
#include <vow/fs/detail/run.hpp>
#include <vow/fs/file.hpp>

#include "internal.hpp"
#include "uring.hpp"
#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <fcntl.h>
#include <string_view>
#include <sys/stat.h>
#include <unistd.h>

namespace vow::fs {

namespace detail {

fd_holder::~fd_holder() {
    int rc = ::close(fd);
    int error = errno;
    if (!closed)
        return;
    // EINTR: Linux has released the descriptor anyway (close(2)); nothing to retry.
    if (rc == 0 || error == EINTR)
        closed->resolve();
    else
        closed->reject(std::make_exception_ptr(fs_error(error, "file::close", path)));
}

file_status to_status(const struct ::stat& st) noexcept {
    file_status s;
    if (S_ISREG(st.st_mode))
        s.type = file_type::regular;
    else if (S_ISDIR(st.st_mode))
        s.type = file_type::directory;
    else if (S_ISLNK(st.st_mode))
        s.type = file_type::symlink;
    s.size = static_cast<std::uint64_t>(st.st_size);
    s.permissions = static_cast<unsigned>(st.st_mode) & 07777u;
    s.modified = std::chrono::system_clock::time_point(
        std::chrono::duration_cast<std::chrono::system_clock::duration>(
            std::chrono::seconds(st.st_mtim.tv_sec) + std::chrono::nanoseconds(st.st_mtim.tv_nsec)));
    return s;
}

std::string read_at(int fd, std::uint64_t offset, std::size_t max_bytes, std::string_view operation,
                    const std::string& path) {
    std::string buf(std::min(max_bytes, max_read), '\0');
    std::size_t got = 0;
    while (got < buf.size()) {
        ssize_t n = ::pread(fd, buf.data() + got, buf.size() - got, static_cast<off_t>(offset + got));
        if (n < 0) {
            if (errno == EINTR)
                continue;
            throw fs_error(errno, operation, path);
        }
        if (n == 0)
            break;
        got += static_cast<std::size_t>(n);
    }
    buf.resize(got);
    return buf;
}

void write_at(int fd, std::optional<std::uint64_t> offset, std::string_view data, std::string_view operation,
              const std::string& path) {
    std::size_t done = 0;
    while (done < data.size()) {
        ssize_t n = offset ? ::pwrite(fd, data.data() + done, data.size() - done, static_cast<off_t>(*offset + done))
                           : ::write(fd, data.data() + done, data.size() - done);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            throw fs_error(errno, operation, path);
        }
        done += static_cast<std::size_t>(n);
    }
}

engine choose_engine(reactor& r, engine asked, bool pool_given, std::string_view operation,
                     const std::string& path) {
    const char* by = "open_options::engine";
    if (asked == engine::automatic) {
        if (const char* env = std::getenv("VOW_FS_ENGINE"); env && *env) {
            const std::string_view value = env;
            if (value == "thread_pool")
                asked = engine::thread_pool;
            else if (value == "io_uring")
                asked = engine::io_uring;
            else if (value != "automatic")
                throw invalid_argument(
                    fmt::format("vow::fs::{}: '{}': the environment's VOW_FS_ENGINE is '{}'; "
                                "expected thread_pool, io_uring or automatic",
                                operation, path, value));
            by = "VOW_FS_ENGINE";
        }
    }
    switch (asked) {
        case engine::thread_pool:
            return engine::thread_pool;
        case engine::io_uring:
            if (auto why = uring_unavailable(r); !why.empty())
                throw invalid_argument(
                    fmt::format("vow::fs::{}: '{}': {} asks for engine::io_uring, which is "
                                "unavailable: {}",
                                operation, path, by, why));
            return engine::io_uring;
        case engine::automatic:
            break;
    }
    // A pool given for the file is where the user wants its calls (a pool
    // whose workers run with other credentials, say): automatic keeps to it.
    return pool_given || !uring_unavailable(r).empty() ? engine::thread_pool : engine::io_uring;
}

void check_positional(fd_holder& holder) noexcept {
    holder.positional = ::lseek(holder.fd, 0, SEEK_CUR) >= 0 || errno != ESPIPE;
}

int open_retrying(const char* path, int flags, unsigned mode) noexcept {
    int fd;
    do
        fd = ::open(path, flags, static_cast<mode_t>(mode));
    while (fd < 0 && errno == EINTR);
    return fd;
}

fd_guard::~fd_guard() { close(); }

int fd_guard::close() noexcept {
    if (fd_ < 0)
        return 0;
    int rc = ::close(fd_);
    fd_ = -1;
    return rc == 0 || errno == EINTR ? 0 : errno;
}

}  // namespace detail

file::file(reactor& r, thread_pool& pool, vow::fs::engine e, std::shared_ptr<detail::fd_holder> fd,
           bool append)
    : r_(&r),
      pool_(&pool),
      fd_(std::move(fd)),
      pos_(std::make_shared<position_state>()),
      engine_(e),
      append_(append) {}

file::~file() {
    if (!fd_)
        return;
    // The last reference closes the descriptor: hand ours to the pool, so a
    // close(2) that blocks (a network file system) blocks a worker, not the
    // loop. While the pool shuts down (process exit), close it here.
    try {
        pool_->submit([fd = std::move(fd_)]() mutable { fd.reset(); });
    } catch (...) {
        fd_.reset();
    }
}

file::file(file&& other) noexcept
    : r_(other.r_),
      pool_(other.pool_),
      fd_(std::move(other.fd_)),
      pos_(std::move(other.pos_)),
      engine_(other.engine_),
      append_(other.append_) {}

file& file::operator=(file&& other) noexcept {
    if (this != &other) {
        file old(std::move(*this));
        r_ = other.r_;
        pool_ = other.pool_;
        fd_ = std::move(other.fd_);
        pos_ = std::move(other.pos_);
        engine_ = other.engine_;
        append_ = other.append_;
    }
    return *this;
}

void file::check_open(const char* function) const {
    if (!fd_)
        throw usage_error(fmt::format("vow::fs::{}: the file is not open (closed, moved from, or never opened)",
                                      function));
    vow::detail::check_thread(*r_, function);
}

void file::check_idle(const char* function) const {
    check_open(function);
    if (pos_->busy)
        throw usage_error(fmt::format("vow::fs::{}: a read() or write() at the file's position is still running "
                                      "on '{}': wait for its future, or use pread() / pwrite() at offsets",
                                      function, fd_->path));
}

const std::string& file::path() const {
    if (!fd_)
        throw usage_error("vow::fs::file::path: the file is not open");
    return fd_->path;
}

reactor& file::get_reactor() const {
    if (!r_)
        throw usage_error("vow::fs::file::get_reactor: the file was never opened");
    return *r_;
}

int file::native_handle() const noexcept { return fd_ ? fd_->fd : -1; }

std::uint64_t file::position() const {
    check_open("file::position");
    return pos_->offset;
}

void file::seek(std::uint64_t offset) {
    check_idle("file::seek");
    pos_->offset = offset;
}

future<std::string> file::read(std::size_t max_bytes, std::stop_token stop, std::source_location where) {
    check_idle("file::read");
    auto pos = pos_;
    auto f =
        engine_ == vow::fs::engine::io_uring
            ? detail::uring_read({*r_, *pool_, fd_}, pos->offset, max_bytes, stop, "file::read",
                                 where)
            : detail::run(
                  *r_, *pool_, stop, "fs::file::read",
                  [fd = fd_, offset = pos->offset, max_bytes] {
                      return detail::read_at(fd->fd, offset, max_bytes, "file::read", fd->path);
                  },
                  where);
    pos->busy = true;
    return std::move(f)
        .then([pos](std::string data) {
            pos->busy = false;
            pos->offset += data.size();
            return data;
        })
        .catch_([pos](std::exception_ptr e) -> std::string {
            pos->busy = false;
            std::rethrow_exception(e);
        });
}

future<void> file::write(std::string data, std::stop_token stop, std::source_location where) {
    check_idle("file::write");
    auto pos = pos_;
    const auto size = data.size();
    std::optional<std::uint64_t> at;
    if (!append_)
        at = pos->offset;
    auto f = engine_ == vow::fs::engine::io_uring
                 ? detail::uring_write({*r_, *pool_, fd_}, at, std::move(data), stop, "file::write",
                                       where)
                 : detail::run(
                       *r_, *pool_, stop, "fs::file::write",
                       [fd = fd_, at, data = std::move(data)] {
                           detail::write_at(fd->fd, at, data, "file::write", fd->path);
                       },
                       where);
    pos->busy = true;
    return std::move(f)
        .then([pos, size] {
            pos->busy = false;
            pos->offset += size;
        })
        .catch_([pos](std::exception_ptr e) {
            pos->busy = false;
            std::rethrow_exception(e);
        });
}

future<std::string> file::pread(std::uint64_t offset, std::size_t max_bytes, std::stop_token stop,
                                std::source_location where) {
    check_open("file::pread");
    if (engine_ == vow::fs::engine::io_uring)
        return detail::uring_read({*r_, *pool_, fd_}, offset, max_bytes, stop, "file::pread",
                                  where);
    return detail::run(*r_, *pool_, stop, "fs::file::pread",
                       [fd = fd_, offset, max_bytes] {
                           return detail::read_at(fd->fd, offset, max_bytes, "file::pread", fd->path);
                       },
                       where);
}

future<void> file::pwrite(std::uint64_t offset, std::string data, std::stop_token stop, std::source_location where) {
    check_open("file::pwrite");
    if (engine_ == vow::fs::engine::io_uring)
        return detail::uring_write({*r_, *pool_, fd_}, offset, std::move(data), stop,
                                   "file::pwrite", where);
    return detail::run(*r_, *pool_, stop, "fs::file::pwrite",
                       [fd = fd_, offset, data = std::move(data)] {
                           detail::write_at(fd->fd, offset, data, "file::pwrite", fd->path);
                       },
                       where);
}

future<void> file::sync(std::stop_token stop, std::source_location where) {
    check_open("file::sync");
    if (engine_ == vow::fs::engine::io_uring)
        return detail::uring_sync({*r_, *pool_, fd_}, stop, "file::sync", where);
    return detail::run(*r_, *pool_, stop, "fs::file::sync",
                       [fd = fd_] {
                           if (::fsync(fd->fd) != 0)
                               throw fs_error(errno, "file::sync", fd->path);
                       },
                       where);
}

future<file_status> file::stat(std::stop_token stop, std::source_location where) {
    check_open("file::stat");
    return detail::run(*r_, *pool_, stop, "fs::file::stat",
                       [fd = fd_] {
                           struct ::stat st {};
                           if (::fstat(fd->fd, &st) != 0)
                               throw fs_error(errno, "file::stat", fd->path);
                           return detail::to_status(st);
                       },
                       where);
}

future<void> file::close(std::source_location where) {
    check_open("file::close");
    auto& closed = fd_->closed.emplace(*r_, where);
    auto f = closed.get_future();
    file gone(std::move(*this));   // its destructor hands the last reference to the pool
    return f;
}

future<file> open(reactor& r, std::string path, open_mode mode, open_options options, std::source_location where) {
    const bool rd = mode & open_mode::read, wr = mode & open_mode::write;
    if (!rd && !wr)
        throw invalid_argument(fmt::format("vow::fs::open: '{}': the mode has neither read nor write", path));
    if (!wr && (mode & (open_mode::truncate | open_mode::append)))
        throw invalid_argument(
            fmt::format("vow::fs::open: '{}': truncate and append need write in the mode", path));
    if ((mode & open_mode::exclusive) && !(mode & open_mode::create))
        throw invalid_argument(fmt::format("vow::fs::open: '{}': exclusive needs create in the mode", path));
    int flags = O_CLOEXEC | (rd && wr ? O_RDWR : wr ? O_WRONLY : O_RDONLY);
    if (mode & open_mode::create)
        flags |= O_CREAT;
    if (mode & open_mode::truncate)
        flags |= O_TRUNC;
    if (mode & open_mode::append)
        flags |= O_APPEND;
    if (mode & open_mode::exclusive)
        flags |= O_EXCL;
    auto& pool = detail::pool_of(options.pool);
    const bool append = mode & open_mode::append;
    const auto e = detail::choose_engine(r, options.engine, options.pool != nullptr, "open", path);
    return detail::run(
        r, pool, options.stop, "fs::open",
        [&r, &pool, e, path = std::move(path), flags, append,
         perms = options.permissions]() mutable {
            int fd = detail::open_retrying(path.c_str(), flags, perms);
            if (fd < 0)
                throw fs_error(errno, "open", path);
            auto holder = std::make_shared<detail::fd_holder>(fd, std::move(path));
            // A directory opens for reading, but a file is what was asked for.
            struct ::stat st {};
            if (::fstat(fd, &st) == 0 && S_ISDIR(st.st_mode))
                throw fs_error(EISDIR, "open", holder->path);
            if (e == engine::io_uring)
                detail::check_positional(*holder);
            return detail::file_access::make(r, pool, e, std::move(holder), append);
        },
        where);
}

std::string engine_unavailable(reactor& r, vow::fs::engine e) {
    vow::detail::check_thread(r, "fs::engine_unavailable");
    return e == engine::io_uring ? detail::uring_unavailable(r) : std::string();
}

}  // namespace vow::fs

// fs/internal.hpp - what fs/'s sources share: the descriptor a file's
// handles and running calls share, and the system calls' small helpers.
#pragma once

#include <vow/fs/directory.hpp>
#include <vow/fs/error.hpp>
#include <vow/fs/file.hpp>
#include <vow/promise/promise.hpp>
#include <vow/promise/thread_pool.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <sys/stat.h>
#include <utility>

namespace vow::fs::detail {

// One open descriptor. The file handle and each call running on it hold a
// reference, so the descriptor is closed (by the destructor) only when none
// uses it any more: never while a worker reads it, never reused under one.
struct fd_holder {
    fd_holder(int fd_, std::string path_) : fd(fd_), path(std::move(path_)) {}
    ~fd_holder();
    fd_holder(const fd_holder&) = delete;
    fd_holder& operator=(const fd_holder&) = delete;

    int fd;
    std::string path;
    std::optional<promise<void>> closed;   // close()'s: settled by the destructor, on any thread
    // pread(2) and pwrite(2) work on it. False for a FIFO, a socket or a
    // terminal (lseek(2) says ESPIPE), where io_uring would read and write
    // as a stream: its engine refuses them with ESPIPE, as pread(2) does.
    bool positional = true;
};

// Sets `holder.positional` (for a file on the io_uring engine).
void check_positional(fd_holder& holder) noexcept;

// The pool a call runs on.
inline thread_pool& pool_of(thread_pool* pool) { return pool ? *pool : thread_pool::default_pool(); }

[[nodiscard]] file_status to_status(const struct ::stat& st) noexcept;

// pread(2) until `max_bytes` or the end; write(2) / pwrite(2) until all is
// written; EINTR is retried. Throw fs_error(operation, path).
std::string read_at(int fd, std::uint64_t offset, std::size_t max_bytes, std::string_view operation,
                    const std::string& path);
void write_at(int fd, std::optional<std::uint64_t> offset, std::string_view data, std::string_view operation,
              const std::string& path);

// The engine of a file that `operation` ("open") opens at `path`, asked
// for `asked` (VOW_FS_ENGINE replaces automatic), with a pool of the
// caller's or not. Throws vow::invalid_argument for io_uring where it is
// unavailable and for a VOW_FS_ENGINE it does not know. Reactor thread.
[[nodiscard]] engine choose_engine(reactor& r, engine asked, bool pool_given,
                                   std::string_view operation, const std::string& path);

// open(2), retried on EINTR; -1 with errno as open(2) leaves it.
int open_retrying(const char* path, int flags, unsigned mode = 0) noexcept;

// Closes a descriptor on scope exit (the free functions' own).
class fd_guard {
public:
    explicit fd_guard(int fd) noexcept : fd_(fd) {}
    ~fd_guard();
    fd_guard(const fd_guard&) = delete;
    fd_guard& operator=(const fd_guard&) = delete;
    [[nodiscard]] int get() const noexcept { return fd_; }
    // Closes now; the close(2) error, or 0.
    int close() noexcept;

private:
    int fd_;
};

// Makes a vow::fs::file of an open descriptor (the constructor is private).
struct file_access {
    static file make(reactor& r, thread_pool& pool, engine e, std::shared_ptr<fd_holder> fd,
                     bool append) {
        return file(r, pool, e, std::move(fd), append);
    }
};

// What a vow::fs::directory shares: its O_PATH descriptor and its paths.
struct directory_state {
    directory_state(int fd_, std::string path_, std::string real_path_)
        : fd(fd_), path(std::move(path_)), real_path(std::move(real_path_)) {}
    fd_guard fd;
    std::string path;        // as given
    std::string real_path;   // canonical, when opened: what the fallback checks against
};

struct directory_access {
    static const directory_state* state(const directory& d) noexcept { return d.state_.get(); }
};

// open_beneath's fallback for kernels without openat2 (directory.cpp):
// openat(2) beneath `root`, then the opened file's /proc/self/fd path is
// checked against root.real_path unless `outside_ok`. A descriptor, or -1
// with errno (EXDEV: it was outside; ENOTSUP: /proc cannot tell). Exposed
// for the tests, which cannot make a kernel lack openat2.
int open_beneath_fallback(const directory_state& root, const char* relative, int flags, bool outside_ok) noexcept;

}  // namespace vow::fs::detail

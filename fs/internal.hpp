// fs/internal.hpp - what fs/'s sources share: the descriptor a file's
// handles and running calls share, and the system calls' small helpers.
#pragma once

#include <vow/fs/error.hpp>
#include <vow/fs/file.hpp>
#include <vow/promise/promise.hpp>
#include <vow/promise/thread_pool.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <sys/stat.h>

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
};

// The pool a call runs on.
inline thread_pool& pool_of(thread_pool* pool) { return pool ? *pool : thread_pool::default_pool(); }

[[nodiscard]] file_status to_status(const struct ::stat& st) noexcept;

// pread(2) until `max_bytes` or the end; write(2) / pwrite(2) until all is
// written; EINTR is retried. Throw fs_error(operation, path).
std::string read_at(int fd, std::uint64_t offset, std::size_t max_bytes, std::string_view operation,
                    const std::string& path);
void write_at(int fd, std::optional<std::uint64_t> offset, std::string_view data, std::string_view operation,
              const std::string& path);

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

}  // namespace vow::fs::detail

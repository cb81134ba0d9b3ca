// fs/uring.hpp - the io_uring engine of vow::fs's per-file data calls: a
// file's read(), write(), pread(), pwrite() and sync() submitted to the
// reactor's own ring (fs/uring.cpp, docs/design.md "Files"). Where vow is
// built without liburing, fs/uring_unavailable.cpp stands in: the engine
// is then never available, and these calls are never made.
//
// Every call settles its future on the reactor's thread, with the errors
// the pool engine gives for the same call (fs_error(errno, operation,
// path); vow::cancelled_error "vow::fs::<operation>: cancelled: ..."), and
// never inside the call. A stop request rejects the future at once and asks
// the kernel to cancel the call; the call's buffer and descriptor live until
// the kernel has answered for it. Reactor thread only.
#pragma once

#include <vow/promise/future.hpp>
#include <vow/promise/thread_pool.hpp>
#include <vow/reactor/reactor.hpp>

#include "internal.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <source_location>
#include <stop_token>
#include <string>

namespace vow::fs::detail {

// What a call works on: the file's descriptor (shared with the file and its
// other calls) and the pool that gets the descriptor's last reference, so
// that close(2) never runs on the loop.
struct uring_target {
    reactor& r;
    thread_pool& pool;
    std::shared_ptr<fd_holder> fd;
};

// "" if r's ring works (setting it up on the first call), else why not.
[[nodiscard]] std::string uring_unavailable(reactor& r);

// Reads up to `max_bytes` (at most max_read) at `offset`, as read_at does:
// until that many or the end of the file. `operation` names the call in
// errors ("file::pread"); it must be a string literal.
[[nodiscard]] future<std::string> uring_read(uring_target t, std::uint64_t offset,
                                             std::size_t max_bytes, const std::stop_token& stop,
                                             const char* operation, std::source_location where);

// Writes all of `data` at `offset`, or at the file's own position (the end,
// for an O_APPEND file) without one, as write_at does.
[[nodiscard]] future<void> uring_write(uring_target t, std::optional<std::uint64_t> offset,
                                       std::string data, const std::stop_token& stop,
                                       const char* operation, std::source_location where);

// fsync(2).
[[nodiscard]] future<void> uring_sync(uring_target t, const std::stop_token& stop,
                                      const char* operation, std::source_location where);

}  // namespace vow::fs::detail

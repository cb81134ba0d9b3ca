/// @file
/// File system calls on paths, as futures (aiofiles.os, Node.js
/// fs.promises): stat, rename, unlink, mkdir, readdir, and whole files at
/// once.
///
/// @code
/// vow::fs::read_file(r, "config.json")             // future<std::string>
/// vow::fs::write_file(r, "out.txt", text)          // future<void>
/// vow::fs::stat(r, "data.csv").then([](vow::fs::file_status s) { ... s.size ... });
/// vow::fs::readdir(r, "logs")                       // future<std::vector<vow::fs::dir_entry>>
/// @endcode
///
/// Each runs on a thread pool (call_options::pool, by default
/// thread_pool::default_pool()) and settles on the reactor's thread; errors
/// are vow::fs::fs_error naming the operation and the path; a stop request
/// cancels a call that has not started and discards the result of one that
/// has (`<vow/fs/file.hpp>` says more). Reactor thread.
#pragma once

#include <vow/fs/file.hpp>
#include <vow/promise/future.hpp>
#include <vow/promise/thread_pool.hpp>
#include <vow/reactor/reactor.hpp>

#include <cstddef>
#include <source_location>
#include <stop_token>
#include <string>
#include <vector>

namespace vow::fs {

/// The options of the calls on paths.
struct call_options {
    thread_pool* pool = nullptr;  ///< Where the call runs; nullptr: thread_pool::default_pool()
    std::stop_token stop{};       ///< Cancels the call (this file's description says how).
};

/// One entry of a directory, as readdir() lists it.
struct dir_entry {
    std::string name;                   ///< without the directory
    file_type type = file_type::other;  ///< as the directory says (a symlink is a symlink)
};

/// stat(2): follows symbolic links.
[[nodiscard]] future<file_status> stat(reactor& r, std::string path, call_options options = {},
                                       std::source_location where = std::source_location::current());
/// rename(2): replaces `to` if it exists (on the same file system).
[[nodiscard]] future<void> rename(reactor& r, std::string from, std::string to, call_options options = {},
                                  std::source_location where = std::source_location::current());
/// unlink(2): removes a file (not a directory: EISDIR).
[[nodiscard]] future<void> unlink(reactor& r, std::string path, call_options options = {},
                                  std::source_location where = std::source_location::current());
/// mkdir(2): one directory, `permissions` before the umask; EEXIST if it is there.
[[nodiscard]] future<void> mkdir(reactor& r, std::string path, unsigned permissions = 0755,
                                 call_options options = {},
                                 std::source_location where = std::source_location::current());
/// rmdir(2): removes an empty directory.
[[nodiscard]] future<void> rmdir(reactor& r, std::string path, call_options options = {},
                                 std::source_location where = std::source_location::current());
/// The entries of a directory, without "." and "..", in the directory's order.
[[nodiscard]] future<std::vector<dir_entry>> readdir(reactor& r, std::string path, call_options options = {},
                                                     std::source_location where = std::source_location::current());

/// Reads a whole file. A file larger than `max_bytes` rejects with fs_error EFBIG
/// before anything is read (a limit, so that no call allocates without bound).
[[nodiscard]] future<std::string> read_file(reactor& r, std::string path, std::size_t max_bytes = max_read,
                                            call_options options = {},
                                            std::source_location where = std::source_location::current());
/// Creates or empties `path` (0644 before the umask) and writes `data`.
[[nodiscard]] future<void> write_file(reactor& r, std::string path, std::string data, call_options options = {},
                                      std::source_location where = std::source_location::current());

}  // namespace vow::fs

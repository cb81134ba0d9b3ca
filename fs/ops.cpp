// vow::fs's calls on paths: each one system call (or a few) in a
// detail::run on the chosen pool.
#include "internal.hpp"

#include <vow/error.hpp>
#include <vow/fs/detail/run.hpp>
#include <vow/fs/ops.hpp>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <dirent.h>
#include <fcntl.h>
#include <memory>
#include <sys/stat.h>
#include <unistd.h>

namespace vow::fs {

namespace {

file_type type_of(unsigned char d_type) noexcept {
    switch (d_type) {
    case DT_REG:
        return file_type::regular;
    case DT_DIR:
        return file_type::directory;
    case DT_LNK:
        return file_type::symlink;
    default:
        return file_type::other;
    }
}


}  // namespace

future<file_status> stat(reactor& r, std::string path, call_options options, std::source_location where) {
    return detail::run(r, detail::pool_of(options.pool), options.stop, "fs::stat",
                       [path = std::move(path)] {
                           struct ::stat st {};
                           if (::stat(path.c_str(), &st) != 0)
                               throw fs_error(errno, "stat", path);
                           return detail::to_status(st);
                       },
                       where);
}

future<void> rename(reactor& r, std::string from, std::string to, call_options options, std::source_location where) {
    return detail::run(r, detail::pool_of(options.pool), options.stop, "fs::rename",
                       [from = std::move(from), to = std::move(to)] {
                           if (::rename(from.c_str(), to.c_str()) != 0)
                               throw fs_error(errno, "rename", from, to);
                       },
                       where);
}

future<void> unlink(reactor& r, std::string path, call_options options, std::source_location where) {
    return detail::run(r, detail::pool_of(options.pool), options.stop, "fs::unlink",
                       [path = std::move(path)] {
                           if (::unlink(path.c_str()) != 0)
                               throw fs_error(errno, "unlink", path);
                       },
                       where);
}

future<void> mkdir(reactor& r, std::string path, unsigned permissions, call_options options,
                   std::source_location where) {
    return detail::run(r, detail::pool_of(options.pool), options.stop, "fs::mkdir",
                       [path = std::move(path), permissions] {
                           if (::mkdir(path.c_str(), static_cast<mode_t>(permissions)) != 0)
                               throw fs_error(errno, "mkdir", path);
                       },
                       where);
}

future<void> rmdir(reactor& r, std::string path, call_options options, std::source_location where) {
    return detail::run(r, detail::pool_of(options.pool), options.stop, "fs::rmdir",
                       [path = std::move(path)] {
                           if (::rmdir(path.c_str()) != 0)
                               throw fs_error(errno, "rmdir", path);
                       },
                       where);
}

future<std::vector<dir_entry>> readdir(reactor& r, std::string path, call_options options,
                                       std::source_location where) {
    return detail::run(r, detail::pool_of(options.pool), options.stop, "fs::readdir",
                       [path = std::move(path)] {
                           std::unique_ptr<DIR, int (*)(DIR*)> dir(::opendir(path.c_str()), ::closedir);
                           if (!dir)
                               throw fs_error(errno, "readdir", path);
                           std::vector<dir_entry> entries;
                           for (;;) {
                               errno = 0;
                               const ::dirent* e = ::readdir(dir.get());
                               if (!e) {
                                   if (errno != 0)
                                       throw fs_error(errno, "readdir", path);
                                   break;
                               }
                               std::string_view name = e->d_name;
                               if (name == "." || name == "..")
                                   continue;
                               file_type type = type_of(e->d_type);
                               if (e->d_type == DT_UNKNOWN) {   // some file systems do not say
                                   struct ::stat st {};
                                   if (::fstatat(::dirfd(dir.get()), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0)
                                       type = detail::to_status(st).type;
                               }
                               entries.push_back({std::string(name), type});
                           }
                           return entries;
                       },
                       where);
}

future<std::string> read_file(reactor& r, std::string path, std::size_t max_bytes, call_options options,
                              std::source_location where) {
    return detail::run(r, detail::pool_of(options.pool), options.stop, "fs::read_file",
                       [path = std::move(path), max_bytes] {
                           detail::fd_guard fd(detail::open_retrying(path.c_str(), O_RDONLY | O_CLOEXEC));
                           if (fd.get() < 0)
                               throw fs_error(errno, "read_file", path);
                           struct ::stat st {};
                           if (::fstat(fd.get(), &st) != 0)
                               throw fs_error(errno, "read_file", path);
                           if (S_ISDIR(st.st_mode))
                               throw fs_error(EISDIR, "read_file", path);
                           if (static_cast<std::uint64_t>(st.st_size) > max_bytes)
                               throw fs_error(EFBIG, "read_file", path);
                           // Read to the end, whatever the size said (files in /proc say 0,
                           // a file may grow), but never more than max_bytes + 1.
                           const std::size_t limit = max_bytes == SIZE_MAX ? max_bytes : max_bytes + 1;
                           std::size_t want = static_cast<std::size_t>(st.st_size) + 1;
                           std::string data;
                           for (;;) {
                               std::string part = detail::read_at(fd.get(), data.size(),
                                                                  std::min(want, limit - data.size()),
                                                                  "read_file", path);
                               if (part.empty())
                                   break;
                               if (data.empty())
                                   data = std::move(part);
                               else
                                   data += part;
                               if (data.size() > max_bytes)
                                   throw fs_error(EFBIG, "read_file", path);
                               want = 64 * 1024;
                           }
                           return data;
                       },
                       where);
}

future<void> write_file(reactor& r, std::string path, std::string data, call_options options,
                        std::source_location where) {
    return detail::run(r, detail::pool_of(options.pool), options.stop, "fs::write_file",
                       [path = std::move(path), data = std::move(data)] {
                           detail::fd_guard fd(detail::open_retrying(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
                           if (fd.get() < 0)
                               throw fs_error(errno, "write_file", path);
                           detail::write_at(fd.get(), 0, data, "write_file", path);
                           if (int error = fd.close())
                               throw fs_error(error, "write_file", path);
                       },
                       where);
}

}  // namespace vow::fs

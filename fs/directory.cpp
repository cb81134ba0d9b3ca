// vow::fs::directory and open_beneath(): openat2(2) with RESOLVE_BENEATH,
// and the open-then-verify fallback for kernels without it.
#include <vow/error.hpp>
#include <vow/fs/detail/run.hpp>
#include <vow/fs/directory.hpp>

#include "internal.hpp"
#include <fmt/format.h>
#include <linux/openat2.h>

#include <array>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <fcntl.h>
#include <optional>
#include <string_view>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace vow::fs {

namespace {

// The path the kernel has for an open descriptor, or nullopt (no /proc).
std::optional<std::string> path_of(int fd) {
    const auto link = fmt::format("/proc/self/fd/{}", fd);
    std::array<char, PATH_MAX + 1> buf{};
    ssize_t n = ::readlink(link.c_str(), buf.data(), buf.size());
    if (n < 0 || static_cast<std::size_t>(n) >= buf.size())
        return std::nullopt;
    return std::string(buf.data(), static_cast<std::size_t>(n));
}

bool is_beneath(std::string_view path, std::string_view root) noexcept {
    if (root == "/")
        return path.starts_with('/');
    return path.starts_with(root) && (path.size() == root.size() || path[root.size()] == '/');
}

// Beneath by its spelling: relative, no ".." segment, no NUL. 0 or the errno.
int lexical_error(std::string_view relative) noexcept {
    if (relative.find('\0') != std::string_view::npos)
        return EINVAL;
    if (relative.empty())
        return ENOENT;
    if (relative.front() == '/')
        return EXDEV;
    for (std::size_t start = 0; start <= relative.size();) {
        std::size_t end = relative.find('/', start);
        if (end == std::string_view::npos)
            end = relative.size();
        if (relative.substr(start, end - start) == "..")
            return EXDEV;
        start = end + 1;
    }
    return 0;
}

// openat2(2), retried on EINTR and on EAGAIN (the kernel could not rule out
// a racing rename under RESOLVE_BENEATH and asks the caller to retry).
long openat2_retrying(int dirfd, const char* path, const ::open_how& how) noexcept {
    long fd;
    int tries = 0;
    do
        fd = ::syscall(SYS_openat2, dirfd, path, &how, sizeof how);
    while (fd < 0 && (errno == EINTR || (errno == EAGAIN && ++tries < 16)));
    return fd;
}

}  // namespace

namespace detail {

int open_beneath_fallback(const directory_state& root, const char* relative, int flags,
                          bool outside_ok) noexcept {
    int fd;
    do
        fd = ::openat(root.fd.get(), relative, flags);
    while (fd < 0 && errno == EINTR);
    if (fd < 0 || outside_ok)
        return fd;
    std::optional<std::string> at;
    try {
        at = path_of(fd);
    } catch (...) {  // out of memory: cannot verify
    }
    if (!at || !is_beneath(*at, root.real_path)) {
        ::close(fd);
        errno = at ? EXDEV : ENOTSUP;
        return -1;
    }
    return fd;
}

}  // namespace detail

directory::directory(std::string path) {
    int fd;
    do
        fd = ::open(path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
    while (fd < 0 && errno == EINTR);
    if (fd < 0)
        throw fs_error(errno, "open_directory", std::move(path));
    // Held by the state from here, so that a throw below closes it.
    auto state = std::make_shared<detail::directory_state>(fd, std::move(path), std::string());
    if (auto real = path_of(fd)) {
        state->real_path = std::move(*real);
    } else {
        std::unique_ptr<char, decltype(&std::free)> resolved(
            ::realpath(state->path.c_str(), nullptr), &std::free);
        if (!resolved)
            throw fs_error(errno, "open_directory", state->path);
        state->real_path = resolved.get();
    }
    state_ = std::move(state);
}

const std::string& directory::path() const {
    if (!state_)
        throw usage_error("vow::fs::directory::path: the directory is not open");
    return state_->path;
}

const std::string& directory::real_path() const {
    if (!state_)
        throw usage_error("vow::fs::directory::real_path: the directory is not open");
    return state_->real_path;
}

future<opened_file> open_beneath_with_status(reactor& r, const directory& root,
                                             std::string relative, open_beneath_options options,
                                             std::source_location where) {
    const auto* state = detail::directory_access::state(root);
    if (!state)
        throw invalid_argument(
            fmt::format("vow::fs::open_beneath: '{}': the directory is not open", relative));
    auto& pool = detail::pool_of(options.pool);
    const auto e = detail::choose_engine(r, options.engine, options.pool != nullptr, "open_beneath",
                                         state->path + "/" + relative);
    return detail::run(
        r, pool, options.stop, "fs::open_beneath",
        [&r, &pool, e, root, relative = std::move(relative),
         outside_ok = options.follow_symlinks_outside] {
            const auto* dir = detail::directory_access::state(root);
            std::string named = dir->path + "/" + relative;
            if (int error = lexical_error(relative))
                throw fs_error(error, "open_beneath", std::move(named));
            // O_NONBLOCK: opening a FIFO must not wait for a writer. It is
            // cleared again below, for the regular file that is kept.
            const int flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;
            ::open_how how{};
            how.flags = static_cast<std::uint64_t>(flags);
            how.resolve = RESOLVE_NO_MAGICLINKS | (outside_ok ? 0 : RESOLVE_BENEATH);
            long fd = openat2_retrying(dir->fd.get(), relative.c_str(), how);
            if (fd < 0 && errno == ENOSYS)
                fd = detail::open_beneath_fallback(*dir, relative.c_str(), flags, outside_ok);
            if (fd < 0)
                throw fs_error(errno, "open_beneath", std::move(named));
            auto holder =
                std::make_shared<detail::fd_holder>(static_cast<int>(fd), std::move(named));
            struct ::stat st {};
            if (::fstat(holder->fd, &st) != 0)
                throw fs_error(errno, "open_beneath", holder->path);
            if (S_ISDIR(st.st_mode))
                throw fs_error(EISDIR, "open_beneath", holder->path);
            if (!S_ISREG(st.st_mode))
                throw fs_error(EPERM, "open_beneath", holder->path);
            if (::fcntl(holder->fd, F_SETFL, 0) != 0)
                throw fs_error(errno, "open_beneath", holder->path);
            if (e == engine::io_uring)
                detail::check_positional(*holder);
            return opened_file{detail::file_access::make(r, pool, e, std::move(holder), false),
                               detail::to_status(st)};
        },
        where);
}

future<file> open_beneath(reactor& r, const directory& root, std::string relative,
                          open_beneath_options options, std::source_location where) {
    return open_beneath_with_status(r, root, std::move(relative), std::move(options), where)
        .then([](opened_file opened) { return std::move(opened.f); }, where);
}

}  // namespace vow::fs

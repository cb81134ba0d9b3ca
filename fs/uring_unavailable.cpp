// fs/uring_unavailable.cpp - the io_uring engine of a vow built without
// liburing (meson option io_uring): never available, so file.cpp never
// chooses it and these calls are never made.
#include <vow/error.hpp>

#include "uring.hpp"
#include <fmt/format.h>

namespace vow::fs::detail {

namespace {

[[noreturn]] void unavailable(const char* operation) {
    throw usage_error(fmt::format("vow::fs::{}: io_uring is unavailable: {}", operation,
                                  "vow was built without liburing"));
}

}  // namespace

std::string uring_unavailable(reactor&) {
    return "vow was built without liburing (the meson option io_uring; Debian's liburing-dev)";
}

future<std::string> uring_read(uring_target, std::uint64_t, std::size_t, const std::stop_token&,
                               const char* operation, std::source_location) {
    unavailable(operation);
}

future<void> uring_write(uring_target, std::optional<std::uint64_t>, std::string,
                         const std::stop_token&, const char* operation, std::source_location) {
    unavailable(operation);
}

future<void> uring_sync(uring_target, const std::stop_token&, const char* operation,
                        std::source_location) {
    unavailable(operation);
}

}  // namespace vow::fs::detail

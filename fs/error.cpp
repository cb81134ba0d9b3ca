#include <vow/fs/error.hpp>

#include <fmt/format.h>

namespace vow::fs {

fs_error::fs_error(int error, std::string_view operation, std::string path, std::string_view target)
    : std::system_error(error, std::generic_category(),
                        target.empty() ? fmt::format("vow::fs::{}: '{}'", operation, path)
                                       : fmt::format("vow::fs::{}: '{}' -> '{}'", operation, path, target)),
      operation_(operation),
      path_(std::move(path)) {}

}  // namespace vow::fs

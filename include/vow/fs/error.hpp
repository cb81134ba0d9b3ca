/// @file
/// vow::fs::fs_error: the error of a file system operation.
///
/// @code
/// try { ... } catch (const vow::fs::fs_error& e) {
///     if (e.code() == std::errc::no_such_file_or_directory) ...
///     fmt::print("{}\n", e.what());   // vow::fs::open: 'data.csv': No such file or directory
/// }
/// @endcode
///
/// A std::system_error (code() is the errno the system call failed with, in
/// std::generic_category) that also names the operation and the path.
#pragma once

#include <string>
#include <string_view>
#include <system_error>

namespace vow::fs {

/// The error of a file system operation: a std::system_error (code() is the
/// errno, in std::generic_category) that also names the operation and the path.
class fs_error : public std::system_error {
public:
    /// The error `error` (an errno) of `operation` on `path`.
    ///
    /// what(): `"vow::fs::<operation>: '<path>': <strerror(error)>"`, or with a
    /// target (rename's): `"vow::fs::rename: '<path>' -> '<target>': ..."`.
    fs_error(int error, std::string_view operation, std::string path, std::string_view target = {});

    /// The operation as vow names it ("open", "file::read", "rename").
    [[nodiscard]] const std::string& operation() const noexcept { return operation_; }
    /// The path it was given (for rename, the source).
    [[nodiscard]] const std::string& path() const noexcept { return path_; }

private:
    std::string operation_;
    std::string path_;
};

}  // namespace vow::fs

/// @file
/// vow::fs: files and directories as futures.
///
/// `<vow/fs/file.hpp>` (open, file, for_each_chunk) and `<vow/fs/ops.hpp>`
/// (stat, rename, unlink, mkdir, rmdir, readdir, read_file, write_file),
/// `<vow/fs/directory.hpp>` (directory, open_beneath: files that cannot escape
/// a directory); errors in `<vow/fs/error.hpp>`.
#pragma once

#include <vow/fs/directory.hpp>
#include <vow/fs/error.hpp>
#include <vow/fs/file.hpp>
#include <vow/fs/ops.hpp>

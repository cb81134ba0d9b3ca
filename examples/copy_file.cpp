// examples/copy_file.cpp - copy a file of any size in 64 KiB chunks with
// vow::fs, memory bounded by two chunks, the loop never blocked.
//
//   copy_file SRC DST
//   copied 536870912 bytes in 0.412 s (1242.7 MiB/s)
//
// The kernel has no non-blocking read of a regular file: each read and
// write goes to the reactor's io_uring where the kernel allows it, else to
// vow's thread pool (as libuv and aiofiles do); VOW_FS_ENGINE=thread_pool
// in the environment chooses the pool. The loop keeps two calls in
// flight: while chunk n is written, chunk n + 1 is already being read, so
// the copy pays one round trip per chunk, not two. That is the whole
// memory: the chunk being written and the one being read. (A kernel copy,
// copy_file_range(2), would be faster still, and is what `cp` does; this
// example is about the streaming loop, which also fits a source or
// destination that is not a file.)
//
// Errors (a missing SRC, a DST in a directory that does not exist, a full
// disk) print vow::fs's message, which names the operation and the path,
// and exit with status 1.
#include <vow/vow.hpp>

#include <fmt/core.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <memory>
#include <string>
#include <utility>

namespace {

constexpr std::size_t chunk_size = 64 * 1024;

// ANCHOR: loop
// Copies `in` to `out` from their positions to `in`'s end; resolves with the
// byte count. Both files must outlive the future.
vow::future<std::uint64_t> copy_chunks(vow::reactor& r, vow::fs::file& in, vow::fs::file& out) {
    struct state {
        vow::future<std::string> next;   // the read in flight
        std::uint64_t bytes = 0;
    };
    auto st = std::make_shared<state>();
    st->next = in.read(chunk_size);
    return vow::repeat(r, [&r, &in, &out, st] {
               return std::move(st->next).then([&r, &in, &out, st](std::string chunk) {
                   if (chunk.empty())
                       return vow::make_ready_future(r, vow::stop_iteration::yes);
                   st->bytes += chunk.size();
                   st->next = in.read(chunk_size);   // the next chunk is read while this one is written
                   return out.write(std::move(chunk)).then([] { return vow::stop_iteration::no; });
               });
           })
        .then([st] { return st->bytes; });
}
// ANCHOR_END: loop

}  // namespace

int main(int argc, char** argv) {
    if (argc != 3) {
        fmt::print(stderr, "usage: copy_file SRC DST\n");
        return 2;
    }
    vow::reactor r;
    auto start = std::chrono::steady_clock::now();
    vow::fs::file in, out;
    auto copied = vow::fs::open(r, argv[1])
                      .then([&](vow::fs::file f) {
                          in = std::move(f);
                          using vow::fs::open_mode;
                          return vow::fs::open(r, argv[2], open_mode::write | open_mode::create | open_mode::truncate);
                      })
                      .then([&](vow::fs::file f) {
                          out = std::move(f);
                          return copy_chunks(r, in, out);
                      })
                      .then([&](std::uint64_t bytes) {
                          // close() reports a deferred write error; the destructor would not.
                          return out.close().then([bytes] { return bytes; });
                      });
    try {
        auto bytes = vow::run_until_complete(r, std::move(copied));
        std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
        fmt::print("copied {} bytes in {:.3f} s ({:.1f} MiB/s)\n", bytes, took.count(),
                   static_cast<double>(bytes) / (1 << 20) / std::max(took.count(), 1e-9));
        return 0;
    } catch (const std::exception& e) {
        fmt::print(stderr, "copy_file: {}\n", e.what());
        return 1;
    }
}

/// @file
/// vow::net::copy: everything one stream sends, written to another, with
/// backpressure.
///
/// As Node.js's stream.pipeline or Seastar's copy: a proxy's two directions,
/// a body relayed from an upstream.
///
/// @code
/// // A TCP proxy: each direction is one copy; the FIN is passed on.
/// auto up = vow::net::copy(client, upstream);          // future<std::uint64_t>
/// auto down = vow::net::copy(upstream, client);
/// vow::all(r, std::move(up), std::move(down)).then(...);
/// @endcode
///
/// The loop reads with read_some_into (one buffer, reused for every chunk:
/// no allocation per chunk on TCP), writes each chunk to `to` and waits for
/// that write's future before it reads again. A write's future resolves once
/// `to`'s output buffer is at most its high_water mark, so what the copy
/// holds is bounded, whatever the speeds of the two sides: one chunk in
/// hand (at most `from`'s read-ahead limit plus one 64 KiB receive) plus
/// `to`'s high_water. A slow reader on `to`'s far side slows the reads from
/// `from`, whose read-ahead fills and whose kernel window then pushes back
/// on its sender.
///
/// Thread safety: thread-bound (docs/design.md, "Threading"): call on the
/// streams' reactor's thread; both streams must be on the same reactor.
#pragma once

#include <vow/net/io_options.hpp>
#include <vow/net/stream.hpp>
#include <vow/promise/future.hpp>

#include <cstdint>

namespace vow::net {

/// Options of vow::net::copy.
struct copy_options {
    /// For each read from `from` and each write to `to`: the stop token
    /// cancels the copy (vow::cancelled_error), the timeout is an idle
    /// timeout (a copy that moves no chunk for that long fails with
    /// vow::timeout_error), the deadline ends the whole copy.
    io_options io = {};
    /// Once `from` ends, shut down `to` for writing (its FIN tells the far
    /// side the copy is complete), as Node's pipeline ends its destination.
    /// false leaves `to` open for more writes. Default true.
    bool shutdown_after = true;
};

/// Copies from `from` to `to` until `from`'s end of stream, and resolves
/// with the number of bytes copied: once they are all in the kernel, with
/// shutdown_after (the shutdown waits for `to`'s output buffer to drain);
/// without it, once the last write resolved (up to `to`'s high_water may
/// still be queued in its buffer, and is sent as for any write).
///
/// Rejects with the first error of either side (a vow::net::io_error names
/// the stream and the peer: "read from 127.0.0.1:5000", "write to ..."), or
/// a cancellation or timeout of `opts.io`; the copy then stops, and the
/// streams are left open, as they are: close them (a chunk read from `from`
/// may not have reached `to`). The streams are shared handles: the copy
/// holds a copy of each until it settles. While it runs, it is the one
/// reader of `from` and the one writer of `to` (another read or write
/// throws vow::usage_error, or interleaves with the copy's bytes).
///
/// Throws vow::usage_error if either stream is empty.
[[nodiscard]] future<std::uint64_t> copy(stream from, stream to, copy_options opts = {});

}  // namespace vow::net

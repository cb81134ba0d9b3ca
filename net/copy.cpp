// vow::net::copy: a repeat() loop of read_some_into and write, each waited
// for; the one buffer goes from the read to the write and back.
#include <vow/net/copy.hpp>
#include <vow/promise/loop.hpp>
#include <vow/promise/make_future.hpp>

#include <memory>
#include <string>
#include <utility>

namespace vow::net {

namespace {

// The storage read_some_into fills: a TCP stream with nothing buffered
// receives straight into it, up to its capacity.
constexpr std::size_t chunk_capacity = std::size_t{64} * 1024;

struct copy_state {
    reactor* r;
    stream from;
    stream to;
    copy_options opts;
    std::uint64_t bytes = 0;
    std::string buf;
};

}  // namespace

future<std::uint64_t> copy(stream from, stream to, copy_options opts) {
    reactor& r = from.get_reactor();   // these two throw usage_error for an empty stream
    (void)to.get_reactor();
    auto st = std::make_shared<copy_state>(copy_state{&r, std::move(from), std::move(to), std::move(opts), 0, {}});
    st->buf.reserve(chunk_capacity);
    auto loop = repeat(r, [st] {
        return st->from.read_some_into(std::move(st->buf), st->opts.io).then([st](std::string data) {
            if (data.empty())
                return make_ready_future(*st->r, stop_iteration::yes);
            st->bytes += data.size();
            // write() copies what the kernel does not take at once, so the
            // buffer is free again as soon as it returns.
            auto written = st->to.write(data, st->opts.io);
            st->buf = std::move(data);
            return std::move(written).then([] { return stop_iteration::no; });
        });
    });
    return std::move(loop).then([st] {
        if (!st->opts.shutdown_after)
            return make_ready_future(*st->r, st->bytes);
        return st->to.shutdown(st->opts.io).then([st] { return st->bytes; });
    });
}

}  // namespace vow::net

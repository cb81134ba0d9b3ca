// http_body_source::from_file, file_body and file_sink
// (vow/net/http/body.hpp): a file as an HTTP body either way, on vow::fs's
// public API.
#include <vow/error.hpp>
#include <vow/net/http/body.hpp>
#include <vow/promise/make_future.hpp>

#include "parser.hpp"

#include <algorithm>

#include <utility>

namespace vow::net {

http_body_source http_body_source::from_file(std::shared_ptr<fs::file> f, std::uint64_t offset,
                                             std::uint64_t length) {
    if (!f || !f->is_open())
        throw vow::invalid_argument("vow::net::http_body_source::from_file: the file is null or not open");
    http_body_source b;
    b.file = std::move(f);
    b.offset = offset;
    b.length = length;
    return b;
}

future<http_body_source> file_body(reactor& r, std::string path) {
    return fs::open(r, std::move(path)).then([](fs::file f) {
        auto shared = std::make_shared<fs::file>(std::move(f));
        return shared->stat().then([shared](fs::file_status st) {
            http_body_source src;
            src.file = shared;
            src.length = st.size;
            return src;
        });
    });
}

http_body_sink file_sink(std::shared_ptr<fs::file> f) {
    if (!f || !f->is_open())
        throw invalid_argument("vow::net::file_sink: the file is null or not open");
    return [f = std::move(f)](std::string chunk) { return f->write(std::move(chunk)); };
}

namespace detail {

future<std::optional<std::string>> next_body_chunk(reactor& r, const http_body_source& src, std::uint64_t sent,
                                                   std::size_t max) {
    using chunk = std::optional<std::string>;
    try {
        if (!src.file)
            return src.next();
        if (!src.length)  // the server and the client check this before sending
            throw invalid_argument("vow::net::http_body_source: a file without a length");
        auto left = *src.length - sent;
        if (left == 0)
            return make_ready_future(r, chunk());
        auto n = static_cast<std::size_t>(std::min<std::uint64_t>(left, max));
        return src.file->pread(src.offset + sent, n).then([](std::string bytes) {
            return bytes.empty() ? chunk() : chunk(std::move(bytes));
        });
    } catch (...) {
        return make_exception_future<chunk>(r, std::current_exception());
    }
}

}  // namespace detail

}  // namespace vow::net

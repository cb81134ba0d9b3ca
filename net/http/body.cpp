// http_body_source::from_file (vow/net/http/body.hpp).
#include <vow/error.hpp>
#include <vow/net/http/body.hpp>

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

}  // namespace vow::net

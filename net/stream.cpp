// vow::net::stream: the handle over any stream_interface (vow/net/stream.hpp).
#include <vow/error.hpp>
#include <vow/net/stream.hpp>

#include <fmt/format.h>

namespace vow::net {

void stream::throw_empty(const char* op) {
    throw usage_error(fmt::format("vow::net::stream::{}: the stream is empty (default-constructed or moved from)",
                                  op));
}

}  // namespace vow::net

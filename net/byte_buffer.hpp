// net/byte_buffer.hpp - the byte queue behind every stream's buffered input
// (tcp_stream's, and the plaintext of vow-tls's streams). Private to the
// network layer, header-only and standard-library-only, so vow-tls, a
// separate library, shares it without libvow exporting anything.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace vow::net::detail {

// A byte queue: append at the back, consume from the front without moving
// the rest each time (compacts when the dead front is the larger part).
class byte_buffer {
public:
    [[nodiscard]] const char* data() const noexcept { return buf_.data() + start_; }
    [[nodiscard]] std::size_t size() const noexcept { return buf_.size() - start_; }
    [[nodiscard]] bool empty() const noexcept { return size() == 0; }
    [[nodiscard]] std::string_view view() const noexcept { return {data(), size()}; }

    void append(const char* p, std::size_t n) {
        if (start_ != 0 && start_ >= buf_.size() - start_) {
            buf_.erase(0, start_);
            start_ = 0;
        }
        buf_.append(p, n);
    }
    void consume(std::size_t n) noexcept {
        start_ += n;
        if (start_ >= buf_.size())
            reset_storage();
    }
    // The first n bytes, consumed.
    std::string take(std::size_t n) {
        if (n == size())
            return take_all();
        std::string s(data(), n);
        consume(n);
        return s;
    }
    std::string take_all() {
        std::string s;
        if (start_ == 0)
            s.swap(buf_);
        else
            s.assign(data(), size());
        buf_.clear();
        start_ = 0;
        return s;
    }
    void clear() noexcept { reset_storage(); }

private:
    void reset_storage() noexcept {
        start_ = 0;
        if (buf_.capacity() > std::size_t{256} * 1024)
            std::string().swap(buf_);   // give a burst's memory back
        else
            buf_.clear();
    }
    std::string buf_;
    std::size_t start_ = 0;
};

}  // namespace vow::net::detail

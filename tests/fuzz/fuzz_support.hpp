// tests/fuzz/fuzz_support.hpp - what the fuzz targets share.
#pragma once

#include <cstddef>
#include <cstdio>
#include <string>
#include <string_view>

namespace vow::fuzz {

// The first `max` bytes of `s` as a failure report can print them: bytes
// outside printable ASCII, and the backslash, as \xNN.
inline std::string show(std::string_view s, std::size_t max) {
    std::string out;
    for (unsigned char c : s.substr(0, max)) {
        if (c >= 0x20 && c < 0x7f && c != '\\') {
            out.push_back(static_cast<char>(c));
        } else {
            char b[8];
            std::snprintf(b, sizeof b, "\\x%02x", c);
            out += b;
        }
    }
    return out;
}

}  // namespace vow::fuzz

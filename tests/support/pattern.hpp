// tests/support/pattern.hpp - bytes a test can check byte for byte.
//
//   auto data = vow::test::pattern(1 << 20, 3);
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace vow::test {

// `n` bytes that differ with `seed` and with the position, so that a byte
// lost, repeated or taken from another connection shows up as a mismatch.
inline std::string pattern(std::size_t n, std::uint32_t seed) {
    std::string s(n, '\0');
    std::uint32_t x = seed * 2654435761u + 12345u;
    for (std::size_t i = 0; i < n; ++i) {
        x = x * 1664525u + 1013904223u;  // a small LCG: cheap, and the high bits vary
        s[i] = static_cast<char>(x >> 24);
    }
    return s;
}

}  // namespace vow::test

// tests/support/fnv1a.hpp - FNV-1a, 64 bits, over bytes fed in pieces: enough
// to tell a lost, repeated or reordered chunk of a large transfer.
//
//   vow::test::fnv1a sent, got;
//   sent.add(data);  ...  got.add(chunk);  ...  BOOST_TEST(got.h == sent.h);
#pragma once

#include <cstdint>
#include <string_view>

namespace vow::test {

struct fnv1a {
    std::uint64_t h = 14695981039346656037ull;
    void add(std::string_view s) noexcept {
        for (unsigned char c : s) {
            h ^= c;
            h *= 1099511628211ull;
        }
    }
};

}  // namespace vow::test

// tests/support/build_kind.hpp - what kind of build or run a test is in, for
// the tests that scale their work (or skip a measurement) under sanitizers
// and valgrind.
//
//   const long depth = vow::test::under_valgrind() ? 100'000 : 1'000'000;
//   constexpr int programs = vow::test::sanitized_build ? 200 : 400;
#pragma once

#include <cstdlib>

namespace vow::test {

// True in an AddressSanitizer or ThreadSanitizer build (gcc defines
// __SANITIZE_*__, clang answers __has_feature).
inline constexpr bool sanitized_build =
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
    true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
    true;
#else
    false;
#endif
#else
    false;
#endif

// True under `meson test --setup valgrind`, which sets VOW_TEST_VALGRIND
// (tests/meson.build).
inline bool under_valgrind() { return std::getenv("VOW_TEST_VALGRIND") != nullptr; }

}  // namespace vow::test

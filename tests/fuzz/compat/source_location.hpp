// tests/fuzz/compat/source_location.hpp - std::source_location for clang 14
// on libstdc++ (forced in with -include by the top-level meson.build, only
// when fuzzing and only if the compiler cannot use the standard one).
//
// libstdc++ 12 defines std::source_location only if the compiler has
// __builtin_source_location, which clang gained in version 15; clang 14
// (the libFuzzer on Debian 12) sees an empty <source_location>. This
// stand-in has the same interface, built on the older builtins that clang
// 14 evaluates at the call site when they are default arguments. It steps
// aside whenever the library provides the real one.
#pragma once

#include <version>

#if !defined(__cpp_lib_source_location)
#include <cstdint>

namespace std {

struct source_location {
    static constexpr source_location current(const char* file = __builtin_FILE(),
                                             const char* function = __builtin_FUNCTION(),
                                             uint_least32_t line = __builtin_LINE(),
                                             uint_least32_t column = __builtin_COLUMN()) noexcept {
        source_location l;
        l.file_ = file;
        l.function_ = function;
        l.line_ = line;
        l.column_ = column;
        return l;
    }
    constexpr source_location() noexcept = default;
    [[nodiscard]] constexpr uint_least32_t line() const noexcept { return line_; }
    [[nodiscard]] constexpr uint_least32_t column() const noexcept { return column_; }
    [[nodiscard]] constexpr const char* file_name() const noexcept { return file_; }
    [[nodiscard]] constexpr const char* function_name() const noexcept { return function_; }

private:
    const char* file_ = "";
    const char* function_ = "";
    uint_least32_t line_ = 0;
    uint_least32_t column_ = 0;
};

}  // namespace std
#endif

// expect: the handler must take std::exception_ptr, or one exception type
// A generic catch_ handler: its error type cannot be read off its signature.
#include <vow/promise/future.hpp>
#include <vow/promise/make_future.hpp>

#include <stdexcept>

void chain(vow::reactor& r) {
    auto f = vow::make_exception_future<int>(r, std::runtime_error("x"));
#ifdef VOW_COMPILE_FAIL
    (void)std::move(f).catch_([](auto& e) { return static_cast<int>(sizeof e); });
#else
    (void)std::move(f).catch_([](const std::runtime_error&) { return 0; });
#endif
}

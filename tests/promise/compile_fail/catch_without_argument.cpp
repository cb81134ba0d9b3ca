// expect: the handler must take std::exception_ptr, or one exception type
// A catch_ handler that takes nothing, as `.catch(() => ...)` would in JavaScript.
#include <vow/promise/future.hpp>
#include <vow/promise/make_future.hpp>

#include <exception>
#include <stdexcept>

void chain(vow::reactor& r) {
    auto f = vow::make_exception_future<int>(r, std::runtime_error("x"));
#ifdef VOW_COMPILE_FAIL
    (void)std::move(f).catch_([] { return 0; });
#else
    (void)std::move(f).catch_([](std::exception_ptr) { return 0; });
#endif
}

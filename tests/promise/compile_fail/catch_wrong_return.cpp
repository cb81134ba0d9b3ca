// expect: the handler must return T (or future<T>
// A catch_ handler that recovers with a value of the wrong type.
#include <vow/promise/future.hpp>
#include <vow/promise/make_future.hpp>

#include <exception>
#include <string>

void chain(vow::reactor& r) {
    auto f = vow::make_ready_future(r, 1);
#ifdef VOW_COMPILE_FAIL
    (void)std::move(f).catch_([](std::exception_ptr) { return std::string("not an int"); });
#else
    (void)std::move(f).catch_([](std::exception_ptr) { return 0; });
#endif
}

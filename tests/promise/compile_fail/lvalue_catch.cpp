// expect: vow::future::catch_ consumes the future (one future, one consumer): call it on an rvalue, std::move(f).catch_(...)
// catch_ on a named future: one future has one consumer, so it must be moved.
#include <exception>
#include <utility>

#include <vow/promise/future.hpp>
#include <vow/promise/make_future.hpp>

void chain(vow::reactor& r) {
    auto f = vow::make_ready_future(r, 1);
#ifdef VOW_COMPILE_FAIL
    (void)f.catch_([](std::exception_ptr) { return 0; });
#else
    (void)std::move(f).catch_([](std::exception_ptr) { return 0; });
#endif
}

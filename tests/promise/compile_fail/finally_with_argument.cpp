// expect: the handler must take no arguments
// A finally handler that expects the value.
#include <vow/promise/future.hpp>
#include <vow/promise/make_future.hpp>

void chain(vow::reactor& r) {
    auto f = vow::make_ready_future(r, 1);
#ifdef VOW_COMPILE_FAIL
    (void)std::move(f).finally([](int) {});
#else
    (void)std::move(f).finally([] {});
#endif
}

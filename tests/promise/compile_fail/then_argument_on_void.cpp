// expect: or with no arguments for future<void>
// A then handler that wants a value from a future<void>.
#include <vow/promise/future.hpp>
#include <vow/promise/make_future.hpp>

void chain(vow::reactor& r) {
    auto f = vow::make_ready_future(r);
#ifdef VOW_COMPILE_FAIL
    (void)std::move(f).then([](int n) { return n; });
#else
    (void)std::move(f).then([] { return 0; });
#endif
}

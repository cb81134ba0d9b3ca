// expect: the handler must take the value as const T&
// A shared_future handler that wants to modify the shared value.
#include <vow/promise/future.hpp>
#include <vow/promise/make_future.hpp>
#include <vow/promise/shared_future.hpp>

void chain(vow::reactor& r) {
    auto s = vow::make_ready_future(r, 1).share();
#ifdef VOW_COMPILE_FAIL
    (void)s.then([](int& n) { return ++n; });
#else
    (void)s.then([](const int& n) { return n + 1; });
#endif
}

// expect: vow::future::share consumes the future: call std::move(f).share()
// share on a named future: it consumes the future, so it must be moved.
#include <utility>

#include <vow/promise/future.hpp>
#include <vow/promise/make_future.hpp>
#include <vow/promise/shared_future.hpp>

void chain(vow::reactor& r) {
    auto f = vow::make_ready_future(r, 1);
#ifdef VOW_COMPILE_FAIL
    auto s = f.share();
#else
    auto s = std::move(f).share();
#endif
    (void)s.then([](const int& n) { return n; });
}

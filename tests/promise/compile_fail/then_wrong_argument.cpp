// expect: the handler must be callable with the value
// A then handler whose parameter cannot take the value.
#include <vow/promise/future.hpp>
#include <vow/promise/make_future.hpp>

#include <string>

void chain(vow::reactor& r) {
    auto f = vow::make_ready_future(r, 1);
#ifdef VOW_COMPILE_FAIL
    (void)std::move(f).then([](std::string s) { return s.size(); });
#else
    (void)std::move(f).then([](int n) { return n; });
#endif
}

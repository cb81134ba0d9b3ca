// expect: fn must take no arguments, or the attempt number
// A retry operation that takes something other than the attempt number.
#include <vow/promise/make_future.hpp>
#include <vow/promise/retry.hpp>

#include <cstddef>
#include <string>

void again(vow::reactor& r) {
#ifdef VOW_COMPILE_FAIL
    (void)vow::retry(r, {}, [&](std::string url) { return vow::make_ready_future(r, url.size()); });
#else
    (void)vow::retry(r, {}, [&](std::size_t attempt) { return vow::make_ready_future(r, attempt); });
#endif
}

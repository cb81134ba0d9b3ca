// expect: the arguments must make a T
// resolve with something that is not a T.
#include <vow/promise/promise.hpp>

void settle(vow::promise<int>& p) {
#ifdef VOW_COMPILE_FAIL
    p.resolve("forty-two");
#else
    p.resolve(42);
#endif
}

// vow/promise/sleep.hpp - a future that is fulfilled after a delay.
//
//   vow::sleep(r, 1s).then([] { fmt::print("World\n"); });
//
// Reactor thread only. Throws vow::invalid_argument for a negative delay.
#pragma once

#include <vow/promise/future.hpp>
#include <vow/promise/promise.hpp>
#include <vow/reactor/reactor.hpp>

#include <source_location>
#include <utility>

namespace vow {

// Fulfils the returned future `delay` from now, on a timer of `r`.
inline future<void> sleep(reactor& r, reactor::duration delay,
                          std::source_location where = std::source_location::current()) {
    promise<void> p(r, where);
    future<void> f = p.get_future();
    (void)r.call_later(delay, [p = std::move(p)]() mutable { p.resolve(); });
    return f;
}

}  // namespace vow

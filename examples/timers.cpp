// examples/timers.cpp - one-shot, periodic and cancelled timers.
//
// Each line starts with the time since the program started, in milliseconds
// rounded to tens, so that the output reads the same from run to run:
//
//   - a one-shot timer (call_later) fires once, at 50 ms;
//   - a periodic timer (call_every) ticks every 100 ms and cancels itself,
//     from inside its own callback, on its third tick;
//   - a one-shot timer due at 250 ms is cancelled at 150 ms: it never fires,
//     and its callable is destroyed when it is cancelled.
//
// run() returns at 300 ms, when the last armed timer has gone.
#include <vow/reactor/handle.hpp>
#include <vow/reactor/reactor.hpp>

#include <fmt/core.h>

#include <chrono>
#include <string_view>

using namespace std::chrono_literals;

int main() {
    const auto start = vow::reactor::clock::now();
    auto say = [start](std::string_view what) {
        auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      vow::reactor::clock::now() - start)
                      .count();
        fmt::print("{:5} ms  {}\n", (ms + 5) / 10 * 10, what);
    };

    vow::reactor r;
    say("start");

    (void)r.call_later(50ms, [&] { say("one-shot timer fired"); });

    int ticks = 0;
    vow::handle ticker;
    ticker = r.call_every(100ms, [&] {
        ++ticks;
        if (ticks < 3) {
            say(fmt::format("tick {}", ticks));
            return;
        }
        say(fmt::format("tick {}: the ticker cancels itself", ticks));
        ticker.cancel();  // safe from inside the callback: it is destroyed after it returns
    });

    bool late_fired = false;
    vow::handle late = r.call_later(250ms, [&] {
        late_fired = true;
        say("the 250 ms timer fired (it should not have)");
    });
    (void)r.call_later(150ms, [&] {
        say(fmt::format("cancelling the 250 ms timer (active: {})", late.active()));
        late.cancel();
    });

    r.run();
    say("run() returned: no timer is left");
    fmt::print("the 250 ms timer {} (active: {})\n",
               late_fired ? "fired" : "never fired", late.active());
    return late_fired ? 1 : 0;
}

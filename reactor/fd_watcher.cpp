// vow::fd_watcher on libevent: two persistent events embedded in the
// watcher (read and write), added and deleted as start() and stop() ask.
// libevent calls on_event, which runs the user's callback the way the
// reactor runs all of its own: loop time refreshed, slow-callback check,
// exceptions to the reactor's handler.
#include <vow/reactor/fd_watcher.hpp>

#include <event2/event.h>
#include <event2/event_struct.h>
#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <new>

namespace vow {

static_assert(sizeof(struct event) <= 128 && alignof(struct event) <= alignof(void*),
              "libevent's struct event no longer fits fd_watcher's storage: raise event_size / event_align "
              "in <vow/reactor/fd_watcher.hpp>");
static_assert(std::is_trivially_destructible_v<struct event>);
static_assert(std::is_same_v<evutil_socket_t, int>, "fd_watcher::on_event takes the fd as an int");

namespace {

event* as_event(void* storage) noexcept { return std::launder(static_cast<event*>(storage)); }

const char* describe(io_events e) noexcept {
    switch (e) {
    case io_events::readable:
        return "reading";
    case io_events::writable:
        return "writing";
    case io_events::both:
        return "reading and writing";
    case io_events::none:
        break;
    }
    return "nothing";
}

}  // namespace

fd_watcher::fd_watcher(reactor& r, int fd, const char* name, callback on_ready)
    : r_(&r), cb_(on_ready), name_(name), fd_(fd) {
    detail::check_thread(r, "fd_watcher::fd_watcher");
    if (fd < 0)
        throw invalid_argument(fmt::format("vow::fd_watcher: fd {} is not valid", fd));
    if (!on_ready.fn)
        throw invalid_argument("vow::fd_watcher: the callback function is null");
    if (!name)
        throw invalid_argument("vow::fd_watcher: the name is null");
    // Assigning only fills the structs in; nothing is registered until start().
    event_assign(::new (read_ev_.bytes) event{}, r.native_handle(), fd, EV_READ | EV_PERSIST, &fd_watcher::on_event,
                 this);
    event_assign(::new (write_ev_.bytes) event{}, r.native_handle(), fd, EV_WRITE | EV_PERSIST,
                 &fd_watcher::on_event, this);
}

fd_watcher::~fd_watcher() {
    if (active())
        detail::check_thread(*r_, "fd_watcher::~fd_watcher");
    stop();
}

void fd_watcher::start(io_events events) {
    if (int err = try_start(events))
        throw reactor_error(fmt::format("vow::fd_watcher::start: cannot watch fd {} for {}: {} ({})", fd_,
                                        describe(events), std::strerror(err), name_));
}

int fd_watcher::try_start(io_events events) noexcept {
    detail::check_thread(*r_, "fd_watcher::start");
    events = events & io_events::both;
    stop(~events);
    for (io_events e : {io_events::readable, io_events::writable}) {
        if (!has(events, e) || has(events_, e))
            continue;
        errno = 0;
        if (event_add(as_event(e == io_events::readable ? read_ev_.bytes : write_ev_.bytes), nullptr) != 0) {
            // libevent leaves epoll_ctl's errno; a refusal without one is
            // libevent's own (out of memory for its fd map).
            int err = errno != 0 ? errno : ENOMEM;
            stop();
            return err;
        }
        events_ = events_ | e;
    }
    return 0;
}

void fd_watcher::stop(io_events events) noexcept {
    const io_events drop = events_ & events;
    if (drop == io_events::none)
        return;
    detail::check_thread(*r_, "fd_watcher::stop");
    // event_del also takes an event off the active queue of this turn: a
    // stopped watcher never runs, even if its fd was found ready.
    if (has(drop, io_events::readable))
        event_del(as_event(read_ev_.bytes));
    if (has(drop, io_events::writable))
        event_del(as_event(write_ev_.bytes));
    events_ = events_ & ~drop;
}

void fd_watcher::on_event(int, short what, void* self) {
    auto* w = static_cast<fd_watcher*>(self);
    // The callback may stop, restart or destroy the watcher: nothing of it
    // is read after the call.
    reactor& r = *w->r_;
    const callback cb = w->cb_;
    const char* name = w->name_;
    const io_events ready = (what & EV_READ) != 0 ? io_events::readable : io_events::writable;
    r.refresh_time();
    try {
        if (r.slow_threshold_ == reactor::duration::zero()) [[likely]] {
            cb.fn(cb.context, ready);
        } else {
            struct timed {
                reactor& r;
                const char* name;
                reactor::time_point start = reactor::clock::now();
                ~timed() { r.check_slow(start, name); }
            } t{r, name};
            cb.fn(cb.context, ready);
        }
    } catch (...) {
        r.report_exception(std::current_exception(), name);
    }
}

}  // namespace vow

/// @file
/// vow::fd_watcher: watches a file descriptor for readiness, for code built on
/// the reactor (libuv's uv_poll_t is the model).
///
/// Example: a member function as the callback, no allocation.
/// @code
/// class pipe_reader {
/// public:
///     pipe_reader(vow::reactor& r, int fd)
///         : watch_(r, fd, "pipe_reader callback",
///                  vow::fd_watcher::bind<&pipe_reader::on_ready>(this)) {
///         watch_.start(vow::io_events::readable);
///     }
/// private:
///     void on_ready(vow::io_events ready) { /* read(2) until EAGAIN, or watch_.stop() */ }
///     vow::fd_watcher watch_;
/// };
/// @endcode
///
/// This is the reactor's one door to file descriptors for library code: the
/// network layer's streams, servers and connects use it, and so should any
/// protocol layer (TLS, WebSocket, database clients) that drives its own
/// sockets. Its callback runs exactly as every reactor callback does (docs/
/// design.md, "The reactor"): on the reactor's thread, with `reactor::now()`
/// refreshed, timed by the slow-callback check, and an exception that escapes
/// it goes to the reactor's exception handler, described by the watcher's
/// name, and the loop (and the watcher) goes on.
///
/// Semantics: level-triggered and persistent. While started for an event,
/// the callback runs on every turn of the loop in which the fd is ready for
/// it (readable: data, end of stream, a pending connection or an error to
/// read; writable: room to write, or an error), until stopped. A started
/// watcher keeps `run()` running, as a libevent event does.
///
/// Thread safety: thread-bound (docs/design.md, "Threading"): construct,
/// start, stop and destroy it on its reactor's thread (checked where thread
/// checks are on; a stopped watcher touches nothing shared, so destroying one
/// is left unchecked, as with an inactive handle).
///
/// Ownership: the watcher neither owns nor closes `fd`: stop it (or destroy
/// it) before closing the fd. The callback's context is borrowed: it must
/// outlive the watcher's started periods (a watcher that is a member of its
/// context is the usual shape). A started watcher must be stopped or
/// destroyed before the reactor's destructor returns; one destroyed by the
/// reactor's destructor itself (in a reactor::service, or inside a callable
/// the reactor destroys) is in time.
///
/// Neither copyable nor movable: the reactor's event lives inside the watcher
/// and points back at it. Embed it in an object that stays put (one held by
/// unique_ptr or shared_ptr, if that object must move); std::optional and
/// emplace() give a watcher whose fd is known only later.
#pragma once

#include <vow/reactor/reactor.hpp>

#include <cstddef>
#include <functional>
#include <type_traits>

namespace vow {

/// Readiness of a file descriptor, as a set: what a watcher waits for, and
/// what its callback is told.
enum class io_events : unsigned char {
    none = 0,      ///< Nothing.
    readable = 1,  ///< Data, end of stream, a pending connection or an error to read.
    writable = 2,  ///< Room to write, or an error.
    both = 3       ///< readable and writable.
};

/// The events in `a` or in `b`.
constexpr io_events operator|(io_events a, io_events b) noexcept {
    return static_cast<io_events>(static_cast<unsigned>(a) | static_cast<unsigned>(b));
}
/// The events in both `a` and `b`.
constexpr io_events operator&(io_events a, io_events b) noexcept {
    return static_cast<io_events>(static_cast<unsigned>(a) & static_cast<unsigned>(b));
}
/// The events of `both` that are not in `a`.
constexpr io_events operator~(io_events a) noexcept {
    return static_cast<io_events>(~static_cast<unsigned>(a) & static_cast<unsigned>(io_events::both));
}
/// True if every event of `which` is in `set` (and `which` is not none).
constexpr bool has(io_events set, io_events which) noexcept {
    return which != io_events::none && (set & which) == which;
}

/// Watches a file descriptor for readiness and runs a callback, level-triggered,
/// while it is ready (see the file description for the rules).
class fd_watcher {
public:
    /// The callback: `context` as given, and what the fd is ready for (one
    /// event of those the watcher is started for; a fd ready for both may be
    /// reported as two calls in the same turn).
    using callback_fn = void (*)(void* context, io_events ready);
    /// What the watcher calls: `fn(context, ready)`.
    struct callback {
        callback_fn fn = nullptr;  ///< The function to call; must not be null.
        void* context = nullptr;   ///< Passed to `fn` as given.
    };

    /// A callback that calls `Member` on `*object`: any member function (or
    /// function) invocable as std::invoke(Member, *object, io_events).
    /// @code
    /// vow::fd_watcher w(r, fd, vow::fd_watcher::bind<&conn::on_io>(this));
    /// @endcode
    template <auto Member, class T>
    [[nodiscard]] static callback bind(T* object) noexcept {
        static_assert(std::is_invocable_v<decltype(Member), T&, io_events>,
                      "vow::fd_watcher::bind<Member>(object): Member must be callable as "
                      "std::invoke(Member, *object, vow::io_events), e.g. a member function "
                      "'void on_ready(vow::io_events)' of T");
        return {[](void* context, io_events ready) { std::invoke(Member, *static_cast<T*>(context), ready); },
                object};
    }

    /// A stopped watcher of `fd` on `r`. `name` describes the callback in
    /// exception and slow-callback reports ("tcp_stream callback"); it must be
    /// a string that outlives the watcher, such as a literal. Reactor thread
    /// only. Throws vow::invalid_argument for a negative fd, a null callback
    /// function or a null name.
    fd_watcher(reactor& r, int fd, const char* name, callback on_ready);
    /// As fd_watcher(reactor&, int, const char*, callback), named
    /// "fd watcher callback".
    fd_watcher(reactor& r, int fd, callback on_ready) : fd_watcher(r, fd, "fd watcher callback", on_ready) {}

    /// Stops the watcher.
    ~fd_watcher();

    fd_watcher(const fd_watcher&) = delete;
    fd_watcher& operator=(const fd_watcher&) = delete;
    fd_watcher(fd_watcher&&) = delete;
    fd_watcher& operator=(fd_watcher&&) = delete;

    /// Watches for exactly `events` from now on: adds what is new, drops what
    /// is no longer wanted (start(none) is stop()). Safe from inside any
    /// callback, this watcher's own included. Reactor thread only.
    /// Throws vow::reactor_error, naming the fd and the system's reason, if
    /// the system refuses to watch the fd (a closed fd, a regular file, out
    /// of memory); the watcher is then stopped.
    void start(io_events events);

    /// As start(), but returns the errno of a refusal (0 on success) instead
    /// of throwing, for code that turns it into its own error (a stream fails
    /// as if a read had). The watcher is then stopped.
    [[nodiscard]] int try_start(io_events events) noexcept;

    /// Stops watching: the callback does not run again (not even if the fd
    /// was found ready earlier in this turn) until the next start(). Safe to
    /// call any number of times, and from inside the callback. Reactor thread
    /// only (a stopped watcher is left alone on any thread).
    void stop() noexcept { stop(io_events::both); }

    /// Stops watching for `events` only, and keeps watching for the rest, as
    /// start(events() & ~events) would; never fails.
    void stop(io_events events) noexcept;

    /// What the watcher waits for now; none while stopped.
    [[nodiscard]] io_events events() const noexcept { return events_; }
    /// True while started for some event (events() is not none).
    [[nodiscard]] bool active() const noexcept { return events_ != io_events::none; }
    /// The watched file descriptor.
    [[nodiscard]] int fd() const noexcept { return fd_; }
    /// The reactor the watcher runs on.
    [[nodiscard]] reactor& get_reactor() const noexcept { return *r_; }

private:
    // libevent's `struct event`, kept opaque so that no libevent header
    // reaches users; fd_watcher.cpp checks that it fits. One per direction:
    // libevent cannot change an event's mask in place, and deleting and
    // re-adding one event would cost two epoll_ctl calls where adding or
    // removing the second event of the fd costs one.
    static constexpr std::size_t event_size = 128;
    static constexpr std::size_t event_align = alignof(void*);
    struct event_storage {
        alignas(event_align) unsigned char bytes[event_size];
    };

    static void on_event(int fd, short what, void* self);

    reactor* r_;
    callback cb_;
    const char* name_;
    int fd_;
    io_events events_ = io_events::none;
    event_storage read_ev_;
    event_storage write_ev_;
};

}  // namespace vow

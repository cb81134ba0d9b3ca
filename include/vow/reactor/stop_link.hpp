/// @file
/// vow::stop_link: brings a std::stop_token's stop request onto a reactor's thread.
///
/// Example: cancel an operation of the reactor when stop is requested on any
/// thread, unless it finished first.
/// @code
/// struct op {
///     vow::handle timer;
///     vow::stop_link link;
/// };
/// auto o = std::make_shared<op>();
/// o->timer = r.call_later(5s, [o] { o->link.reset(); /* done */ });
/// o->link.assign(r, token, [o] { o->timer.cancel(); /* cancelled */ });
/// @endcode
///
/// std::stop_callback runs its callback on whichever thread requests stop (or
/// inside its own constructor, if stop was requested already), while what a
/// reactor runs may only be touched on the reactor's thread. A stop_link
/// registers a std::stop_callback that does nothing but post to the reactor
/// with call_soon_threadsafe; `fn` then runs on the reactor's thread on a
/// later turn, unless the link was reset first. It needs nothing but the
/// reactor: the promise layer, the network layer and reactor::call_every's
/// stop_token form all use it.
///
/// Thread safety: thread-bound (docs/design.md, "Threading"): construct,
/// assign, reset and destroy a link on its reactor's thread. The stop request
/// itself may come from any thread, at any time.
///
/// Ownership: `fn` is moved into the link (copied if passed as an lvalue; it
/// is kept in a std::function, so it must be copyable). It runs at most once,
/// on the reactor's thread, and is destroyed there: right after it runs, or
/// by reset(), assign() or the destructor if it has not run. The reactor must
/// outlive the link (a link held by something the reactor owns, such as a
/// callable, is reset when the reactor destroys that callable).
#pragma once

#include <vow/reactor/reactor.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <stop_token>
#include <utility>

namespace vow {

/// Runs a function on a reactor's thread once stop is requested on a
/// std::stop_token, from whichever thread requests it (see the file
/// description for the rules).
class stop_link {
public:
    /// An empty link: nothing is registered.
    stop_link() noexcept = default;

    /// Links `token` to `fn`, as assign() does.
    template <class F>
    stop_link(reactor& r, const std::stop_token& token, F&& fn) {
        assign(r, token, std::function<void()>(std::forward<F>(fn)));
    }

    stop_link(const stop_link&) = delete;
    stop_link& operator=(const stop_link&) = delete;

    /// Resets the link: `fn` never runs, and is destroyed here.
    ~stop_link() { reset(); }

    /// Resets the link, then arranges for `fn` to run on `r`'s thread once
    /// stop is requested on `token`. A stop requested before this call counts:
    /// `fn` then runs on a later turn (never inside assign). A token that can
    /// never be stopped (`!token.stop_possible()`) registers nothing and `fn`
    /// is destroyed here. Reactor thread only.
    void assign(reactor& r, const std::stop_token& token, std::function<void()> fn) {
        detail::check_thread(r, "stop_link::assign");
        reset();
        if (!token.stop_possible())
            return;
        ctl_ = std::make_shared<control>(r, std::move(fn));
        cb_.emplace(token, poster{ctl_});
    }

    /// From now on `fn` never runs; it is destroyed here. Safe to call on an
    /// empty link, any number of times, and from inside `fn`. If the stop
    /// request is being handled on another thread at this moment, waits for
    /// that thread to finish posting (a few instructions, never for `fn`).
    /// Reactor thread only.
    void reset() noexcept {
        if (!ctl_)
            return;
        detail::check_thread(*ctl_->r, "stop_link::reset");
        cb_.reset();
        ctl_->active = false;
        ctl_->fn = nullptr;
        ctl_.reset();
    }

private:
    // Shared by the link and the task posted to the reactor, which may run
    // after the link is gone (it then finds `active` false).
    struct control {
        control(reactor& rr, std::function<void()> f) : r(&rr), fn(std::move(f)) {}
        reactor* r;
        std::function<void()> fn;  // reactor thread only
        bool active = true;        // reactor thread only
    };
    // The std::stop_callback's callback: runs on the thread requesting stop.
    struct poster {
        std::weak_ptr<control> w;
        void operator()() noexcept {
            if (auto c = w.lock()) {
                c->r->call_soon_threadsafe([c] {
                    if (c->active) {
                        c->active = false;
                        auto f = std::move(c->fn);
                        c->fn = nullptr;
                        f();
                    }
                });
            }
        }
    };
    std::shared_ptr<control> ctl_;
    std::optional<std::stop_callback<poster>> cb_;
};

}  // namespace vow

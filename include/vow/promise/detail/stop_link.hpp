// vow/promise/detail/stop_link.hpp - std::stop_token to the reactor thread.
//
// A stop can be requested on any thread, and std::stop_callback runs its
// callback on that thread (or at once, if stop was already requested). vow's
// operations live on the reactor thread, so the link posts the request there
// with call_soon_threadsafe and runs `fn` on a later turn, unless the
// operation finished first and reset the link.
#pragma once

#include <vow/reactor/reactor.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <stop_token>
#include <utility>

namespace vow::detail {

class stop_link {
public:
    stop_link() noexcept = default;

    // Reactor thread. `fn` runs at most once, on the reactor thread.
    template <class F>
    stop_link(reactor& r, const std::stop_token& token, F&& fn) {
        if (!token.stop_possible())
            return;
        ctl_ = std::make_shared<control>(r, std::function<void()>(std::forward<F>(fn)));
        cb_.emplace(token, poster{ctl_});
    }

    stop_link(stop_link&&) = delete;
    stop_link& operator=(stop_link&& other) = delete;
    ~stop_link() { reset(); }

    // Reactor thread. After reset, `fn` never runs; it is destroyed here.
    // Waits if the stop callback is running on another thread right now.
    void reset() noexcept {
        cb_.reset();
        if (ctl_) {
            ctl_->active = false;
            ctl_->fn = nullptr;
            ctl_.reset();
        }
    }

    // Moves another link in (reactor thread).
    void assign(reactor& r, const std::stop_token& token, std::function<void()> fn) {
        reset();
        if (!token.stop_possible())
            return;
        ctl_ = std::make_shared<control>(r, std::move(fn));
        cb_.emplace(token, poster{ctl_});
    }

private:
    struct control {
        control(reactor& rr, std::function<void()> f) : r(&rr), fn(std::move(f)) {}
        reactor* r;
        std::function<void()> fn;  // reactor thread only
        bool active = true;        // reactor thread only
    };
    struct poster {
        std::weak_ptr<control> w;
        void operator()() noexcept {
            if (auto c = w.lock()) {
                c->r->call_soon_threadsafe([c] {
                    if (c->active) {
                        c->active = false;
                        auto f = std::move(c->fn);
                        f();
                    }
                });
            }
        }
    };
    std::shared_ptr<control> ctl_;
    std::optional<std::stop_callback<poster>> cb_;
};

}  // namespace vow::detail

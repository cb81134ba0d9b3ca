/// @file
/// vow::promise: the producer side, which settles a future once.
///
/// @code
/// vow::promise<int> p(r);
/// vow::future<int> f = p.get_future();
/// std::thread([p = std::move(p)]() mutable { p.resolve(42); }).detach();
/// @endcode
///
/// Thread safety: `resolve`, `reject`, their `try_` forms and the destructor
/// are safe from any thread (two threads racing to settle: exactly one wins).
/// Settling from another thread writes the value in place and posts the rest
/// to the reactor, which runs the continuations on its own thread. Other
/// members are thread-bound to whoever owns the promise.
///
/// A promise destroyed unsettled rejects its future with vow::broken_promise.
#pragma once

#include <vow/error.hpp>
#include <vow/promise/detail/state.hpp>
#include <vow/promise/future.hpp>

#include <atomic>
#include <cstdint>
#include <exception>
#include <source_location>
#include <type_traits>
#include <utility>

namespace vow {

namespace detail {

// The ways a promise can be misused; throw_promise_error raises each as its
// own exception type (promise.cpp).
enum class promise_misuse : std::uint8_t {
    already_settled,    // vow::promise_already_satisfied
    future_retrieved,   // vow::future_already_retrieved (get_future twice)
    null_exception,     // vow::invalid_argument (reject with a null exception_ptr)
    moved_from,         // vow::usage_error (any call on a moved-from promise)
};
[[noreturn]] void throw_promise_error(const char* operation, promise_misuse what);
std::exception_ptr make_broken_promise(const std::source_location& where);

// A promise's state: pending means the promise is alive (a promise always
// settles, with broken_promise at worst), so it may still settle.
template <class T>
class promise_state final : public state<T> {
public:
    using state<T>::state;
    bool has_live_producer() const noexcept override { return true; }
};

// Posted by a settle on another thread: publishes what that thread stored.
template <class T>
struct publish_task {
    promise_state<T>* s;
    std::exception_ptr error;  // null: the value was constructed in place
    publish_task(promise_state<T>* st, std::exception_ptr e) noexcept : s(st), error(std::move(e)) {}
    publish_task(publish_task&& o) noexcept : s(std::exchange(o.s, nullptr)), error(std::move(o.error)) {}
    publish_task(const publish_task&) = delete;
    ~publish_task() {
        if (s) {  // dropped unrun (reactor destroyed): free, silently
            if (!error)
                s->take_value();  // destroy the value constructed in place
            s->release();
        }
    }
    void operator()() {
        auto* st = std::exchange(s, nullptr);
        if (error)
            st->set_error(std::move(error));
        else
            st->publish_value();
        st->release();
    }
};

// What a promise's destructor does, on the reactor's thread: break the
// promise if it was never settled, and drop the promise's references.
template <class T>
void abandon_state(promise_state<T>* s, bool broken, bool quiet, unsigned refs) {
    // No future handed out: nobody to tell. Broken by the reactor's
    // destructor (which destroys the callable holding the promise): no
    // continuation can run any more, and teardown is not a program error.
    if (quiet || (broken && s->get_reactor().closing()))
        s->mark_observed();
    if (broken)
        s->set_error(make_broken_promise(s->where()));
    while (refs--)
        s->release();
}

// Posted by a destructor on another thread.
template <class T>
struct release_task {
    promise_state<T>* s;
    bool broken, quiet;
    unsigned refs;
    release_task(promise_state<T>* st, bool b, bool q, unsigned n) noexcept : s(st), broken(b), quiet(q), refs(n) {}
    release_task(release_task&& o) noexcept
        : s(std::exchange(o.s, nullptr)), broken(o.broken), quiet(o.quiet), refs(o.refs) {}
    release_task(const release_task&) = delete;
    ~release_task() {
        if (s)  // dropped unrun (reactor destroyed): free, silently
            abandon_state(s, false, true, refs);
    }
    void operator()() { abandon_state(std::exchange(s, nullptr), broken, quiet, refs); }
};

}  // namespace detail

/// The producer side of a future<T>: settles it once, with a value or an
/// error, from any thread (see the file description).
template <class T>
class promise {
    using state_type = detail::promise_state<T>;

public:
    /// A pending promise whose continuations run on `r`. `where` (the
    /// caller's location by default) names the future in error reports.
    explicit promise(reactor& r, std::source_location where = std::source_location::current())
        : s_(new state_type(r, where, 2)) {}  // one for us, one kept for the future

    /// Takes over `o`'s future state; `o` becomes moved-from (valid() is false).
    promise(promise&& o) noexcept
        : s_(std::exchange(o.s_, nullptr)),
          claimed_(o.claimed_.load(std::memory_order_relaxed)),
          future_taken_(o.future_taken_),
          ref_posted_(o.ref_posted_) {}
    /// Abandons this promise's state first, as the destructor does, then
    /// takes over `o`'s; `o` becomes moved-from.
    promise& operator=(promise&& o) noexcept {
        if (this != &o) {
            abandon();
            s_ = std::exchange(o.s_, nullptr);
            claimed_.store(o.claimed_.load(std::memory_order_relaxed), std::memory_order_relaxed);
            future_taken_ = o.future_taken_;
            ref_posted_ = o.ref_posted_;
        }
        return *this;
    }
    promise(const promise&) = delete;
    promise& operator=(const promise&) = delete;

    /// Rejects the future with vow::broken_promise if still unsettled.
    ~promise() { abandon(); }

    /// The future this promise settles. Once only.
    /// Throws vow::future_already_retrieved on a second call.
    [[nodiscard]] future<T> get_future() {
        check("get_future");
        if (std::exchange(future_taken_, true))
            detail::throw_promise_error("get_future", detail::promise_misuse::future_retrieved);
        return detail::future_access::make<T>(static_cast<detail::state<T>*>(s_));
    }

    /// Fulfils the future with a value made from `args` (nothing for
    /// promise<void>). Any thread. Throws vow::promise_already_satisfied if
    /// already settled; if making the value throws, the promise stays pending.
    template <class... A>
    void resolve(A&&... args) {
        if (!try_resolve(std::forward<A>(args)...))
            detail::throw_promise_error("resolve", detail::promise_misuse::already_settled);
    }

    /// As resolve, but returns false instead of throwing if already settled.
    template <class... A>
    bool try_resolve(A&&... args) {
        static_assert(std::is_void_v<T> ? sizeof...(A) == 0 : std::is_constructible_v<T, A&&...>,
                      "vow::promise<T>::resolve: the arguments must make a T (none for promise<void>)");
        check("resolve");
        if (claimed_.exchange(true, std::memory_order_acq_rel))
            return false;
        try {
            if (s_->get_reactor().in_reactor_thread()) {
                s_->set_value(std::forward<A>(args)...);
            } else {
                s_->construct(std::forward<A>(args)...);
                ref_posted_ = true;
                s_->get_reactor().call_soon_threadsafe(detail::publish_task<T>(s_, nullptr));
            }
        } catch (...) {
            if (!ref_posted_ && s_->pending())
                claimed_.store(false, std::memory_order_release);
            throw;
        }
        return true;
    }

    /// Rejects the future with `error`. Any thread.
    /// Throws vow::promise_already_satisfied if already settled, and
    /// vow::invalid_argument for a null exception_ptr.
    void reject(std::exception_ptr error) {
        if (!try_reject(std::move(error)))
            detail::throw_promise_error("reject", detail::promise_misuse::already_settled);
    }
    /// Rejects with an exception object, for example p.reject(std::runtime_error("x")).
    template <class E, class = std::enable_if_t<!std::is_same_v<std::decay_t<E>, std::exception_ptr>>>
    void reject(E&& error) {
        reject(std::make_exception_ptr(std::forward<E>(error)));
    }

    /// As reject, but returns false instead of throwing if already settled
    /// (a null exception_ptr still throws vow::invalid_argument).
    bool try_reject(std::exception_ptr error) {
        check("reject");
        if (!error)
            detail::throw_promise_error("reject", detail::promise_misuse::null_exception);
        if (claimed_.exchange(true, std::memory_order_acq_rel))
            return false;
        if (s_->get_reactor().in_reactor_thread()) {
            s_->set_error(std::move(error));
        } else {
            ref_posted_ = true;
            s_->get_reactor().call_soon_threadsafe(detail::publish_task<T>(s_, std::move(error)));
        }
        return true;
    }
    /// As try_reject(std::exception_ptr), with an exception object.
    template <class E, class = std::enable_if_t<!std::is_same_v<std::decay_t<E>, std::exception_ptr>>>
    bool try_reject(E&& error) {
        return try_reject(std::make_exception_ptr(std::forward<E>(error)));
    }

    /// False for a moved-from promise.
    [[nodiscard]] bool valid() const noexcept { return s_ != nullptr; }

private:
    void check(const char* operation) const {
        if (!s_)
            detail::throw_promise_error(operation, detail::promise_misuse::moved_from);
    }

    void abandon() noexcept {
        state_type* s = std::exchange(s_, nullptr);
        if (!s)
            return;
        bool broken = !claimed_.exchange(true, std::memory_order_acq_rel);
        unsigned refs = (ref_posted_ ? 0u : 1u) + (future_taken_ ? 0u : 1u);
        // Settled from another thread, future handed out: we hold nothing of
        // the state, which may be gone already (and its reactor with it).
        if (refs == 0)
            return;
        try {
            if (s->get_reactor().in_reactor_thread())
                detail::abandon_state(s, broken, !future_taken_, refs);
            else
                s->get_reactor().call_soon_threadsafe(detail::release_task<T>(s, broken, !future_taken_, refs));
        } catch (...) {
            // Out of memory while breaking the promise: the future stays
            // pending rather than the process terminating in a destructor.
        }
    }

    state_type* s_;
    std::atomic<bool> claimed_{false};
    bool future_taken_ = false;
    bool ref_posted_ = false;  // our reference went to a posted publish_task
};

}  // namespace vow

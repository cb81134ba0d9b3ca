/// @file
/// vow::pending_operation: one pending operation of a layer built on vow.
///
/// Example: a read that a deadline or a stop request may end first.
/// @code
/// class conn {
///     std::optional<vow::pending_operation<std::string>> read_;
/// public:
///     vow::future<std::string> read(std::optional<vow::reactor::duration> timeout,
///                                   std::stop_token stop) {
///         auto& op = read_.emplace(r_);
///         auto f = op.get_future();
///         op.arm(timeout, {}, stop, [this](vow::expiry why) {
///             read_.reset();   // the operation may be destroyed here
///             return vow::expired_error(why, "conn::read");
///         });
///         return f;
///     }
///     void on_data(std::string data) {   // the owner settles first
///         read_->resolve(std::move(data));
///         read_.reset();
///     }
/// };
/// @endcode
#pragma once

#include <vow/error.hpp>
#include <vow/promise/future.hpp>
#include <vow/promise/promise.hpp>
#include <vow/reactor/reactor.hpp>
#include <vow/reactor/stop_link.hpp>

#include <algorithm>
#include <exception>
#include <optional>
#include <source_location>
#include <stop_token>
#include <string_view>
#include <type_traits>
#include <utility>

namespace vow {

/// Why an operation ended before its owner settled it.
enum class expiry : unsigned char {
    timeout,    ///< its deadline passed
    cancelled,  ///< stop was requested on its stop token
};

/// The error of an operation that expired, worded as vow words them:
/// vow::timeout_error `"vow::<operation>: timed out"`, or vow::cancelled_error
/// `"vow::<operation>: cancelled: stop was requested on its stop_token"`.
/// `operation` names it as a user wrote it (`"net::tcp_stream::read_some"`).
[[nodiscard]] std::exception_ptr expired_error(expiry why, std::string_view operation);

namespace detail {
// vow::usage_error: "vow::pending_operation::<what>: the operation has
// already settled (or expired)".
[[noreturn]] void throw_not_pending(const char* what);
}  // namespace detail

/// One pending operation of a layer built on vow: its promise, and what may
/// end it before the layer settles it: a deadline and a stop request.
///
/// Every waiting operation of a protocol layer has the same three parts: the
/// promise of its future, a timer for its deadline and a stop_link for its
/// stop token, and exactly one of four endings: a value, an error, the
/// deadline (vow::timeout_error) or the stop request (vow::cancelled_error).
/// Whichever comes first settles the promise and disarms the others.
/// vow::net's reads, writes, accepts, connects and HTTP requests are built on
/// it; so should any other layer (TLS, WebSocket, database clients).
///
/// Thread safety: thread-bound (docs/design.md, "Threading"): construct, arm,
/// settle and destroy it on its reactor's thread (checked where thread checks
/// are on). The stop request itself may come from any thread.
///
/// Ownership: the expiry function given to arm() is copied into the timer
/// and into the stop link; both copies are destroyed on the reactor's thread
/// when the operation settles, or when it is destroyed. It runs at most once,
/// and only while the operation exists, so it may capture its owner by raw
/// pointer when the owner holds the operation.
template <class T>
class pending_operation {
public:
    /// A pending operation with nothing armed. `where` (the caller's location
    /// by default) names its future in error reports, as promise's does.
    /// Reactor thread only.
    explicit pending_operation(reactor& r, std::source_location where = std::source_location::current())
        : r_(&r), p_(checked(r), where) {}

    /// Disarms the deadline and the stop link. An operation destroyed
    /// unsettled breaks its promise (vow::broken_promise), as a promise does;
    /// quietly while the reactor itself is being destroyed.
    ~pending_operation() { timer_.cancel(); }

    pending_operation(const pending_operation&) = delete;
    pending_operation& operator=(const pending_operation&) = delete;
    pending_operation(pending_operation&&) = delete;
    pending_operation& operator=(pending_operation&&) = delete;

    /// The future this operation settles. Once only.
    /// Throws vow::future_already_retrieved on a second call.
    [[nodiscard]] future<T> get_future() { return p_.get_future(); }

    /// Arms what may end the operation first: a deadline, the earlier of
    /// `timeout` from now and `deadline` (none if both are empty; one in the
    /// past expires on a later turn), and `stop` (nothing if it can never be
    /// stopped; a stop requested already expires on a later turn). Replaces
    /// what an earlier arm() set. Reactor thread only.
    ///
    /// On expiry, on the reactor's thread: the other is disarmed, the
    /// operation stops being pending, `on_expiry(why)` runs and returns the
    /// error to reject with (vow::expired_error(why, name) unless the owner
    /// words its own; a null one is replaced by that), and the promise
    /// rejects with it. `on_expiry` does the owner's cleanup and may destroy
    /// the operation: nothing of it is touched after the call. If it throws,
    /// the promise breaks and the exception goes to the reactor's exception
    /// handler. It never runs inside arm() or after the operation settled.
    /// Throws what reactor::call_later throws, and std::bad_alloc.
    template <class F>
    void arm(std::optional<reactor::duration> timeout, std::optional<reactor::time_point> deadline,
             const std::stop_token& stop, F on_expiry) {
        static_assert(std::is_copy_constructible_v<F>,
                      "vow::pending_operation::arm: the expiry function is copied into the timer and the stop "
                      "link, so it must be copyable (capture pointers, not unique_ptrs)");
        static_assert(std::is_invocable_r_v<std::exception_ptr, F&, expiry>,
                      "vow::pending_operation::arm: the expiry function must be callable as "
                      "std::exception_ptr(vow::expiry), returning the error to reject with");
        detail::check_thread(*r_, "pending_operation::arm");
        if (!pending_)
            detail::throw_not_pending("arm");
        disarm();
        if (timeout || deadline) {
            reactor::duration delay = timeout ? *timeout : reactor::duration::max();
            if (deadline) {
                const auto now = reactor::clock::now();
                delay = *deadline <= now ? reactor::duration::zero() : std::min(delay, *deadline - now);
            }
            if (delay < reactor::duration::zero())
                delay = reactor::duration::zero();
            timer_ = r_->call_later(delay, [this, on_expiry]() mutable { expire(expiry::timeout, on_expiry); });
        }
        if (stop.stop_possible())
            link_.assign(*r_, stop, [this, on_expiry]() mutable { expire(expiry::cancelled, on_expiry); });
    }

    /// Settles the operation with a value made from `args` (nothing for
    /// void) and disarms the deadline and the stop link. Reactor thread only.
    /// Throws vow::usage_error if it is not pending any more (arm() too); if
    /// making the value throws, the operation stays pending, disarmed.
    template <class... A>
    void resolve(A&&... args) {
        settling("resolve", "pending_operation::resolve");
        p_.resolve(std::forward<A>(args)...);
        pending_ = false;
    }

    /// Settles the operation with `error`, as resolve() does.
    /// Also throws vow::invalid_argument for a null exception_ptr.
    void reject(std::exception_ptr error) {
        settling("reject", "pending_operation::reject");
        p_.reject(std::move(error));
        pending_ = false;
    }

    /// True until the operation settles or expires.
    [[nodiscard]] bool pending() const noexcept { return pending_; }
    /// The reactor the operation belongs to.
    [[nodiscard]] reactor& get_reactor() const noexcept { return *r_; }

private:
    void disarm() noexcept {
        timer_.cancel();
        link_.reset();
    }

    static reactor& checked(reactor& r) noexcept {
        detail::check_thread(r, "pending_operation::pending_operation");
        return r;
    }

    void settling(const char* what, const char* function) {
        detail::check_thread(*r_, function);
        if (!pending_)
            detail::throw_not_pending(what);
        disarm();
    }

    template <class F>
    void expire(expiry why, F& on_expiry) {
        // Running inside the timer's or the link's own callable: disarming
        // destroys the other one only, never `on_expiry`.
        disarm();
        pending_ = false;
        promise<T> p = std::move(p_);
        std::exception_ptr error = on_expiry(why);   // may destroy *this
        if (!error)
            error = expired_error(why, "pending_operation");
        p.reject(std::move(error));
    }

    reactor* r_;
    promise<T> p_;   // first: destroyed last, after the timer and link that point at this
    handle timer_;
    stop_link link_;
    bool pending_ = true;
};

}  // namespace vow

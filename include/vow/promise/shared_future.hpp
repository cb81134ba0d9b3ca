/// @file
/// vow::shared_future: one result, many consumers.
///
/// @code
/// vow::shared_future<config> cfg = load_config(r).share();
/// auto a = cfg.then([](const config& c) { return c.port; });
/// auto b = cfg.then([](const config& c) { return c.name; });
/// @endcode
///
/// Handlers get the value as `const T&` and run in the order they were
/// registered, each on a later turn. Each handler has its own result future:
/// one that throws does not affect its siblings. An error reaches every
/// handler's future (as a copy of the same std::exception_ptr).
///
/// Thread safety: thread-bound, like future (docs/design.md, "Threading").
#pragma once

#include <vow/promise/detail/node.hpp>
#include <vow/promise/detail/state.hpp>
#include <vow/promise/future.hpp>

#include <source_location>
#include <type_traits>
#include <utility>
#include <vector>

namespace vow {
namespace detail {

// The state behind a shared_future: the continuation of the source future,
// which keeps the result and fires every waiter in registration order.
template <class T>
class shared_state final : public state<T> {
public:
    // Two references: the first shared_future, and the source's ownership.
    shared_state(reactor& r, std::source_location where, state_base* src) noexcept : state<T>(r, where, 2) {
        this->set_upstream(src);
    }
    ~shared_state() override {
        for (continuation* w : waiters_)
            w->drop();
    }

    void fire(state_base& src) override {
        this->set_upstream(nullptr);
        auto& s = static_cast<state<T>&>(src);
        try {
            if (s.get_status() != status::value) {
                this->set_error(s.take_error());
            } else if constexpr (std::is_void_v<T>) {
                s.take_value();
                this->set_value();
            } else {
                this->set_value(s.take_value());
            }
        } catch (...) {
            if (this->pending())
                this->set_error(std::current_exception());
        }
        for (continuation* w : std::exchange(waiters_, {}))
            schedule(w);
    }

    void drop() noexcept override { this->release(); }
    void moved_to(state_base& src) noexcept override { this->set_upstream(&src); }

    // Registers a waiter; this state owns one reference to it.
    void add_waiter(continuation* c) {
        this->mark_observed();
        if (this->pending())
            waiters_.push_back(c);
        else
            schedule(c);
    }

private:
    struct waiter_task {
        shared_state* s;
        continuation* c;
        waiter_task(shared_state* st, continuation* w) noexcept : s(st), c(w) { s->add_ref(); }
        waiter_task(waiter_task&& o) noexcept : s(std::exchange(o.s, nullptr)), c(std::exchange(o.c, nullptr)) {}
        waiter_task(const waiter_task&) = delete;
        ~waiter_task() {
            if (c)
                c->drop();
            if (s)
                s->release();
        }
        void operator()() {
            continuation* w = std::exchange(c, nullptr);
            w->fire(*s);
            w->drop();
        }
    };
    void schedule(continuation* w) { this->get_reactor().call_soon(waiter_task(this, w)); }

    std::vector<continuation*> waiters_;
};

template <class T>
struct shared_arg {
    using type = const T&;
};
template <>
struct shared_arg<void> {
    using type = void;
};

// A handler registered on a shared_future: reads the value as const T&.
template <class T, class F, class Out>
class shared_then_node final : public node<Out, shared_then_node<T, F, Out>, F> {
public:
    template <class G>
    shared_then_node(reactor& r, std::source_location where, state_base* src, G&& fn)
        : node<Out, shared_then_node, F>(r, where, src, std::forward<G>(fn)) {}

    void on_source(state_base& src) {
        auto& s = static_cast<state<T>&>(src);
        if (s.get_status() != status::value)
            return this->set_error(s.error());
        if constexpr (std::is_void_v<T>)
            this->deliver(this->take_handler());
        else
            this->deliver(this->take_handler(), std::as_const(s.value()));
    }
};

}  // namespace detail

/// A copyable future: every copy refers to the same result.
template <class T>
class shared_future {
public:
    /// The type of the value this future will hold (void for none).
    using value_type = T;

    /// An empty shared_future: then() throws vow::future_consumed.
    shared_future() noexcept = default;
    /// Another reference to the same result as `o`.
    shared_future(const shared_future& o) noexcept : s_(o.s_) {
        if (s_)
            s_->add_ref();
    }
    /// Takes over `o`'s reference to the result; `o` becomes empty.
    shared_future(shared_future&& o) noexcept : s_(std::exchange(o.s_, nullptr)) {}
    /// Refers to `o`'s result from now on, dropping this one's reference.
    shared_future& operator=(shared_future o) noexcept {
        std::swap(s_, o.s_);
        return *this;
    }
    /// Drops this reference to the result. If no handler was ever registered
    /// on it, an error it ends with is reported as an unhandled rejection once
    /// every reference is gone.
    ~shared_future() {
        if (s_)
            s_->release();
    }

    /// True if this shared_future refers to a result (not moved from or empty).
    [[nodiscard]] bool valid() const noexcept { return s_ != nullptr; }
    /// True once the result is in: a value or an error.
    [[nodiscard]] bool available() const noexcept { return s_ && !s_->pending(); }
    /// True once the result is in and is an error.
    [[nodiscard]] bool failed() const noexcept { return s_ && s_->get_status() == detail::status::error; }

    /// Runs `fn(const T&)` (or `fn()` for void) once the value is in, and
    /// returns a future for its result, as future::then does. May be called
    /// any number of times; does not consume the shared_future.
    template <class F>
    auto then(F&& fn, std::source_location where = std::source_location::current()) const {
        using A = typename detail::shared_arg<T>::type;
        if constexpr (!detail::then_invocable<F, A>) {
            static_assert(detail::dependent_false<F>,
                          "vow::shared_future<T>::then: the handler must take the value as const T& "
                          "(or no arguments for shared_future<void>)");
            return future<void>();
        } else {
            if (!s_)
                detail::throw_future_consumed("shared_future::then");
            detail::check_thread(s_->get_reactor(), "shared_future::then");
            using R = typename detail::then_result<F, A>::type;
            using Out = detail::unwrap_t<R>;
            auto* n = new detail::shared_then_node<T, std::decay_t<F>, Out>(s_->get_reactor(), where, s_,
                                                                            std::forward<F>(fn));
            s_->add_waiter(n);
            return detail::future_access::make<Out>(n);
        }
    }

private:
    friend class future<T>;
    explicit shared_future(detail::shared_state<T>* s) noexcept : s_(s) {}
    detail::shared_state<T>* s_ = nullptr;
};

/// \cond
// future<T>::share, declared and documented in future.hpp. Hidden from
// Doxygen, which does not match this definition to that declaration.
template <class T>
shared_future<T> future<T>::share(std::source_location where) && {
    detail::state<T>* src = detail::future_access::take(*this, "share");
    detail::check_thread(src->get_reactor(), "future::share");
    auto* sh = new detail::shared_state<T>(src->get_reactor(), where, src);
    src->attach(sh);
    src->release();
    return shared_future<T>(sh);
}
/// \endcond

}  // namespace vow

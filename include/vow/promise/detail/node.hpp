// vow/promise/detail/node.hpp - the nodes that run then/catch_/finally
// handlers.
//
// A node is at once the continuation of its source and the state of the
// future it returns, so a pending `then` costs exactly one allocation. When
// its source settles it runs the handler. If the handler returned a future,
// the node does not wait in between: its consumer moves onto that inner
// future (state.hpp, rule 6), so a recursion through `then` keeps one node
// alive, not one per level. `finally` is the exception: it must wait for its
// handler's future and then pass on the result it held, so it adopts.
#pragma once

#include <vow/error.hpp>
#include <vow/promise/detail/state.hpp>

#include <exception>
#include <functional>
#include <source_location>
#include <type_traits>
#include <utility>

namespace vow {
template <class T>
class future;
template <class T>
class shared_future;
}  // namespace vow

namespace vow::detail {

template <class T>
struct future_traits {
    static constexpr bool is_future = false;
    using value_type = T;
};
template <class T>
struct future_traits<future<T>> {
    static constexpr bool is_future = true;
    using value_type = T;
};

// future<U> -> U, anything else unchanged: the type a handler's result settles.
template <class R>
using unwrap_t = typename future_traits<std::remove_cvref_t<R>>::value_type;
template <class R>
inline constexpr bool is_future_v = future_traits<std::remove_cvref_t<R>>::is_future;

[[noreturn]] void throw_future_consumed(const char* operation);

// The one door into a future's state, for the layer's own functions.
struct future_access {
    template <class T>
    static state<T>* take(future<T>& f, const char* operation) {
        if (!f.s_)
            throw_future_consumed(operation);
        return std::exchange(f.s_, nullptr);
    }
    template <class T>
    static future<T> make(state<T>* s) noexcept {
        return future<T>(s);
    }
    template <class T>
    static state<T>* peek(const future<T>& f) noexcept {
        return f.s_;
    }
};

// The handler, destroyed right after it runs rather than with the node, so
// that what it captured is released as early as possible. Whether it is
// alive is a bit of the node's state (state_base::handler_alive_), so the
// slot holds the handler's bytes only, and none at all for a lambda that
// captures nothing (whose destruction nobody can observe).
template <class F, bool Empty = std::is_empty_v<F> && std::is_trivially_destructible_v<F>>
class handler_slot {
public:
    template <class G>
    handler_slot(std::in_place_t, G&& g) : fn_(std::forward<G>(g)) {}
    handler_slot(const handler_slot&) = delete;
    handler_slot& operator=(const handler_slot&) = delete;
    ~handler_slot() {}  // the node calls destroy() if the handler is alive

    F& get() noexcept { return fn_; }
    void destroy() noexcept { fn_.~F(); }

private:
    union {
        F fn_;
    };
};
template <class F>
class handler_slot<F, true> {
public:
    template <class G>
    handler_slot(std::in_place_t, G&& g) : fn_(std::forward<G>(g)) {}
    F& get() noexcept { return fn_; }
    void destroy() noexcept {}

private:
    [[no_unique_address]] F fn_;
};

// Common part of all nodes: the state of the future a handler's result
// settles, the continuation of its source, and the handler `F`.
// `Derived::on_source(state_base&)` runs the handler (taken with
// take_handler()); `Derived::on_inner(state_base&)` finishes an adoption.
template <class Out, class Derived, class F>
class node : public state<Out> {
public:
    // Two references: one for the returned future, one owned by the source.
    template <class G>
    node(reactor& r, std::source_location where, state_base* src, G&& fn)
        : state<Out>(r, where, 2), fn_(std::in_place, std::forward<G>(fn)) {
        this->set_upstream(src);
        this->handler_alive_ = true;
    }
    ~node() override {
        if (this->handler_alive_)
            fn_.destroy();
    }

    void fire(state_base& src) final {
        try {
            this->set_upstream(nullptr);
            if (this->forwarding()) {
                // Forwarded to a future that settled before any consumer came.
                this->stop_forwarding();
                pass_through(static_cast<state<Out>&>(src));
            } else if (!this->adopting_) {
                static_cast<Derived*>(this)->on_source(src);
            } else {
                this->adopting_ = false;
                static_cast<Derived*>(this)->on_inner(src);
            }
        } catch (...) {
            if (this->pending())
                this->set_error(std::current_exception());
        }
    }

    // The second phase after adopt(); only finally_node adopts, and it has
    // its own. (Unused otherwise, but fire() names it.)
    void on_inner(state_base& src) { pass_through(static_cast<state<Out>&>(src)); }

protected:
    // Moves the handler out and destroys the one in the node: it runs at
    // most once, and what it captured goes with it.
    F take_handler() {
        F f(std::move(fn_.get()));
        fn_.destroy();
        this->handler_alive_ = false;
        return f;
    }

    // Settles this node with the result of `fn(args...)`: a value, or a
    // future<Out> whose result this node's consumer gets directly.
    template <class G, class... A>
    void deliver(G&& fn, A&&... args) {
        using R = std::invoke_result_t<G, A...>;
        if constexpr (is_future_v<R>) {
            auto inner = std::invoke(std::forward<G>(fn), std::forward<A>(args)...);
            this->forward_to(future_access::take(inner, "then (adopting the future a handler returned)"), this);
        } else if constexpr (std::is_void_v<R>) {
            std::invoke(std::forward<G>(fn), std::forward<A>(args)...);
            this->set_value();
        } else {
            this->set_value(std::invoke(std::forward<G>(fn), std::forward<A>(args)...));
        }
    }

    // Waits for `inner` (whose future reference we now hold), then settles
    // through Derived::on_inner (finally_node only: the others forward).
    void adopt(state_base* inner) {
        this->adopting_ = true;
        this->set_upstream(inner);
        this->add_ref();  // the inner state owns one reference to us
        inner->attach(this);
        inner->release();  // the inner future's reference: its producer or fire task keeps it
    }

    // Moves a settled source's value or error into this node.
    void pass_through(state<Out>& s) { settle_from<Out>(*this, s); }

private:
    [[no_unique_address]] handler_slot<F> fn_;
};

// then: runs on a value, passes an error through.
template <class T, class F, class Out>
class then_node final : public node<Out, then_node<T, F, Out>, F> {
public:
    template <class G>
    then_node(reactor& r, std::source_location where, state_base* src, G&& fn)
        : node<Out, then_node, F>(r, where, src, std::forward<G>(fn)) {}

    void on_source(state_base& src) {
        auto& s = static_cast<state<T>&>(src);
        if (s.get_status() != status::value)
            return this->set_error(s.take_error());
        F fn = this->take_handler();
        if constexpr (std::is_void_v<T>) {
            s.take_value();
            this->deliver(std::move(fn));
        } else {
            this->deliver(std::move(fn), s.take_value());
        }
    }
};

// catch_: runs on an error of type E (any error if E is std::exception_ptr);
// passes values and other errors through.
template <class T, class F, class E>
class catch_node final : public node<T, catch_node<T, F, E>, F> {
public:
    template <class G>
    catch_node(reactor& r, std::source_location where, state_base* src, G&& fn)
        : node<T, catch_node, F>(r, where, src, std::forward<G>(fn)) {}

    void on_source(state_base& src) {
        auto& s = static_cast<state<T>&>(src);
        if (s.get_status() == status::value)
            return this->pass_through(s);
        std::exception_ptr e = s.take_error();
        if constexpr (std::is_same_v<E, std::exception_ptr>) {
            this->deliver(this->take_handler(), std::move(e));
        } else {
            try {
                std::rethrow_exception(e);
            } catch (const E& ex) {
                this->deliver(this->take_handler(), ex);
                return;
            } catch (...) {
            }
            this->set_error(std::move(e));
        }
    }
};

// finally: runs on both paths; keeps the source's result while a returned
// future runs, then passes that result on unless the handler failed.
template <class T, class F>
class finally_node final : public node<T, finally_node<T, F>, F> {
public:
    template <class G>
    finally_node(reactor& r, std::source_location where, state_base* src, G&& fn)
        : node<T, finally_node, F>(r, where, src, std::forward<G>(fn)) {}

    ~finally_node() override {
        if (held_)
            held_->release();
    }

    void on_source(state_base& src) {
        auto& s = static_cast<state<T>&>(src);
        using R = std::invoke_result_t<F>;
        if constexpr (is_future_v<R>) {
            auto inner = this->take_handler()();
            auto* in = future_access::take(inner, "finally (adopting the future its handler returned)");
            s.add_ref();
            held_ = &s;
            this->adopt(in);
        } else {
            this->take_handler()();
            this->pass_through(s);
        }
    }

    void on_inner(state_base& inner) {
        state<T>* held = std::exchange(held_, nullptr);
        struct release_guard {
            state<T>* s;
            ~release_guard() { s->release(); }
        } g{held};
        if (inner.get_status() == status::error)
            return this->set_error(inner.take_error());
        inner.mark_observed();
        this->pass_through(*held);
    }

private:
    state<T>* held_ = nullptr;
};

}  // namespace vow::detail

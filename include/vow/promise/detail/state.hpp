// vow/promise/detail/state.hpp - the shared state behind promise and future.
//
// A state holds the eventual result of one asynchronous operation: nothing
// yet (pending), a value, or an error. Its *producer* settles it (a promise,
// or the node that runs a `then` handler); its *consumer* is at most one
// continuation, attached by `then`, `catch_`, `finally`, `share`,
// `run_until_complete` or a combinator.
//
// The states, and every edge between them (the numbers refer to the notes
// below; "settle" is set_value, set_error or publish_value):
//
//          [6] attach(c)                         [5] forward_to(inner)
//     +------------------------------> left <---------------------------+
//     |                                                                 |
// forwarding <-[4] forward_to(inner)- pending ---[1] attach(c)---> pending + c
//     |                                  |   <--[2] detach()----        |
//     | [7] inner settled                | [3] settle        [3] settle |
//     v                                  v                              v
//     +---------------------------> value/error --[8] attach(c)--> settled + c --[9] fire--> taken
//
//  [1] attach(c): the state owns c from now on (one reference, given by the
//      caller). attach_inline(c) is the same for vow's own continuations that
//      run no user code (combinator slots), which are told inline: [3], [8].
//  [2] detach(): run_until_complete giving up takes its waiter off; c is not
//      dropped (its owner handles that).
//  [3] settle: without a consumer nothing else happens yet. With c, a fire
//      task is queued with call_soon (rule 2); an inline c is fired at once,
//      inside the settle, and goes straight on to taken.
//  [4] forward_to(inner) with no consumer yet (adoption, rule 6): this state
//      becomes inner's continuation (inner owns a reference to it) and waits.
//  [5] forward_to(inner) with a consumer: c moves onto inner and hears it
//      (c->moved_to); onto the end of inner's own chain if inner forwards too.
//      This state is left: pending for good, no consumer, released by its
//      owners.
//  [6] attach(c) on a forwarding state: every forwarding state on the way
//      stops being its inner's continuation (the inner drops its reference)
//      and c attaches to the last inner, told by c->moved_to; a fire of it
//      already queued finds c when it runs. This state is left, as in [5].
//  [7] inner settled before any consumer came: its fire runs this node, which
//      stops forwarding and takes inner's result (node::fire).
//  [8] attach(c) on a settled state: a fire task is queued, or an inline c is
//      fired at once, inside attach, and goes straight on to taken.
//  [9] the fire task runs: it unhooks c, c->fire() moves the result out, and
//      c->drop() ends the state's ownership of c. It finds no c if c was
//      detached [2] in the meantime.
//  Destruction, from any state once the last reference goes: an unfired c
//  (pending + c; settled + c whose fire task was destroyed unrun with the
//  reactor) is told by c->drop() that it will never fire; an error that no
//  consumer attached for (nor mark_observed marked) is reported as unhandled
//  (rule 4).
//
// Rules (see docs/design.md, "Promise states"):
//  1. Every field is read and written on the reactor's thread only. A promise
//     settled or destroyed on another thread constructs its value in the
//     state (which nobody reads while pending) and posts the rest of the work
//     to the reactor with call_soon_threadsafe. So the state needs no atomics.
//  2. A continuation never runs inside `attach` or inside settling: both queue
//     a fire task on the reactor (Promises/A+ 2.2.4), so continuations run in
//     the order their sources settled. The exception is `attach_inline`, for
//     vow's own continuations that run no user code (combinator slots).
//  3. Ownership flows downstream: a state owns its continuation (dropping it
//     when destroyed unfired) and futures own their state. A fire task owns
//     the settled state until the continuation has taken the result.
//  4. A state destroyed while holding an error that no continuation took is an
//     unhandled rejection, reported with the place the state was created.
//  5. Destruction is iterative (a graveyard list), so dropping a chain of ten
//     million nodes does not recurse ten million frames deep.
//  6. Adoption collapses. A node whose handler returned a pending future does
//     not stay in the chain: its consumer is moved onto that inner state
//     (continuation::moved_to tells it), or, with no consumer yet, the node
//     is `forwarding` and the first consumer to attach goes straight to the
//     inner state. A state has one consumer, so nothing else can be waiting
//     on the node: moving that one consumer is all there is to do. Hence a
//     recursion that returns the next level's future runs in constant memory.
#pragma once

#include <vow/promise/detail/node_pool.hpp>
#include <vow/reactor/reactor.hpp>

#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <new>
#include <source_location>
#include <type_traits>
#include <utility>
#include <vector>

namespace vow::detail {

enum class status : std::uint8_t { pending, value, error, taken };

class state_base;

// Could anything alive still settle `s` (a live producer upstream, or a
// queued fire)? Used by run_until_complete to choose between waiting for
// another thread and reporting a stall (promise.cpp).
bool can_settle(const state_base& s) noexcept;

// The consumer side of a state: told when its source settled (`fire`), or
// that the source died unsettled and will never fire (`drop`), or that it now
// waits on another state (`moved_to`: adoption collapsed, rule 6), which is
// the one it will be fired with; anything that remembers its source updates it.
class continuation {
public:
    virtual void fire(state_base& src) = 0;
    virtual void drop() noexcept = 0;
    virtual void moved_to(state_base& src) noexcept = 0;

protected:
    ~continuation() = default;
};

// Reports an error that no continuation took (promise.cpp).
void report_unhandled(const std::exception_ptr& error, const std::source_location& where) noexcept;

// A state is also a continuation, so that a node (a state that waits on
// another: then, loops, shared_state, with_timeout) has one vtable pointer,
// not two: 8 bytes of every pending step (docs/design.md, "Where states
// live"). A plain state (a promise's, a ready future's) is never attached
// to anything, so its fire() is never called.
class state_base : public continuation {
public:
    state_base(reactor& r, std::source_location where, std::uint32_t refs) noexcept
        : r_(&r), where_(where), refs_(refs) {}
    state_base(const state_base&) = delete;
    state_base& operator=(const state_base&) = delete;

    // Every state and node lives in the promise layer's pool (node_pool.hpp;
    // docs/design.md, "Where states live"). The virtual destructor makes
    // `delete` pass the size of the most derived type. Over-aligned ones
    // go to the aligned global forms.
    static void* operator new(std::size_t n) { return node_pool::allocate(n); }
    static void operator delete(void* p, std::size_t n) noexcept { node_pool::deallocate(p, n); }
    static void* operator new(std::size_t n, std::align_val_t al) { return ::operator new(n, al); }
    static void operator delete(void* p, std::size_t n, std::align_val_t al) noexcept {
        node_pool::global_delete(p, n, al);
    }

    virtual ~state_base() {
        if (st_ == status::error) {
            if (!observed_)
                report_unhandled(error_, where_);
            error_.~exception_ptr();
        }
        if (cont_)
            cont_->drop();
    }

    // As a continuation (nodes only): the source owns one reference to its
    // continuation, given up by drop(); moved_to() follows an adoption.
    void fire(state_base&) override { std::terminate(); }  // a plain state is never attached
    void drop() noexcept override { release(); }
    void moved_to(state_base& src) noexcept override { upstream_ = &src; }

    reactor& get_reactor() const noexcept { return *r_; }
    status get_status() const noexcept { return st_; }
    bool pending() const noexcept { return st_ == status::pending; }
    const std::source_location& where() const noexcept { return where_; }

    void add_ref() noexcept { ++refs_; }
    void release() noexcept {
        if (--refs_ == 0) {
            // Without a continuation to drop, deleting cannot start a long
            // cascade: skip the graveyard (the common case: a fired state).
            if (cont_ == nullptr)
                delete this;
            else
                bury(this);
        }
    }

    // Attaches the single continuation; the state now owns one reference to
    // it (given by the caller). If the state has settled, queues the fire.
    // On a forwarding state, `c` goes to the state it forwards to (rule 6).
    void attach(continuation* c) { attach_at(c, false); }

    // As attach, for vow's own continuations that run no user code (the
    // slots of all/any/race): `c` is told at once, inside attach or inside
    // the settle, instead of on a later turn. User handlers downstream are
    // still queued, so Promises/A+ ordering holds for them.
    void attach_inline(continuation* c) { attach_at(c, true); }

    // Settles with an error (loop thread). The state is pending: the slot
    // holds nothing yet.
    void set_error(std::exception_ptr e) {
        if (st_ == status::error)
            error_ = std::move(e);
        else
            ::new (static_cast<void*>(std::addressof(error_))) std::exception_ptr(std::move(e));
        st_ = status::error;
        notify();
    }

    // Moves the error out, leaving the state taken (null if it held none).
    std::exception_ptr take_error() noexcept {
        if (st_ != status::error) {
            st_ = status::taken;
            return nullptr;
        }
        st_ = status::taken;
        std::exception_ptr e(std::move(error_));
        error_.~exception_ptr();
        return e;
    }

    // The error (null unless the status is error).
    const std::exception_ptr& error() const noexcept {
        static const std::exception_ptr none;
        return st_ == status::error ? error_ : none;
    }

    // Removes the continuation without dropping it (its owner handles that).
    void detach() noexcept { cont_ = nullptr; }

    // Marks the result as looked at: an error is then not reported.
    void mark_observed() noexcept { observed_ = true; }

    // Producers: after the result is in place, queue the continuation.
    void notify() {
        if (cont_) {
            if (inline_cont_)
                fire_inline();
            else
                schedule_fire();
        }
    }

    // For run_until_complete's "can this still settle?" walk: the state this
    // one waits on (a node's source or adopted future), if it is a single one.
    state_base* upstream() const noexcept { return upstream_; }
    // True if a producer outside the chain of upstream links may settle it.
    virtual bool has_live_producer() const noexcept { return false; }

protected:
    void set_upstream(state_base* s) noexcept { upstream_ = s; }

    // Settles this state with whatever `inner` settles with, without staying
    // in between (rule 6). `inner` is pending or settled, and we hold its
    // future's reference, which this call takes over. With a consumer, the
    // consumer moves onto `inner` and this state is done: it stays pending
    // and is released by its owners. Without one, this state becomes
    // `inner`'s continuation (`inner` owns a reference to it) and forwards
    // the consumer that attaches later; until then it is fired as usual
    // and must pass `inner`'s result on (node::on_inner).
    void forward_to(state_base* inner, continuation* self) {
        if (continuation* c = std::exchange(cont_, nullptr)) {
            inner->attach_at(c, inline_cont_, true);
        } else {
            forwarding_ = true;
            upstream_ = inner;
            add_ref();
            inner->attach(self);
        }
        inner->release();
    }

    // True while this state forwards to its upstream (see forward_to).
    bool forwarding() const noexcept { return forwarding_; }
    void stop_forwarding() noexcept { forwarding_ = false; }

private:
    // `moving`: `c` was attached elsewhere before, so it must hear where it
    // went even when that is `this`.
    void attach_at(continuation* c, bool inl, bool moving = false) {
        state_base* s = this;
        while (s->forwarding_) {
            // s waits on `in` as its continuation and adds nothing: leave
            // and give the consumer to `in`. A fire of `in` already queued
            // finds the new continuation when it runs.
            state_base* in = s->upstream_;
            in->cont_ = nullptr;
            s->forwarding_ = false;
            s->upstream_ = nullptr;
            s->release();  // the reference `in` owned; our caller holds another on `this`
            s = in;
        }
        if (s != this || moving)
            c->moved_to(*s);
        s->cont_ = c;
        s->observed_ = true;
        s->inline_cont_ = inl;
        if (s->st_ != status::pending) {
            if (inl)
                s->fire_inline();
            else
                s->schedule_fire();
        }
    }

    // The fire task owns one reference to the settled state until the
    // continuation has taken the result (or the task is destroyed unrun, when
    // the reactor is destroyed).
    struct fire_task {
        state_base* s;
        explicit fire_task(state_base* st) noexcept : s(st) { s->add_ref(); }
        fire_task(fire_task&& o) noexcept : s(std::exchange(o.s, nullptr)) {}
        fire_task(const fire_task&) = delete;
        ~fire_task() {
            if (s)
                s->release();
        }
        void operator()() {
            // Null if the waiter detached itself (run_until_complete giving up).
            if (continuation* c = std::exchange(s->cont_, nullptr)) {
                c->fire(*s);
                c->drop();  // the state's ownership of c ends with the fire
            }
        }
    };

    void schedule_fire() { r_->call_soon(fire_task(this)); }

    void fire_inline() {
        // The same steps as the queued task, now. A combinator told inline
        // may settle and tell the next one inline, and so on down a nest of
        // combinators: the outermost call runs those fires one after another
        // from this loop, instead of recursing, so that settling a million
        // nested races cannot overflow the stack. Each parked state holds a
        // reference until its fire has run.
        thread_local bool firing = false;
        thread_local std::vector<state_base*> parked;
        if (firing) {
            parked.push_back(this);
            add_ref();
            return;
        }
        firing = true;
        struct done {
            ~done() {
                for (state_base* s : parked)  // left over only if a fire threw
                    if (s)
                        s->release();
                parked.clear();
                firing = false;
            }
        } guard;
        fire_task(this)();
        for (std::size_t i = 0; i < parked.size(); ++i) {
            state_base* s = std::exchange(parked[i], nullptr);
            fire_task next(s);
            next();
            s->release();  // the parked reference; `next` holds its own
        }
    }

    static void bury(state_base* s) noexcept {
        // Destroying a state may drop its continuation and so destroy the next
        // state: collect them here and delete in a loop.
        thread_local state_base* graveyard = nullptr;
        thread_local bool burying = false;
        s->upstream_ = graveyard;
        graveyard = s;
        if (burying)
            return;
        burying = true;
        while (state_base* d = graveyard) {
            graveyard = d->upstream_;
            delete d;
        }
        burying = false;
    }

    // 56 bytes in all, the layout a pending then-step pays for (a
    // then_node<long, ...> adds nothing to it): see docs/design.md, "Where
    // states live".
    reactor* r_;
    continuation* cont_ = nullptr;
    state_base* upstream_ = nullptr;
    std::source_location where_;
    std::uint32_t refs_;

protected:
    status st_ = status::pending;
    bool observed_ : 1 = false;
    bool inline_cont_ : 1 = false;
    bool forwarding_ : 1 = false;
    // Two bits that belong to node (node.hpp), kept here where they cost
    // no byte: the node waits for an adopted future (finally), and its
    // handler is alive (not yet run and destroyed).
    bool adopting_ : 1 = false;
    bool handler_alive_ : 1 = false;

    // The error (status::error), or in the same bytes the value of a
    // state<T> whose T fits (state<T>::value_in_slot): a state never holds
    // both. Neither is constructed while pending.
    union {
        std::exception_ptr error_;
        alignas(std::exception_ptr) std::byte slot_[sizeof(std::exception_ptr)];
    };
};

// Where a state<T> keeps a T too large for state_base's slot: a union, so
// that a T without a default constructor works.
template <class T, bool InSlot>
struct value_room {
    union {
        T value;
    };
    value_room() noexcept {}
    ~value_room() {}
};
template <class T>
struct value_room<T, true> {};

// A state with storage for a T, which stays unconstructed until a value
// arrives, so that a producer on another thread can construct it in place
// before posting the settle. A T of up to 8 bytes lives in state_base's
// slot, beside the error it excludes, and adds no byte to the state.
template <class T>
class state : public state_base {
    static_assert(!std::is_reference_v<T>, "vow::future<T&> is not supported; use a pointer or std::reference_wrapper");
    static_assert(std::is_nothrow_destructible_v<T>, "vow::future<T> needs a T with a noexcept destructor");

public:
    static constexpr bool value_in_slot =
        sizeof(T) <= sizeof(std::exception_ptr) && alignof(T) <= alignof(std::exception_ptr);

    state(reactor& r, std::source_location where, std::uint32_t refs) noexcept : state_base(r, where, refs) {}
    ~state() override {
        if (st_ == status::value)
            value().~T();
    }

    // Constructs the value without settling (see rule 1).
    template <class... A>
    void construct(A&&... a) {
        ::new (static_cast<void*>(value_address())) T(std::forward<A>(a)...);
    }
    void publish_value() noexcept {
        st_ = status::value;
        notify();
    }
    template <class... A>
    void set_value(A&&... a) {
        construct(std::forward<A>(a)...);
        publish_value();
    }

    // The value of a state that holds one (status::value).
    T& value() noexcept { return *std::launder(value_address()); }
    T take_value() {
        st_ = status::taken;
        T out(std::move(value()));
        std::destroy_at(std::launder(value_address()));
        return out;
    }

private:
    T* value_address() noexcept {
        if constexpr (value_in_slot)
            return reinterpret_cast<T*>(slot_);
        else
            return std::addressof(room_.value);
    }

    [[no_unique_address]] value_room<T, value_in_slot> room_;
};

template <>
class state<void> : public state_base {
public:
    using state_base::state_base;
    void construct() noexcept {}
    void publish_value() noexcept {
        st_ = status::value;
        notify();
    }
    void set_value() noexcept { publish_value(); }
    void take_value() noexcept { st_ = status::taken; }
};

// Settles `to` with the value or error the settled `from` holds, moving it
// out (rule 3: the result flows downstream).
template <class T>
void settle_from(state<T>& to, state<T>& from) {
    if (from.get_status() != status::value) {
        to.set_error(from.take_error());
    } else if constexpr (std::is_void_v<T>) {
        from.take_value();
        to.set_value();
    } else {
        to.set_value(from.take_value());
    }
}

}  // namespace vow::detail

/// @file
/// vow::task_group: tasks that start, fail and stop together (asyncio's
/// TaskGroup; seastar's gate with an abort_source).
///
/// @code
/// vow::task_group tg(r);
/// for (auto& url : urls)
///     tg.spawn([&, url](std::stop_token stop) { return fetch(url, stop); });   // value discarded
/// auto page = tg.spawn([&](std::stop_token stop) { return fetch(main_url, stop); });  // kept
/// tg.join().then([] { fmt::print("all done\n"); });
/// @endcode
#pragma once

#include <vow/error.hpp>
#include <vow/promise/detail/node.hpp>
#include <vow/promise/detail/state.hpp>
#include <vow/promise/future.hpp>
#include <vow/promise/make_future.hpp>
#include <vow/promise/promise.hpp>

#include <cstddef>
#include <cstdint>
#include <exception>
#include <source_location>
#include <stop_token>
#include <type_traits>
#include <utility>
#include <vector>

namespace vow {

/// The future of a spawned task: a `future<T>` that may be dropped without a
/// warning (the group watches the task's errors).
template <class T>
class spawned : public future<T> {
public:
    /// An empty future, as `future<T>()`.
    spawned() noexcept = default;
    /// Takes over `f`.
    explicit spawned(future<T>&& f) noexcept : future<T>(std::move(f)) {}
};

namespace detail {

// What the group and its tasks share; freed when the group and every task
// are gone. Reactor thread only.
class group_core {
public:
    group_core(reactor& r, std::source_location where) noexcept : r_(&r), where_(where) {}
    group_core(const group_core&) = delete;
    group_core& operator=(const group_core&) = delete;

    void add_ref() noexcept { ++refs_; }
    void release() noexcept {
        if (--refs_ == 0)
            delete this;
    }

    reactor& get_reactor() const noexcept { return *r_; }
    std::stop_token token() const noexcept { return stop_.get_token(); }
    std::size_t running() const noexcept { return running_; }
    bool stop_requested() const noexcept { return stop_.stop_requested(); }

    // Throws usage_error unless the group takes new tasks.
    void check_spawn() const;
    void started() noexcept { ++running_; }
    // A task ended; `error` is null on success.
    void finished(std::exception_ptr error, const std::source_location& task_where) noexcept;
    future<void> join(std::source_location where);
    void cancel() noexcept {
        cancelled_ = true;
        stop_.request_stop();
    }
    // The group object is gone: stop the tasks; report the first error when
    // the last of them ends if no join() delivered it.
    void abandon() noexcept {
        orphaned_ = true;
        stop_.request_stop();
        release();
    }

private:
    ~group_core();
    void settle_joiners() noexcept;

    reactor* r_;
    std::source_location where_;
    std::stop_source stop_;
    std::exception_ptr error_;
    std::vector<promise<void>> joiners_;
    std::size_t running_ = 0;
    std::uint32_t refs_ = 1;  // the group's
    bool cancelled_ = false;
    bool joined_ = false;           // a join() settled
    bool error_delivered_ = false;  // a join() future carries error_
    bool orphaned_ = false;
};

// Watches one task: the continuation of the task's future and the state of
// the spawned<T> handed back. Marked observed from the start: its errors
// are the group's to report.
template <class T>
class task_node final : public state<T> {
public:
    // Two references: the spawned future, and the task future's ownership.
    task_node(group_core* g, std::source_location where) noexcept
        : state<T>(g->get_reactor(), where, 2), g_(g) {
        g_->add_ref();
        this->mark_observed();
    }
    ~task_node() override { g_->release(); }

    void fire(state_base& src) override {
        this->set_upstream(nullptr);
        auto& s = static_cast<state<T>&>(src);
        // A value that cannot be moved into the spawned future fails the
        // task like any error: the group must see it, since a dropped
        // spawned future would not report it.
        std::exception_ptr e;
        if (s.get_status() != status::value) {
            e = s.take_error();
        } else {
            try {
                if constexpr (std::is_void_v<T>) {
                    s.take_value();
                    this->set_value();
                } else {
                    this->set_value(s.take_value());
                }
            } catch (...) {
                e = std::current_exception();
            }
        }
        g_->finished(e, this->where());
        if (e)
            this->set_error(std::move(e));
    }
    // Called once the source is done with us: after fire() (the state's
    // ownership of its continuation ends with the fire), or instead of it
    // when the task's future dies unsettled (the reactor is being
    // destroyed). Only the second is the task ending; fire() always
    // settles this node, so a pending node was never fired.
    void drop() noexcept override {
        if (this->pending())
            g_->finished(nullptr, this->where());
        this->release();
    }
    void moved_to(state_base& src) noexcept override { this->set_upstream(&src); }

private:
    group_core* g_;
};

template <class F>
auto call_task(F& fn, const std::stop_token& token) {
    if constexpr (std::is_invocable_v<F&, std::stop_token>)
        return fn(token);
    else
        return fn();
}

}  // namespace detail

/// Tasks that start, fail and stop together (asyncio's TaskGroup; seastar's
/// gate with an abort_source).
///
/// A task is a function `fn(std::stop_token) -> future<T>` (or `fn()`), called
/// inside spawn. The group hands every task the same stop token and watches
/// how each one ends:
///  - The first task that fails requests stop on all the others, and its
///    error is what join() rejects with. Tasks ending with vow::cancelled_error
///    are never errors (they did what the stop asked). Any further error is
///    reported as an unhandled rejection (set_unhandled_rejection_handler):
///    never lost, never mistaken for the first.
///  - cancel() requests stop on every task; join() then resolves once they
///    have all ended with success or cancelled_error.
///  - join() settles once every task has settled (at once, on a later turn,
///    if none is running). It may be called more than once.
///  - spawn() after a join() settled, after cancel(), or once a task has
///    failed throws vow::usage_error: the group is finished or stopping.
///  - Destroying the group with tasks still running requests stop on them;
///    what they need (their futures, the group's bookkeeping) stays alive
///    until each has settled, and a first error that no join() delivered is
///    reported as an unhandled rejection then.
///
/// spawn returns a vow::spawned<T>, which is a `future<T>` you may keep (for
/// the task's value) or drop (the value is discarded; the group still sees
/// the task's errors, so dropping it reports nothing). A throw from `fn`
/// itself is the task failing, and so is an empty future returned by `fn`
/// (with vow::future_consumed).
///
/// Cost: one allocation per task (the node that watches it), plus what the
/// task itself allocates. Thread safety: thread-bound (docs/design.md).
class task_group {
public:
    /// A group whose tasks run on `r`. `where` names the group in reports.
    explicit task_group(reactor& r, std::source_location where = std::source_location::current())
        : core_(new detail::group_core(r, where)) {}
    task_group(const task_group&) = delete;
    task_group& operator=(const task_group&) = delete;
    /// Requests stop on the tasks still running; see the class description.
    /// Thread-bound while tasks run (stopping them touches their state).
    ~task_group() {
        if (core_->running() != 0)
            detail::check_thread(core_->get_reactor(), "task_group::~task_group");
        core_->abandon();
    }

    /// Starts a task: calls `fn(token)` (or `fn()`) now, on this thread, and
    /// watches the future it returns. `fn` is moved (or copied) into a local,
    /// called once, and destroyed before spawn returns; a throw from it, or an
    /// empty future, is the task failing, not spawn throwing. Throws
    /// vow::usage_error, without calling `fn`, if the group no longer takes
    /// tasks (joined, cancelled or failed). Returns a vow::spawned<T> for the
    /// task's `future<T>`.
    template <class F>
    auto spawn(F&& fn, std::source_location where = std::source_location::current()) {
        using Fn = std::decay_t<F>;
        constexpr bool with_token = std::is_invocable_v<Fn&, std::stop_token>;
        if constexpr (!with_token && !std::is_invocable_v<Fn&>) {
            static_assert(detail::dependent_false<F>,
                          "vow::task_group::spawn: the task must be callable with a std::stop_token (or nothing)");
            return spawned<void>();
        } else {
            using R = decltype(detail::call_task(std::declval<Fn&>(), std::declval<const std::stop_token&>()));
            if constexpr (!detail::is_future_v<R>) {
                static_assert(detail::dependent_false<F>, "vow::task_group::spawn: the task must return a vow::future");
                return spawned<void>();
            } else {
                using T = detail::unwrap_t<R>;
                detail::check_thread(core_->get_reactor(), "task_group::spawn");
                core_->check_spawn();
                reactor& r = core_->get_reactor();
                future<T> task;
                try {
                    Fn f(std::forward<F>(fn));
                    task = detail::call_task(f, core_->token());
                    if (!task.valid())
                        detail::throw_future_consumed("task_group::spawn (the task returned an empty future)");
                } catch (...) {
                    task = make_exception_future<T>(r, std::current_exception(), where);
                }
                auto* n = new detail::task_node<T>(core_, where);
                core_->started();
                detail::state<T>* s = detail::future_access::take(task, "task_group::spawn (the task's future)");
                s->attach(n);
                s->release();
                return spawned<T>(detail::future_access::make<T>(n));
            }
        }
    }

    /// Settles once every task has settled: rejects with the first task's
    /// error, else resolves. After it settled, spawn() throws.
    [[nodiscard]] future<void> join(std::source_location where = std::source_location::current()) {
        detail::check_thread(core_->get_reactor(), "task_group::join");
        return core_->join(where);
    }

    /// Requests stop on every task (through their token). spawn() throws
    /// afterwards. Idempotent.
    void cancel() noexcept {
        detail::check_thread(core_->get_reactor(), "task_group::cancel");
        core_->cancel();
    }

    /// The token every task gets.
    [[nodiscard]] std::stop_token get_token() const noexcept { return core_->token(); }
    /// True once cancel() was called or a task failed.
    [[nodiscard]] bool stop_requested() const noexcept { return core_->stop_requested(); }
    /// Tasks spawned and not yet settled.
    [[nodiscard]] std::size_t running() const noexcept { return core_->running(); }

private:
    detail::group_core* core_;
};

}  // namespace vow

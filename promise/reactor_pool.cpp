// promise/reactor_pool.cpp - the threads of a reactor pool, its stop in four
// steps, and the bookkeeping of submit_to (vow/promise/reactor_pool.hpp).
#include <vow/promise/reactor_pool.hpp>
#include <vow/promise/sharded.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <condition_variable>
#include <csignal>
#include <mutex>
#include <thread>

#include <pthread.h>
#include <sched.h>

namespace vow {

namespace detail {

struct pool_member {
    reactor_pool* pool = nullptr;
    std::size_t index = 0;
    reactor* r = nullptr;
    // Calls this reactor made and not yet settled: a list for the stop's
    // sweep (this thread only), and their number, for reactor 0 to read.
    pool_call_base* calls = nullptr;
    std::atomic<std::size_t> outstanding{0};
    // Every reactor of the pool, by shard (set once all are made).
    std::vector<reactor*> reactors;
};

struct pool_call_base::token_link {
    struct token_box {
        pool_call_base* call;
    };
    std::shared_ptr<token_box> box;
    std::optional<std::stop_callback<std::function<void()>>> callback;
};

namespace {
thread_local pool_member* this_member = nullptr;
}

pool_member* current_pool_member() noexcept { return this_member; }
reactor_pool* member_pool(const pool_member& m) noexcept { return m.pool; }
std::size_t member_index(const pool_member& m) noexcept { return m.index; }
reactor& member_reactor(const pool_member& m) noexcept { return *m.r; }
reactor& member_target(const pool_member& m, std::size_t shard) {
    if (shard >= m.reactors.size())
        return m.pool->at(shard);   // throws, saying why
    return *m.reactors[shard];
}

bool begin_call(pool_member& m, pool_call_base* call) noexcept {
    if (m.pool->closed())
        return false;
    call->next = m.calls;
    if (m.calls)
        m.calls->prev = call;
    m.calls = call;
    call->linked = true;
    m.outstanding.fetch_add(1, std::memory_order_relaxed);
    return true;
}

void end_call(pool_call_base* call) noexcept {
    if (!call->linked)
        return;
    pool_member& m = *call->caller;
    if (call->prev)
        call->prev->next = call->next;
    else
        m.calls = call->next;
    if (call->next)
        call->next->prev = call->prev;
    call->prev = call->next = nullptr;
    call->linked = false;
    if (call->link)
        call->link->box->call = nullptr;
    m.outstanding.fetch_sub(1, std::memory_order_release);
}

pool_call_base::~pool_call_base() { end_call(this); }

void pool_call_base::cancel(std::exception_ptr error) noexcept {
    cancelled.store(true, std::memory_order_release);
    reject(std::move(error));
    end_call(this);
}

namespace {

// Back on the caller: settles the call's promise, forgets the call, frees
// it. Destroyed unrun (the caller's reactor destroyed at the pool's end,
// when every call is settled already), it frees it.
struct return_task {
    pool_call_owner owner;
    void operator()() noexcept {
        owner.get()->settle();
        end_call(owner.get());
    }
};

}  // namespace

// Results go back one by one, as they come: the caller starts on the first
// while the target runs the next. (Batching them per turn of the target's
// loop took the caller's queue lock less often, but measured slower: the
// two threads then took turns instead of working together.)
void return_call(pool_call_owner owner) noexcept {
    pool_member& caller = *owner.get()->caller;
    if (caller.r->in_reactor_thread()) {   // a call to its own reactor
        owner.get()->settle();
        end_call(owner.get());
        return;
    }
    return_task back{std::move(owner)};
    try {
        caller.r->call_soon_threadsafe(std::move(back));
    } catch (...) {
        // Out of memory on the way back. The call cannot be freed here (its
        // caller knows it): it stays in flight until the pool's stop
        // rejects it, and this says why.
        (void)back.owner.release();
        std::fputs("vow: submit_to: out of memory sending a result back\n", stderr);
    }
}

void link_stop_token(pool_call_base* call, const std::stop_token& stop) {
    using box_type = pool_call_base::token_link::token_box;
    auto link = std::unique_ptr<pool_call_base::token_link, pool_call_base::token_link_deleter>(
        new pool_call_base::token_link{std::make_shared<box_type>(box_type{call}), {}});
    reactor* r = call->caller->r;
    auto* l = link.get();
    call->link = std::move(link);
    l->callback.emplace(stop, [box = l->box, r] {
        r->call_soon_threadsafe([box] {
            if (box->call)
                box->call->cancel(make_call_cancelled_error(box->call->target));
        });
    });
}

void pool_call_base::token_link_deleter::operator()(token_link* l) const noexcept { delete l; }

namespace {
// The per-thread cache of call blocks: four size classes of 64 bytes.
constexpr std::size_t call_block = 64;
constexpr std::size_t call_classes = 4;
constexpr std::size_t call_cache_max = 4096;   // blocks kept per class
struct call_cache {
    std::vector<void*> free[call_classes];
    bool alive = true;   // false once the thread's end destroyed it
    ~call_cache() {
        alive = false;
        for (auto& list : free) {
            for (void* p : list)
                ::operator delete(p);
            list.clear();
        }
    }
};
thread_local call_cache calls_cache;
}  // namespace

void* pool_call_base::operator new(std::size_t size) {
    const std::size_t cls = (size + call_block - 1) / call_block - 1;
    if (cls < call_classes && calls_cache.alive) {
        auto& list = calls_cache.free[cls];
        if (!list.empty()) {
            void* p = list.back();
            list.pop_back();
            return p;
        }
        return ::operator new((cls + 1) * call_block);
    }
    return ::operator new(size);
}

void pool_call_base::operator delete(void* p, std::size_t size) noexcept {
    const std::size_t cls = (size + call_block - 1) / call_block - 1;
    if (cls < call_classes && calls_cache.alive) {
        auto& list = calls_cache.free[cls];
        if (list.size() < call_cache_max) {
            try {
                list.push_back(p);
                return;
            } catch (...) {   // no room to remember it: give it back
            }
        }
    }
    ::operator delete(p);
}

std::exception_ptr make_pool_stopped_error(std::size_t target) {
    return std::make_exception_ptr(cancelled_error(fmt::format(
        "vow::submit_to: the reactor pool stopped before the call to reactor {} completed", target)));
}

std::exception_ptr make_call_cancelled_error(std::size_t target) {
    return std::make_exception_ptr(
        cancelled_error(fmt::format("vow::submit_to: the call to reactor {} was cancelled by its stop token", target)));
}

void throw_sharded_misuse(const char* what) { throw usage_error(fmt::format("vow::sharded: {}", what)); }

void sharded_destroy_failed(const std::exception& e) noexcept {
    fmt::print(stderr, "vow: ~sharded: an instance could not be destroyed on its reactor: {}\n", e.what());
}

void throw_not_in_pool(const char* function) {
    throw usage_error(fmt::format(
        "vow::{}: this thread is not a reactor of a vow::reactor_pool; from another thread, post with "
        "reactor::call_soon_threadsafe or settle a vow::promise (any-thread)",
        function));
}

}  // namespace detail

namespace {

// Asynchronous signals go to reactor 0's thread: the others block them.
void block_async_signals() noexcept {
    sigset_t set;
    sigfillset(&set);
    for (int s : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGABRT, SIGSYS})
        sigdelset(&set, s);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

std::vector<int> allowed_cpus() {
    std::vector<int> cpus;
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) == 0)
        for (int c = 0; c < CPU_SETSIZE; ++c)
            if (CPU_ISSET(c, &set))
                cpus.push_back(c);
    return cpus;
}

void pin_to(int cpu) noexcept {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

// Calls `done` once every future has settled; errors go to `r`'s handler.
void when_all_settled(reactor& r, std::vector<future<void>> futures, std::function<void()> done) {
    if (futures.empty()) {
        done();
        return;
    }
    auto left = std::make_shared<std::size_t>(futures.size());
    auto finish = std::make_shared<std::function<void()>>(std::move(done));
    for (auto& f : futures)
        std::move(f)
            .catch_([&r](const std::exception_ptr& e) {
                r.report_exception(e, "reactor_pool stop hook");
            })
            .finally([left, finish] {
                if (--*left == 0)
                    (*finish)();
            })
            .discard();
}

}  // namespace

struct reactor_pool::impl {
    struct instance {
        const void* key;
        std::function<future<void>(reactor::duration)> shutdown;
        std::function<void()> destroy;
    };
    struct shard {
        std::unique_ptr<reactor> r;
        detail::pool_member member;
        std::thread thread;
        std::optional<reactor::work_guard> guard;
        // This reactor's thread only.
        std::vector<std::function<future<void>(reactor::duration)>> stop_hooks;
        std::vector<instance> instances;
    };

    reactor_pool_options opts;
    std::vector<std::unique_ptr<shard>> shards;
    std::thread::id owner = std::this_thread::get_id();
    std::vector<int> cpus;

    std::atomic<bool> stop_called{false};
    std::atomic<bool> closed{false};
    std::atomic<std::size_t> hooks_outstanding{0};   // step 1's futures not yet settled
    std::stop_source stop_source;
    reactor::duration grace{};

    // Reactor 0's thread only.
    bool running = false;
    bool stop_begun = false;
    bool finished = false;      // step 4 done: run() returns
    int step = 0;               // the step under way (1-4)
    std::size_t acks = 0;       // shards done with it
    reactor::time_point deadline{};
    handle step_timer;
    std::vector<handle> signal_handles;

    // Thread start-up and teardown.
    std::mutex mutex;
    std::condition_variable cv;
    std::size_t started = 0;
    std::exception_ptr start_error;
    bool loops_stopped = false;   // step 4 began: posting to a loop may not run
    bool teardown = false;

    reactor& r0() { return *shards[0]->r; }

    void thread_main(std::size_t i) {
        shard& s = *shards[i];
        block_async_signals();
        std::string name = fmt::format("{}-{}", opts.thread_name, i).substr(0, 15);
        pthread_setname_np(pthread_self(), name.c_str());
        if (opts.pin_cpus && !cpus.empty())
            pin_to(cpus[i % cpus.size()]);
        try {
            s.r = std::make_unique<reactor>();
            s.member.r = s.r.get();
            s.guard.emplace(*s.r);
        } catch (...) {
            std::lock_guard lock(mutex);
            start_error = std::current_exception();
            ++started;
            cv.notify_all();
            return;
        }
        detail::this_member = &s.member;
        {
            std::lock_guard lock(mutex);
            ++started;
            cv.notify_all();
        }
        for (;;) {
            s.r->run();
            std::lock_guard lock(mutex);
            if (loops_stopped)
                break;
        }
        {
            std::unique_lock lock(mutex);
            cv.wait(lock, [&] { return teardown; });
        }
        s.r.reset();
        detail::this_member = nullptr;
    }

    // Posts `fn` to shard i's loop (inline on a later turn for reactor 0).
    template <class F>
    void post(std::size_t i, F&& fn) {
        shards[i]->r->call_soon_threadsafe(std::forward<F>(fn));
    }
    // Starts step `n`: no shard has acknowledged it yet.
    void begin_step(int n) {
        step = n;
        acks = 0;
    }
    // From a shard, back on reactor 0: one more shard done with step `n`
    // (late acknowledgements of a step given up on are ignored).
    void ack(int n, void (impl::*next)(), std::size_t expected) {
        post(0, [this, n, next, expected] {
            if (step == n && ++acks == expected)
                (this->*next)();
        });
    }

    // Step 1, on reactor 0.
    void begin_stop() {
        if (finished || stop_begun)
            return;
        stop_begun = true;
        r0().update_time();
        deadline = r0().now() + grace;
        stop_source.request_stop();
        begin_step(1);
        step_timer = r0().call_later(grace, [this] {
            if (std::size_t n = hooks_outstanding.load(std::memory_order_acquire))
                r0().report_exception(std::make_exception_ptr(timeout_error(fmt::format(
                                          "vow::reactor_pool: {} stop hook{} did not finish within the grace period "
                                          "({} ms); stopping anyway",
                                          n, n == 1 ? "" : "s",
                                          std::chrono::duration_cast<std::chrono::milliseconds>(grace).count()))),
                                      "reactor_pool stop");
            begin_step(2);
            wait_for_calls();
        });
        for (std::size_t i = 0; i < shards.size(); ++i)
            post(i, [this, i] { run_stop_hooks(i); });
    }

    // On shard i.
    void run_stop_hooks(std::size_t i) {
        shard& s = *shards[i];
        std::vector<future<void>> futures;
        auto call = [&](const std::function<future<void>(reactor::duration)>& hook) {
            try {
                auto f = hook(grace);
                if (!f.valid())
                    throw usage_error("vow::reactor_pool: a stop hook returned an empty future");
                futures.push_back(std::move(f));
            } catch (...) {
                s.r->report_exception(std::current_exception(), "reactor_pool stop hook");
            }
        };
        for (auto& hook : s.stop_hooks)
            call(hook);
        for (auto& inst : s.instances)
            if (inst.shutdown)
                call(inst.shutdown);
        hooks_outstanding.fetch_add(futures.size(), std::memory_order_acq_rel);
        for (auto& f : futures)
            f = std::move(f).finally([this] { hooks_outstanding.fetch_sub(1, std::memory_order_acq_rel); });
        when_all_settled(*s.r, std::move(futures), [this] { ack(1, &impl::hooks_done, shards.size()); });
    }

    void hooks_done() {
        step_timer.cancel();
        begin_step(2);
        wait_for_calls();
    }

    // Step 2, on reactor 0: until no call is in flight, or the deadline.
    void wait_for_calls() {
        std::size_t outstanding = 0;
        for (auto& sh : shards)
            outstanding += sh->member.outstanding.load(std::memory_order_acquire);
        if (outstanding == 0 || r0().now() >= deadline) {
            step_timer.cancel();
            close_pool();
            return;
        }
        step_timer = r0().call_later(std::chrono::milliseconds(1), [this] { wait_for_calls(); });
    }

    // Step 3, on reactor 0: no new calls; on every shard, the calls in
    // flight reject and the sharded instances go.
    void close_pool() {
        closed.store(true, std::memory_order_release);
        begin_step(3);
        for (std::size_t i = 0; i < shards.size(); ++i)
            post(i, [this, i] {
                sweep(i);
                ack(3, &impl::stop_loops, shards.size());
            });
    }

    void sweep(std::size_t i) {
        shard& s = *shards[i];
        while (detail::pool_call_base* c = s.member.calls)
            c->cancel(detail::make_pool_stopped_error(c->target));   // forgets it: next
        // Newest first, as destructors go.
        auto instances = std::move(s.instances);
        for (auto it = instances.rbegin(); it != instances.rend(); ++it) {
            try {
                it->destroy();
            } catch (...) {
                s.r->report_exception(std::current_exception(), "sharded instance destructor");
            }
        }
        s.stop_hooks.clear();
    }

    // Step 4, on reactor 0: every loop runs what is queued, then stops.
    // Every call is settled (step 3); a result still on its way back finds
    // its call settled, and is dropped with it.
    void stop_loops() {
        begin_step(4);
        {
            std::lock_guard lock(mutex);
            loops_stopped = true;
        }
        if (shards.size() == 1)
            drain_then_stop(0, 64);
        for (std::size_t i = 1; i < shards.size(); ++i)
            post(i, [this, i] { drain_then_stop(i, 64); });
    }

    // Runs what is queued on shard i (for up to `turns` turns: the
    // continuations of step 3's rejections, and theirs), then stops its
    // loop. The other shards tell reactor 0 when they are done, and reactor
    // 0 stops last: when run() returns, no callback runs on any reactor.
    void drain_then_stop(std::size_t i, int turns) {
        shard& s = *shards[i];
        if (s.r->queued() > 1 && turns > 0) {   // (the running callback counts too)
            s.r->call_soon([this, i, turns] { drain_then_stop(i, turns - 1); });
            return;
        }
        if (i == 0) {
            finished = true;
            for (auto& h : signal_handles)
                h.cancel();
            signal_handles.clear();
        } else {
            ack(4, &impl::stop_reactor_0, shards.size() - 1);
        }
        s.guard.reset();
        s.r->stop();
    }

    void stop_reactor_0() { drain_then_stop(0, 64); }
};

reactor_pool::reactor_pool(reactor_pool_options opts) : impl_(std::make_unique<impl>()) {
    for (int s : opts.stop_signals)
        if (s <= 0 || s >= NSIG)
            throw invalid_argument(fmt::format("vow::reactor_pool: {} is not a signal number", s));
    if (detail::this_member)
        throw usage_error("vow::reactor_pool: this thread is already a reactor of a pool");
    std::size_t n = opts.threads ? opts.threads : std::max(1u, std::thread::hardware_concurrency());
    impl_->opts = std::move(opts);
    impl_->cpus = allowed_cpus();
    for (std::size_t i = 0; i < n; ++i) {
        auto s = std::make_unique<impl::shard>();
        s->member.pool = this;
        s->member.index = i;
        impl_->shards.push_back(std::move(s));
    }
    impl::shard& first = *impl_->shards[0];
    first.r = std::make_unique<reactor>();
    first.member.r = first.r.get();
    if (impl_->opts.pin_cpus && !impl_->cpus.empty())
        pin_to(impl_->cpus[0]);
    try {
        for (std::size_t i = 1; i < n; ++i)
            impl_->shards[i]->thread = std::thread([this, i] { impl_->thread_main(i); });
    } catch (...) {
        impl_->start_error = std::current_exception();
    }
    {
        std::unique_lock lock(impl_->mutex);
        std::size_t threads = 0;
        for (auto& s : impl_->shards)
            threads += s->thread.joinable();
        impl_->cv.wait(lock, [&] { return impl_->started == threads; });
    }
    if (impl_->start_error) {
        {
            std::lock_guard lock(impl_->mutex);
            impl_->loops_stopped = true;
            impl_->teardown = true;
        }
        impl_->cv.notify_all();
        for (auto& s : impl_->shards) {
            if (s->r && s->thread.joinable()) {
                reactor* r = s->r.get();
                r->call_soon_threadsafe([s = s.get()] {
                    s->guard.reset();
                    s->r->stop();
                });
            }
        }
        for (auto& s : impl_->shards)
            if (s->thread.joinable())
                s->thread.join();
        std::rethrow_exception(impl_->start_error);
    }
    std::vector<reactor*> all;
    for (auto& s : impl_->shards)
        all.push_back(s->r.get());
    for (auto& s : impl_->shards) {   // before anything can reach them
        s->member.reactors = all;
    }
    detail::this_member = &first.member;
}

reactor_pool::~reactor_pool() {
    if (!impl_->finished) {
        stop(reactor::duration::zero());
        try {
            run();
        } catch (const std::exception& e) {
            fmt::print(stderr, "vow: ~reactor_pool: stopping failed: {}\n", e.what());
        }
    }
    {
        std::lock_guard lock(impl_->mutex);
        impl_->loops_stopped = true;
        impl_->teardown = true;
    }
    impl_->cv.notify_all();
    for (auto& s : impl_->shards)
        if (s->thread.joinable())
            s->thread.join();
    detail::this_member = nullptr;
    if (impl_->opts.pin_cpus && !impl_->cpus.empty()) {
        cpu_set_t set;
        CPU_ZERO(&set);
        for (int c : impl_->cpus)
            CPU_SET(c, &set);
        pthread_setaffinity_np(pthread_self(), sizeof set, &set);
    }
    impl_->shards[0]->r.reset();
}

std::size_t reactor_pool::size() const noexcept { return impl_->shards.size(); }

reactor& reactor_pool::at(std::size_t shard) const {
    if (shard >= impl_->shards.size())
        throw invalid_argument(
            fmt::format("vow::reactor_pool::at: no reactor {}; the pool has {} (0 .. {})", shard,
                        impl_->shards.size(), impl_->shards.size() - 1));
    return *impl_->shards[shard]->r;
}

void reactor_pool::run() {
    if (std::this_thread::get_id() != impl_->owner)
        throw usage_error("vow::reactor_pool::run: call it on the thread that made the pool (reactor 0's)");
    if (impl_->running)
        throw usage_error("vow::reactor_pool::run: the pool is running already");
    if (impl_->finished)
        return;
    reactor& r = impl_->r0();
    impl_->running = true;
    reactor::work_guard guard(r);
    struct reset {
        impl& p;
        ~reset() { p.running = false; }
    } reset{*impl_};
    for (int s : impl_->opts.stop_signals)
        impl_->signal_handles.push_back(r.add_signal_handler(s, [this] { stop(impl_->opts.stop_grace); }));
    while (!impl_->finished)
        r.run();   // returns early only if someone stopped reactor 0 itself
}

void reactor_pool::stop(reactor::duration grace) noexcept {
    if (impl_->stop_called.exchange(true, std::memory_order_acq_rel))
        return;
    impl_->grace = std::max(grace, reactor::duration::zero());
    try {
        impl_->post(0, [p = impl_.get()] { p->begin_stop(); });
    } catch (...) {
        fmt::print(stderr, "vow: reactor_pool::stop: out of memory posting the stop to reactor 0\n");
    }
}

bool reactor_pool::stopping() const noexcept { return impl_->stop_called.load(std::memory_order_acquire); }
std::stop_token reactor_pool::stop_token() const noexcept { return impl_->stop_source.get_token(); }
bool reactor_pool::closed() const noexcept { return impl_->closed.load(std::memory_order_acquire); }
bool reactor_pool::stopped() const noexcept {
    std::lock_guard lock(impl_->mutex);
    return impl_->loops_stopped;
}

void reactor_pool::on_stop(std::function<future<void>(reactor::duration)> fn) {
    auto* m = detail::this_member;
    if (!m || m->pool != this)
        detail::throw_not_in_pool("reactor_pool::on_stop");
    impl_->shards[m->index]->stop_hooks.push_back(std::move(fn));
}

reactor_pool* reactor_pool::current() noexcept { return detail::this_member ? detail::this_member->pool : nullptr; }


void reactor_pool::run_blocking(std::size_t shard, const std::function<void()>& fn) {
    if (std::this_thread::get_id() != impl_->owner)
        throw usage_error("vow::sharded: make and destroy it on the thread that made the pool (reactor 0's)");
    (void)at(shard);
    if (shard == 0) {
        fn();
        return;
    }
    std::mutex m;
    std::condition_variable cv;
    bool done = false;
    std::exception_ptr error;
    {
        std::lock_guard lock(impl_->mutex);
        if (impl_->loops_stopped)
            throw usage_error("vow::sharded: the reactor pool has stopped");
        impl_->post(shard, [&] {
            try {
                fn();
            } catch (...) {
                error = std::current_exception();
            }
            std::lock_guard l(m);
            done = true;
            cv.notify_one();
        });
    }
    std::unique_lock lock(m);
    cv.wait(lock, [&] { return done; });
    if (error)
        std::rethrow_exception(error);
}

void reactor_pool::add_instance(std::size_t shard, const void* key,
                                std::function<future<void>(reactor::duration)> shutdown,
                                std::function<void()> destroy) {
    impl_->shards[shard]->instances.push_back({key, std::move(shutdown), std::move(destroy)});
}

void reactor_pool::remove_instance(std::size_t shard, const void* key) noexcept {
    std::erase_if(impl_->shards[shard]->instances, [key](const auto& i) { return i.key == key; });
}

std::size_t this_shard() {
    auto* m = detail::this_member;
    if (!m)
        detail::throw_not_in_pool("this_shard");
    return m->index;
}

}  // namespace vow

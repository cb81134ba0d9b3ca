/// @file
/// vow::sharded: one T per reactor of a pool (seastar's sharded<T>).
///
/// Per-reactor servers, caches, counters, each used only on its own reactor's
/// thread.
///
/// @code
/// vow::reactor_pool pool({.threads = 4});
/// vow::sharded<vow::net::http_server> servers(pool, [&](vow::reactor& r, std::size_t shard) {
///     // opts.tcp.reuse_port is set:
///     auto s = std::make_unique<vow::net::http_server>(r, "127.0.0.1", port, opts);
///     port = s->port();   // shard 0 picks the port the others share
///     add_routes(*s);
///     return s;
/// });
/// // ... on a pool reactor:
/// servers.map_reduce([](vow::net::http_server& s) { return s.requests(); },
///                    std::uint64_t{0}, std::plus<>{})
///     .then([](std::uint64_t n) { fmt::print("{} requests\n", n); });
/// @endcode
#pragma once

#include <vow/error.hpp>
#include <vow/promise/all.hpp>
#include <vow/promise/reactor_pool.hpp>

#include <cstddef>
#include <exception>
#include <memory>
#include <type_traits>
#include <utility>
#include <vector>

namespace vow {

namespace detail {
template <class T, class = void>
struct has_graceful_shutdown : std::false_type {};
template <class T>
struct has_graceful_shutdown<T, std::void_t<decltype(std::declval<T&>().shutdown(std::declval<reactor::duration>()))>>
    : std::is_same<decltype(std::declval<T&>().shutdown(std::declval<reactor::duration>())), future<void>> {};
[[noreturn]] void throw_sharded_misuse(const char* what);
void sharded_destroy_failed(const std::exception& e) noexcept;   // prints it
}  // namespace detail

/// One T per reactor of a pool (seastar's sharded<T>): per-reactor servers,
/// caches, counters, each used only on its own reactor's thread.
///
/// The instances are made one after the other, shard 0 first, each on its
/// own reactor's thread; the constructor waits for them. When the pool
/// stops, a T with a `future<void> shutdown(reactor::duration grace)` (such
/// as http_server) is shut down in step 1, and every instance is destroyed
/// on its own thread in step 3 (reactor_pool.hpp); otherwise ~sharded
/// destroys them, each on its own thread, and waits.
///
/// Thread safety: make and destroy a sharded on the thread that made the pool
/// (reactor 0's), before the pool stops; local(), invoke_on, invoke_on_all
/// and map_reduce on any pool reactor's thread. Each T is touched only on
/// its own reactor's thread.
template <class T>
class sharded {
public:
    /// Makes one T per reactor: `factory(reactor&, std::size_t shard)` (or
    /// `factory(reactor&)`) returns a `std::unique_ptr<T>` or a T, and runs on
    /// that reactor's thread, shard 0 first. If it throws, the instances
    /// made so far are destroyed and the exception is rethrown here.
    /// On reactor 0's thread (vow::usage_error elsewhere, or once the pool
    /// is stopping).
    template <class F>
    sharded(reactor_pool& pool, F&& factory) : pool_(&pool), instances_(pool.size()) {
        if (pool.stopping())
            detail::throw_sharded_misuse("the reactor pool is stopping");
        std::size_t made = 0;
        try {
            for (; made < instances_.size(); ++made) {
                const std::size_t i = made;
                pool.run_blocking(i, [&, i] {
                    instances_[i] = make(factory, pool.at(i), i);
                    std::function<future<void>(reactor::duration)> shutdown;
                    if constexpr (detail::has_graceful_shutdown<T>::value)
                        shutdown = [this, i](reactor::duration grace) { return instances_[i]->shutdown(grace); };
                    pool.add_instance(i, this, std::move(shutdown), [this, i] { instances_[i].reset(); });
                });
            }
        } catch (...) {
            destroy_first(made);
            throw;
        }
    }

    /// Destroys what the pool's stop has not, each on its own thread. On
    /// reactor 0's thread.
    ~sharded() { destroy_first(instances_.size()); }

    sharded(const sharded&) = delete;
    sharded& operator=(const sharded&) = delete;

    /// The number of instances: one per reactor of the pool.
    [[nodiscard]] std::size_t size() const noexcept { return instances_.size(); }

    /// The calling reactor's instance. Throws vow::usage_error on a thread
    /// that is not one of this pool's reactors, or once it was destroyed.
    [[nodiscard]] T& local() const { return at_shard(this_shard_of_pool()); }

    /// Runs `fn(T&)` on shard `shard`'s thread with its instance (submit_to);
    /// the future is for what fn returns.
    template <class F>
    auto invoke_on(std::size_t shard, F fn) {
        return submit_to(shard, [this, shard, fn = std::move(fn)]() mutable { return fn(at_shard(shard)); });
    }

    /// Runs `fn(T&)` on every shard; resolves once each has returned (or
    /// its future has settled); rejects with the first error.
    template <class F>
    future<void> invoke_on_all(F fn) {
        std::vector<future<void>> all_done;
        for (std::size_t i = 0; i < size(); ++i)
            all_done.push_back(invoke_on(i, fn).then([](auto&&...) {}));
        return all(std::move(all_done));
    }

    /// `reduce(acc, map(T&))` over every shard, from `init`, in shard order:
    /// `map` runs on each shard (as invoke_on), `reduce` on the calling
    /// reactor once every `map` has returned; rejects with the first error.
    template <class Map, class R, class Reduce>
    future<R> map_reduce(Map map, R init, Reduce reduce) {
        using M = detail::unwrap_t<std::invoke_result_t<Map&, T&>>;
        std::vector<future<M>> parts;
        for (std::size_t i = 0; i < size(); ++i)
            parts.push_back(invoke_on(i, map));
        return all(std::move(parts)).then(
            [init = std::move(init), reduce = std::move(reduce)](std::vector<M> values) mutable {
                R acc = std::move(init);
                for (auto& v : values)
                    acc = reduce(std::move(acc), std::move(v));
                return acc;
            });
    }

private:
    template <class F>
    static std::unique_ptr<T> make(F& factory, reactor& r, std::size_t i) {
        auto call = [&]() -> decltype(auto) {
            if constexpr (std::is_invocable_v<F&, reactor&, std::size_t>)
                return factory(r, i);
            else
                return factory(r);
        };
        using Made = decltype(call());
        if constexpr (std::is_same_v<std::decay_t<Made>, std::unique_ptr<T>>) {
            auto p = call();
            if (!p)
                throw invalid_argument("vow::sharded: the factory returned a null std::unique_ptr");
            return p;
        } else {
            static_assert(std::is_same_v<std::decay_t<Made>, T>,
                          "vow::sharded<T>: the factory takes (reactor&, std::size_t shard) or (reactor&) and "
                          "returns a std::unique_ptr<T> or a T");
            return std::unique_ptr<T>(new T(call()));
        }
    }

    std::size_t this_shard_of_pool() const {
        if (reactor_pool::current() != pool_)
            detail::throw_sharded_misuse("local() and invoke_on need a thread of the sharded's own pool");
        return this_shard();
    }

    T& at_shard(std::size_t i) const {
        if (!instances_[i])
            detail::throw_sharded_misuse("the instance was destroyed (the pool stopped)");
        return *instances_[i];
    }

    // Destroys instances 0 .. n-1 that still live, each on its thread.
    void destroy_first(std::size_t n) noexcept {
        if (pool_->stopped())
            return;   // the pool's step 3 destroyed them
        for (std::size_t i = 0; i < n; ++i) {
            try {
                pool_->run_blocking(i, [this, i] {
                    pool_->remove_instance(i, this);
                    instances_[i].reset();
                });
            } catch (const std::exception& e) {
                detail::sharded_destroy_failed(e);
            }
        }
    }

    reactor_pool* pool_;
    std::vector<std::unique_ptr<T>> instances_;
};

}  // namespace vow

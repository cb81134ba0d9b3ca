// Random programs over the whole promise layer: leaves settled in random
// orders and on random threads, chains of then/catch_/finally (handlers that
// throw, and handlers that return futures to adopt), all/all_settled/any/race
// over random children, with_timeout with short and long limits, and
// cancellation through std::stop_source.
//
// A program is a few root expressions, each consumed by a recorder, plus a
// few expressions whose futures are dropped at once. Leaves are:
//   - ready futures (make_ready_future, make_exception_future);
//   - promises resolved, rejected or destroyed unsettled (broken_promise),
//     at once, on the next turn, from a timer, or from a worker of a thread
//     pool of 2 to 4 threads after a random pause, so the order in which
//     leaves settle changes from run to run;
//   - contested promises: two settlers (loop and/or workers) race with
//     try_resolve/try_reject, or drop their share of the promise;
//   - sleeps, some with a stop_token whose stop is requested before the
//     sleep, from a timer, from a worker, or by an enclosing with_timeout
//     given the stop_source.
//
// Half the programs are built inside a callback and the loop runs until
// idle, every worker job holding a work guard; the other half are built
// outside the loop and driven by run_until_complete on each root in turn,
// with no work guards, so run_until_complete itself has to see that a
// promise held by a worker can still settle.
//
// Whoever wins a race is timing, so the model computes, for every node, the
// set of outcomes it may settle with (a value, or an error of a kind and a
// code). Where the set has one element the check is exact; where timing
// decides it is weaker (a with_timeout settles like its child or with
// timeout_error; a race like one of its inputs). Sets that grow past a cap
// become "anything", and only the invariants below are checked for them.
//
// Invariants, for every program:
//   - every root settles exactly once, with an outcome the model allows;
//   - no handler runs twice; a handler runs when the model says it must,
//     and never when the model says it cannot;
//   - every handler runs on the reactor's thread, and every callable the
//     loop owns (handlers, loop-side settlers) is destroyed there too;
//   - each contested promise is won by exactly one settler (none if both
//     drop it);
//   - unhandled-rejection reports come only from the dropped expressions:
//     one from each that must fail, at most one from each that may;
//   - run_until_complete on a root never throws (stalled_error would mean
//     it lost track of a promise a worker still holds);
//   - nothing escapes a reactor callback;
//   - nothing leaks: every handler and settler captures a `tracker`, whose
//     live count is zero once the loop has run out and the pool has joined.
//     (ASan's leak checker covers the library's own allocations.)
//
// A failure names its seed and the program; VOW_PROPERTY_SEED=<n> reruns
// one program alone, and VOW_PROPERTY_PROGRAMS=<n> runs seeds 1 to n (a soak
// run) instead of the default count.
#include <vow/promise/all.hpp>
#include <vow/promise/any.hpp>
#include <vow/promise/future.hpp>
#include <vow/promise/make_future.hpp>
#include <vow/promise/promise.hpp>
#include <vow/promise/race.hpp>
#include <vow/promise/result.hpp>
#include <vow/promise/sleep.hpp>
#include <vow/promise/thread_pool.hpp>
#include <vow/promise/with_timeout.hpp>

#include <boost/test/unit_test.hpp>
#include <build_kind.hpp>
#include <promise_fixture.hpp>

#include <atomic>
#include <chrono>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <memory>
#include <optional>
#include <ostream>
#include <random>
#include <set>
#include <sstream>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

BOOST_AUTO_TEST_SUITE(random_programs_test)

using namespace std::chrono_literals;

namespace {

constexpr std::uint64_t program_count = vow::test::sanitized_build ? 200 : 400;

using value_t = std::int64_t;
constexpr value_t prime = 1'000'000'007;

// ---------------------------------------------------------------------------
// Outcomes, as both the model and the real program compute them.

struct test_error : std::runtime_error {
    explicit test_error(value_t c)
        : std::runtime_error("test error " + std::to_string(c)), code(c) {}
    value_t code;
};

enum class ek : std::uint8_t { none, test, broken, timeout, cancelled, aggregate, unknown };

struct outcome {
    bool ok = true;
    ek kind = ek::none;  // none for values
    value_t v = 0;       // the value, or the error's code
    auto operator<=>(const outcome&) const = default;
};

outcome value_of(value_t v) { return {true, ek::none, v}; }
outcome error_of(ek k, value_t code = 0) { return {false, k, code}; }

std::ostream& operator<<(std::ostream& os, const outcome& o) {
    if (o.ok)
        return os << "value " << o.v;
    static const char* const names[] = {"none",      "test",      "broken", "timeout",
                                        "cancelled", "aggregate", "unknown"};
    return os << names[static_cast<int>(o.kind)] << " error " << o.v;
}

value_t hash_outcome(value_t h, const outcome& o) {
    return (h * 131 + (o.ok ? 1 : 2 + static_cast<value_t>(o.kind)) * 1'000'003 + o.v) % prime;
}

value_t aggregate_code(const std::vector<outcome>& errors) {
    value_t h = 5'000'011;
    for (const auto& e : errors)
        h = hash_outcome(h, e);
    return h;
}

outcome classify(const std::exception_ptr& e) {
    try {
        std::rethrow_exception(e);
    } catch (const test_error& t) {
        return error_of(ek::test, t.code);
    } catch (const vow::broken_promise&) {
        return error_of(ek::broken);
    } catch (const vow::timeout_error&) {
        return error_of(ek::timeout);
    } catch (const vow::cancelled_error&) {
        return error_of(ek::cancelled);
    } catch (const vow::aggregate_error& a) {
        std::vector<outcome> inner;
        for (const auto& x : a.errors())
            inner.push_back(classify(x));
        return error_of(ek::aggregate, aggregate_code(inner));
    } catch (...) {
        return error_of(ek::unknown);
    }
}

// The handlers' arithmetic.
value_t map_value(value_t v) { return (v * 3 + 1) % prime; }
bool throws_on(value_t v) { return v % 3 == 0; }
value_t thrown_code(value_t v) { return 2000 + v % 1000; }
value_t after_no_throw(value_t v) { return (v + 11) % prime; }
value_t recover(const outcome& e) { return hash_outcome(7, e); }
value_t fold_all(const std::vector<value_t>& vs) {
    value_t h = 17;
    for (value_t v : vs)
        h = (h * 31 + v) % prime;
    return h;
}
value_t fold_settled(const std::vector<outcome>& os) {
    value_t h = 19;
    for (const auto& o : os)
        h = hash_outcome(h, o);
    return h;
}

// ---------------------------------------------------------------------------
// Sets of outcomes.

constexpr std::size_t set_cap = 64;

struct oset {
    bool top = false;  // anything at all
    std::set<outcome> s;

    static oset one(outcome o) {
        oset r;
        r.s.insert(o);
        return r;
    }
    static oset anything() {
        oset r;
        r.top = true;
        return r;
    }
    void add(const outcome& o) {
        if (top)
            return;
        s.insert(o);
        if (s.size() > set_cap)
            top = true, s.clear();
    }
    void add(const oset& o) {
        if (o.top)
            top = true, s.clear();
        for (const auto& x : o.s)
            add(x);
    }
    bool may(bool ok) const {
        if (top)
            return true;
        for (const auto& x : s)
            if (x.ok == ok)
                return true;
        return false;
    }
    bool must(bool ok) const { return !top && !may(!ok); }
    bool contains(const outcome& o) const { return top || s.count(o) != 0; }
};

std::ostream& operator<<(std::ostream& os, const oset& o) {
    if (o.top)
        return os << "{anything}";
    os << "{";
    const char* sep = "";
    for (const auto& x : o.s)
        os << sep << x, sep = ", ";
    return os << "}";
}

// What a handler may do: run [min, max] times.
struct runs {
    int min = 0, max = 1;
};

// ---------------------------------------------------------------------------
// Programs.

enum class when_t : std::uint8_t { now, next_turn, timer, thread };
enum class act_t : std::uint8_t { resolve, reject, drop };
enum class stop_t : std::uint8_t { none, before, timer, thread, enclosing };

struct settler {
    when_t when = when_t::now;
    act_t act = act_t::resolve;
    value_t param = 0;
    int us = 0;  // timer delay, or the worker's pause
};

struct leaf_spec {
    enum kind_t : std::uint8_t {
        ready_value,
        ready_error,
        promise,
        contested,
        sleep,
        sleep_stop
    } kind = ready_value;
    value_t param = 0;
    settler s[2];
    int sleep_us = 0;
    bool sleep_long = false;  // an hour: it must be cancelled
    stop_t stop = stop_t::none;
    int stop_us = 0;
    int stop_index = -1;  // stop_t::enclosing: the with_timeout's stop_source
    int handler = -1;     // sleeps: the then() that turns the sleep into a value
    int slot = -1;        // contested: the record of who won
};

enum class nk : std::uint8_t {
    leaf,
    then_map,
    then_throw,
    then_adopt,
    catch_recover,
    catch_rethrow,
    catch_adopt,
    catch_typed,
    finally_plain,
    finally_throw,
    finally_adopt,
    all,
    all_settled,
    any,
    race,
    timeout,
};

struct gnode {
    nk kind = nk::leaf;
    std::vector<int> kids;
    leaf_spec leaf;   // nk::leaf
    leaf_spec inner;  // *_adopt: made by the handler when it runs
    value_t param = 0;
    int handler = -1;
    int handler2 = -1;  // finally_adopt: the then() that turns the inner future into future<void>
    int limit_us = 0;
    bool long_limit = false;
    int stop_index = -1;  // with_timeout given a stop_source
};

struct program_spec {
    std::vector<gnode> nodes;
    std::vector<int> roots, dropped;
    std::vector<oset> model;  // per node
    std::vector<runs> handlers;
    int slots = 0;                     // contested promises
    std::vector<int> slot_contenders;  // settlers that do not just drop
    int stops = 0;
    int pool_threads = 2;
    // Drive the loop with run_until_complete on each root in turn, and let
    // workers settle without work guards: run_until_complete must see for
    // itself that a promise a worker holds can still settle. Otherwise the
    // program is built inside a callback and the loop runs until idle, with
    // every worker job holding a work guard.
    bool wait_for_roots = false;
    int min_reports = 0, max_reports = 0;
};

class generator {
public:
    explicit generator(std::uint64_t seed) : rng_(seed) {}

    program_spec make() {
        p_.pool_threads = pick(2, 4);
        p_.wait_for_roots = chance(50);
        int roots = pick(1, 3), dropped = pick(0, 2);
        for (int i = 0; i < roots; ++i)
            p_.roots.push_back(grow(0, -1));
        for (int i = 0; i < dropped; ++i) {
            int d = grow(1, -1);
            p_.dropped.push_back(d);
            const oset& m = p_.model[static_cast<std::size_t>(d)];
            p_.min_reports += m.must(false) ? 1 : 0;
            p_.max_reports += m.may(false) ? 1 : 0;
        }
        return std::move(p_);
    }

private:
    int pick(int lo, int hi) {
        return lo + static_cast<int>(rng_() % static_cast<std::uint64_t>(hi - lo + 1));
    }
    bool chance(int percent) { return pick(1, 100) <= percent; }
    value_t param() { return pick(1, 999); }

    int new_handler(runs r) {
        p_.handlers.push_back(r);
        return static_cast<int>(p_.handlers.size()) - 1;
    }

    settler make_settler(bool may_drop) {
        settler s;
        s.when = static_cast<when_t>(pick(0, 3));
        int a = pick(0, may_drop ? 5 : 3);
        s.act = a <= 1 ? act_t::resolve : a <= 3 ? act_t::reject : act_t::drop;
        s.param = param();
        s.us = s.when == when_t::timer    ? pick(0, 3000)
               : s.when == when_t::thread ? pick(0, 3) * pick(0, 150)
                                          : 0;
        return s;
    }

    static outcome settler_outcome(const settler& s) {
        switch (s.act) {
            case act_t::resolve:
                return value_of(s.param);
            case act_t::reject:
                return error_of(ek::test, s.param);
            case act_t::drop:
                break;
        }
        return error_of(ek::broken);
    }

    // A leaf and its outcomes. `dynamic`: made by a handler that may not run.
    // `stop_index`: the enclosing with_timeout's stop_source, or -1.
    // `direct`: the leaf is that with_timeout's own child (a long sleep there
    // is certain to be cancelled).
    std::pair<leaf_spec, oset> make_leaf(bool dynamic, int stop_index, bool direct) {
        leaf_spec l;
        l.param = param();
        int k = pick(0, 11);
        if (direct)
            k = 11;
        oset m;
        if (k == 0) {
            l.kind = leaf_spec::ready_value;
            m = oset::one(value_of(l.param));
        } else if (k == 1) {
            l.kind = leaf_spec::ready_error;
            m = oset::one(error_of(ek::test, l.param));
        } else if (k <= 5) {
            l.kind = leaf_spec::promise;
            l.s[0] = make_settler(true);
            m = oset::one(settler_outcome(l.s[0]));
        } else if (k <= 7) {
            l.kind = leaf_spec::contested;
            l.slot = p_.slots++;
            int contenders = 0;
            for (auto& s : l.s) {
                s = make_settler(true);
                if (s.act != act_t::drop)
                    m.add(settler_outcome(s)), ++contenders;
            }
            if (contenders == 0)
                m.add(error_of(ek::broken));
            p_.slot_contenders.push_back(contenders);
        } else if (k == 8) {
            l.kind = leaf_spec::sleep;
            l.sleep_us = pick(0, 3000);
            m = oset::one(value_of(l.param));
            l.handler = new_handler({dynamic ? 0 : 1, 1});
        } else {
            l.kind = leaf_spec::sleep_stop;
            l.sleep_us = pick(0, 3000);
            l.stop_us = pick(0, 3000);
            if (stop_index >= 0 && (direct || chance(50))) {
                l.stop = stop_t::enclosing;
                l.stop_index = stop_index;
                l.sleep_long = direct && chance(70);
            } else {
                l.stop = static_cast<stop_t>(pick(0, 3));
                l.sleep_long = (l.stop == stop_t::timer || l.stop == stop_t::thread) && chance(40);
            }
            if (l.stop == stop_t::none) {
                m = oset::one(value_of(l.param));
                l.handler = new_handler({dynamic ? 0 : 1, 1});
            } else if (l.stop == stop_t::before || l.sleep_long) {
                m = oset::one(error_of(ek::cancelled));
                l.handler = new_handler({0, 0});
            } else {
                m.add(value_of(l.param));
                m.add(error_of(ek::cancelled));
                l.handler = new_handler({0, 1});
            }
        }
        return {l, m};
    }

    int add(gnode n, oset m) {
        p_.nodes.push_back(std::move(n));
        p_.model.push_back(std::move(m));
        return static_cast<int>(p_.nodes.size()) - 1;
    }

    const oset& model(int i) const { return p_.model[static_cast<std::size_t>(i)]; }

    int grow(int depth, int stop_index) {
        int leaf_percent = 25 + 18 * depth;
        if (depth >= 4 || chance(leaf_percent)) {
            gnode n;
            oset m;
            std::tie(n.leaf, m) = make_leaf(false, stop_index, false);
            return add(std::move(n), std::move(m));
        }
        gnode n;
        n.kind = static_cast<nk>(pick(1, static_cast<int>(nk::timeout)));
        n.param = param();
        if (n.kind == nk::timeout) {
            n.long_limit = chance(30);
            if (!n.long_limit && chance(50)) {
                n.stop_index = p_.stops++;
                stop_index = n.stop_index;
            }
            n.limit_us = pick(0, 3000);
            if (n.stop_index >= 0 && chance(35)) {
                gnode c;
                oset cm;
                std::tie(c.leaf, cm) = make_leaf(false, n.stop_index, true);
                n.kids.push_back(add(std::move(c), std::move(cm)));
            } else {
                n.kids.push_back(grow(depth + 1, stop_index));
            }
            oset m = model(n.kids[0]);
            if (!n.long_limit)
                m.add(error_of(ek::timeout));
            return add(std::move(n), std::move(m));
        }
        bool gather = n.kind == nk::all || n.kind == nk::all_settled || n.kind == nk::any ||
                      n.kind == nk::race;
        int kids = gather ? pick(n.kind == nk::race ? 1 : 0, 4) : 1;
        for (int i = 0; i < kids; ++i)
            n.kids.push_back(grow(depth + 1, stop_index));
        oset m;
        if (gather)
            m = gather_model(n);
        else
            m = chain_model(n, model(n.kids[0]));
        return add(std::move(n), std::move(m));
    }

    // The product of the children's choices (`pick_from` lists one child's),
    // folded with `step`, or nullopt when it grows past the cap.
    template <class Choices, class Step>
    std::optional<std::set<value_t>> product(const gnode& n, value_t seed, Choices pick_from,
                                             Step step) {
        std::set<value_t> partial{seed};
        for (int k : n.kids) {
            std::set<value_t> next;
            for (value_t h : partial)
                for (const outcome& o : pick_from(model(k)))
                    next.insert(step(h, o));
            if (next.size() > set_cap)
                return std::nullopt;
            partial = std::move(next);
        }
        return partial;
    }

    static std::vector<outcome> choices(const oset& s, int ok) {  // ok: 1 values, 0 errors, -1 both
        std::vector<outcome> out;
        for (const auto& o : s.s)
            if (ok < 0 || o.ok == (ok == 1))
                out.push_back(o);
        return out;
    }

    oset gather_model(gnode& n) {
        for (int k : n.kids)
            if (model(k).top) {
                if (n.kind == nk::all || n.kind == nk::all_settled)
                    n.handler = new_handler({n.kind == nk::all_settled ? 1 : 0, 1});
                return oset::anything();
            }
        oset m;
        switch (n.kind) {
            case nk::all: {
                bool all_may_value = true;
                for (int k : n.kids) {
                    for (const auto& e : choices(model(k), 0))
                        m.add(e);
                    all_may_value = all_may_value && model(k).may(true);
                }
                bool all_must_value = true;
                for (int k : n.kids)
                    all_must_value = all_must_value && model(k).must(true);
                n.handler = new_handler({all_must_value ? 1 : 0, all_may_value ? 1 : 0});
                if (all_may_value) {
                    // fold_all, one child at a time: h = h * 31 + v.
                    auto folds = product(
                        n, 17, [](const oset& s) { return choices(s, 1); },
                        [](value_t h, const outcome& o) { return (h * 31 + o.v) % prime; });
                    if (!folds)
                        return oset::anything();
                    for (value_t f : *folds)
                        m.add(value_of(f));
                }
                return m;
            }
            case nk::all_settled: {
                n.handler = new_handler({1, 1});
                auto folds = product(
                    n, 19, [](const oset& s) { return choices(s, -1); },
                    [](value_t h, const outcome& o) { return hash_outcome(h, o); });
                if (!folds)
                    return oset::anything();
                for (value_t f : *folds)
                    m.add(value_of(f));
                return m;
            }
            case nk::any: {
                bool all_may_fail = true;
                for (int k : n.kids) {
                    for (const auto& v : choices(model(k), 1))
                        m.add(v);
                    all_may_fail = all_may_fail && model(k).may(false);
                }
                if (all_may_fail) {
                    auto codes = product(
                        n, 5'000'011, [](const oset& s) { return choices(s, 0); },
                        [](value_t h, const outcome& o) { return hash_outcome(h, o); });
                    if (!codes)
                        return oset::anything();
                    for (value_t c : *codes)
                        m.add(error_of(ek::aggregate, c));
                }
                return m;
            }
            case nk::race:
                for (int k : n.kids)
                    m.add(model(k));
                return m;
            default:
                break;
        }
        throw std::logic_error("not a combinator");
    }

    oset chain_model(gnode& n, const oset& in) {
        bool runs_on_value =
            n.kind == nk::then_map || n.kind == nk::then_throw || n.kind == nk::then_adopt;
        bool runs_on_error =
            n.kind == nk::catch_recover || n.kind == nk::catch_rethrow || n.kind == nk::catch_adopt;
        oset inner;
        if (n.kind == nk::then_adopt || n.kind == nk::catch_adopt || n.kind == nk::finally_adopt)
            std::tie(n.inner, inner) = make_leaf(true, -1, false);
        if (in.top) {
            n.handler = new_handler({n.kind >= nk::finally_plain ? 1 : 0, 1});
            if (n.kind == nk::finally_adopt)
                n.handler2 = new_handler({0, 1});
            return oset::anything();
        }
        oset out;
        int must = 1, may = 0;
        for (const outcome& o : in.s) {
            bool runs = runs_on_value               ? o.ok
                        : runs_on_error             ? !o.ok
                        : n.kind == nk::catch_typed ? (!o.ok && o.kind == ek::test)
                                                    : true;  // finally
            must = must && runs;
            may = may || runs;
            if (!runs) {
                out.add(o);
                continue;
            }
            switch (n.kind) {
                case nk::then_map:
                    out.add(value_of(map_value(o.v)));
                    break;
                case nk::then_throw:
                    out.add(throws_on(o.v) ? error_of(ek::test, thrown_code(o.v))
                                           : value_of(after_no_throw(o.v)));
                    break;
                case nk::then_adopt:
                case nk::catch_adopt:
                    out.add(inner);
                    break;
                case nk::catch_recover:
                case nk::catch_typed:
                    out.add(value_of(recover(o)));
                    break;
                case nk::catch_rethrow:
                    out.add(o);
                    break;
                case nk::finally_plain:
                    out.add(o);
                    break;
                case nk::finally_throw:
                    out.add(error_of(ek::test, 3000 + n.param));
                    break;
                case nk::finally_adopt:
                    for (const auto& x : inner.s)
                        out.add(x.ok ? o : x);
                    if (inner.top)
                        out.add(oset::anything());
                    break;
                default:
                    throw std::logic_error("not a chain node");
            }
        }
        n.handler = new_handler({must, may});
        if (n.kind == nk::finally_adopt)
            n.handler2 = new_handler({0, inner.may(true) ? 1 : 0});
        return out;
    }

    std::mt19937_64 rng_;
    program_spec p_;
};

// ---------------------------------------------------------------------------
// Describing a program, for failure messages.

const char* name_of(nk k) {
    switch (k) {
        case nk::leaf:
            return "leaf";
        case nk::then_map:
            return "then";
        case nk::then_throw:
            return "then_throw";
        case nk::then_adopt:
            return "then_adopt";
        case nk::catch_recover:
            return "catch_";
        case nk::catch_rethrow:
            return "catch_rethrow";
        case nk::catch_adopt:
            return "catch_adopt";
        case nk::catch_typed:
            return "catch_<test_error>";
        case nk::finally_plain:
            return "finally";
        case nk::finally_throw:
            return "finally_throw";
        case nk::finally_adopt:
            return "finally_adopt";
        case nk::all:
            return "all";
        case nk::all_settled:
            return "all_settled";
        case nk::any:
            return "any";
        case nk::race:
            return "race";
        case nk::timeout:
            return "with_timeout";
    }
    return "?";
}

void describe(std::ostream& os, const settler& s) {
    static const char* const when[] = {"now", "next_turn", "timer", "thread"};
    static const char* const act[] = {"resolve", "reject", "drop"};
    os << act[static_cast<int>(s.act)];
    if (s.act != act_t::drop)
        os << " " << s.param;
    os << " " << when[static_cast<int>(s.when)];
    if (s.us)
        os << " " << s.us << "us";
}

void describe(std::ostream& os, const leaf_spec& l) {
    static const char* const stops[] = {"none", "before", "timer", "thread", "enclosing"};
    switch (l.kind) {
        case leaf_spec::ready_value:
            os << "ready(" << l.param << ")";
            return;
        case leaf_spec::ready_error:
            os << "ready_error(" << l.param << ")";
            return;
        case leaf_spec::promise:
            os << "promise(";
            describe(os, l.s[0]);
            os << ")";
            return;
        case leaf_spec::contested:
            os << "contested(";
            describe(os, l.s[0]);
            os << " | ";
            describe(os, l.s[1]);
            os << ")";
            return;
        case leaf_spec::sleep:
            os << "sleep(" << l.sleep_us << "us)->" << l.param;
            return;
        case leaf_spec::sleep_stop:
            os << "sleep(" << (l.sleep_long ? "1h" : std::to_string(l.sleep_us) + "us") << ", stop "
               << stops[static_cast<int>(l.stop)];
            if (l.stop == stop_t::timer || l.stop == stop_t::thread)
                os << " " << l.stop_us << "us";
            os << ")->" << l.param;
            return;
    }
}

void describe(std::ostream& os, const program_spec& p, int i) {
    const gnode& n = p.nodes[static_cast<std::size_t>(i)];
    if (n.kind == nk::leaf)
        return describe(os, n.leaf);
    os << name_of(n.kind);
    if (n.kind == nk::timeout)
        os << "[" << (n.long_limit ? "1h" : std::to_string(n.limit_us) + "us")
           << (n.stop_index >= 0 ? ", stop" : "") << "]";
    if (n.kind == nk::then_adopt || n.kind == nk::catch_adopt || n.kind == nk::finally_adopt) {
        os << "[";
        describe(os, n.inner);
        os << "]";
    }
    os << "(";
    for (std::size_t k = 0; k < n.kids.size(); ++k) {
        if (k)
            os << ", ";
        describe(os, p, n.kids[k]);
    }
    os << ")";
}

std::string describe(const program_spec& p) {
    std::ostringstream os;
    os << p.pool_threads << " workers, " << (p.wait_for_roots ? "run_until_complete" : "run")
       << ";";
    for (int r : p.roots) {
        os << " root ";
        describe(os, p, r);
        os << " -> " << p.model[static_cast<std::size_t>(r)] << ";";
    }
    for (int d : p.dropped) {
        os << " dropped ";
        describe(os, p, d);
        os << " -> " << p.model[static_cast<std::size_t>(d)] << ";";
    }
    return os.str();
}

// ---------------------------------------------------------------------------
// Leak and thread accounting.

// The thread every reactor of this test runs on.
const std::thread::id loop_thread = std::this_thread::get_id();

// Captured by every handler and settler. Counts live copies (copies and
// moved-from ones too), and checks that what the loop owns dies on the loop.
struct tracker {
    static inline std::atomic<long> live{0};
    static inline std::atomic<long> destroyed_off_loop{0};
    bool loop_bound;
    explicit tracker(bool on_loop) noexcept : loop_bound(on_loop) { ++live; }
    tracker(const tracker& o) noexcept : loop_bound(o.loop_bound) { ++live; }
    tracker(tracker&& o) noexcept : loop_bound(o.loop_bound) { ++live; }
    tracker& operator=(const tracker&) = default;
    tracker& operator=(tracker&&) = default;
    ~tracker() {
        if (loop_bound && std::this_thread::get_id() != loop_thread)
            ++destroyed_off_loop;
        --live;
    }
};

// ---------------------------------------------------------------------------
// The real program.

class program {
public:
    program(vow::reactor& r, const program_spec& p)
        : counts(p.handlers.size(), 0),
          root_settles(p.roots.size(), 0),
          root_results(p.roots.size()),
          wins(new std::atomic<int>[static_cast<std::size_t>(p.slots)]),
          created(static_cast<std::size_t>(p.slots), 0),
          r_(r),
          p_(p),
          stops_(static_cast<std::size_t>(p.stops)) {
        for (int i = 0; i < p.slots; ++i)
            wins[static_cast<std::size_t>(i)] = 0;
    }
    program(const program&) = delete;
    program& operator=(const program&) = delete;

    // Builds the program on the loop thread; `pool` settles what runs on
    // workers. Then the loop runs until nothing is left to do.
    void build(vow::thread_pool& pool) {
        pool_ = &pool;
        for (std::size_t k = 0; k < p_.roots.size(); ++k) {
            recorders_.push_back(
                make(p_.roots[k])
                    .then([tr = tracker(true), this, k](value_t v) { done(k, value_of(v)); })
                    .catch_([tr = tracker(true), this, k](std::exception_ptr e) {
                        done(k, classify(e));
                    }));
        }
        for (int d : p_.dropped)
            (void)make(d);
    }

    // The roots' recorders, for run_until_complete.
    std::vector<vow::future<void>> take_recorders() { return std::move(recorders_); }

    // True if every recorder's future holds its value; then drops them. (A
    // settled future keeps its node, and with it the handler that a value
    // skipped: the recorders' catch_ handlers live as long as their futures.)
    bool recorders_settled() {
        bool ok = true;
        for (const auto& f : recorders_)
            ok = ok && f.available() && !f.failed();
        recorders_.clear();
        return ok;
    }

    // Worker jobs not finished yet (any thread).
    int in_flight() const { return in_flight_.load(); }
    // Worker jobs handed to the pool so far (loop thread).
    int submitted() const { return submitted_; }

    std::vector<int> counts;  // per handler: runs
    int off_loop_runs = 0;
    std::vector<int> root_settles;
    std::vector<std::optional<outcome>> root_results;
    std::unique_ptr<std::atomic<int>[]> wins;  // per contested promise: successful try_ settles
    std::vector<char> created;                 // per contested promise: was it made

private:
    void enter(int h) {
        if (std::this_thread::get_id() != loop_thread)
            ++off_loop_runs;
        ++counts[static_cast<std::size_t>(h)];
    }

    void done(std::size_t k, outcome o) {
        if (std::this_thread::get_id() != loop_thread)
            ++off_loop_runs;
        ++root_settles[k];
        root_results[k] = o;
    }

    static void perform(vow::promise<value_t>& p, act_t a, value_t param) {
        switch (a) {
            case act_t::resolve:
                p.resolve(param);
                return;
            case act_t::reject: {
                // The exception is made before the reject and the temporary
                // dies first: std::runtime_error's message is reference-counted
                // in a way ThreadSanitizer cannot see, so a copy dying here
                // after the loop read the message would look like a race.
                auto e = std::make_exception_ptr(test_error(param));
                p.reject(std::move(e));
                return;
            }
            case act_t::drop: {
                auto dead = std::move(p);
                return;
            }
        }
    }

    static bool try_perform(vow::promise<value_t>& p, act_t a, value_t param) {
        if (a == act_t::resolve)
            return p.try_resolve(param);
        auto e = std::make_exception_ptr(test_error(param));
        return p.try_reject(std::move(e));
    }

    // Runs `fn` as `s` says: now, on the next turn, from a timer, or on a
    // worker after a pause. Unless run_until_complete drives the loop, a
    // work guard keeps the loop running until the worker has posted what it
    // settles.
    template <class F>
    void schedule(const settler& s, F fn) {
        switch (s.when) {
            case when_t::now:
                fn();
                return;
            case when_t::next_turn:
                r_.call_soon([tr = tracker(true), fn = std::move(fn)]() mutable { fn(); });
                return;
            case when_t::timer:
                (void)r_.call_later(std::chrono::microseconds(s.us),
                                    [tr = tracker(true), fn = std::move(fn)]() mutable { fn(); });
                return;
            case when_t::thread:
                ++in_flight_;
                ++submitted_;
                pool_->submit([tr = tracker(false), fn = std::move(fn),
                               guard = p_.wait_for_roots ? vow::reactor::work_guard()
                                                         : vow::reactor::work_guard(r_),
                               us = s.us, this]() mutable {
                    if (us > 0)
                        std::this_thread::sleep_for(std::chrono::microseconds(us));
                    fn();
                    guard.reset();
                    --in_flight_;  // after the posts: the loop finds them
                });
                return;
        }
    }

    vow::future<value_t> make_sleep(const leaf_spec& l) {
        auto to_value = [tr = tracker(true), this, h = l.handler, v = l.param] {
            enter(h);
            return v;
        };
        auto delay = l.sleep_long ? std::chrono::duration_cast<vow::reactor::duration>(1h)
                                  : std::chrono::duration_cast<vow::reactor::duration>(
                                        std::chrono::microseconds(l.sleep_us));
        if (l.kind == leaf_spec::sleep)
            return vow::sleep(r_, delay).then(std::move(to_value));
        std::stop_token token;
        switch (l.stop) {
            case stop_t::none:
                break;
            case stop_t::before: {
                std::stop_source src;
                src.request_stop();
                token = src.get_token();
                break;
            }
            case stop_t::timer:
            case stop_t::thread: {
                std::stop_source src;
                token = src.get_token();
                settler s;
                s.when = l.stop == stop_t::timer ? when_t::timer : when_t::thread;
                s.us = l.stop_us;
                schedule(s, [src]() mutable { src.request_stop(); });
                break;
            }
            case stop_t::enclosing:
                token = stops_[static_cast<std::size_t>(l.stop_index)].get_token();
                break;
        }
        return vow::sleep(r_, delay, token).then(std::move(to_value));
    }

    vow::future<value_t> make_leaf(const leaf_spec& l) {
        switch (l.kind) {
            case leaf_spec::ready_value:
                return vow::make_ready_future(r_, l.param);
            case leaf_spec::ready_error:
                return vow::make_exception_future<value_t>(r_, test_error(l.param));
            case leaf_spec::promise: {
                vow::promise<value_t> p(r_);
                auto f = p.get_future();
                schedule(l.s[0], [p = std::move(p), a = l.s[0].act, v = l.s[0].param]() mutable {
                    perform(p, a, v);
                });
                return f;
            }
            case leaf_spec::contested: {
                auto shared = std::make_shared<vow::promise<value_t>>(r_);
                auto f = shared->get_future();
                auto slot = static_cast<std::size_t>(l.slot);
                created[slot] = 1;
                for (const settler& s : l.s)
                    schedule(s, [shared, a = s.act, v = s.param, won = &wins[slot]]() mutable {
                        if (a != act_t::drop && try_perform(*shared, a, v))
                            ++*won;
                        shared.reset();  // the last share to go breaks it, if nobody settled it
                    });
                return f;
            }
            case leaf_spec::sleep:
            case leaf_spec::sleep_stop:
                return make_sleep(l);
        }
        throw std::logic_error("unknown leaf");
    }

    std::vector<vow::future<value_t>> make_kids(const gnode& n) {
        std::vector<vow::future<value_t>> in;
        for (int k : n.kids)
            in.push_back(make(k));
        return in;
    }

    vow::future<value_t> make(int i) {
        const gnode& n = p_.nodes[static_cast<std::size_t>(i)];
        const int h = n.handler;
        switch (n.kind) {
            case nk::leaf:
                return make_leaf(n.leaf);
            case nk::then_map:
                return make(n.kids[0]).then([tr = tracker(true), this, h](value_t v) {
                    enter(h);
                    return map_value(v);
                });
            case nk::then_throw:
                return make(n.kids[0]).then([tr = tracker(true), this, h](value_t v) -> value_t {
                    enter(h);
                    if (throws_on(v))
                        throw test_error(thrown_code(v));
                    return after_no_throw(v);
                });
            case nk::then_adopt:
                return make(n.kids[0]).then(
                    [tr = tracker(true), this, h, inner = &n.inner](value_t) {
                        enter(h);
                        return make_leaf(*inner);
                    });
            case nk::catch_recover:
                return make(n.kids[0]).catch_(
                    [tr = tracker(true), this, h](std::exception_ptr e) -> value_t {
                        enter(h);
                        return recover(classify(e));
                    });
            case nk::catch_rethrow:
                return make(n.kids[0]).catch_(
                    [tr = tracker(true), this, h](std::exception_ptr e) -> value_t {
                        enter(h);
                        std::rethrow_exception(e);
                    });
            case nk::catch_adopt:
                return make(n.kids[0]).catch_(
                    [tr = tracker(true), this, h, inner = &n.inner](std::exception_ptr) {
                        enter(h);
                        return make_leaf(*inner);
                    });
            case nk::catch_typed:
                return make(n.kids[0]).catch_(
                    [tr = tracker(true), this, h](const test_error& e) -> value_t {
                        enter(h);
                        return recover(error_of(ek::test, e.code));
                    });
            case nk::finally_plain:
                return make(n.kids[0]).finally([tr = tracker(true), this, h] { enter(h); });
            case nk::finally_throw:
                return make(n.kids[0]).finally([tr = tracker(true), this, h, c = n.param] {
                    enter(h);
                    throw test_error(3000 + c);
                });
            case nk::finally_adopt:
                return make(n.kids[0]).finally(
                    [tr = tracker(true), this, h, h2 = n.handler2, inner = &n.inner] {
                        enter(h);
                        return make_leaf(*inner).then(
                            [tr = tracker(true), this, h2](value_t) { enter(h2); });
                    });
            case nk::all: {
                auto in = make_kids(n);
                auto f = in.empty() ? vow::all(r_, std::move(in)) : vow::all(std::move(in));
                return std::move(f).then([tr = tracker(true), this, h](std::vector<value_t> vs) {
                    enter(h);
                    return fold_all(vs);
                });
            }
            case nk::all_settled:
                return vow::all_settled(r_, make_kids(n))
                    .then([tr = tracker(true), this, h](std::vector<vow::result<value_t>> rs) {
                        enter(h);
                        std::vector<outcome> os;
                        for (const auto& x : rs)
                            os.push_back(x.has_value() ? value_of(x.value()) : classify(x.error()));
                        return fold_settled(os);
                    });
            case nk::any: {
                auto in = make_kids(n);
                return in.empty() ? vow::any(r_, std::move(in)) : vow::any(std::move(in));
            }
            case nk::race:
                return vow::race(make_kids(n));
            case nk::timeout: {
                auto child = make(n.kids[0]);
                auto limit = n.long_limit ? std::chrono::duration_cast<vow::reactor::duration>(1h)
                                          : std::chrono::duration_cast<vow::reactor::duration>(
                                                std::chrono::microseconds(n.limit_us));
                if (n.stop_index >= 0)
                    return vow::with_timeout(std::move(child), limit,
                                             stops_[static_cast<std::size_t>(n.stop_index)]);
                return vow::with_timeout(std::move(child), limit);
            }
        }
        throw std::logic_error("unknown node");
    }

    vow::reactor& r_;
    const program_spec& p_;
    std::vector<std::stop_source> stops_;
    vow::thread_pool* pool_ = nullptr;
    std::atomic<int> in_flight_{0};
    int submitted_ = 0;
    std::vector<vow::future<void>> recorders_;
};

std::string list_reports(const std::vector<vow::test::rejection_report>& reports) {
    std::ostringstream os;
    for (const auto& u : reports)
        os << "[" << u.message << " (future created at line " << u.line << ")] ";
    return os.str();
}

// What the programs covered, so that a generator that drifts into trivial
// programs shows in the log.
struct stats {
    std::size_t nodes = 0, roots = 0, exact_roots = 0, open_roots = 0, handlers = 0, must_run = 0,
                must_not_run = 0, contested = 0, dropped = 0, must_report = 0;
    void add(const program_spec& p) {
        nodes += p.nodes.size();
        roots += p.roots.size();
        for (int r : p.roots) {
            const oset& m = p.model[static_cast<std::size_t>(r)];
            exact_roots += !m.top && m.s.size() == 1;
            open_roots += m.top;
        }
        handlers += p.handlers.size();
        for (const runs& h : p.handlers) {
            must_run += h.min == 1;
            must_not_run += h.max == 0;
        }
        contested += static_cast<std::size_t>(p.slots);
        dropped += p.dropped.size();
        must_report += static_cast<std::size_t>(p.min_reports);
    }
};

void check_program(std::uint64_t seed, stats& total) {
    program_spec spec = generator(seed).make();
    total.add(spec);
    BOOST_TEST_CONTEXT("seed " << seed << " (rerun alone with VOW_PROPERTY_SEED=" << seed
                               << "): " << describe(spec)) {
        const long live_before = tracker::live.load();
        const long off_before = tracker::destroyed_off_loop.load();
        {
            auto fx = std::make_unique<vow::test::promise_fixture>();
            auto prog = std::make_unique<program>(fx->r, spec);
            {
                vow::thread_pool pool(static_cast<std::size_t>(spec.pool_threads));
                if (spec.wait_for_roots) {
                    prog->build(pool);
                    for (auto& f : prog->take_recorders()) {
                        try {
                            fx->wait(std::move(f), 20s);
                        } catch (const std::exception& e) {
                            BOOST_ERROR("run_until_complete on a root threw: " << e.what());
                        }
                    }
                } else {
                    fx->r.call_soon([&] { prog->build(pool); });
                }
                // Until the loop is idle with no worker job left, since
                // handlers that run late (in a race's losing branch, or in a
                // dropped expression) may still hand work to the pool. Once
                // no job is in flight, one more run takes what the last jobs
                // posted; if it handed out no new job, nothing is left.
                for (;;) {
                    fx->run();
                    if (prog->in_flight() != 0) {
                        std::this_thread::sleep_for(50us);
                        continue;
                    }
                    int submitted = prog->submitted();
                    fx->run();
                    if (prog->submitted() == submitted)
                        break;
                }
            }  // the pool joins: every worker's job has been destroyed

            BOOST_TEST(prog->recorders_settled());
            // The loop ran out and the program holds no future any more, so
            // every handler has run or been dropped.
            BOOST_TEST(tracker::live.load() - live_before == 0,
                       tracker::live.load() - live_before
                           << " handlers and settlers still live after the loop ran out");
            BOOST_TEST(prog->off_loop_runs == 0, "handlers that ran off the loop thread");
            for (std::size_t k = 0; k < spec.roots.size(); ++k) {
                BOOST_TEST_CONTEXT("root " << k) {
                    BOOST_TEST(prog->root_settles[k] == 1);
                    if (prog->root_results[k]) {
                        const oset& m = spec.model[static_cast<std::size_t>(spec.roots[k])];
                        BOOST_TEST(m.contains(*prog->root_results[k]),
                                   "settled with " << *prog->root_results[k]
                                                   << ", the model allows " << m);
                    }
                }
            }
            for (std::size_t h = 0; h < spec.handlers.size(); ++h) {
                int c = prog->counts[h];
                BOOST_TEST((c >= spec.handlers[h].min && c <= spec.handlers[h].max),
                           "handler " << h << " ran " << c << " times; the model says "
                                      << spec.handlers[h].min << " to " << spec.handlers[h].max);
            }
            for (std::size_t s = 0; s < static_cast<std::size_t>(spec.slots); ++s) {
                int expected = prog->created[s] && spec.slot_contenders[s] > 0 ? 1 : 0;
                BOOST_TEST(prog->wins[s].load() == expected,
                           "contested promise " << s << " settled by " << prog->wins[s].load()
                                                << " settlers");
            }
            int reports = static_cast<int>(fx->unhandled.size());
            BOOST_TEST((reports >= spec.min_reports && reports <= spec.max_reports),
                       reports << " unhandled-rejection reports; the dropped expressions allow "
                               << spec.min_reports << " to " << spec.max_reports << ": "
                               << list_reports(fx->unhandled));
            fx->unhandled.clear();
            BOOST_TEST(fx->reported.empty(),
                       "a callback threw: " << (fx->reported.empty() ? "" : fx->reported.front()));
            fx->reported.clear();
            prog.reset();
        }
        BOOST_TEST(tracker::live.load() == live_before,
                   "live handlers and settlers after the reactor was destroyed");
        BOOST_TEST(tracker::destroyed_off_loop.load() == off_before,
                   "handlers or loop-side settlers destroyed off the loop thread");
    }
}

}  // namespace

BOOST_AUTO_TEST_CASE(random_programs_settle_once_on_the_loop_thread_and_free_everything) {
    if (const char* only = std::getenv("VOW_PROPERTY_SEED")) {
        stats ignored;
        check_program(std::strtoull(only, nullptr, 10), ignored);
        return;
    }
    std::uint64_t count = program_count;
    if (const char* n = std::getenv("VOW_PROPERTY_PROGRAMS"))
        count = std::strtoull(n, nullptr, 10);
    stats total;
    for (std::uint64_t seed = 1; seed <= count; ++seed)
        check_program(seed, total);
    BOOST_TEST_MESSAGE(count << " programs: " << total.nodes << " nodes, " << total.roots
                             << " roots (" << total.exact_roots << " with one possible outcome, "
                             << total.open_roots << " unconstrained), " << total.handlers
                             << " handlers (" << total.must_run << " that must run, "
                             << total.must_not_run << " that must not), " << total.contested
                             << " contested promises, " << total.dropped << " dropped expressions ("
                             << total.must_report << " that must be reported)");
}

BOOST_AUTO_TEST_SUITE_END()  // random_programs_test

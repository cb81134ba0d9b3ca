// Random trees of combinators (all, all_settled, any, race, with_timeout,
// then, catch_) over random leaves (ready values and errors, values and
// errors settled late by a timer, values and errors settled on another
// thread), each checked against a reference model evaluated on plain values.
//
// "First in time" needs a clock both sides agree on, so the test drives time
// itself, in phases:
//   0      the tree is built inside one callback: whatever follows from ready
//          leaves alone settles in that callback and the turns right after,
//          before any timer can fire;
//   1      at most one with_timeout has a short limit (1 ms), and it fires
//          next;
//   k + 1  then the late leaves settle one by one (step k), each only once
//          the loop has nothing else queued.
// One leaf per step means a node never sees two of its inputs settle in the
// same phase, except in phase 0, where the order among ready inputs depends
// on how many internal hops each one took: an implementation detail. The
// generator never builds a node whose result would depend on that order.
//
// Invariants: the root settles exactly once, with the model's value or
// error; every handler runs exactly when the model says (at most once); no
// rejection is reported as unhandled (every error is consumed by a
// combinator, a handler or the root's catch_). Leaks show under ASan.
//
// A failure names its seed; VOW_PROPERTY_SEED=<n> reruns that tree alone.
#include <boost/test/unit_test.hpp>
#include <promise_fixture.hpp>
#include <reactor_fixture.hpp>

#include <vow/vow.hpp>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <functional>
#include <optional>
#include <random>
#include <source_location>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

BOOST_AUTO_TEST_SUITE(random_combinator_trees_test)

using namespace std::chrono_literals;

namespace {

using value_t = std::int64_t;
constexpr value_t prime = 1'000'000'007;
constexpr value_t timeout_code = 7777;
constexpr std::size_t none = static_cast<std::size_t>(-1);

// ---------------------------------------------------------------------------
// Values and errors, as both the model and the real tree compute them.

struct test_error : std::runtime_error {
    explicit test_error(value_t c) : std::runtime_error("test error " + std::to_string(c)), code(c) {}
    value_t code;
};

value_t aggregate_code(const std::vector<value_t>& codes) {
    value_t h = 5'000'011;
    for (value_t c : codes)
        h = (h * 131 + c + 1) % prime;
    return h;
}

// An error's code: a test_error's own, a fixed one for timeouts, and for an
// aggregate_error a hash of its errors' codes in the order it lists them.
value_t code_of(const std::exception_ptr& e) {
    try {
        std::rethrow_exception(e);
    } catch (const test_error& t) {
        return t.code;
    } catch (const vow::timeout_error&) {
        return timeout_code;
    } catch (const vow::aggregate_error& a) {
        std::vector<value_t> codes;
        for (const auto& x : a.errors())
            codes.push_back(code_of(x));
        return aggregate_code(codes);
    } catch (...) {
        return -1;  // matches nothing the model produces
    }
}

value_t map_value(value_t v) { return (v * 3 + 1) % prime; }
value_t recover(value_t code) { return (code * 7 + 3) % prime; }
bool throws_on(value_t v) { return v % 3 == 0; }
value_t thrown_code(value_t v) { return 2000 + v % 1000; }
value_t after_no_throw(value_t v) { return (v + 11) % prime; }

struct outcome {
    bool ok = false;
    value_t v = 0;  // the value, or the error's code
    bool operator==(const outcome&) const = default;
};

std::ostream& operator<<(std::ostream& os, const outcome& o) {
    return os << (o.ok ? "value " : "error ") << o.v;
}

value_t fold_all(const std::vector<value_t>& vs) {
    value_t h = 17;
    for (value_t v : vs)
        h = (h * 31 + v) % prime;
    return h;
}

value_t fold_settled(const std::vector<outcome>& os) {
    value_t h = 19;
    for (const auto& o : os)
        h = (h * 37 + (o.ok ? o.v : 500'000'003 + o.v)) % prime;
    return h;
}

// ---------------------------------------------------------------------------
// The trees.

enum class op {
    ready_value,
    ready_error,
    late_value,
    late_error,
    thread_value,
    thread_error,
    empty_all,
    empty_any,
    all,
    all_settled,
    any,
    race,
    then_map,
    then_throw,
    catch_recover,
    timeout_long,
    timeout_short,
};

const char* name_of(op k) {
    switch (k) {
    case op::ready_value: return "ready_value";
    case op::ready_error: return "ready_error";
    case op::late_value: return "late_value";
    case op::late_error: return "late_error";
    case op::thread_value: return "thread_value";
    case op::thread_error: return "thread_error";
    case op::empty_all: return "all(r, {})";
    case op::empty_any: return "any(r, {})";
    case op::all: return "all";
    case op::all_settled: return "all_settled";
    case op::any: return "any";
    case op::race: return "race";
    case op::then_map: return "then";
    case op::then_throw: return "then_throw";
    case op::catch_recover: return "catch_";
    case op::timeout_long: return "with_timeout(1h)";
    case op::timeout_short: return "with_timeout(1ms)";
    }
    return "?";
}

bool is_late(op k) {
    return k == op::late_value || k == op::late_error || k == op::thread_value || k == op::thread_error;
}
bool has_handler(op k) {
    return k == op::then_map || k == op::then_throw || k == op::catch_recover || k == op::all ||
           k == op::all_settled || k == op::empty_all;
}

struct node {
    op kind;
    std::vector<std::size_t> kids;
    value_t param = 0;       // a leaf's value or error code
    std::size_t step = 0;    // late leaves: settled in step 1, 2, ...
    std::size_t handler = none;
};

// Nodes in post-order: children before their parent, the root last. This is
// also the order in which the real tree is built.
struct tree {
    std::vector<node> nodes;
    std::size_t steps = 0;
    std::size_t handlers = 0;
    std::size_t root() const { return nodes.size() - 1; }
};

// ---------------------------------------------------------------------------
// The model: what each node settles with, and in which phase.

struct settled {
    outcome o;
    std::size_t phase = 0;
};

struct model {
    std::vector<settled> of;  // per node
    std::vector<bool> ran;    // per handler: does it run?
    const settled& root() const { return of.back(); }
};

// Of the inputs that settled in the earliest phase among those for which
// `counts` is true, the outcome, and whether it is unique: if two of them
// differ and share phase 0, which one comes first is not for the model to say.
std::optional<settled> earliest(const std::vector<settled>& in, bool& ambiguous,
                                const std::function<bool(const outcome&)>& counts) {
    std::optional<settled> first;
    for (const settled& s : in) {
        if (!counts(s.o))
            continue;
        if (!first || s.phase < first->phase)
            first = s;
        else if (s.phase == first->phase && !(s.o == first->o))
            ambiguous = true;
    }
    return first;
}

std::size_t latest(const std::vector<settled>& in) {
    std::size_t p = 0;
    for (const settled& s : in)
        p = std::max(p, s.phase);
    return p;
}

// The node's result from its inputs' (already in m.of). Sets `ambiguous` if
// the result depends on the order of inputs settled in the same phase.
settled evaluate(const node& n, model& m, bool& ambiguous) {
    std::vector<settled> in;
    for (std::size_t k : n.kids)
        in.push_back(m.of[k]);
    auto ran = [&](bool yes) {
        if (yes)
            m.ran[n.handler] = true;
    };
    switch (n.kind) {
    case op::ready_value:
        return {{true, n.param}, 0};
    case op::ready_error:
        return {{false, n.param}, 0};
    case op::late_value:
    case op::thread_value:
        return {{true, n.param}, n.step + 1};
    case op::late_error:
    case op::thread_error:
        return {{false, n.param}, n.step + 1};
    case op::empty_all:
        ran(true);
        return {{true, fold_all({})}, 0};
    case op::empty_any:
        return {{false, aggregate_code({})}, 0};
    case op::then_map:
        ran(in[0].o.ok);
        return in[0].o.ok ? settled{{true, map_value(in[0].o.v)}, in[0].phase} : in[0];
    case op::then_throw:
        ran(in[0].o.ok);
        if (!in[0].o.ok)
            return in[0];
        return throws_on(in[0].o.v) ? settled{{false, thrown_code(in[0].o.v)}, in[0].phase}
                                    : settled{{true, after_no_throw(in[0].o.v)}, in[0].phase};
    case op::catch_recover:
        ran(!in[0].o.ok);
        return in[0].o.ok ? in[0] : settled{{true, recover(in[0].o.v)}, in[0].phase};
    case op::timeout_long:
        return in[0];
    case op::timeout_short:
        return in[0].phase == 0 ? in[0] : settled{{false, timeout_code}, 1};
    case op::race:
        return *earliest(in, ambiguous, [](const outcome&) { return true; });
    case op::any: {
        if (auto first = earliest(in, ambiguous, [](const outcome& o) { return o.ok; }))
            return *first;
        std::vector<value_t> codes;  // input order, whatever the time order
        for (const settled& s : in)
            codes.push_back(s.o.v);
        return {{false, aggregate_code(codes)}, latest(in)};
    }
    case op::all: {
        auto error = earliest(in, ambiguous, [](const outcome& o) { return !o.ok; });
        ran(!error);
        if (error)
            return *error;
        std::vector<value_t> values;
        for (const settled& s : in)
            values.push_back(s.o.v);
        return {{true, fold_all(values)}, latest(in)};
    }
    case op::all_settled: {
        ran(true);
        std::vector<outcome> os;
        for (const settled& s : in)
            os.push_back(s.o);
        return {{true, fold_settled(os)}, latest(in)};
    }
    }
    throw std::logic_error("unknown op");
}

model evaluate(const tree& t) {
    model m{{}, std::vector<bool>(t.handlers, false)};
    for (const node& n : t.nodes) {
        bool ambiguous = false;
        m.of.push_back(evaluate(n, m, ambiguous));
        BOOST_REQUIRE_MESSAGE(!ambiguous, "the generator built an order-dependent node");
    }
    return m;
}

// ---------------------------------------------------------------------------
// Random trees.

class generator {
public:
    explicit generator(std::uint64_t seed) : rng_(seed) {}

    tree make() {
        tree t;
        grow(t, 0);
        // Steps were numbered in the order the late leaves were made; give
        // them a random order. Whether a node depends on the order of its
        // inputs does not change: only ready inputs can tie (in phase 0).
        std::vector<std::size_t> order(t.steps);
        for (std::size_t i = 0; i < order.size(); ++i)
            order[i] = i + 1;
        std::shuffle(order.begin(), order.end(), rng_);
        for (node& n : t.nodes)
            if (is_late(n.kind))
                n.step = order[n.step - 1];
        return t;
    }

private:
    std::size_t pick(std::size_t n) { return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng_); }
    bool chance(double p) { return std::bernoulli_distribution(p)(rng_); }

    std::size_t grow(tree& t, int depth) {
        node n{};
        if (depth >= 4 || chance(0.05 + 0.2 * depth)) {
            static constexpr op leaves[] = {op::ready_value,  op::ready_error, op::late_value,   op::late_value,
                                            op::late_error,   op::late_error,  op::thread_value, op::thread_error,
                                            op::ready_value,  op::late_value,  op::empty_all,    op::empty_any};
            n.kind = leaves[pick(std::size(leaves))];
            bool error = n.kind == op::ready_error || n.kind == op::late_error || n.kind == op::thread_error;
            n.param = error ? value_t(1 + pick(999)) : value_t(pick(1000));  // codes 1..999, values 0..999
            if (is_late(n.kind))
                n.step = ++t.steps;
        } else {
            static constexpr op inner[] = {op::all,      op::all_settled, op::any,           op::race,
                                           op::then_map, op::then_throw,  op::catch_recover, op::timeout_long};
            n.kind = inner[pick(std::size(inner))];
            if (n.kind == op::timeout_long && !short_used_ && chance(0.5)) {
                n.kind = op::timeout_short;
                short_used_ = true;
            }
            bool gather = n.kind == op::all || n.kind == op::all_settled || n.kind == op::any || n.kind == op::race;
            std::size_t kids = gather ? 1 + pick(4) : 1;
            for (std::size_t k = 0; k < kids; ++k)
                n.kids.push_back(grow(t, depth + 1));
        }
        if (has_handler(n.kind))
            n.handler = t.handlers++;
        seen_.ran.resize(t.handlers);
        bool ambiguous = false;
        settled s = evaluate(n, seen_, ambiguous);
        if (ambiguous) {  // the same inputs, gathered without caring for their order
            n.kind = op::all_settled;
            if (n.handler == none)
                n.handler = t.handlers++;
            seen_.ran.resize(t.handlers);
            s = evaluate(n, seen_, ambiguous);
        }
        seen_.of.push_back(s);
        t.nodes.push_back(std::move(n));
        return t.nodes.size() - 1;
    }

    std::mt19937_64 rng_;
    model seen_;  // the nodes made so far, evaluated
    bool short_used_ = false;
};

void describe(std::ostream& os, const tree& t, std::size_t i) {
    const node& n = t.nodes[i];
    os << name_of(n.kind);
    if (n.kind == op::ready_value || n.kind == op::ready_error || is_late(n.kind))
        os << "=" << n.param;
    if (is_late(n.kind))
        os << "@" << n.step;
    if (!n.kids.empty()) {
        os << "(";
        for (std::size_t k = 0; k < n.kids.size(); ++k) {
            if (k)
                os << ", ";
            describe(os, t, n.kids[k]);
        }
        os << ")";
    }
}

std::string describe(const tree& t) {
    std::ostringstream os;
    describe(os, t, t.root());
    return os.str();
}

// ---------------------------------------------------------------------------
// The real tree, and the driver that settles its late leaves one at a time.

class real_tree {
public:
    real_tree(vow::reactor& r, const tree& t) : counts(t.handlers, 0), r_(r), t_(t), late_(t.steps) {}
    real_tree(const real_tree&) = delete;
    real_tree& operator=(const real_tree&) = delete;
    ~real_tree() { join(); }

    // Builds the tree (inside a callback, see the file comment) and runs the
    // loop until it is idle: every leaf settled and every timer gone.
    void run(vow::test::reactor_fixture& fx) {
        r_.call_soon([this] {
            std::vector<vow::future<value_t>> built(t_.nodes.size());
            for (std::size_t i = 0; i < t_.nodes.size(); ++i)
                built[i] = make(i, built);
            root_ = std::move(built[t_.root()])
                        .then([this](value_t v) {
                            ++root_settles;
                            result = outcome{true, v};
                        })
                        .catch_([this](std::exception_ptr e) {
                            ++root_settles;
                            result = outcome{false, code_of(e)};
                        });
            // After the short time limit (1 ms), the first late leaf.
            (void)r_.call_later(2ms, [this] { when_quiet([this] { step(); }); });
        });
        fx.run();
        join();
    }

    std::vector<int> counts;  // per handler: how many times it ran
    int root_settles = 0;
    std::optional<outcome> result;

private:
    struct late_leaf {
        std::optional<vow::promise<value_t>> p;
        bool ok = true, on_thread = false;
        value_t param = 0;
    };

    static void settle(vow::promise<value_t>& p, bool ok, value_t param) {
        if (ok)
            return p.resolve(param);
        // The temporary error goes before the reject: std::runtime_error
        // shares its message through a reference count inside libstdc++,
        // which ThreadSanitizer cannot see, so a copy dying on this thread
        // after the loop has read the message would be reported as a race.
        auto error = std::make_exception_ptr(test_error(param));
        p.reject(std::move(error));
    }

    std::vector<vow::future<value_t>> take(const node& n, std::vector<vow::future<value_t>>& built) {
        std::vector<vow::future<value_t>> out;
        for (std::size_t k : n.kids)
            out.push_back(std::move(built[k]));
        return out;
    }

    vow::future<value_t> make(std::size_t i, std::vector<vow::future<value_t>>& built) {
        const node& n = t_.nodes[i];
        int* count = n.handler == none ? nullptr : &counts[n.handler];
        switch (n.kind) {
        case op::ready_value:
            return vow::make_ready_future(r_, n.param);
        case op::ready_error:
            return vow::make_exception_future<value_t>(r_, test_error(n.param));
        case op::late_value:
        case op::late_error:
        case op::thread_value:
        case op::thread_error: {
            late_leaf& leaf = late_[n.step - 1];
            leaf.p.emplace(r_);
            leaf.ok = n.kind == op::late_value || n.kind == op::thread_value;
            leaf.on_thread = n.kind == op::thread_value || n.kind == op::thread_error;
            leaf.param = n.param;
            return leaf.p->get_future();
        }
        case op::empty_all:
            return vow::all(r_, std::vector<vow::future<value_t>>{}).then([count](std::vector<value_t> vs) {
                ++*count;
                return fold_all(vs);
            });
        case op::empty_any:
            return vow::any(r_, std::vector<vow::future<value_t>>{});
        case op::all:
            return vow::all(take(n, built)).then([count](std::vector<value_t> vs) {
                ++*count;
                return fold_all(vs);
            });
        case op::all_settled:
            return vow::all_settled(take(n, built)).then([count](std::vector<vow::result<value_t>> rs) {
                ++*count;
                std::vector<outcome> os;
                for (const auto& x : rs)
                    os.push_back(x.has_value() ? outcome{true, x.value()} : outcome{false, code_of(x.error())});
                return fold_settled(os);
            });
        case op::any:
            return vow::any(take(n, built));
        case op::race:
            return vow::race(take(n, built));
        case op::then_map:
            return std::move(built[n.kids[0]]).then([count](value_t v) {
                ++*count;
                return map_value(v);
            });
        case op::then_throw:
            return std::move(built[n.kids[0]]).then([count](value_t v) -> value_t {
                ++*count;
                if (throws_on(v))
                    throw test_error(thrown_code(v));
                return after_no_throw(v);
            });
        case op::catch_recover:
            return std::move(built[n.kids[0]]).catch_([count](std::exception_ptr e) -> value_t {
                ++*count;
                return recover(code_of(e));
            });
        case op::timeout_long:
            return vow::with_timeout(std::move(built[n.kids[0]]), 1h);
        case op::timeout_short:
            return vow::with_timeout(std::move(built[n.kids[0]]), 1ms);
        }
        throw std::logic_error("unknown op");
    }

    // Runs `next` once nothing else is queued (ours is the only callback left).
    void when_quiet(std::function<void()> next) {
        r_.call_soon([this, next = std::move(next)]() mutable {
            if (r_.queued() > 1)
                when_quiet(std::move(next));
            else
                next();
        });
    }

    void step() {
        if (next_ == late_.size())
            return;
        late_leaf& leaf = late_[next_++];
        vow::promise<value_t> p = std::move(*leaf.p);
        leaf.p.reset();
        if (leaf.on_thread) {
            // The thread settles the promise, then asks for the next step:
            // posts from one thread keep their order, so the step waits for
            // everything the settle queued. The guard keeps the loop running
            // until the posts are in.
            threads_.emplace_back([this, p = std::move(p), ok = leaf.ok, param = leaf.param,
                                   keep = vow::reactor::work_guard(r_)]() mutable {
                settle(p, ok, param);
                r_.call_soon_threadsafe([this] { when_quiet([this] { step(); }); });
            });
        } else {
            (void)r_.call_later(0ms, [this, p = std::move(p), ok = leaf.ok, param = leaf.param]() mutable {
                settle(p, ok, param);
                when_quiet([this] { step(); });
            });
        }
    }

    void join() {
        for (auto& th : threads_)
            if (th.joinable())
                th.join();
    }

    vow::reactor& r_;
    const tree& t_;
    std::vector<late_leaf> late_;
    std::size_t next_ = 0;
    std::vector<std::thread> threads_;
    vow::future<void> root_;
};

using vow::test::message_of;

struct fixture : vow::test::reactor_fixture {
    std::vector<std::string> unhandled;
    vow::unhandled_rejection_handler previous = vow::set_unhandled_rejection_handler(
        [this](std::exception_ptr e, const std::source_location&) { unhandled.push_back(message_of(e)); });
    fixture() = default;
    fixture(const fixture&) = delete;
    fixture& operator=(const fixture&) = delete;
    ~fixture() { vow::set_unhandled_rejection_handler(std::move(previous)); }
};

void check_tree(std::uint64_t seed) {
    tree t = generator(seed).make();
    model expected = evaluate(t);
    BOOST_TEST_CONTEXT("seed " << seed << " (rerun alone with VOW_PROPERTY_SEED=" << seed << "): " << describe(t)
                               << " -> " << expected.root().o) {
        fixture fx;
        {
            real_tree actual(fx.r, t);
            actual.run(fx);
            BOOST_TEST(actual.root_settles == 1);
            if (actual.result)
                BOOST_TEST(*actual.result == expected.root().o);
            for (std::size_t h = 0; h < t.handlers; ++h)
                BOOST_TEST(actual.counts[h] == (expected.ran[h] ? 1 : 0), "handler " << h);
        }
        BOOST_TEST(fx.unhandled.empty(), "unhandled: " << (fx.unhandled.empty() ? "" : fx.unhandled.front()));
        BOOST_TEST(fx.reported.empty(), "a callback threw: " << (fx.reported.empty() ? "" : fx.reported.front()));
    }
}

}  // namespace

BOOST_AUTO_TEST_CASE(random_trees_settle_once_and_agree_with_the_model) {
    if (const char* only = std::getenv("VOW_PROPERTY_SEED")) {
        check_tree(std::strtoull(only, nullptr, 10));
        return;
    }
    for (std::uint64_t seed = 1; seed <= 200; ++seed)
        check_tree(seed);
}

BOOST_AUTO_TEST_CASE(the_model_knows_the_documented_orders) {
    // all: the first error in time, not in input order.
    tree t;
    t.nodes.push_back({op::late_error, {}, 5, 2, none});
    t.nodes.push_back({op::late_error, {}, 6, 1, none});
    t.nodes.push_back({op::all, {0, 1}, 0, 0, 0});
    t.steps = 2;
    t.handlers = 1;
    BOOST_TEST(evaluate(t).root().o == (outcome{false, 6}));
    // any: the errors in input order, whatever their time order.
    t.nodes[2] = {op::any, {0, 1}, 0, 0, none};
    t.handlers = 0;
    BOOST_TEST(evaluate(t).root().o == (outcome{false, aggregate_code({5, 6})}));
    // with_timeout(1ms) loses to a ready source and wins over a late one.
    t.nodes = {{op::late_value, {}, 9, 2, none},
               {op::timeout_short, {0}, 0, 0, none},
               {op::late_value, {}, 7, 1, none},
               {op::race, {1, 2}, 0, 0, none}};
    t.steps = 2;
    BOOST_TEST(evaluate(t).root().o == (outcome{false, timeout_code}));
    t.nodes[0] = {op::ready_value, {}, 4, 0, none};
    BOOST_TEST(evaluate(t).root().o == (outcome{true, 4}));
    check_tree(0);  // and the real tree agrees with the model on seed 0
}

BOOST_AUTO_TEST_SUITE_END()  // random_combinator_trees_test

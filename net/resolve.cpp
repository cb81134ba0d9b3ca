// vow::net::resolve: numeric hosts and localhost inline, other names through
// evdns on a per-reactor resolver thread.
//
// Two halves talk through messages, never through shared state:
//
//   reactor thread                         resolver thread (private event_base)
//   dns_service                            resolver_thread
//     lookups_: id -> promise, timer,        jobs_: id -> evdns_getaddrinfo_request
//               stop link        --start/cancel/configure/shutdown-->
//                                <--call_soon_threadsafe(complete(id, outcome))--
//
// The reactor side settles each promise exactly once: with the resolver's
// outcome, or first with timeout_error / cancelled_error, in which case it
// tells the resolver thread to cancel the query and ignores the late outcome.
// The resolver side frees an evdns request only after evdns has called back
// for it (libevent 2.1 calls back for a cancelled request too, later, from
// its loop), and frees an evdns base only once no request uses it.
#include <vow/net/resolve.hpp>

#include <vow/error.hpp>
#include <vow/net/error.hpp>
#include <vow/promise/make_future.hpp>
#include <vow/promise/operation.hpp>

#include <event2/dns.h>
#include <event2/event.h>
#include <event2/util.h>
#include <fmt/chrono.h>
#include <fmt/format.h>

#include <netinet/in.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <exception>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

namespace vow::net {
namespace {

using address_list = std::vector<address>;

// What the resolver thread found for one lookup.
struct outcome {
    address_list addresses;
    std::string reason;  // why there are none; empty on success
};

const char* family_name(int family) {
    return family == AF_INET ? "IPv4 " : family == AF_INET6 ? "IPv6 " : "";
}

std::string no_address_reason(int family) { return fmt::format("the name has no {}address", family_name(family)); }

std::string reason_for(int err, int family) {
    // evdns maps NXDOMAIN to EAI_NONAME and every other failure (SERVFAIL,
    // REFUSED, an answer without records, no reply after all attempts) to
    // EAI_FAIL, so the second message cannot be more precise than this.
    if (err == EVUTIL_EAI_NONAME)
        return "name not found";
    if (err == EVUTIL_EAI_NODATA)
        return no_address_reason(family);
    if (err == EVUTIL_EAI_FAIL)
        return fmt::format("no {}address from the nameservers (server failure, no such record, or no reply)",
                           family_name(family));
    if (err == EVUTIL_EAI_AGAIN)
        return "temporary failure in the resolver";
    if (err == EVUTIL_EAI_MEMORY)
        return "out of memory in the resolver";
    return fmt::format("resolver error {} ({})", err, evutil_gai_strerror(err));
}

std::string seconds_option(reactor::duration d) {
    return fmt::format("{:.3f}", std::chrono::duration<double>(d).count());
}

bool is_localhost(std::string_view host) {
    constexpr std::string_view name = "localhost";
    if (host.size() == name.size() + 1 && host.back() == '.')
        host.remove_suffix(1);
    return host.size() == name.size() && std::equal(host.begin(), host.end(), name.begin(), [](char a, char b) {
               return std::tolower(static_cast<unsigned char>(a)) == b;
           });
}

void check_host(std::string_view host) {
    if (host.empty())
        throw vow::invalid_argument("vow::net::resolve: the host name is empty");
    if (host.size() > 253)
        throw vow::invalid_argument(fmt::format(
            "vow::net::resolve: the host name is {} bytes long; a DNS name has at most 253", host.size()));
    for (char c : host) {
        auto u = static_cast<unsigned char>(c);
        if (u <= 0x20 || u == 0x7f)
            throw vow::invalid_argument(fmt::format(
                "vow::net::resolve: the host name contains a space, a NUL or a control character "
                "(byte {:#04x} at offset {})",
                u, static_cast<std::size_t>(&c - host.data())));
    }
}

void check_family(int family, const char* who) {
    if (family != AF_UNSPEC && family != AF_INET && family != AF_INET6)
        throw vow::invalid_argument(fmt::format(
            "vow::net::{}: family must be AF_INET ({}), AF_INET6 ({}) or AF_UNSPEC ({}), got {}", who, AF_INET,
            AF_INET6, AF_UNSPEC, family));
}

// ------------------------------------------------------------------------
// The resolver thread: a private event_base that only evdns and this class
// use, so it can be run at any time, including to let evdns finish
// cancelled requests before everything is freed.

class dns_service;

class resolver_thread {
public:
    resolver_thread(reactor& r, dns_service& svc, resolver_config config);
    ~resolver_thread();  // cancels every query, lets evdns call back, frees, joins
    resolver_thread(const resolver_thread&) = delete;
    resolver_thread& operator=(const resolver_thread&) = delete;

    // Reactor thread.
    void start(std::uint64_t id, std::string host, int family, std::uint16_t port) {
        post({command::start, id, std::move(host), family, port, {}});
    }
    void cancel(std::uint64_t id) { post({command::cancel, id, {}, 0, 0, {}}); }
    void configure(resolver_config config) { post({command::configure, 0, {}, 0, 0, std::move(config)}); }

private:
    struct command {
        enum kind_t { start, cancel, configure, shutdown } kind;
        std::uint64_t id;
        std::string host;
        int family;
        std::uint16_t port;
        resolver_config config;
    };

    // One evdns base and its configuration. Retired by configure(), freed
    // once its last query is over.
    struct resolver {
        evdns_base* base = nullptr;
        std::string error;  // the configuration could not be applied
        std::size_t jobs = 0;
        resolver() = default;
        resolver(const resolver&) = delete;
        resolver& operator=(const resolver&) = delete;
        ~resolver() {
            if (base)
                evdns_base_free(base, 0);  // no request is left on it
        }
    };

    struct job {
        resolver_thread* owner;
        std::uint64_t id;
        std::string host;
        int family;
        std::uint16_t port;
        resolver* res;
        evdns_getaddrinfo_request* req = nullptr;
        bool starting = true;   // inside evdns_getaddrinfo, which may call back at once
        bool answered = false;  // evdns called back: req is gone
        bool cancelled = false; // evdns_getaddrinfo_cancel was called
        bool no_server = false; // cancelled because the base has no nameserver
    };

    void post(command c);
    void body();
    static void on_wake(evutil_socket_t, short, void* self);
    static void on_sweep(evutil_socket_t, short, void* self);
    static void on_give_up(evutil_socket_t, short, void* self);
    static void on_answer(int err, evutil_addrinfo* ai, void* arg);

    void do_start(command& c);
    void do_cancel(std::uint64_t id);
    void do_configure(const resolver_config& config);
    void do_shutdown();
    void answered(job* j, int err, evutil_addrinfo* ai);
    void finish_job(job* j);
    void schedule_sweep();
    void report(std::uint64_t id, outcome o);
    std::unique_ptr<resolver> make_resolver(const resolver_config& config);

    reactor& r_;
    dns_service& svc_;
    event_base* evb_ = nullptr;
    event* wake_ = nullptr;

    std::mutex mutex_;
    std::vector<command> queue_;  // guarded by mutex_
    bool wake_pending_ = false;   // guarded by mutex_

    // Resolver thread only (and the constructor/destructor, before and
    // after the thread runs).
    std::unique_ptr<resolver> current_;
    std::vector<std::unique_ptr<resolver>> retired_;
    std::unordered_map<std::uint64_t, std::unique_ptr<job>> jobs_;
    bool shutting_down_ = false;
    bool sweep_scheduled_ = false;

    std::thread thread_;  // last: starts once everything above exists
};

// ------------------------------------------------------------------------
// The reactor side.

class dns_service final : public reactor::service {
public:
    explicit dns_service(reactor& r) : r_(r) {}
    dns_service(const dns_service&) = delete;
    dns_service& operator=(const dns_service&) = delete;

    ~dns_service() override {
        // Called first thing in ~reactor: the promises broken here reject
        // silently (reactor::closing()), nobody can wait for them any more.
        lookups_.clear();
        worker_.reset();
    }

    future<address_list> start(std::string host, std::uint16_t port, const resolve_options& opts) {
        if (!worker_)
            worker_ = std::make_unique<resolver_thread>(r_, *this, config_);
        const std::uint64_t id = next_id_++;
        auto l = std::make_unique<lookup>(r_, host);
        future<address_list> f = l->op.get_future();
        lookup& added = *lookups_.emplace(id, std::move(l)).first->second;
        // A lookup is in lookups_ while it is pending, which is whenever
        // this runs; ending it early also cancels its query.
        added.op.arm(opts.timeout, {}, opts.stop, [this, id, limit = opts.timeout](expiry why) {
            auto it = lookups_.find(id);
            std::unique_ptr<lookup> gone = std::move(it->second);
            lookups_.erase(it);
            worker_->cancel(id);
            if (why == expiry::timeout)
                return std::make_exception_ptr(vow::timeout_error(
                    fmt::format("resolve '{}': no answer within {}", gone->host,
                                std::chrono::duration_cast<std::chrono::milliseconds>(limit))));
            return std::make_exception_ptr(vow::cancelled_error(
                fmt::format("resolve '{}': cancelled: stop was requested on its stop_token", gone->host)));
        });
        worker_->start(id, std::move(host), opts.family, port);
        return f;
    }

    void configure(resolver_config config) {
        if (worker_)
            worker_->configure(config);
        config_ = std::move(config);
    }

    // Reactor thread, posted by the resolver thread. A lookup that timed out
    // or was cancelled is gone already: its late outcome is dropped.
    void complete(std::uint64_t id, outcome o) {
        auto it = lookups_.find(id);
        if (it == lookups_.end())
            return;
        std::unique_ptr<lookup> l = std::move(it->second);
        lookups_.erase(it);
        if (o.reason.empty())
            l->op.resolve(std::move(o.addresses));
        else
            l->op.reject(std::make_exception_ptr(dns_error(fmt::format("resolve '{}': {}", l->host, o.reason))));
    }

private:
    struct lookup {
        lookup(reactor& r, std::string h) : op(r), host(std::move(h)) {}
        pending_operation<address_list> op;
        std::string host;
    };

    reactor& r_;
    resolver_config config_;
    std::unordered_map<std::uint64_t, std::unique_ptr<lookup>> lookups_;
    std::uint64_t next_id_ = 1;
    std::unique_ptr<resolver_thread> worker_;  // last: its thread posts to the members above
};

// ------------------------------------------------------------------------

resolver_thread::resolver_thread(reactor& r, dns_service& svc, resolver_config config) : r_(r), svc_(svc) {
    // The reactor has enabled libevent's pthread locking, so this base can
    // be woken from the reactor's thread with event_active.
    evb_ = event_base_new();
    if (!evb_)
        throw reactor_error("vow::net::resolve: event_base_new() failed for the resolver thread");
    wake_ = event_new(evb_, -1, 0, &resolver_thread::on_wake, this);
    if (!wake_) {
        event_base_free(evb_);
        throw reactor_error("vow::net::resolve: event_new() failed for the resolver thread");
    }
    queue_.push_back({command::configure, 0, {}, 0, 0, std::move(config)});
    wake_pending_ = true;
    event_active(wake_, 0, 0);
    try {
        thread_ = std::thread([this] { body(); });
    } catch (...) {
        event_free(wake_);
        event_base_free(evb_);
        throw;
    }
}

resolver_thread::~resolver_thread() {
    post({command::shutdown, 0, {}, 0, 0, {}});
    thread_.join();
}

void resolver_thread::post(command c) {
    bool wake = false;
    {
        std::lock_guard lock(mutex_);
        queue_.push_back(std::move(c));
        wake = !std::exchange(wake_pending_, true);
    }
    if (wake)
        event_active(wake_, 0, 0);
}

void resolver_thread::body() {
    event_base_loop(evb_, EVLOOP_NO_EXIT_ON_EMPTY);
    // Shut down. Give evdns one more turn for callbacks it has scheduled for
    // its own internal requests (nameserver probes), then free the bases:
    // no lookup is left on them (unless the give-up timer fired, see
    // do_shutdown).
    event_base_loop(evb_, EVLOOP_NONBLOCK);
    jobs_.clear();
    current_.reset();
    retired_.clear();
    event_free(wake_);
    event_base_free(evb_);
}

void resolver_thread::on_wake(evutil_socket_t, short, void* self) {
    auto* t = static_cast<resolver_thread*>(self);
    std::vector<command> batch;
    {
        std::lock_guard lock(t->mutex_);
        batch.swap(t->queue_);
        t->wake_pending_ = false;
    }
    for (auto& c : batch) {
        switch (c.kind) {
        case command::start:
            t->do_start(c);
            break;
        case command::cancel:
            t->do_cancel(c.id);
            break;
        case command::configure:
            t->do_configure(c.config);
            break;
        case command::shutdown:
            t->do_shutdown();
            break;
        }
    }
}

std::unique_ptr<resolver_thread::resolver> resolver_thread::make_resolver(const resolver_config& config) {
    auto res = std::make_unique<resolver>();
    res->base = evdns_base_new(evb_, 0);
    if (!res->base) {
        res->error = "cannot create the evdns resolver (out of memory?)";
        return res;
    }
    if (config.nameservers.empty()) {
        // A missing file or one without "nameserver" lines leaves the base
        // without servers (NO_DEFAULT: evdns would otherwise add
        // 127.0.0.1); do_start reports that per lookup.
        (void)evdns_base_resolv_conf_parse(res->base,
                                           DNS_OPTION_NAMESERVERS | DNS_OPTION_SEARCH | DNS_OPTION_MISC |
                                               DNS_OPTION_NAMESERVERS_NO_DEFAULT,
                                           "/etc/resolv.conf");
    } else {
        for (const address& a : config.nameservers) {
            address server = a.port() == 0 ? a.with_port(53) : a;
            if (evdns_base_nameserver_sockaddr_add(res->base, server.native(),
                                                   static_cast<ev_socklen_t>(server.native_size()), 0) != 0) {
                res->error = fmt::format("cannot use nameserver {} (evdns could not open a socket to it)", server);
                return res;
            }
        }
    }
    evdns_base_set_option(res->base, "timeout", seconds_option(config.attempt_timeout).c_str());
    evdns_base_set_option(res->base, "attempts", std::to_string(config.attempts).c_str());
    if (config.use_hosts_file)
        (void)evdns_base_load_hosts(res->base, "/etc/hosts");  // missing: localhost only
    return res;
}

void resolver_thread::do_configure(const resolver_config& config) {
    auto next = make_resolver(config);
    if (current_) {
        // Lookups in flight keep their base. One without lookups is freed on
        // a later turn too, so that callbacks evdns has scheduled on it (for
        // its own nameserver probes) run first.
        retired_.push_back(std::move(current_));
        schedule_sweep();
    }
    current_ = std::move(next);
}

void resolver_thread::do_start(command& c) {
    resolver* res = current_.get();
    if (!res->error.empty()) {
        report(c.id, {{}, res->error});
        return;
    }
    auto owned = std::make_unique<job>(job{this, c.id, std::move(c.host), c.family, c.port, res});
    job* j = owned.get();
    jobs_.emplace(c.id, std::move(owned));
    ++res->jobs;

    evutil_addrinfo hints{};
    hints.ai_family = c.family;
    hints.ai_socktype = SOCK_STREAM;  // else evdns returns each address twice (TCP and UDP)
    hints.ai_protocol = IPPROTO_TCP;
    evdns_getaddrinfo_request* req =
        evdns_getaddrinfo(res->base, j->host.c_str(), nullptr, &hints, &resolver_thread::on_answer, j);
    j->starting = false;
    if (j->answered) {  // from /etc/hosts, inside the call
        finish_job(j);
        return;
    }
    j->req = req;
    if (evdns_base_count_nameservers(res->base) == 0) {
        // evdns would queue the query until a server appears, i.e. forever.
        j->no_server = j->cancelled = true;
        evdns_getaddrinfo_cancel(req);
    }
}

void resolver_thread::do_cancel(std::uint64_t id) {
    auto it = jobs_.find(id);
    if (it == jobs_.end())
        return;  // answered already
    job* j = it->second.get();
    if (j->answered || j->cancelled || !j->req)
        return;
    j->cancelled = true;
    evdns_getaddrinfo_cancel(j->req);  // evdns calls back later, with EVUTIL_EAI_CANCEL
}

void resolver_thread::do_shutdown() {
    shutting_down_ = true;
    std::vector<std::uint64_t> ids;
    ids.reserve(jobs_.size());
    for (auto& [id, j] : jobs_)
        ids.push_back(id);
    for (auto id : ids)
        do_cancel(id);
    if (jobs_.empty()) {
        event_base_loopbreak(evb_);
        return;
    }
    // evdns calls back for every cancelled request on its next turn. Should
    // a callback never come (an evdns bug), give up after a while rather
    // than hang the reactor's destructor: evdns then leaks that request.
    timeval limit{2, 0};
    event_base_once(evb_, -1, EV_TIMEOUT, &resolver_thread::on_give_up, this, &limit);
}

void resolver_thread::on_give_up(evutil_socket_t, short, void* self) {
    event_base_loopbreak(static_cast<resolver_thread*>(self)->evb_);
}

void resolver_thread::on_answer(int err, evutil_addrinfo* ai, void* arg) {
    auto* j = static_cast<job*>(arg);
    j->owner->answered(j, err, ai);
}

void resolver_thread::answered(job* j, int err, evutil_addrinfo* ai) {
    j->answered = true;
    j->req = nullptr;
    if (!j->cancelled || j->no_server) {
        outcome o;
        if (j->no_server) {
            o.reason = "no nameserver configured";
        } else if (err != 0) {
            o.reason = reason_for(err, j->family);
        } else {
            for (evutil_addrinfo* p = ai; p; p = p->ai_next) {
                if (!p->ai_addr || (p->ai_family != AF_INET && p->ai_family != AF_INET6))
                    continue;
                if (j->family != AF_UNSPEC && p->ai_family != j->family)
                    continue;
                address a = address::from_native(p->ai_addr, static_cast<socklen_t>(p->ai_addrlen)).with_port(j->port);
                if (std::find(o.addresses.begin(), o.addresses.end(), a) == o.addresses.end())
                    o.addresses.push_back(a);
            }
            if (o.addresses.empty())  // e.g. /etc/hosts knows the name for the other family only
                o.reason = no_address_reason(j->family);
        }
        report(j->id, std::move(o));
    }
    if (ai)
        evutil_freeaddrinfo(ai);
    if (!j->starting)
        finish_job(j);
}

void resolver_thread::finish_job(job* j) {
    resolver* res = j->res;
    jobs_.erase(j->id);
    if (--res->jobs == 0 && res != current_.get())
        schedule_sweep();  // we are inside an evdns callback of that base: free it later
    if (shutting_down_ && jobs_.empty())
        event_base_loopbreak(evb_);
}

void resolver_thread::schedule_sweep() {
    if (std::exchange(sweep_scheduled_, true))
        return;
    timeval now{0, 0};
    event_base_once(evb_, -1, EV_TIMEOUT, &resolver_thread::on_sweep, this, &now);
}

void resolver_thread::on_sweep(evutil_socket_t, short, void* self) {
    auto* t = static_cast<resolver_thread*>(self);
    t->sweep_scheduled_ = false;
    std::erase_if(t->retired_, [](const std::unique_ptr<resolver>& res) { return res->jobs == 0; });
}

void resolver_thread::report(std::uint64_t id, outcome o) {
    // Runs on the reactor's thread while the service lives: the service is
    // destroyed only in ~reactor, after which no callback runs (a task still
    // queued then is destroyed unrun).
    r_.call_soon_threadsafe([svc = &svc_, id, o = std::move(o)]() mutable { svc->complete(id, std::move(o)); });
}

// Where thread checks are on (docs/design.md, "Threading"), a call off the
// reactor's thread aborts like every thread-bound function; where they are
// compiled out, resolve keeps its own cheap guard and throws instead.
void check_thread(reactor& r, const char* who, const char* function) {
    vow::detail::check_thread(r, function);
    if (!r.in_reactor_thread())
        throw vow::usage_error(fmt::format("vow::net::{}: called off the reactor's thread", who));
}

}  // namespace

future<std::vector<address>> resolve(reactor& r, std::string_view host, std::uint16_t port, resolve_options opts) {
    check_thread(r, "resolve", "net::resolve");
    check_host(host);
    if (opts.timeout <= reactor::duration::zero())
        throw vow::invalid_argument(fmt::format(
            "vow::net::resolve: the timeout must be positive, got {}",
            std::chrono::duration_cast<std::chrono::microseconds>(opts.timeout)));
    check_family(opts.family, "resolve");

    if (opts.stop.stop_requested())
        return make_exception_future<address_list>(
            r, vow::cancelled_error(fmt::format("resolve '{}': cancelled: stop was requested on its stop_token",
                                                host)));

    auto wanted = [&](const address& a) { return opts.family == AF_UNSPEC || a.family() == opts.family; };
    if (auto numeric = address::try_parse(host, port)) {
        if (!wanted(*numeric))
            return make_exception_future<address_list>(
                r, dns_error(fmt::format("resolve '{}': a numeric {}address, but only {}addresses were asked for",
                                         host, family_name(numeric->family()), family_name(opts.family))));
        return make_ready_future(r, address_list{*numeric});
    }
    if (is_localhost(host)) {
        address_list out;
        for (const char* h : {"127.0.0.1", "::1"}) {
            address a = address::parse(h, port);
            if (wanted(a))
                out.push_back(a);
        }
        return make_ready_future(r, std::move(out));
    }
    return r.use_service<dns_service>().start(std::string(host), port, opts);
}

void configure_resolver(reactor& r, resolver_config config) {
    check_thread(r, "configure_resolver", "net::configure_resolver");
    for (const address& a : config.nameservers)
        if (a.empty())
            throw vow::invalid_argument("vow::net::configure_resolver: a nameserver is an empty address");
    if (config.attempt_timeout <= reactor::duration::zero())
        throw vow::invalid_argument(fmt::format(
            "vow::net::configure_resolver: attempt_timeout must be positive, got {}",
            std::chrono::duration_cast<std::chrono::microseconds>(config.attempt_timeout)));
    if (config.attempts < 1 || config.attempts > 255)
        throw vow::invalid_argument(fmt::format(
            "vow::net::configure_resolver: attempts must be between 1 and 255, got {}", config.attempts));
    r.use_service<dns_service>().configure(std::move(config));
}

}  // namespace vow::net

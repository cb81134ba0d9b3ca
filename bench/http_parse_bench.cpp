// bench/http_parse_bench.cpp - the cost of parsing and writing a hello-world
// HTTP exchange, without I/O: the CPU the server spends per request outside
// libevent.
//
//   http_parse_bench            # 2,000,000 iterations per figure, 7 repetitions
//   http_parse_bench --quick    # a tenth, 3 repetitions
//   http_parse_bench --iters=N  # N iterations, once (for valgrind --tool=callgrind)
//
// Prints the median CPU nanoseconds per operation and the heap allocations per
// operation (this program replaces the global operator new to count them).
#include <net/http/parser.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <ctime>
#include <new>
#include <string>
#include <string_view>
#include <vector>

namespace {
std::uint64_t allocs = 0;   // one thread
}  // namespace

void* operator new(std::size_t n) {
    ++allocs;
    if (void* p = std::malloc(n ? n : 1))
        return p;
    throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace {

using namespace vow::net;
using namespace vow::net::detail;

// What `wrk` and `curl` send: a 3-header GET of about 100 bytes.
constexpr std::string_view hello_request = "GET /hello HTTP/1.1\r\n"
                                           "Host: 127.0.0.1:8080\r\n"
                                           "User-Agent: curl/7.88.1\r\n"
                                           "Accept: */*\r\n"
                                           "\r\n";

// This thread's CPU time: on a shared machine, time spent descheduled would
// otherwise count as parsing.
double thread_cpu_ns() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) * 1e9 + static_cast<double>(ts.tv_nsec);
}

struct figure {
    double ns;
    double allocs;
};

template <class F>
figure measure(int reps, std::uint64_t n, F&& op) {
    std::vector<double> ns;
    std::uint64_t a = 0;
    for (int rep = 0; rep < reps; ++rep) {
        std::uint64_t before = allocs;
        double t0 = thread_cpu_ns();
        for (std::uint64_t i = 0; i < n; ++i)
            op();
        double t1 = thread_cpu_ns();
        a = allocs - before;
        ns.push_back((t1 - t0) / static_cast<double>(n));
    }
    std::sort(ns.begin(), ns.end());
    return {ns[ns.size() / 2], static_cast<double>(a) / static_cast<double>(n)};
}

}  // namespace

int main(int argc, char** argv) {
    int reps = 7;
    std::uint64_t n = 2'000'000;
    for (int i = 1; i < argc; ++i) {
        std::string_view arg = argv[i];
        if (arg == "--quick") {
            reps = 3;
            n = 200'000;
        } else if (arg.substr(0, 8) == "--iters=") {
            n = std::strtoull(argv[i] + 8, nullptr, 10);   // e.g. 1000 under callgrind
            reps = 1;
        }
    }
    if (n == 0)
        n = 1;

    request_parser parser;
    http_request req;
    std::size_t sink = 0;
    auto parse = measure(reps, n, [&] {
        auto r = parser.parse(hello_request, req);
        sink += r.consumed;
        parser.reset();
    });

    // Fed in two reads, split inside the headers: the resumed scan.
    auto split = measure(reps, n, [&] {
        auto first = parser.parse(hello_request.substr(0, 50), req);
        auto r = parser.parse(hello_request, req);
        sink += r.consumed + first.consumed;
        parser.reset();
    });

    auto resp = http_response::text("Hello, World!");
    std::string out;
    out.reserve(512);
    auto write = measure(reps, n, [&] {
        out.clear();
        serialize_response(out, resp, true, false);
        sink += out.size();
    });

    if (sink == 0)
        return 1;
    fmt::print("request: {} bytes, {} headers\n", hello_request.size(), req.headers.size());
    fmt::print("{:<40} {:>8.1f} ns  {:>5.1f} allocs\n", "parse hello-world GET", parse.ns, parse.allocs);
    fmt::print("{:<40} {:>8.1f} ns  {:>5.1f} allocs\n", "parse hello-world GET in two pieces", split.ns,
               split.allocs);
    fmt::print("{:<40} {:>8.1f} ns  {:>5.1f} allocs\n", "serialize a 13-byte text response", write.ns,
               write.allocs);
    return 0;
}

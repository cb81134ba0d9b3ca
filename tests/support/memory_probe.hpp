// tests/support/memory_probe.hpp - how much resident memory a piece of a test
// used at its peak, for the tests that promise constant memory.
//
//   BOOST_FIXTURE_TEST_CASE(a_million_levels_run_in_constant_memory, vow::test::promise_fixture,
//                           *vow::test::memory_tests()) {
//       vow::test::memory_probe probe;      // the peak is reset to what is resident now
//       wait(recurse(r, 1'000'000));
//       BOOST_TEST(probe.growth_kib() < 32 * 1024);
//   }
//
// The probe writes "5" to /proc/self/clear_refs, which resets the kernel's
// record of the process's peak resident set (VmHWM) to its current size
// (VmRSS), and later reads VmHWM again: the difference is the most the code
// in between had resident at once, whatever it freed before the end. Free
// memory kept by malloc, and by the promise layer's pool of states
// (node_pool.hpp), from earlier tests would hide growth (new nodes would
// reuse it without touching a new page), so the probe first gives it back
// with malloc_trim and node_pool::trim.
//
// The numbers mean something only in the plain build: ASan's redzones and
// quarantine (freed memory is held back on purpose) and valgrind's shadow
// memory change them beyond any useful bound. memory_tests() skips a case,
// with the reason in the log, in those builds and on a kernel without the
// files.
#pragma once

#include <build_kind.hpp>

#include <vow/promise/detail/node_pool.hpp>

#include <boost/test/unit_test.hpp>

#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace vow::test {

// A "VmXXX:" field of /proc/self/status, in KiB; nullopt if unreadable.
inline std::optional<long> proc_status_kib(std::string_view field) {
    std::ifstream in("/proc/self/status");
    std::string line;
    while (std::getline(in, line)) {
        if (line.size() > field.size() && line.compare(0, field.size(), field) == 0 && line[field.size()] == ':') {
            long kib = 0;
            if (std::istringstream(line.substr(field.size() + 1)) >> kib)
                return kib;
            return std::nullopt;
        }
    }
    return std::nullopt;
}

// Resets VmHWM to VmRSS; false if the kernel does not allow it.
inline bool reset_peak_rss() {
    std::ofstream out("/proc/self/clear_refs");
    out << "5";
    out.flush();
    return static_cast<bool>(out);
}

// Why the memory tests cannot run here, or "" if they can.
inline std::string memory_tests_unavailable() {
    if (sanitized_build)
        return "a sanitizer build: its redzones and quarantine make resident memory meaningless as a bound";
    if (under_valgrind())
        return "under valgrind: its shadow memory makes resident memory meaningless as a bound";
    if (!reset_peak_rss() || !proc_status_kib("VmHWM") || !proc_status_kib("VmRSS"))
        return "this kernel has no /proc/self/clear_refs peak reset or no VmHWM in /proc/self/status";
    return "";
}

// A Boost.Test precondition: the case is skipped, with the reason in the
// log, where memory cannot be measured. Never a silent pass.
inline auto memory_tests() {
    return boost::unit_test::precondition([](boost::unit_test::test_unit_id) {
        std::string why = memory_tests_unavailable();
        boost::test_tools::assertion_result ok(why.empty());
        if (!ok)
            ok.message() << why;
        return ok;
    });
}

// Measures the peak resident growth from its construction on.
class memory_probe {
public:
    memory_probe() {
        vow::detail::node_pool::trim();
#if defined(__GLIBC__)
        malloc_trim(0);
#endif
        BOOST_REQUIRE_MESSAGE(reset_peak_rss(), "cannot reset the peak RSS through /proc/self/clear_refs");
        auto rss = proc_status_kib("VmRSS");
        BOOST_REQUIRE_MESSAGE(rss.has_value(), "no VmRSS in /proc/self/status");
        baseline_ = *rss;
    }

    // The peak resident set since construction, minus the resident set then.
    long growth_kib() const {
        auto hwm = proc_status_kib("VmHWM");
        BOOST_REQUIRE_MESSAGE(hwm.has_value(), "no VmHWM in /proc/self/status");
        return *hwm - baseline_;
    }

private:
    long baseline_ = 0;
};

}  // namespace vow::test

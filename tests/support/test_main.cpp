// tests/support/test_main.cpp - the Boost.Test entry point of each suite
// executable. Every test file of a suite is one BOOST_AUTO_TEST_SUITE named
// after the file (then_test.cpp: `then_test`), which meson runs as its own
// test with --run_test=then_test.
#define BOOST_TEST_MODULE vow
#include <boost/test/unit_test.hpp>

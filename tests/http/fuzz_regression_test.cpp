// Regressions found by fuzzing (tests/fuzz/, docs/fuzzing.md), one case per
// finding, each named after the behaviour that was wrong. The input that
// found it is in tests/fuzz/regressions/<target>/, which the fuzz suite
// replays; this case states the bug without needing clang or libFuzzer.
#include <boost/test/unit_test.hpp>

#include <net/http/parser.hpp>

#include <string>

BOOST_AUTO_TEST_SUITE(fuzz_regression_test)

using namespace vow::net;
using namespace vow::net::detail;

namespace {

// The limits fuzz_http_request runs the server with.
constexpr http_limits limits{1024, 16, 2048};

// Parses `data` in one call.
parse_result parse_whole(std::string_view data, http_request& out) {
    request_parser p(limits);
    return p.parse(data, out);
}

// Parses `data` fed one byte more per call, as a slow client sends it; the
// first result that is not need_more.
parse_result parse_bytewise(std::string_view data, http_request& out) {
    request_parser p(limits);
    parse_result r;
    for (std::size_t n = 1; n <= data.size(); ++n) {
        r = p.parse(data.substr(0, n), out);
        if (r.status != parse_status::need_more)
            break;
    }
    return r;
}

}  // namespace

// fuzz_http_request, regressions/fuzz_http_request/chunk_size_line_over_limit_in_one_piece:
// a chunk-size line longer than max_header_bytes (a long chunk extension)
// was rejected with 400 when it arrived in pieces but accepted when its
// CRLF came in the same read, so whether the server answered the request
// depended on TCP segmentation.
BOOST_AUTO_TEST_CASE(chunk_size_line_over_the_limit_is_rejected_however_it_arrives) {
    const std::string data = "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1;" +
                             std::string(1100, 'x') + "\r\na\r\n0\r\n\r\n";
    http_request whole, bytewise;
    auto a = parse_whole(data, whole);
    auto b = parse_bytewise(data, bytewise);
    BOOST_TEST(static_cast<int>(a.status) == static_cast<int>(parse_status::error));
    BOOST_TEST(a.error_status == 400);
    BOOST_TEST(a.error_reason == "chunk size line too long");
    BOOST_TEST(static_cast<int>(b.status) == static_cast<int>(parse_status::error));
    BOOST_TEST(b.error_status == a.error_status);
    BOOST_TEST(b.error_reason == a.error_reason);
}

// The limit is on the line as the incomplete-line check counts it: a line
// of exactly max_header_bytes bytes before its LF is still accepted.
BOOST_AUTO_TEST_CASE(chunk_size_line_at_the_limit_is_accepted_however_it_arrives) {
    // "1;" + extension + "\r" is exactly max_header_bytes bytes before the LF.
    const std::string data = "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1;" +
                             std::string(limits.max_header_bytes - 3, 'x') + "\r\na\r\n0\r\n\r\n";
    http_request whole, bytewise;
    auto a = parse_whole(data, whole);
    auto b = parse_bytewise(data, bytewise);
    BOOST_TEST(static_cast<int>(a.status) == static_cast<int>(parse_status::complete));
    BOOST_TEST(static_cast<int>(b.status) == static_cast<int>(parse_status::complete));
    BOOST_TEST(whole.body == "a");
    BOOST_TEST(bytewise.body == "a");
}

// regressions/fuzz_http_request/trailer_over_limit_ending_in_bare_lf: a
// trailer line over the limit that ends in a bare LF got 431 in pieces (the
// size is checked while the line is incomplete) but 400 in one piece (the
// bare LF was checked before the size).
BOOST_AUTO_TEST_CASE(oversized_trailer_line_gets_431_however_it_arrives) {
    const std::string data = "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\nX: " +
                             std::string(1100, 'y') + "\n\r\n";
    http_request whole, bytewise;
    auto a = parse_whole(data, whole);
    auto b = parse_bytewise(data, bytewise);
    BOOST_TEST(static_cast<int>(a.status) == static_cast<int>(parse_status::error));
    BOOST_TEST(a.error_status == 431);
    BOOST_TEST(b.error_status == a.error_status);
    BOOST_TEST(b.error_reason == a.error_reason);
}

// The response parser shares the chunked decoder, and so the fix.
BOOST_AUTO_TEST_CASE(response_chunk_size_line_over_the_limit_is_rejected_in_one_piece) {
    const std::string data = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1;" + std::string(1100, 'x') +
                             "\r\na\r\n0\r\n\r\n";
    response_parser p(limits);
    http_response resp;
    auto r = p.parse(data, resp);
    BOOST_TEST(static_cast<int>(r.status) == static_cast<int>(parse_status::error));
    BOOST_TEST(r.error_reason == "chunk size line too long");
}

BOOST_AUTO_TEST_SUITE_END()  // fuzz_regression_test

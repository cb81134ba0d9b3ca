// request_parser (net/http/parser.hpp): valid requests whole, pipelined and
// split at every byte; every malformed case with its status; limits.
#include <boost/test/unit_test.hpp>

#include <net/http/parser.hpp>

#include <fmt/format.h>

#include <string>
#include <vector>

BOOST_AUTO_TEST_SUITE(parser_test)

using namespace vow::net;
using namespace vow::net::detail;
using namespace std::string_literals;

namespace {

struct outcome {
    parse_result result;
    http_request req;
};

outcome parse_whole(std::string_view data, http_limits limits = {}) {
    request_parser p(limits);
    outcome o;
    o.result = p.parse(data, o.req);
    return o;
}

// Feeds data one byte more per call, as a slow client would. Every call before
// the last returns need_more, unless an error comes first; the outcome of the
// first call that is not need_more is returned.
outcome parse_bytewise(std::string_view data, http_limits limits = {}) {
    request_parser p(limits);
    outcome o;
    for (std::size_t n = 1; n <= data.size(); ++n) {
        o.result = p.parse(data.substr(0, n), o.req);
        if (o.result.status != parse_status::need_more)
            return o;
    }
    return o;
}

bool same(const http_request& a, const http_request& b) {
    return a.method == b.method && a.target == b.target && a.path == b.path && a.query == b.query &&
           a.version_minor == b.version_minor && a.headers == b.headers && a.body == b.body;
}

const std::string hello = "GET /hello?name=vow HTTP/1.1\r\n"
                          "Host: localhost:8080\r\n"
                          "User-Agent: bench/1.0\r\n"
                          "Accept: */*\r\n"
                          "X-Empty:\r\n"
                          "\r\n";

const std::string chunked_post = "POST /upload HTTP/1.1\r\n"
                                 "Host: a\r\n"
                                 "Transfer-Encoding: chunked\r\n"
                                 "\r\n"
                                 "5\r\nhello\r\n"
                                 "1;name=value\r\n \r\n"
                                 "A \r\n0123456789\r\n"
                                 "0\r\n"
                                 "Trailer-Field: ignored\r\n"
                                 "\r\n";

}  // namespace

BOOST_AUTO_TEST_CASE(parses_a_get_with_headers) {
    auto o = parse_whole(hello);
    BOOST_TEST(int(o.result.status) == int(parse_status::complete));
    BOOST_TEST(o.result.consumed == hello.size());
    BOOST_TEST(o.req.method == "GET");
    BOOST_TEST(o.req.target == "/hello?name=vow");
    BOOST_TEST(o.req.path == "/hello");
    BOOST_TEST(o.req.query == "name=vow");
    BOOST_TEST(o.req.version_minor == 1);
    BOOST_TEST(o.req.headers.size() == 4u);
    BOOST_TEST(*o.req.headers.get("host") == "localhost:8080");
    BOOST_TEST(*o.req.headers.get("x-empty") == "");
    BOOST_TEST(o.req.headers.begin()->first == "Host");   // spelling kept
    BOOST_TEST(o.req.body.empty());
    BOOST_TEST(o.req.keep_alive());
}

BOOST_AUTO_TEST_CASE(trims_optional_whitespace_around_values_and_keeps_inner_spaces_and_obs_text) {
    auto o = parse_whole("GET / HTTP/1.1\r\nHost:a\r\nX:  \t two  words \t\r\nY: caf\xc3\xa9\r\n"
                         "Z: a long value\twith a tab and \xff obs-text bytes in it\r\n\r\n");
    BOOST_TEST(o.req.headers.get("z").value_or("?") == "a long value\twith a tab and \xff obs-text bytes in it");
    BOOST_TEST(int(o.result.status) == int(parse_status::complete));
    BOOST_TEST(*o.req.headers.get("host") == "a");
    BOOST_TEST(*o.req.headers.get("x") == "two  words");
    BOOST_TEST(*o.req.headers.get("y") == "caf\xc3\xa9");
}

BOOST_AUTO_TEST_CASE(parses_a_content_length_body) {
    std::string data = "POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhelloGET";
    auto o = parse_whole(data);
    BOOST_TEST(int(o.result.status) == int(parse_status::complete));
    BOOST_TEST(o.result.consumed == data.size() - 3);
    BOOST_TEST(o.req.body == "hello");
    BOOST_TEST(o.req.query == "");
}

BOOST_AUTO_TEST_CASE(waits_for_the_whole_content_length_body) {
    request_parser p;
    http_request req;
    std::string data = "PUT /p HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n01234";
    BOOST_TEST(int(p.parse(data, req).status) == int(parse_status::need_more));
    data += "56789";
    auto r = p.parse(data, req);
    BOOST_TEST(int(r.status) == int(parse_status::complete));
    BOOST_TEST(req.body == "0123456789");
}

BOOST_AUTO_TEST_CASE(decodes_a_chunked_body_with_extensions_and_ignores_trailers) {
    auto o = parse_whole(chunked_post + "NEXT");
    BOOST_TEST(int(o.result.status) == int(parse_status::complete));
    BOOST_TEST(o.result.consumed == chunked_post.size());
    BOOST_TEST(o.req.body == "hello 0123456789");
    BOOST_TEST(!o.req.headers.contains("Trailer-Field"));
}

BOOST_AUTO_TEST_CASE(parses_pipelined_requests_from_one_buffer) {
    std::string buffer = hello + chunked_post + "\r\n" +   // a stray CRLF before a request line is skipped
                         "DELETE /x/1 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n" +
                         "GET /partial HTTP/1.1\r\nHo";
    request_parser p;
    std::vector<http_request> got;
    for (;;) {
        http_request req;
        auto r = p.parse(buffer, req);
        if (r.status != parse_status::complete) {
            BOOST_TEST(int(r.status) == int(parse_status::need_more));
            break;
        }
        buffer.erase(0, r.consumed);
        p.reset();
        got.push_back(std::move(req));
    }
    BOOST_TEST_REQUIRE(got.size() == 3u);
    BOOST_TEST(got[0].path == "/hello");
    BOOST_TEST(got[1].body == "hello 0123456789");
    BOOST_TEST(got[2].method == "DELETE");
    BOOST_TEST(got[2].version_minor == 0);
    BOOST_TEST(got[2].keep_alive());
    BOOST_TEST(buffer == "GET /partial HTTP/1.1\r\nHo");
}

BOOST_AUTO_TEST_CASE(a_request_split_at_every_byte_boundary_parses_the_same) {
    std::string data = "POST /a/b?c=d HTTP/1.1\r\nHost: h\r\nContent-Type: text/plain\r\n"
                       "Content-Length: 11\r\n\r\nhello world";
    auto whole = parse_whole(data);
    BOOST_TEST_REQUIRE(int(whole.result.status) == int(parse_status::complete));
    for (std::size_t k = 0; k < data.size(); ++k) {
        request_parser p;
        http_request req;
        auto first = p.parse(std::string_view(data).substr(0, k), req);
        BOOST_TEST(int(first.status) == int(parse_status::need_more), "split at " << k);
        auto r = p.parse(data, req);
        BOOST_TEST(int(r.status) == int(parse_status::complete), "split at " << k);
        BOOST_TEST(r.consumed == data.size());
        BOOST_TEST(same(req, whole.req), "split at " << k);
    }
    auto slow = parse_bytewise(data);
    BOOST_TEST(int(slow.result.status) == int(parse_status::complete));
    BOOST_TEST(same(slow.req, whole.req));
}

BOOST_AUTO_TEST_CASE(a_chunked_body_split_at_every_byte_boundary_decodes_the_same) {
    auto whole = parse_whole(chunked_post);
    for (std::size_t k = 0; k < chunked_post.size(); ++k) {
        request_parser p;
        http_request req;
        auto first = p.parse(std::string_view(chunked_post).substr(0, k), req);
        BOOST_TEST(int(first.status) == int(parse_status::need_more), "split at " << k);
        auto r = p.parse(chunked_post, req);
        BOOST_TEST(int(r.status) == int(parse_status::complete), "split at " << k);
        BOOST_TEST(req.body == "hello 0123456789", "split at " << k);
        BOOST_TEST(r.consumed == chunked_post.size());
    }
    auto slow = parse_bytewise(chunked_post);
    BOOST_TEST(int(slow.result.status) == int(parse_status::complete));
    BOOST_TEST(same(slow.req, whole.req));
}

BOOST_AUTO_TEST_CASE(accepts_the_other_request_target_forms) {
    auto o = parse_whole("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n");
    BOOST_TEST(int(o.result.status) == int(parse_status::complete));
    BOOST_TEST(o.req.target == "*");
    o = parse_whole("GET http://example.com/a/b?q=1 HTTP/1.1\r\nHost: example.com\r\n\r\n");
    BOOST_TEST(int(o.result.status) == int(parse_status::complete));
    BOOST_TEST(o.req.target == "http://example.com/a/b?q=1");
    BOOST_TEST(o.req.path == "/a/b");
    BOOST_TEST(o.req.query == "q=1");
    o = parse_whole("GET http://example.com HTTP/1.1\r\nHost: example.com\r\n\r\n");
    BOOST_TEST(o.req.path == "/");
    o = parse_whole("GET /? HTTP/1.1\r\nHost: a\r\n\r\n");
    BOOST_TEST(o.req.path == "/");
    BOOST_TEST(o.req.query == "");
}

BOOST_AUTO_TEST_CASE(http_1_0_needs_no_host_and_1_x_speaks_1_1) {
    auto o = parse_whole("GET / HTTP/1.0\r\n\r\n");
    BOOST_TEST(int(o.result.status) == int(parse_status::complete));
    BOOST_TEST(o.req.version_minor == 0);
    BOOST_TEST(!o.req.keep_alive());
    o = parse_whole("GET / HTTP/1.2\r\nHost: a\r\n\r\n");
    BOOST_TEST(int(o.result.status) == int(parse_status::complete));
    BOOST_TEST(o.req.version_minor == 1);
}

BOOST_AUTO_TEST_CASE(keep_alive_follows_version_and_connection_tokens) {
    auto ka = [](std::string_view version, std::string_view conn) {
        std::string data = fmt::format("GET / {}\r\nHost: a\r\n{}\r\n", version, conn);
        auto o = parse_whole(data);
        BOOST_TEST_REQUIRE(int(o.result.status) == int(parse_status::complete), data);
        return o.req.keep_alive();
    };
    BOOST_TEST(ka("HTTP/1.1", ""));
    BOOST_TEST(!ka("HTTP/1.1", "Connection: close\r\n"));
    BOOST_TEST(!ka("HTTP/1.1", "connection: Upgrade, CLOSE\r\n"));
    BOOST_TEST(!ka("HTTP/1.1", "Connection: foo\r\nConnection: close\r\n"));
    BOOST_TEST(ka("HTTP/1.1", "Connection: keep-alive\r\n"));
    BOOST_TEST(ka("HTTP/1.1", "Connection: closed\r\n"));   // a different token
    BOOST_TEST(!ka("HTTP/1.0", ""));
    BOOST_TEST(ka("HTTP/1.0", "Connection: Keep-Alive\r\n"));
    BOOST_TEST(ka("HTTP/1.0", "Connection: upgrade ,keep-alive\r\n"));
    BOOST_TEST(!ka("HTTP/1.0", "Connection: keep-alive, close\r\n"));
}

namespace {
struct bad_case {
    const char* what;
    std::string data;
    int status;
};
}  // namespace

BOOST_AUTO_TEST_CASE(rejects_malformed_requests_with_the_right_status_whole_or_byte_by_byte) {
    const std::string h = "Host: a\r\n";
    const std::vector<bad_case> cases = {
        {"no Host in HTTP/1.1", "GET / HTTP/1.1\r\n\r\n", 400},
        {"two Host headers", "GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n", 400},
        {"two equal Content-Lengths", "POST / HTTP/1.1\r\n" + h + "Content-Length: 3\r\nContent-Length: 3\r\n\r\nabc", 400},
        {"two different Content-Lengths", "POST / HTTP/1.1\r\n" + h + "Content-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", 400},
        {"Content-Length and Transfer-Encoding", "POST / HTTP/1.1\r\n" + h + "Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400},
        {"gzip transfer coding", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: gzip\r\n\r\n", 501},
        {"gzip then chunked", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: gzip, chunked\r\n\r\n", 501},
        {"chunked not last", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\n", 501},
        {"chunked twice", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked, chunked\r\n\r\n", 400},
        {"chunked with a parameter", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked;x=1\r\n\r\n", 501},
        {"Transfer-Encoding in HTTP/1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400},
        {"control byte in a header name", "GET / HTTP/1.1\r\n" + h + "X-\x01: v\r\n\r\n", 400},
        {"NUL in a header name", "GET / HTTP/1.1\r\n" + h + "X-\0y: v\r\n\r\n"s, 400},
        {"space in a header name", "GET / HTTP/1.1\r\n" + h + "Bad Name: v\r\n\r\n", 400},
        {"non-token byte in a header name", "GET / HTTP/1.1\r\n" + h + "X\"y: v\r\n\r\n", 400},
        {"whitespace before the colon", "GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400},
        {"tab before the colon", "GET / HTTP/1.1\r\n" + h + "X\t: v\r\n\r\n", 400},
        {"empty header name", "GET / HTTP/1.1\r\n" + h + ": v\r\n\r\n", 400},
        {"header line without a colon", "GET / HTTP/1.1\r\n" + h + "NoColon\r\n\r\n", 400},
        {"control byte in a value", "GET / HTTP/1.1\r\n" + h + "X: a\x01z\r\n\r\n", 400},
        {"control byte deep in a long value", "GET / HTTP/1.1\r\n" + h + "X: 0123456789abcdefghij\x1fklmnopqrstuvwxyz\r\n\r\n", 400},
        {"DEL deep in a long value", "GET / HTTP/1.1\r\n" + h + "X: 0123456789abcdefghij\x7fklmnop\r\n\r\n", 400},
        {"DEL in a value", "GET / HTTP/1.1\r\n" + h + "X: a\x7fz\r\n\r\n", 400},
        {"obs-fold", "GET / HTTP/1.1\r\n" + h + "X: a\r\n b\r\n\r\n", 400},
        {"obs-fold with a tab", "GET / HTTP/1.1\r\n" + h + "X: a\r\n\tb\r\n\r\n", 400},
        {"bare LF line ends", "GET / HTTP/1.1\nHost: a\n\n", 400},
        {"bare LF ending a header", "GET / HTTP/1.1\r\nHost: a\nX: y\r\n\r\n", 400},
        {"bare LF ending the head", "GET / HTTP/1.1\r\nHost: a\r\n\n", 400},
        {"bare CR inside the head", "GET / HTTP/1.1\r\nHost: a\rX: y\r\n\r\n", 400},
        {"bare CR in the request line", "GET / HTTP/1.1\rHost: a\r\n\r\n", 400},
        {"CR CR LF", "GET / HTTP/1.1\r\nHost: a\r\r\n\r\n", 400},
        {"invalid method byte", "G@T / HTTP/1.1\r\n" + h + "\r\n", 400},
        {"empty method", " / HTTP/1.1\r\n" + h + "\r\n", 400},
        {"tab after the method", "GET\t/ HTTP/1.1\r\n" + h + "\r\n", 400},
        {"two spaces after the method", "GET  / HTTP/1.1\r\n" + h + "\r\n", 400},
        {"relative target", "GET foo HTTP/1.1\r\n" + h + "\r\n", 400},
        {"asterisk for GET", "GET * HTTP/1.1\r\n" + h + "\r\n", 400},
        {"authority form", "CONNECT a:443 HTTP/1.1\r\n" + h + "\r\n", 400},
        {"absolute form without a host", "GET http:///x HTTP/1.1\r\n" + h + "\r\n", 400},
        {"DEL in the target", "GET /a\x7f HTTP/1.1\r\n" + h + "\r\n", 400},
        {"space inside the target", "GET /a b HTTP/1.1\r\n" + h + "\r\n", 400},
        {"HTTP/2.0", "GET / HTTP/2.0\r\n" + h + "\r\n", 505},
        {"HTTP/0.9 version", "GET / HTTP/0.9\r\n" + h + "\r\n", 505},
        {"HTTP/1.10", "GET / HTTP/1.10\r\n" + h + "\r\n", 400},
        {"HTTP/1", "GET / HTTP/1\r\n" + h + "\r\n", 400},
        {"lower-case http", "GET / http/1.1\r\n" + h + "\r\n", 400},
        {"garbage version", "GET / HTTZ/1.1\r\n" + h + "\r\n", 400},
        {"no version", "GET /\r\n" + h + "\r\n", 400},
        {"space after the version", "GET / HTTP/1.1 \r\n" + h + "\r\n", 400},
        {"non-digit Content-Length", "POST / HTTP/1.1\r\n" + h + "Content-Length: abc\r\n\r\n", 400},
        {"signed Content-Length", "POST / HTTP/1.1\r\n" + h + "Content-Length: +1\r\n\r\nx", 400},
        {"negative Content-Length", "POST / HTTP/1.1\r\n" + h + "Content-Length: -1\r\n\r\n", 400},
        {"overflowing Content-Length", "POST / HTTP/1.1\r\n" + h + "Content-Length: 18446744073709551616\r\n\r\n", 400},
        {"empty Content-Length", "POST / HTTP/1.1\r\n" + h + "Content-Length:\r\n\r\n", 400},
        {"Content-Length list", "POST / HTTP/1.1\r\n" + h + "Content-Length: 1, 1\r\n\r\nx", 400},
        {"non-hex chunk size", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\n\r\nzz\r\n", 400},
        {"empty chunk size", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\n\r\n\r\n", 400},
        {"negative chunk size", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\n\r\n-5\r\n", 400},
        {"junk after the chunk size", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\n\r\n5x\r\nhello\r\n0\r\n\r\n", 400},
        {"overflowing chunk size", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\n\r\n10000000000000000\r\n", 400},
        {"huge chunk size", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\n", 413},
        {"bare LF after a chunk size", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\n\r\n5\nhello\r\n0\r\n\r\n", 400},
        {"control byte in a chunk extension", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\n\r\n5;a\x01\r\nhello\r\n0\r\n\r\n", 400},
        {"no CRLF after chunk data", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\n\r\n5\r\nhelloX\r\n0\r\n\r\n", 400},
        {"LF only after chunk data", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\n0\r\n\r\n", 400},
        {"CR only after chunk data", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\rX", 400},
        {"malformed trailer", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\n\r\n0\r\nBad Trailer: x\r\n\r\n", 400},
        {"bare LF in the trailers", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\n\r\n0\r\nX: y\n\r\n", 400},
    };
    for (const auto& c : cases) {
        auto whole = parse_whole(c.data);
        BOOST_TEST(int(whole.result.status) == int(parse_status::error), c.what);
        BOOST_TEST(whole.result.error_status == c.status, c.what << ": " << whole.result.error_reason);
        BOOST_TEST(!whole.result.error_reason.empty(), c.what);
        auto slow = parse_bytewise(c.data);
        BOOST_TEST(int(slow.result.status) == int(parse_status::error), c.what << " (byte by byte)");
        BOOST_TEST(slow.result.error_status == c.status, c.what << " (byte by byte): " << slow.result.error_reason);
    }
}

BOOST_AUTO_TEST_CASE(error_reasons_say_what_was_wrong) {
    auto reason = [](std::string data) { return parse_whole(data).result.error_reason; };
    BOOST_TEST(reason("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n") ==
               "two Content-Length headers");
    BOOST_TEST(reason("GET / HTTP/1.1\r\n\r\n") == "no Host header in an HTTP/1.1 request");
    BOOST_TEST(reason("GET / HTTP/1.1\r\nHost : a\r\n\r\n").find("whitespace before the colon") != std::string::npos);
    BOOST_TEST(reason("GET / HTTP/2.0\r\n\r\n").find("HTTP/2.0") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(rejects_a_header_section_over_the_limit_before_it_ends) {
    http_limits lim;
    lim.max_header_bytes = 256;
    std::string head = "GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + std::string(300, 'x');
    // No line end yet: the parser gives up as soon as the buffer passes the limit.
    request_parser p(lim);
    http_request req;
    BOOST_TEST(int(p.parse(std::string_view(head).substr(0, 256), req).status) == int(parse_status::need_more));
    auto r = p.parse(std::string_view(head).substr(0, 257), req);
    BOOST_TEST(int(r.status) == int(parse_status::error));
    BOOST_TEST(r.error_status == 431);
    // Complete but too large.
    auto o = parse_whole(head + "\r\n\r\n", lim);
    BOOST_TEST(o.result.error_status == 431);
    // A stream of empty lines counts too.
    std::string empty_lines;
    for (int i = 0; i < 200; ++i)
        empty_lines += "\r\n";
    o = parse_whole(empty_lines, lim);
    BOOST_TEST(o.result.error_status == 431);
}

BOOST_AUTO_TEST_CASE(a_head_exactly_at_the_limit_is_accepted) {
    std::string data = "GET / HTTP/1.1\r\nHost: a\r\nX: ";
    http_limits lim;
    lim.max_header_bytes = 200;
    data += std::string(200 - data.size() - 4, 'v') + "\r\n\r\n";
    BOOST_TEST_REQUIRE(data.size() == 200u);
    BOOST_TEST(int(parse_whole(data, lim).result.status) == int(parse_status::complete));
    BOOST_TEST(int(parse_bytewise(data, lim).result.status) == int(parse_status::complete));
    data.insert(data.size() - 4, "v");
    BOOST_TEST(parse_whole(data, lim).result.error_status == 431);
}

BOOST_AUTO_TEST_CASE(rejects_too_many_header_fields) {
    http_limits lim;
    lim.max_headers = 3;
    std::string ok = "GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\n\r\n";
    BOOST_TEST(int(parse_whole(ok, lim).result.status) == int(parse_status::complete));
    std::string bad = "GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\nC: 3\r\n";   // not even complete
    auto r = parse_whole(bad, lim).result;
    BOOST_TEST(r.error_status == 431);
}

BOOST_AUTO_TEST_CASE(rejects_a_content_length_over_the_body_limit_before_the_body_arrives) {
    http_limits lim;
    lim.max_body_bytes = 10;
    auto r = parse_whole("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\n", lim).result;
    BOOST_TEST(int(r.status) == int(parse_status::error));
    BOOST_TEST(r.error_status == 413);
    auto ok = parse_whole("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n0123456789", lim);
    BOOST_TEST(int(ok.result.status) == int(parse_status::complete));
    BOOST_TEST(ok.req.body == "0123456789");
}

BOOST_AUTO_TEST_CASE(rejects_a_chunked_body_as_soon_as_it_passes_the_limit) {
    http_limits lim;
    lim.max_body_bytes = 10;
    std::string head = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n";
    // 6 + 4 bytes fit exactly.
    auto ok = parse_whole(head + "6\r\n012345\r\n4\r\n6789\r\n0\r\n\r\n", lim);
    BOOST_TEST(int(ok.result.status) == int(parse_status::complete));
    BOOST_TEST(ok.req.body == "0123456789");
    // The third chunk's size line alone is enough to know.
    auto r = parse_whole(head + "6\r\n012345\r\n4\r\n6789\r\n1\r\n", lim).result;
    BOOST_TEST(r.error_status == 413);
}

BOOST_AUTO_TEST_CASE(rejects_chunked_framing_that_never_ends_a_line) {
    http_limits lim;
    lim.max_header_bytes = 128;
    std::string data = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5;" + std::string(200, 'e');
    BOOST_TEST(parse_whole(data, lim).result.error_status == 400);
    std::string trailers = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n";
    for (int i = 0; i < 20; ++i)
        trailers += "Trailer-Field: 0123456789\r\n";
    BOOST_TEST(parse_whole(trailers, lim).result.error_status == 431);
}

BOOST_AUTO_TEST_CASE(head_is_available_while_the_body_arrives) {
    request_parser p;
    http_request req;
    std::string data = "POST /up HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 4\r\n";
    BOOST_TEST(int(p.parse(data, req).status) == int(parse_status::need_more));
    BOOST_TEST(p.head() == nullptr);
    data += "\r\n";
    BOOST_TEST(int(p.parse(data, req).status) == int(parse_status::need_more));
    BOOST_TEST_REQUIRE(p.head() != nullptr);
    BOOST_TEST(p.head()->path == "/up");
    BOOST_TEST(*p.head()->headers.get("expect") == "100-continue");
    data += "body";
    BOOST_TEST(int(p.parse(data, req).status) == int(parse_status::complete));
    BOOST_TEST(req.body == "body");
}

BOOST_AUTO_TEST_CASE(less_data_than_before_is_a_caller_error_not_a_crash) {
    request_parser p;
    http_request req;
    BOOST_TEST(int(p.parse("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 9\r\n\r\nabc", req).status) ==
               int(parse_status::need_more));
    auto r = p.parse("POST", req);
    BOOST_TEST(int(r.status) == int(parse_status::error));
    BOOST_TEST(r.error_status == 500);
}

BOOST_AUTO_TEST_CASE(a_reused_request_object_keeps_nothing_of_the_previous_request) {
    request_parser p;
    http_request req;
    BOOST_TEST_REQUIRE(int(p.parse(chunked_post, req).status) == int(parse_status::complete));
    req.params = {{"id", "7"}};   // as the router would
    p.reset();
    BOOST_TEST_REQUIRE(int(p.parse("GET /x HTTP/1.0\r\n\r\n", req).status) == int(parse_status::complete));
    BOOST_TEST(req.method == "GET");
    BOOST_TEST(req.path == "/x");
    BOOST_TEST(req.version_minor == 0);
    BOOST_TEST(req.headers.empty());
    BOOST_TEST(req.body.empty());
    BOOST_TEST(req.params.empty());
}

BOOST_AUTO_TEST_CASE(reset_makes_the_parser_ready_for_the_next_message) {
    request_parser p;
    http_request req;
    BOOST_TEST(int(p.parse("GET / HTTP/2.0\r\n\r\n", req).status) == int(parse_status::error));
    p.reset();
    auto r = p.parse(hello, req);
    BOOST_TEST(int(r.status) == int(parse_status::complete));
    BOOST_TEST(req.path == "/hello");
}

// ---------------------------------------------------------------------------
// stop_at_head: the body's fate decided once the head is in

BOOST_AUTO_TEST_CASE(stop_at_head_returns_the_head_then_buffer_body_reads_it_whole) {
    request_parser p({.max_body_bytes = 10});
    p.stop_at_head(true);
    const std::string msg = "PUT /a HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello";
    http_request req;
    auto r = p.parse(msg, req);
    BOOST_TEST((r.status == parse_status::head));
    BOOST_TEST(r.consumed == msg.size() - 5);
    BOOST_TEST(req.method.empty());   // `out` is untouched until complete
    BOOST_REQUIRE(p.head() != nullptr);
    BOOST_TEST(p.head()->path == "/a");
    BOOST_TEST((p.buffer_body().status == parse_status::complete));
    r = p.parse(msg, req);
    BOOST_TEST((r.status == parse_status::complete));
    BOOST_TEST(r.consumed == msg.size());
    BOOST_TEST(req.body == "hello");
}

BOOST_AUTO_TEST_CASE(stop_at_head_defers_only_the_content_length_limit) {
    request_parser p({.max_body_bytes = 10});
    p.stop_at_head(true);
    http_request req;
    auto r = p.parse("PUT /a HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\n", req);
    BOOST_TEST((r.status == parse_status::head));
    r = p.buffer_body();
    BOOST_TEST((r.status == parse_status::error));
    BOOST_TEST(r.error_status == 413);
    // Framing errors are found at the head, as ever.
    request_parser q;
    q.stop_at_head(true);
    r = q.parse("PUT /a HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", req);
    BOOST_TEST((r.status == parse_status::error));
    BOOST_TEST(r.error_status == 400);
}

BOOST_AUTO_TEST_CASE(stream_body_decodes_a_chunked_body_past_max_body_bytes_in_pieces) {
    request_parser p({.max_body_bytes = 4});
    p.stop_at_head(true);
    std::string msg = "PUT /a HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                      "6\r\nabcdef\r\n4;x=y\r\nghij\r\n0\r\nT: 1\r\n\r\nGET";
    http_request req;
    auto r = p.parse(msg, req);
    BOOST_REQUIRE((r.status == parse_status::head));
    p.stream_body(req);
    BOOST_TEST(req.method == "PUT");
    std::string buf = msg.substr(r.consumed), body, fed;
    // Two bytes at a time.
    std::size_t at = 0;
    for (; at < buf.size(); at += 2) {
        fed += buf.substr(at, 2);
        r = p.body_some(fed, body);
        BOOST_REQUIRE((r.status != parse_status::error));
        fed.erase(0, r.consumed);
        if (r.status == parse_status::complete)
            break;
    }
    BOOST_TEST((r.status == parse_status::complete));
    BOOST_TEST(body == "abcdefghij");
    // What follows the body is left for the next request.
    BOOST_TEST(fed + buf.substr(std::min(buf.size(), at + 2)) == "GET");
    // reset() restores the body limit for the next message.
    p.reset();
    p.stop_at_head(false);
    auto o = p.parse("PUT /a HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello", req);
    BOOST_TEST(o.error_status == 413);
}

BOOST_AUTO_TEST_CASE(finish_body_names_how_much_of_a_streamed_body_arrived) {
    request_parser p;
    p.stop_at_head(true);
    http_request req;
    const std::string head = "PUT /a HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n";
    BOOST_REQUIRE((p.parse(head, req).status == parse_status::head));
    p.stream_body(req);
    std::string body;
    auto r = p.body_some("abc", body);
    BOOST_TEST(r.consumed == 3u);
    r = p.finish_body();
    BOOST_TEST((r.status == parse_status::error));
    BOOST_TEST(r.error_reason.find("after 3 of 10 body bytes") != std::string::npos, r.error_reason);
}

BOOST_AUTO_TEST_SUITE_END()  // parser_test

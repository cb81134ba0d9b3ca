// response_parser (net/http/parser.hpp): status lines, the ways a response
// body ends (Content-Length, chunked, connection close, no body), EOF, and
// the same header strictness as for requests.
#include <boost/test/unit_test.hpp>

#include <net/http/parser.hpp>

#include <string>
#include <vector>

BOOST_AUTO_TEST_SUITE(response_parser_test)

using namespace vow::net;
using namespace vow::net::detail;

namespace {

int status_of(const parse_result& r) { return int(r.status); }
const int need_more = int(parse_status::need_more);
const int complete = int(parse_status::complete);
const int error = int(parse_status::error);

}  // namespace

BOOST_AUTO_TEST_CASE(parses_status_line_headers_and_a_content_length_body) {
    std::string data = "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 9\r\n\r\nnot here!HTTP/1.1";
    response_parser p;
    http_response resp;
    auto r = p.parse(data, resp);
    BOOST_TEST(status_of(r) == complete);
    BOOST_TEST(r.consumed == data.size() - 8);
    BOOST_TEST(resp.status == 404);
    BOOST_TEST(resp.reason == "Not Found");
    BOOST_TEST(resp.version_minor == 1);
    BOOST_TEST(*resp.headers.get("content-type") == "text/plain");
    BOOST_TEST(resp.body == "not here!");
    BOOST_TEST(resp.keep_alive());
}

BOOST_AUTO_TEST_CASE(accepts_an_empty_reason_with_or_without_the_space) {
    for (std::string line : {"HTTP/1.1 200 \r\n", "HTTP/1.1 200\r\n"}) {
        response_parser p;
        http_response resp;
        auto r = p.parse(line + "Content-Length: 0\r\n\r\n", resp);
        BOOST_TEST(status_of(r) == complete, line);
        BOOST_TEST(resp.status == 200);
        BOOST_TEST(resp.reason == "");
    }
}

BOOST_AUTO_TEST_CASE(decodes_a_chunked_body_split_at_every_byte) {
    std::string data = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n10\r\n0123456789abcdef\r\n0\r\nX: y\r\n\r\n";
    for (std::size_t k = 0; k < data.size(); ++k) {
        response_parser p;
        http_response resp;
        BOOST_TEST(status_of(p.parse(std::string_view(data).substr(0, k), resp)) == need_more, "split at " << k);
        auto r = p.parse(data, resp);
        BOOST_TEST(status_of(r) == complete, "split at " << k);
        BOOST_TEST(r.consumed == data.size());
        BOOST_TEST(resp.body == "abc0123456789abcdef", "split at " << k);
    }
}

BOOST_AUTO_TEST_CASE(reads_until_close_when_there_is_no_framing) {
    std::string data = "HTTP/1.0 200 OK\r\nServer: old\r\n\r\nsome body";
    response_parser p;
    http_response resp;
    BOOST_TEST(status_of(p.parse(data, resp)) == need_more);
    data += " and more";
    BOOST_TEST(status_of(p.parse(data, resp)) == need_more);
    auto r = p.finish(data, resp);
    BOOST_TEST(status_of(r) == complete);
    BOOST_TEST(r.consumed == data.size());
    BOOST_TEST(resp.body == "some body and more");
    BOOST_TEST(resp.version_minor == 0);
    BOOST_TEST(!resp.keep_alive());
}

BOOST_AUTO_TEST_CASE(a_read_until_close_body_is_bounded_by_the_limit) {
    http_limits lim;
    lim.max_body_bytes = 4;
    response_parser p(lim);
    http_response resp;
    BOOST_TEST(status_of(p.parse("HTTP/1.1 200 OK\r\n\r\n1234", resp)) == need_more);
    auto r = p.parse("HTTP/1.1 200 OK\r\n\r\n12345", resp);
    BOOST_TEST(status_of(r) == error);
    BOOST_TEST(r.error_status == 413);
}

BOOST_AUTO_TEST_CASE(no_body_for_1xx_204_304_and_head) {
    for (std::string line : {"HTTP/1.1 100 Continue", "HTTP/1.1 204 No Content", "HTTP/1.1 304 Not Modified"}) {
        std::string data = line + "\r\nContent-Length: 10\r\n\r\nHTTP/1.1 200 OK\r\n";
        response_parser p;
        http_response resp;
        auto r = p.parse(data, resp);
        BOOST_TEST(status_of(r) == complete, line);
        BOOST_TEST(r.consumed == line.size() + 24, line);
        BOOST_TEST(resp.body.empty());
    }
    response_parser p;
    p.expect_no_body(true);
    http_response resp;
    std::string data = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
    auto r = p.parse(data, resp);
    BOOST_TEST(status_of(r) == complete);
    BOOST_TEST(r.consumed == data.size());
    // reset() forgets expect_no_body: the next response has its body.
    p.reset();
    r = p.parse("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", resp);
    BOOST_TEST(status_of(r) == complete);
    BOOST_TEST(resp.body == "ok");
}

BOOST_AUTO_TEST_CASE(parses_pipelined_responses_from_one_buffer) {
    std::string buffer = "HTTP/1.1 100 Continue\r\n\r\n"
                         "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na"
                         "HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nb\r\n0\r\n\r\n"
                         "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\ntail";
    response_parser p;
    std::vector<http_response> got;
    for (;;) {
        http_response resp;
        auto r = p.parse(buffer, resp);
        if (r.status != parse_status::complete)
            break;
        buffer.erase(0, r.consumed);
        p.reset();
        got.push_back(std::move(resp));
    }
    http_response last;
    auto r = p.finish(buffer, last);
    BOOST_TEST(status_of(r) == complete);
    got.push_back(std::move(last));
    BOOST_TEST_REQUIRE(got.size() == 4u);
    BOOST_TEST(got[0].status == 100);
    BOOST_TEST(got[1].body == "a");
    BOOST_TEST(got[2].status == 201);
    BOOST_TEST(got[2].body == "b");
    BOOST_TEST(got[3].body == "tail");
    BOOST_TEST(!got[3].keep_alive());
}

BOOST_AUTO_TEST_CASE(finish_reports_a_message_cut_short) {
    auto finish = [](std::string data) {
        response_parser p;
        http_response resp;
        return p.finish(data, resp);
    };
    auto r = finish("");
    BOOST_TEST(status_of(r) == error);
    BOOST_TEST(r.error_reason.find("before a response") != std::string::npos);
    BOOST_TEST(status_of(finish("HTTP/1.1 200 OK\r\nContent-")) == error);
    r = finish("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab");
    BOOST_TEST(status_of(r) == error);
    BOOST_TEST(r.error_reason.find("2 of 5") != std::string::npos, r.error_reason);
    BOOST_TEST(status_of(finish("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab")) == error);
    // A complete message is still complete at EOF.
    BOOST_TEST(status_of(finish("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nab")) == complete);
}

BOOST_AUTO_TEST_CASE(identical_repeated_content_lengths_are_accepted_different_ones_are_not) {
    response_parser p;
    http_response resp;
    auto r = p.parse("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nab", resp);
    BOOST_TEST(status_of(r) == complete);
    BOOST_TEST(resp.body == "ab");
    p.reset();
    BOOST_TEST(status_of(p.parse("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nabc", resp)) == error);
}

BOOST_AUTO_TEST_CASE(rejects_malformed_responses) {
    const std::vector<std::string> bad = {
        "HTTP/1.1 20 OK\r\n\r\n",
        "HTTP/1.1 2000 OK\r\n\r\n",
        "HTTP/1.1 099 Huh\r\n\r\n",
        "HTTP/1.1 abc OK\r\n\r\n",
        "HTTP/1.1  200 OK\r\n\r\n",
        "HTTP/2 200 OK\r\n\r\n",
        "HTTP/1.10 200 OK\r\n\r\n",
        "ICY 200 OK\r\n\r\n",
        "HTTP/1.1 200 OK\nContent-Length: 0\n\n",
        "HTTP/1.1 200 O\x01K\r\n\r\n",
        "HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n",
        "HTTP/1.1 200 OK\r\nX : x\r\n\r\n",
        "HTTP/1.1 200 OK\r\nX: a\r\n folded\r\n\r\n",
        "HTTP/1.1 200 OK\r\nX: a\rb\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nq\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nab\r\n",
    };
    for (const auto& data : bad) {
        response_parser p;
        http_response resp;
        auto r = p.parse(data, resp);
        BOOST_TEST(status_of(r) == error, data);
        BOOST_TEST(!r.error_reason.empty(), data);
    }
}

BOOST_AUTO_TEST_CASE(rejects_oversized_headers_and_bodies) {
    http_limits lim;
    lim.max_header_bytes = 64;
    lim.max_body_bytes = 8;
    response_parser p(lim);
    http_response resp;
    auto r = p.parse("HTTP/1.1 200 OK\r\nX: " + std::string(100, 'x'), resp);
    BOOST_TEST(status_of(r) == error);
    BOOST_TEST(r.error_status == 431);
    p.reset();
    r = p.parse("HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n", resp);
    BOOST_TEST(r.error_status == 413);
}

BOOST_AUTO_TEST_CASE(keeps_the_trailer_fields_of_a_chunked_body) {
    std::string data = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n"
                       "X-Sum: 7\r\nX-Sum: 8\r\n\r\n";
    response_parser p;
    http_response resp;
    BOOST_TEST_REQUIRE(status_of(p.parse(data, resp)) == complete);
    BOOST_TEST(resp.trailers.count("x-sum") == 2u);
    BOOST_TEST(*resp.trailers.get("X-Sum") == "7");
    BOOST_TEST(!resp.headers.contains("X-Sum"));
    // The next message starts with no trailers.
    p.reset();
    BOOST_TEST_REQUIRE(status_of(p.parse("HTTP/1.1 204 No Content\r\n\r\n", resp)) == complete);
    BOOST_TEST(resp.trailers.empty());
}

BOOST_AUTO_TEST_CASE(trailer_fields_count_against_the_header_limits) {
    http_limits small;
    small.max_headers = 2;
    response_parser p(small);
    http_response resp;
    auto r = p.parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", resp);
    BOOST_TEST(status_of(r) == error);
    BOOST_TEST(r.error_status == 431);
}

// Streaming: a body fed in pieces of every size comes out whole, in order,
// whatever the framing, and each call consumes what it decoded.
BOOST_AUTO_TEST_CASE(a_streamed_body_comes_out_whole_whatever_the_pieces) {
    const std::string chunked = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n"
                                "10\r\n0123456789abcdef\r\n0\r\nX: y\r\n\r\n";
    const std::string fixed = "HTTP/1.1 200 OK\r\nContent-Length: 19\r\n\r\nabc0123456789abcdef";
    for (const auto& data : {chunked, fixed}) {
        for (std::size_t piece = 1; piece <= data.size(); ++piece) {
            response_parser p;
            p.stream_body(true);
            http_response resp;
            std::string buf, body;
            bool in_body = false, finished = false;
            for (std::size_t at = 0; at < data.size() && !finished; at += piece) {
                buf += data.substr(at, piece);
                if (!in_body) {
                    auto r = p.parse(buf, resp);
                    if (status_of(r) == need_more)
                        continue;
                    BOOST_TEST_REQUIRE(status_of(r) == complete);
                    BOOST_TEST(resp.body.empty());
                    buf.erase(0, r.consumed);
                    in_body = true;
                }
                auto r = p.body_some(buf, body, resp.trailers);
                BOOST_TEST_REQUIRE(status_of(r) != error, r.error_reason);
                buf.erase(0, r.consumed);
                finished = status_of(r) == complete;
            }
            BOOST_TEST(finished, "piece " << piece);
            BOOST_TEST(buf.empty());
            BOOST_TEST(body == "abc0123456789abcdef", "piece " << piece);
            if (&data == &chunked)
                BOOST_TEST(*resp.trailers.get("X") == "y");
        }
    }
}

BOOST_AUTO_TEST_CASE(a_streamed_body_that_ends_early_names_what_was_missing) {
    response_parser p;
    p.stream_body(true);
    http_response resp;
    std::string data = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123";
    auto r = p.parse(data, resp);
    BOOST_TEST_REQUIRE(status_of(r) == complete);
    std::string body;
    r = p.body_some(std::string_view(data).substr(r.consumed), body, resp.trailers);
    BOOST_TEST(status_of(r) == need_more);
    BOOST_TEST(r.consumed == 4u);
    r = p.finish_body();
    BOOST_TEST(status_of(r) == error);
    BOOST_TEST(r.error_reason == "the connection closed after 4 of 10 body bytes");
    // A body that ends with the connection is complete at EOF.
    response_parser until_close;
    until_close.stream_body(true);
    BOOST_TEST_REQUIRE(status_of(until_close.parse("HTTP/1.1 200 OK\r\n\r\n", resp)) == complete);
    BOOST_TEST(status_of(until_close.body_some("abc", body, resp.trailers)) == need_more);
    BOOST_TEST(status_of(until_close.finish_body()) == complete);
}

BOOST_AUTO_TEST_SUITE_END()  // response_parser_test

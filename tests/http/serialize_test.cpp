// serialize_response and serialize_request (net/http/parser.hpp): the bytes
// they write, and round trips through the parsers.
#include <boost/test/unit_test.hpp>

#include <net/http/parser.hpp>

#include <vow/error.hpp>

#include <string>

BOOST_AUTO_TEST_SUITE(serialize_test)

using namespace vow::net;
using namespace vow::net::detail;

namespace {

http_response reparse(const std::string& wire, bool head = false) {
    response_parser p;
    p.expect_no_body(head);
    http_response out;
    auto r = p.parse(wire, out);
    BOOST_TEST_REQUIRE(int(r.status) == int(parse_status::complete), wire << " " << r.error_reason);
    BOOST_TEST(r.consumed == wire.size());
    return out;
}

}  // namespace

BOOST_AUTO_TEST_CASE(writes_status_line_headers_length_date_and_body) {
    auto resp = http_response::text("hello");
    resp.headers.add("X-A", "1");
    std::string out = "prefix:";
    serialize_response(out, resp, true, false);
    BOOST_TEST(out.rfind("prefix:HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nX-A: 1\r\n"
                         "Content-Length: 5\r\nDate: ", 0) == 0u);
    BOOST_TEST(out.find("GMT\r\n\r\nhello") == out.size() - 12);
    BOOST_TEST(out.find("Connection") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(announces_keep_alive_only_when_asked_and_the_user_set_no_connection_field) {
    auto resp = http_response::text("x");
    std::string kept;
    serialize_response(kept, resp, true, false, true);
    BOOST_TEST(kept.find("\r\nConnection: keep-alive\r\n") != std::string::npos);
    std::string closing;
    serialize_response(closing, resp, false, false, true);
    BOOST_TEST(closing.find("keep-alive") == std::string::npos);
    BOOST_TEST(closing.find("\r\nConnection: close\r\n") != std::string::npos);
    resp.headers.set("Connection", "Upgrade");
    std::string user;
    serialize_response(user, resp, true, false, true);
    BOOST_TEST(user.find("keep-alive") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(date_is_an_imf_fixdate) {
    auto d = http_date_now();
    BOOST_TEST(d.size() == 29u);
    BOOST_TEST(d.substr(3, 2) == ", ");
    BOOST_TEST(d.substr(25) == " GMT");
    std::string day(d.substr(0, 3));
    BOOST_TEST(std::string("SunMonTueWedThuFriSat").find(day) % 3 == 0u);
    BOOST_TEST(d[7] == ' ');
    BOOST_TEST(d[19] == ':');
}

BOOST_AUTO_TEST_CASE(a_response_round_trips_through_the_parser) {
    auto resp = http_response::json(R"({"id":7})", 201);
    resp.headers.add("Set-Cookie", "a=1");
    resp.headers.add("Set-Cookie", "b=2");
    std::string wire;
    serialize_response(wire, resp, false, false);
    auto back = reparse(wire);
    BOOST_TEST(back.status == 201);
    BOOST_TEST(back.reason == "Created");
    BOOST_TEST(back.body == R"({"id":7})");
    BOOST_TEST(back.headers.count("set-cookie") == 2u);
    BOOST_TEST(*back.headers.get("content-type") == "application/json");
    BOOST_TEST(*back.headers.get("content-length") == "8");
    BOOST_TEST(!back.keep_alive());
}

BOOST_AUTO_TEST_CASE(a_custom_reason_and_an_unknown_status_are_written) {
    http_response resp;
    resp.status = 299;
    std::string wire;
    serialize_response(wire, resp, true, false);
    BOOST_TEST(wire.rfind("HTTP/1.1 299 Unknown\r\n", 0) == 0u);
    resp.reason = "Fine Thanks";
    wire.clear();
    serialize_response(wire, resp, true, false);
    BOOST_TEST(reparse(wire).reason == "Fine Thanks");
}

BOOST_AUTO_TEST_CASE(no_length_and_no_body_for_204_and_304) {
    for (int status : {204, 304, 101}) {
        http_response resp;
        resp.status = status;
        resp.body = "ignored";
        std::string wire;
        serialize_response(wire, resp, true, false);
        BOOST_TEST(wire.find("Content-Length") == std::string::npos, status);
        BOOST_TEST(wire.find("ignored") == std::string::npos, status);
        BOOST_TEST(reparse(wire).status == status);
    }
}

BOOST_AUTO_TEST_CASE(head_only_writes_the_length_but_not_the_body) {
    auto resp = http_response::text("twelve bytes");
    std::string wire;
    serialize_response(wire, resp, true, true);
    BOOST_TEST(wire.find("Content-Length: 12\r\n") != std::string::npos);
    BOOST_TEST(wire.find("twelve") == std::string::npos);
    BOOST_TEST(reparse(wire, true).body.empty());
    // A HEAD handler may state the length itself, with an empty body.
    http_response h;
    h.headers.add("Content-Length", "1000");
    wire.clear();
    serialize_response(wire, h, true, true);
    BOOST_TEST(wire.find("Content-Length: 1000\r\n") != std::string::npos);
    BOOST_TEST(wire.find("Content-Length: 0") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_user_content_length_is_replaced_and_a_user_transfer_encoding_is_kept) {
    auto resp = http_response::text("abc");
    resp.headers.add("Content-Length", "99");
    std::string wire;
    serialize_response(wire, resp, true, false);
    BOOST_TEST(wire.find("Content-Length: 99") == std::string::npos);
    BOOST_TEST(reparse(wire).body == "abc");

    http_response chunked;
    chunked.headers.add("Transfer-Encoding", "chunked");
    chunked.body = "3\r\nabc\r\n0\r\n\r\n";
    wire.clear();
    serialize_response(wire, chunked, true, false);
    BOOST_TEST(wire.find("Content-Length") == std::string::npos);
    BOOST_TEST(reparse(wire).body == "abc");
}

BOOST_AUTO_TEST_CASE(connection_close_is_written_once) {
    http_response resp;
    resp.headers.add("Connection", "close");
    std::string wire;
    serialize_response(wire, resp, false, false);
    BOOST_TEST(wire.find("Connection") == wire.rfind("Connection"));
    BOOST_TEST(!reparse(wire).keep_alive());
}

BOOST_AUTO_TEST_CASE(refuses_to_write_a_header_that_would_split_the_response) {
    std::string wire;
    http_response a;
    a.headers.add("X", "a\r\nSet-Cookie: evil=1");
    BOOST_CHECK_THROW(serialize_response(wire, a, true, false), vow::invalid_argument);
    http_response b;
    b.headers.add("Bad Name", "x");
    BOOST_CHECK_THROW(serialize_response(wire, b, true, false), vow::invalid_argument);
    http_response c;
    c.reason = "OK\r\n";
    BOOST_CHECK_THROW(serialize_response(wire, c, true, false), vow::invalid_argument);
    http_response d;
    d.status = 42;
    BOOST_CHECK_THROW(serialize_response(wire, d, true, false), vow::invalid_argument);
    BOOST_CHECK_THROW(serialize_request(wire, "GET", "/a b", "h", {}, ""), vow::invalid_argument);
    BOOST_CHECK_THROW(serialize_request(wire, "G T", "/", "h", {}, ""), vow::invalid_argument);
    BOOST_CHECK_THROW(serialize_request(wire, "GET", "/", "h\r\nX: y", {}, ""), vow::invalid_argument);
}

BOOST_AUTO_TEST_CASE(a_cr_lf_or_nul_anywhere_in_a_long_value_is_refused_and_other_bytes_pass) {
    // The check reads eight bytes at a time, then the tail byte by byte:
    // every position of a 21-byte value, in both parts.
    for (char bad : {'\r', '\n', '\0'}) {
        for (std::size_t at = 0; at < 21; ++at) {
            std::string value(21, 'v');
            value[at] = bad;
            http_response r;
            r.headers.add("X-Long", value);
            std::string wire;
            BOOST_CHECK_THROW(serialize_response(wire, r, true, false), vow::invalid_argument);
        }
    }
    // Bytes next to them in value (\x0c, \x0e, \t, \x8d, \x8a) are not line breaks.
    http_response ok;
    const std::string near =
        "a\x0c\x0e\tb\x8d\x8a\x0b"
        "cdefghijklmnop";
    ok.headers.add("X-Near", near);
    std::string wire;
    serialize_response(wire, ok, true, false);
    BOOST_TEST(wire.find("X-Near: " + near + "\r\n") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_request_round_trips_through_the_parser) {
    http_headers h;
    h.add("Accept", "*/*");
    h.add("Content-Length", "1");   // replaced by the real length
    std::string wire;
    serialize_request(wire, "POST", "/submit?x=1", "example.com:8080", h, "payload");
    BOOST_TEST(wire.rfind("POST /submit?x=1 HTTP/1.1\r\nHost: example.com:8080\r\nAccept: */*\r\n"
                          "Content-Length: 7\r\n\r\npayload", 0) == 0u);
    request_parser p;
    http_request req;
    auto r = p.parse(wire, req);
    BOOST_TEST_REQUIRE(int(r.status) == int(parse_status::complete));
    BOOST_TEST(r.consumed == wire.size());
    BOOST_TEST(req.method == "POST");
    BOOST_TEST(req.path == "/submit");
    BOOST_TEST(req.query == "x=1");
    BOOST_TEST(req.body == "payload");
    BOOST_TEST(*req.headers.get("host") == "example.com:8080");
}

BOOST_AUTO_TEST_CASE(a_head_for_a_streamed_body_carries_its_length_or_chunked_and_drops_the_callers_framing) {
    http_headers h;
    h.add("Content-Length", "1");
    h.add("Transfer-Encoding", "gzip");
    h.add("Accept", "*/*");
    std::string known;
    serialize_request_head(known, "PUT", "/up", "h", h, 5);
    BOOST_TEST(known == "PUT /up HTTP/1.1\r\nHost: h\r\nAccept: */*\r\nContent-Length: 5\r\n\r\n");
    std::string unknown;
    serialize_request_head(unknown, "POST", "/up", "h", h, std::nullopt);
    BOOST_TEST(unknown == "POST /up HTTP/1.1\r\nHost: h\r\nAccept: */*\r\nTransfer-Encoding: chunked\r\n\r\n");
    BOOST_CHECK_THROW(serialize_request_head(unknown, "P T", "/", "h", {}, 0), vow::invalid_argument);
}

BOOST_AUTO_TEST_CASE(content_length_only_when_there_is_a_body_or_the_method_expects_one) {
    std::string get;
    serialize_request(get, "GET", "/", "h", {}, "");
    BOOST_TEST(get == "GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    std::string put;
    serialize_request(put, "PUT", "/", "h", {}, "");
    BOOST_TEST(put == "PUT / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n");
    http_headers own_host;
    own_host.add("host", "other");
    std::string custom;
    serialize_request(custom, "DELETE", "/x", "h", own_host, "");
    BOOST_TEST(custom == "DELETE /x HTTP/1.1\r\nhost: other\r\n\r\n");
}

BOOST_AUTO_TEST_SUITE_END()  // serialize_test

// vow::net::http_headers, http_request, http_response (vow/net/http/message.hpp).
#include <boost/test/unit_test.hpp>

#include <vow/net/http/message.hpp>

#include <string>
#include <vector>

BOOST_AUTO_TEST_SUITE(http_message_test)

using namespace vow::net;

BOOST_AUTO_TEST_CASE(lookups_ignore_case_and_keep_the_spelling_and_order) {
    http_headers h;
    h.add("Set-Cookie", "a=1");
    h.add("Content-Type", "text/plain");
    h.add("set-cookie", "b=2");
    BOOST_TEST(h.size() == 3u);
    BOOST_TEST(*h.get("SET-COOKIE") == "a=1");
    BOOST_TEST(h.count("set-cookie") == 2u);
    BOOST_TEST(h.contains("content-type"));
    BOOST_TEST(!h.contains("content"));
    BOOST_TEST(!h.get("missing").has_value());
    std::vector<std::string> names;
    for (const auto& [name, value] : h)
        names.push_back(name);
    BOOST_TEST((names == std::vector<std::string>{"Set-Cookie", "Content-Type", "set-cookie"}));
}

BOOST_AUTO_TEST_CASE(set_replaces_every_field_of_the_name_in_place_of_the_first) {
    http_headers h;
    h.add("A", "1");
    h.add("B", "2");
    h.add("a", "3");
    h.set("a", "9");
    BOOST_TEST(h.size() == 2u);
    BOOST_TEST(h.begin()->first == "a");
    BOOST_TEST(h.begin()->second == "9");
    h.set("C", "new");
    BOOST_TEST(*h.get("c") == "new");
    BOOST_TEST(h.size() == 3u);
}

BOOST_AUTO_TEST_CASE(remove_returns_how_many_went) {
    http_headers h;
    h.add("X", "1");
    h.add("Y", "2");
    h.add("x", "3");
    BOOST_TEST(h.remove("X") == 2u);
    BOOST_TEST(h.remove("X") == 0u);
    BOOST_TEST(h.size() == 1u);
    h.clear();
    BOOST_TEST(h.empty());
}

BOOST_AUTO_TEST_CASE(has_token_reads_comma_lists) {
    http_headers h;
    h.add("Connection", " Upgrade ,  Keep-Alive");
    BOOST_TEST(h.has_token("connection", "keep-alive"));
    BOOST_TEST(h.has_token("connection", "upgrade"));
    BOOST_TEST(!h.has_token("connection", "close"));
    BOOST_TEST(!h.has_token("connection", "keep"));
}

BOOST_AUTO_TEST_CASE(request_params_and_keep_alive) {
    http_request req;
    req.params = {{"id", "7"}};
    BOOST_TEST(req.param("id") == "7");
    BOOST_TEST(req.param("nope") == "");
    BOOST_TEST(req.keep_alive());
    req.headers.add("Connection", "close");
    BOOST_TEST(!req.keep_alive());
    req.version_minor = 0;
    req.headers.clear();
    BOOST_TEST(!req.keep_alive());
    req.headers.add("Connection", "keep-alive");
    BOOST_TEST(req.keep_alive());
}

BOOST_AUTO_TEST_CASE(response_helpers_set_content_type) {
    auto t = http_response::text("hi", 404);
    BOOST_TEST(t.status == 404);
    BOOST_TEST(*t.headers.get("content-type") == "text/plain; charset=utf-8");
    BOOST_TEST(t.body == "hi");
    auto j = http_response::json("{}");
    BOOST_TEST(j.status == 200);
    BOOST_TEST(*j.headers.get("Content-Type") == "application/json");
}

BOOST_AUTO_TEST_CASE(reason_phrases) {
    BOOST_TEST(http_reason_phrase(200) == "OK");
    BOOST_TEST(http_reason_phrase(404) == "Not Found");
    BOOST_TEST(http_reason_phrase(431) == "Request Header Fields Too Large");
    BOOST_TEST(http_reason_phrase(505) == "HTTP Version Not Supported");
    BOOST_TEST(http_reason_phrase(299) == "Unknown");
    BOOST_TEST(http_reason_phrase(-1) == "Unknown");
}

BOOST_AUTO_TEST_SUITE_END()  // http_message_test

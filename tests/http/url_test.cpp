// vow::net::url: parsing, printing, Host values and redirect resolution.
#include <boost/test/unit_test.hpp>

#include <vow/net/url.hpp>

#include <string>

BOOST_AUTO_TEST_SUITE(url_test)

using vow::net::url;
using vow::net::url_error;

namespace {
bool throws_saying(std::string_view text, std::string_view needle) {
    try {
        (void)url::parse(text);
    } catch (const url_error& e) {
        std::string what = e.what();
        BOOST_TEST(what.find(needle) != std::string::npos, what);
        BOOST_TEST(what.find(text.substr(0, 8)) != std::string::npos, what);   // names the text
        return true;
    }
    return false;
}
}  // namespace

BOOST_AUTO_TEST_CASE(parses_host_port_and_target) {
    auto u = url::parse("http://Example.COM:8080/users/7?x=1#top");
    BOOST_TEST(u.scheme == "http");
    BOOST_TEST(u.host == "example.com");
    BOOST_TEST(u.port == 8080);
    BOOST_TEST(u.target == "/users/7?x=1");
    BOOST_TEST(u.host_header() == "example.com:8080");
    BOOST_TEST(u.to_string() == "http://example.com:8080/users/7?x=1");
}

BOOST_AUTO_TEST_CASE(defaults_port_80_and_target_slash) {
    auto u = url::parse("HTTP://example.com");
    BOOST_TEST(u.scheme == "http");
    BOOST_TEST(u.port == 80);
    BOOST_TEST(u.target == "/");
    BOOST_TEST(u.host_header() == "example.com");
    BOOST_TEST(url::parse("http://a?q=1").target == "/?q=1");
    BOOST_TEST(url::parse("http://a:/x").port == 80);
    BOOST_TEST(url::parse("http://a:80/").host_header() == "a");
    BOOST_TEST(url::parse("http://a#frag").target == "/");
}

BOOST_AUTO_TEST_CASE(parses_ip_literals) {
    auto v4 = url::parse("http://127.0.0.1:9000/");
    BOOST_TEST(v4.host == "127.0.0.1");
    BOOST_TEST(v4.host_header() == "127.0.0.1:9000");
    auto v6 = url::parse("http://[::1]:8080/a");
    BOOST_TEST(v6.host == "::1");
    BOOST_TEST(v6.port == 8080);
    BOOST_TEST(v6.host_header() == "[::1]:8080");
    BOOST_TEST(v6.to_string() == "http://[::1]:8080/a");
    BOOST_TEST(url::parse("http://[::1]").host_header() == "[::1]");
}

BOOST_AUTO_TEST_CASE(https_urls_default_to_port_443) {
    auto u = url::parse("HTTPS://Example.com/a?b");
    BOOST_TEST(u.scheme == "https");
    BOOST_TEST(u.port == 443);
    BOOST_TEST(u.default_port() == 443);
    BOOST_TEST(u.host_header() == "example.com");
    BOOST_TEST(u.to_string() == "https://example.com/a?b");
    auto odd = url::parse("https://example.com:80/");
    BOOST_TEST(odd.port == 80);
    BOOST_TEST(odd.host_header() == "example.com:80");   // 80 is not https's default
    BOOST_TEST(url::parse("http://example.com:443/").host_header() == "example.com:443");
    BOOST_TEST(url::parse("https://[::1]:8443/").to_string() == "https://[::1]:8443/");
}

BOOST_AUTO_TEST_CASE(percent_encodes_non_ascii_bytes) {
    BOOST_TEST(url::parse("http://a/caf\xc3\xa9").target == "/caf%C3%A9");
}

BOOST_AUTO_TEST_CASE(rejects_bad_urls_saying_why) {
    BOOST_TEST(throws_saying("", "empty"));
    BOOST_TEST(throws_saying("example.com/x", "no scheme"));
    BOOST_TEST(throws_saying("/just/a/path", "no scheme"));
    BOOST_TEST(throws_saying("ftp://example.com/", "unsupported scheme 'ftp'"));
    BOOST_TEST(throws_saying("http:/example.com", "expected '//'"));
    BOOST_TEST(throws_saying("http://", "empty host"));
    BOOST_TEST(throws_saying("http:///path", "empty host"));
    BOOST_TEST(throws_saying("http://:80/", "empty host"));
    BOOST_TEST(throws_saying("http://a:0/", "bad port"));
    BOOST_TEST(throws_saying("http://a:65536/", "bad port"));
    BOOST_TEST(throws_saying("http://a:123456/", "bad port"));
    BOOST_TEST(throws_saying("http://a:8x/", "bad port"));
    BOOST_TEST(throws_saying("http://a:-1/", "bad port"));
    BOOST_TEST(throws_saying("http://user@a/", "user info"));
    BOOST_TEST(throws_saying("http://user:pw@a/", "user info"));
    BOOST_TEST(throws_saying("http://a b/", "space"));
    BOOST_TEST(throws_saying("http://a/b c", "space"));
    BOOST_TEST(throws_saying("http://a/b\r\nX: y", "control"));
    BOOST_TEST(throws_saying("http://a/\x7f", "control"));
    try {
        (void)url::parse("http://a/\r\nX: forged");
    } catch (const url_error& e) {
        BOOST_TEST(std::string(e.what()).find("\\x0d\\x0aX: forged") != std::string::npos, e.what());
    }
    BOOST_TEST(throws_saying("http://[::1/", "'['"));
    BOOST_TEST(throws_saying("http://[nope]/", "IPv6"));
    BOOST_TEST(throws_saying("http://[::1]x/", "after ']'"));
    BOOST_TEST(throws_saying("http://a%2e/", "invalid character"));
}

BOOST_AUTO_TEST_CASE(url_error_is_an_invalid_argument) {
    BOOST_CHECK_THROW(url::parse("nope"), vow::invalid_argument);
}

BOOST_AUTO_TEST_CASE(resolves_redirect_locations) {
    auto base = url::parse("http://a.com:8080/dir/page?q=1");
    BOOST_TEST(base.resolve("http://b.com/x").to_string() == "http://b.com/x");
    BOOST_TEST(base.resolve("//c.com/y").to_string() == "http://c.com/y");
    BOOST_TEST(base.resolve("/abs?z=2#f").to_string() == "http://a.com:8080/abs?z=2");
    BOOST_TEST(base.resolve("other").to_string() == "http://a.com:8080/dir/other");
    BOOST_TEST(base.resolve("sub/x?y").to_string() == "http://a.com:8080/dir/sub/x?y");
    BOOST_TEST(base.resolve("../up").to_string() == "http://a.com:8080/up");
    BOOST_TEST(base.resolve("../../../up").to_string() == "http://a.com:8080/up");
    BOOST_TEST(base.resolve("./").to_string() == "http://a.com:8080/dir/");
    BOOST_TEST(base.resolve("..").to_string() == "http://a.com:8080/");
    BOOST_TEST(base.resolve("/a/./b/../c").to_string() == "http://a.com:8080/a/c");
    BOOST_TEST(base.resolve("?n=3").to_string() == "http://a.com:8080/dir/page?n=3");
    BOOST_TEST(base.resolve("").to_string() == base.to_string());
    BOOST_TEST(base.resolve("#frag").to_string() == base.to_string());
    BOOST_TEST(url::parse("http://a").resolve("x").to_string() == "http://a/x");
    BOOST_TEST(base.resolve("https://secure/").to_string() == "https://secure/");
    BOOST_TEST(url::parse("https://a.com/x").resolve("//b.com/y").to_string() == "https://b.com/y");
    BOOST_CHECK_THROW((void)base.resolve("/a b"), url_error);
}

BOOST_AUTO_TEST_SUITE_END()  // url_test

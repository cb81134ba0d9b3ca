// vow::net::address: parsing, printing, comparison.
#include <boost/test/unit_test.hpp>

#include <vow/net/address.hpp>

#include <netinet/in.h>

BOOST_AUTO_TEST_SUITE(address_test)

using vow::net::address;

BOOST_AUTO_TEST_CASE(parses_and_prints_ipv4) {
    auto a = address::parse("127.0.0.1", 8080);
    BOOST_TEST(a.is_v4());
    BOOST_TEST(a.is_loopback());
    BOOST_TEST(a.port() == 8080);
    BOOST_TEST(a.host() == "127.0.0.1");
    BOOST_TEST(a.to_string() == "127.0.0.1:8080");
    BOOST_TEST(fmt::format("{}", a) == "127.0.0.1:8080");
    BOOST_TEST(a.native_size() == sizeof(sockaddr_in));
}

BOOST_AUTO_TEST_CASE(parses_and_prints_ipv6_with_or_without_brackets) {
    auto a = address::parse("::1", 443);
    auto b = address::parse("[::1]", 443);
    BOOST_TEST(a.is_v6());
    BOOST_TEST(a.is_loopback());
    BOOST_TEST(a.to_string() == "[::1]:443");
    BOOST_TEST((a == b));
    BOOST_TEST(!(a == a.with_port(444)));
    BOOST_TEST(a.with_port(444).port() == 444);
}

BOOST_AUTO_TEST_CASE(rejects_names_and_garbage) {
    for (const char* bad : {"localhost", "", "1.2.3", "256.0.0.1", "::g", "[::1", "example.com"}) {
        BOOST_TEST(!address::try_parse(bad, 1).has_value(), bad);
        BOOST_CHECK_EXCEPTION(address::parse(bad, 1), vow::invalid_argument, [&](const auto& e) {
            return std::string(e.what()).find("not a numeric") != std::string::npos;
        });
    }
}

BOOST_AUTO_TEST_CASE(empty_and_native_round_trip) {
    address e;
    BOOST_TEST(e.empty());
    BOOST_TEST(e.to_string() == "");
    BOOST_TEST(e.port() == 0);
    auto a = address::parse("10.1.2.3", 7);
    BOOST_TEST(!a.is_loopback());
    auto b = address::from_native(a.native(), a.native_size());
    BOOST_TEST((a == b));
    sockaddr_storage ss{};
    ss.ss_family = AF_UNIX;
    BOOST_CHECK_THROW(address::from_native(reinterpret_cast<sockaddr*>(&ss), sizeof ss), vow::invalid_argument);
    BOOST_CHECK_THROW(address::from_native(a.native(), 4), vow::invalid_argument);
}

BOOST_AUTO_TEST_SUITE_END()  // address_test

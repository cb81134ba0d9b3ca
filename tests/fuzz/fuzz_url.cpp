// fuzz_url - libFuzzer target for vow::net::url (net/url.cpp).
//
// The input is a URL, optionally followed by '\n' and a redirect location
// (parse() rejects control bytes, so the newline cannot be part of a URL).
// Checked for every input:
//   - parse() either throws vow::net::url_error or returns a URL that is
//     well formed: scheme "http", "https", "ws" or "wss", a non-empty lower-case host, a port in
//     1..65535, a target that starts with '/' and holds no space, control
//     byte, byte >= 0x80 or '#';
//   - such a URL survives a round trip: parse(u.to_string()) == u, and
//     printing it again gives the same text;
//   - u.resolve(location) likewise either throws url_error or returns a
//     well-formed URL that round-trips.
// Any other exception, a crash or a sanitizer report is a finding.
//
// Run: scripts/fuzz (see docs/fuzzing.md).
#include <vow/net/error.hpp>
#include <vow/net/url.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <string_view>

namespace {

[[noreturn]] void fail(const char* what, std::string_view input, const std::string& detail = {}) {
    std::fprintf(stderr, "fuzz_url: %s\n  input: '%.*s'\n  %s\n", what, static_cast<int>(input.size()),
                 input.data(), detail.c_str());
    std::abort();
}

std::string describe(const vow::net::url& u) {
    return "scheme='" + u.scheme + "' host='" + u.host + "' port=" + std::to_string(u.port) + " target='" +
           u.target + "'";
}

void check_well_formed(const vow::net::url& u, std::string_view input) {
    if (u.scheme != "http" && u.scheme != "https" && u.scheme != "ws" && u.scheme != "wss")
        fail("scheme is not 'http', 'https', 'ws' or 'wss'", input, describe(u));
    if (u.host.empty())
        fail("empty host", input, describe(u));
    for (char c : u.host)
        if (c >= 'A' && c <= 'Z')
            fail("host is not lower-cased", input, describe(u));
    if (u.port == 0)
        fail("port 0", input, describe(u));
    if (u.target.empty() || u.target.front() != '/')
        fail("target does not start with '/'", input, describe(u));
    for (char c : u.target) {
        auto b = static_cast<unsigned char>(c);
        if (b <= 0x20 || b >= 0x7f || c == '#')
            fail("target holds a byte a request line cannot carry", input, describe(u));
    }
}

void check_round_trip(const vow::net::url& u, std::string_view input) {
    check_well_formed(u, input);
    const std::string text = u.to_string();
    vow::net::url again;
    try {
        again = vow::net::url::parse(text);
    } catch (const std::exception& e) {
        fail("to_string() does not parse back", input, describe(u) + " printed '" + text + "': " + e.what());
    }
    if (!(again == u))
        fail("to_string() parses back to another URL", input, describe(u) + " vs " + describe(again));
    if (again.to_string() != text)
        fail("printing is not stable", input, text + " vs " + again.to_string());
    (void)u.host_header();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    const auto nl = input.find('\n');
    const std::string_view text = input.substr(0, nl);
    vow::net::url u;
    try {
        u = vow::net::url::parse(text);
    } catch (const vow::net::url_error&) {
        return 0;
    } catch (const std::exception& e) {
        fail("parse() threw something other than url_error", input, e.what());
    }
    check_round_trip(u, input);
    if (nl == std::string_view::npos)
        return 0;
    const std::string_view location = input.substr(nl + 1);
    vow::net::url r;
    try {
        r = u.resolve(location);
    } catch (const vow::net::url_error&) {
        return 0;
    } catch (const std::exception& e) {
        fail("resolve() threw something other than url_error", input, e.what());
    }
    check_round_trip(r, input);
    return 0;
}

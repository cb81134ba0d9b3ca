// vow::net::static_files and vow::fs::open_beneath: real files and real
// symlinks in a temporary directory, the handler called directly (the
// server's sending of body_source is tested with the server).
#include <vow/fs.hpp>
#include <vow/net/http/static_files.hpp>
#include <vow/vow.hpp>

#include <boost/test/unit_test.hpp>
#include <escape_tree.hpp>
#include <fmt/format.h>
#include <nobody_pool.hpp>
#include <promise_fixture.hpp>

#include <cerrno>
#include <ctime>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <sys/stat.h>
#include <type_traits>
#include <unistd.h>
#include <utility>
#include <vector>

BOOST_AUTO_TEST_SUITE(static_files_test)

namespace fs = vow::fs;
namespace net = vow::net;
using vow::net::http_request;
using vow::net::http_response;

namespace {

// The handler must be a copyable http_server handler.
static_assert(std::is_copy_constructible_v<net::static_files>);
static_assert(
    std::is_invocable_r_v<vow::future<http_response>, net::static_files&, const http_request&>);

using vow::test::escape_tree;

// Sets a file's modification time (seconds since the epoch).
void set_mtime(const std::filesystem::path& p, std::time_t t) {
    ::timespec times[2] = {{t, 0}, {t, 0}};
    BOOST_REQUIRE(::utimensat(AT_FDCWD, p.c_str(), times, 0) == 0);
}

// The escape tree (tests/support/escape_tree.hpp), plus in root:
//   index.html  sub/index.html  empty/  %2e%2e (a file so named)  .env  UPPER.PNG
struct fixture : vow::test::promise_fixture, escape_tree {
    fixture() {
        std::filesystem::create_directories(root / "empty");
        write(root / "index.html", "<h1>home</h1>\n");
        write(root / "sub" / "index.html", "<h1>sub</h1>\n");
        write(root / "%2e%2e", "a file named %2e%2e\n");
        write(root / ".env", "PASSWORD=x\n");
        write(root / "UPPER.PNG", "png");
    }

    net::static_files handler(net::static_files_options o = {}) {
        return net::static_files(r, root.string(), o);
    }

    http_response call(const net::static_files& h, std::string path,
                       std::vector<std::pair<std::string, std::string>> headers = {},
                       std::string method = "GET") {
        http_request req;
        req.method = std::move(method);
        req.path = std::move(path);
        req.target = req.path;
        for (auto& [name, value] : headers)
            req.headers.add(name, value);
        return wait(h(req));  // `req` lives until the future settles, as the server keeps it
    }
    http_response get(std::string path,
                      std::vector<std::pair<std::string, std::string>> headers = {}) {
        return call(handler(), std::move(path), std::move(headers));
    }

    // The bytes the response would send: its body_source region, read
    // through the very file it holds, or its plain body.
    std::string body_of(const http_response& res) {
        if (!res.body_source.file)
            return res.body;
        BOOST_REQUIRE(res.body_source.length.has_value());
        return wait(res.body_source.file->pread(res.body_source.offset, *res.body_source.length));
    }

    std::string header(const http_response& res, std::string_view name) {
        return std::string(res.headers.get(name).value_or("<none>"));
    }
};

}  // namespace

// --- Serving ------------------------------------------------------------------

BOOST_FIXTURE_TEST_CASE(get_serves_the_file_with_type_validators_and_accept_ranges, fixture) {
    auto res = get("/a.txt");
    BOOST_TEST(res.status == 200);
    BOOST_TEST(body_of(res) == "hello, static\n");
    BOOST_TEST(res.body_source.offset == 0u);
    BOOST_TEST(*res.body_source.length == 14u);
    BOOST_TEST(res.body.empty());
    BOOST_TEST(header(res, "content-type") == "text/plain; charset=utf-8");
    BOOST_TEST(header(res, "accept-ranges") == "bytes");
    BOOST_TEST(header(res, "etag").starts_with("\"e-"));
    BOOST_TEST(header(res, "last-modified").ends_with(" GMT"));
    BOOST_TEST(!res.headers.contains("cache-control"));
}

BOOST_FIXTURE_TEST_CASE(head_gets_the_same_headers_and_body_source_as_get, fixture) {
    auto h = handler();
    auto g = call(h, "/a.txt");
    auto hd = call(h, "/a.txt", {}, "HEAD");
    BOOST_TEST(hd.status == 200);
    BOOST_TEST((hd.headers == g.headers));
    BOOST_TEST(*hd.body_source.length == 14u);
    BOOST_TEST(hd.body_source.file != nullptr);
}

BOOST_FIXTURE_TEST_CASE(other_methods_get_405_with_allow, fixture) {
    auto res = call(handler(), "/a.txt", {}, "POST");
    BOOST_TEST(res.status == 405);
    BOOST_TEST(header(res, "allow") == "GET, HEAD");
    BOOST_TEST(!res.body_source);
}

BOOST_FIXTURE_TEST_CASE(the_root_and_a_directory_with_a_slash_serve_their_index, fixture) {
    auto home = get("/");
    BOOST_TEST(home.status == 200);
    BOOST_TEST(body_of(home) == "<h1>home</h1>\n");
    BOOST_TEST(header(home, "content-type") == "text/html; charset=utf-8");
    auto sub = get("/sub/");
    BOOST_TEST(sub.status == 200);
    BOOST_TEST(body_of(sub) == "<h1>sub</h1>\n");
}

BOOST_FIXTURE_TEST_CASE(a_directory_without_its_slash_is_redirected_to_it, fixture) {
    auto res = get("/sub");
    BOOST_TEST(res.status == 301);
    BOOST_TEST(header(res, "location") == "/sub/");
    BOOST_TEST(!res.body_source);
}

BOOST_FIXTURE_TEST_CASE(the_redirect_keeps_the_prefix_and_the_query, fixture) {
    http_request req;
    req.method = "GET";
    req.path = "/static/sub";
    req.query = "v=2";
    auto res = wait(handler({.prefix = "/static/"})(req));
    BOOST_TEST(res.status == 301);
    BOOST_TEST(header(res, "location") == "/static/sub/?v=2");
}

BOOST_FIXTURE_TEST_CASE(a_directory_without_an_index_is_404_never_a_listing, fixture) {
    auto res = get("/empty/");
    BOOST_TEST(res.status == 404);
    BOOST_TEST(!res.body_source);
    BOOST_TEST(res.body.find("index") == std::string::npos);
    auto no_index = handler({.index = ""});
    BOOST_TEST(call(no_index, "/").status == 404);
    BOOST_TEST(call(no_index, "/sub/").status == 404);
    BOOST_TEST(call(no_index, "/sub").status == 404);
    BOOST_TEST(call(handler({.index = "missing.html"}), "/").status == 404);
}

BOOST_FIXTURE_TEST_CASE(a_prefix_is_stripped_and_paths_outside_it_are_404, fixture) {
    auto h = handler({.prefix = "/static/"});
    auto res = call(h, "/static/sub/b.css");
    BOOST_TEST(res.status == 200);
    BOOST_TEST(body_of(res) == "b { }\n");
    BOOST_TEST(header(res, "content-type") == "text/css; charset=utf-8");
    BOOST_TEST(call(h, "/static/").status == 200);
    BOOST_TEST(call(h, "/a.txt").status == 404);
    BOOST_TEST(call(h, "/staticx/a.txt").status == 404);
}

BOOST_FIXTURE_TEST_CASE(a_copy_shares_the_root_and_serves_alike, fixture) {
    std::optional<net::static_files> original(handler());
    net::static_files copy = *original;
    original.reset();
    BOOST_TEST(body_of(call(copy, "/a.txt")) == "hello, static\n");
}

BOOST_FIXTURE_TEST_CASE(percent_encoded_names_are_decoded_once, fixture) {
    write(root / "two words.txt", "spaced");
    auto res = get("/two%20words.txt");
    BOOST_TEST(res.status == 200);
    BOOST_TEST(body_of(res) == "spaced");
    // Once: %252e%252e is the name "%2e%2e", a file here, never "..".
    auto literal = get("/%252e%252e");
    BOOST_TEST(literal.status == 200);
    BOOST_TEST(body_of(literal) == "a file named %2e%2e\n");
}

BOOST_FIXTURE_TEST_CASE(the_cache_control_option_is_sent_on_200_206_and_304, fixture) {
    auto h = handler({.cache_control = "max-age=60"});
    auto ok = call(h, "/a.txt");
    BOOST_TEST(header(ok, "cache-control") == "max-age=60");
    BOOST_TEST(header(call(h, "/a.txt", {{"Range", "bytes=0-1"}}), "cache-control") ==
               "max-age=60");
    BOOST_TEST(header(call(h, "/a.txt", {{"If-None-Match", header(ok, "etag")}}),
                      "cache-control") == "max-age=60");
}

BOOST_FIXTURE_TEST_CASE(dot_files_are_404_unless_the_option_serves_them, fixture) {
    BOOST_TEST(get("/.env").status == 404);
    BOOST_TEST(get("/%2eenv").status == 404);
    auto res = call(handler({.dot_files = true}), "/.env");
    BOOST_TEST(res.status == 200);
    BOOST_TEST(body_of(res) == "PASSWORD=x\n");
}

BOOST_FIXTURE_TEST_CASE(unreadable_files_and_fifos_are_403, fixture) {
    BOOST_REQUIRE(::mkfifo((root / "pipe").c_str(), 0644) == 0);
    BOOST_TEST(get("/pipe").status == 403);  // answered at once: a FIFO is never opened to block
    write(root / "locked.txt", "locked");
    std::filesystem::permissions(root / "locked.txt", std::filesystem::perms::none);
    std::optional<vow::test::nobody_pool> nobody;
    net::static_files_options o;
    if (::geteuid() == 0) {  // root reads anything: open on a worker that is nobody
        nobody.emplace();
        if (!nobody->ready()) {
            BOOST_TEST_MESSAGE("skipped: the 403 for EACCES: " << nobody->why());
            return;
        }
        o.pool = &nobody->pool;
        BOOST_TEST(call(handler(o), "/a.txt").status == 200);  // nobody may read the rest
    }
    auto res = call(handler(o), "/locked.txt");
    BOOST_TEST(res.status == 403);
    BOOST_TEST(!res.body_source);
}

BOOST_FIXTURE_TEST_CASE(the_constructor_refuses_a_bad_root_prefix_or_index, fixture) {
    auto errno_of = [&](std::string dir) {
        try {
            net::static_files h(r, std::move(dir));
        } catch (const fs::fs_error& e) {
            BOOST_TEST(std::string(e.what()).find("open_directory") != std::string::npos, e.what());
            return e.code().value();
        }
        return 0;
    };
    BOOST_TEST(errno_of((root / "a.txt").string()) == ENOTDIR);
    BOOST_TEST(errno_of((tmp / "missing").string()) == ENOENT);
    BOOST_CHECK_THROW(handler({.prefix = "static/"}), vow::invalid_argument);
    BOOST_CHECK_THROW(handler({.prefix = "/static"}), vow::invalid_argument);
    BOOST_CHECK_THROW(handler({.index = "../index.html"}), vow::invalid_argument);
    BOOST_CHECK_THROW(handler({.index = ".."}), vow::invalid_argument);
}

// Registered on a real server: the router hands it GET (and HEAD) only, and
// what it refuses goes out as the server writes any response. (A 200's
// body_source is the server's to send, and tested there.)
BOOST_FIXTURE_TEST_CASE(registered_on_a_server_it_answers_through_the_router, fixture) {
    net::http_server server(r, "127.0.0.1", 0);
    auto files = handler({.prefix = "/files/"});
    server.get("/files/{name}", files);
    net::http_client client(r);
    const auto base = fmt::format("http://127.0.0.1:{}/files/", server.port());
    BOOST_TEST(wait(client.get(base + "missing.txt")).status == 404);
    auto dots = wait(client.get(base + "%2e%2e"));
    BOOST_TEST(dots.status == 404);
    BOOST_TEST(dots.body.find("'..'") != std::string::npos, dots.body);
    BOOST_TEST(wait(client.get(base + "%zz")).status == 400);
    const std::string etag = header(call(files, "/files/a.txt"), "etag");
    net::request_options conditional;
    conditional.headers.add("If-None-Match", etag);
    BOOST_TEST(wait(client.get(base + "a.txt", std::move(conditional))).status == 304);
    BOOST_TEST(wait(client.request("POST", base + "a.txt")).status == 405);
    wait(server.shutdown());
}

// --- Content types ------------------------------------------------------------

BOOST_AUTO_TEST_CASE(content_types_follow_the_extension_case_insensitively) {
    using net::content_type_for;
    BOOST_TEST(content_type_for("a.html") == "text/html; charset=utf-8");
    BOOST_TEST(content_type_for("a.css") == "text/css; charset=utf-8");
    BOOST_TEST(content_type_for("a.js") == "text/javascript; charset=utf-8");
    BOOST_TEST(content_type_for("a.mjs") == "text/javascript; charset=utf-8");
    BOOST_TEST(content_type_for("a.json") == "application/json");
    BOOST_TEST(content_type_for("a.txt") == "text/plain; charset=utf-8");
    BOOST_TEST(content_type_for("a.svg") == "image/svg+xml");
    BOOST_TEST(content_type_for("a.png") == "image/png");
    BOOST_TEST(content_type_for("A.JPG") == "image/jpeg");
    BOOST_TEST(content_type_for("a.jpeg") == "image/jpeg");
    BOOST_TEST(content_type_for("a.gif") == "image/gif");
    BOOST_TEST(content_type_for("a.webp") == "image/webp");
    BOOST_TEST(content_type_for("favicon.ico") == "image/vnd.microsoft.icon");
    BOOST_TEST(content_type_for("a.wasm") == "application/wasm");
    BOOST_TEST(content_type_for("a.pdf") == "application/pdf");
    BOOST_TEST(content_type_for("a.xml") == "application/xml");
    BOOST_TEST(content_type_for("a.mp4") == "video/mp4");
    BOOST_TEST(content_type_for("a.webm") == "video/webm");
    BOOST_TEST(content_type_for("a.woff") == "font/woff");
    BOOST_TEST(content_type_for("a.woff2") == "font/woff2");
    BOOST_TEST(content_type_for("a.tar.gz") == "application/gzip");
    BOOST_TEST(content_type_for("a.unknown") == "application/octet-stream");
    BOOST_TEST(content_type_for("Makefile") == "application/octet-stream");
    BOOST_TEST(content_type_for("dir.html/file") == "application/octet-stream");
    BOOST_TEST(content_type_for("trailing.") == "application/octet-stream");
}

BOOST_FIXTURE_TEST_CASE(a_response_is_typed_by_the_requested_name, fixture) {
    BOOST_TEST(header(get("/UPPER.PNG"), "content-type") == "image/png");
    BOOST_TEST(header(get("/link_in"), "content-type") == "application/octet-stream");
}

// --- Conditional requests -------------------------------------------------------

BOOST_FIXTURE_TEST_CASE(a_matching_if_none_match_is_304_without_a_body, fixture) {
    const std::string etag = header(get("/a.txt"), "etag");
    for (const std::string& value : {etag, "W/" + etag, "\"other\", " + etag, std::string("*")}) {
        auto res = get("/a.txt", {{"If-None-Match", value}});
        BOOST_TEST(res.status == 304, value);
        BOOST_TEST(!res.body_source, value);
        BOOST_TEST(res.body.empty());
        BOOST_TEST(header(res, "etag") == etag);
        BOOST_TEST(res.headers.contains("last-modified"));
    }
    BOOST_TEST(get("/a.txt", {{"If-None-Match", "\"other\""}}).status == 200);
}

BOOST_FIXTURE_TEST_CASE(the_etag_changes_when_the_file_does, fixture) {
    const std::string before = header(get("/a.txt"), "etag");
    set_mtime(root / "a.txt", 1'600'000'000);
    auto res = get("/a.txt", {{"If-None-Match", before}});
    BOOST_TEST(res.status == 200);
    BOOST_TEST(header(res, "etag") != before);
}

BOOST_FIXTURE_TEST_CASE(if_modified_since_is_304_unless_the_file_is_newer, fixture) {
    set_mtime(root / "a.txt", 1'577'836'800);  // Wed, 01 Jan 2020 00:00:00 GMT
    auto res = get("/a.txt");
    BOOST_TEST(header(res, "last-modified") == "Wed, 01 Jan 2020 00:00:00 GMT");
    BOOST_TEST(get("/a.txt", {{"If-Modified-Since", "Wed, 01 Jan 2020 00:00:00 GMT"}}).status ==
               304);
    BOOST_TEST(get("/a.txt", {{"If-Modified-Since", "Thu, 02 Jan 2020 00:00:00 GMT"}}).status ==
               304);
    BOOST_TEST(get("/a.txt", {{"If-Modified-Since", "Tue, 31 Dec 2019 23:59:59 GMT"}}).status ==
               200);
    set_mtime(root / "a.txt", 1'577'836'801);  // modified a second later
    BOOST_TEST(get("/a.txt", {{"If-Modified-Since", "Wed, 01 Jan 2020 00:00:00 GMT"}}).status ==
               200);
    // A date in an obsolete form, or none at all, is ignored: the whole file.
    BOOST_TEST(get("/a.txt", {{"If-Modified-Since", "Thursday, 02-Jan-20 00:00:00 GMT"}}).status ==
               200);
    BOOST_TEST(get("/a.txt", {{"If-Modified-Since", "yesterday"}}).status == 200);
}

BOOST_FIXTURE_TEST_CASE(if_none_match_wins_over_if_modified_since, fixture) {
    set_mtime(root / "a.txt", 1'577'836'800);
    const std::string etag = header(get("/a.txt"), "etag");
    const std::string later = "Fri, 01 Jan 2021 00:00:00 GMT";
    BOOST_TEST(
        get("/a.txt", {{"If-None-Match", "\"other\""}, {"If-Modified-Since", later}}).status ==
        200);
    BOOST_TEST(get("/a.txt", {{"If-None-Match", etag},
                              {"If-Modified-Since", "Tue, 01 Jan 2019 00:00:00 GMT"}})
                   .status == 304);
}

// --- Ranges ---------------------------------------------------------------------

BOOST_FIXTURE_TEST_CASE(each_single_range_form_is_206_with_its_region, fixture) {
    struct row {
        std::string range, content_range, bytes;
    };
    for (const auto& [range, content_range, bytes] : std::vector<row>{
             {"bytes=0-4", "bytes 0-4/14", "hello"},
             {"bytes=7-", "bytes 7-13/14", "static\n"},
             {"bytes=-7", "bytes 7-13/14", "static\n"},
             {"bytes=7-1000", "bytes 7-13/14", "static\n"},
             {"bytes=-100", "bytes 0-13/14", "hello, static\n"},
             {"bytes=13-13", "bytes 13-13/14", "\n"},
             {"Bytes=0-0", "bytes 0-0/14", "h"},
         }) {
        auto res = get("/a.txt", {{"Range", range}});
        BOOST_TEST(res.status == 206, range);
        BOOST_TEST(header(res, "content-range") == content_range, range);
        BOOST_TEST(body_of(res) == bytes, range);
        BOOST_TEST(header(res, "content-type") == "text/plain; charset=utf-8");
    }
}

BOOST_FIXTURE_TEST_CASE(an_unsatisfiable_range_is_416_with_the_size, fixture) {
    write(root / "empty.txt", "");
    for (const auto& [path, range] :
         std::vector<std::pair<std::string, std::string>>{{"/a.txt", "bytes=14-"},
                                                          {"/a.txt", "bytes=100-200"},
                                                          {"/a.txt", "bytes=-0"},
                                                          {"/empty.txt", "bytes=0-"},
                                                          {"/empty.txt", "bytes=-5"}}) {
        auto res = get(path, {{"Range", range}});
        BOOST_TEST(res.status == 416, path << " " << range);
        BOOST_TEST(header(res, "content-range") == (path == "/a.txt" ? "bytes */14" : "bytes */0"));
        BOOST_TEST(!res.body_source);
    }
}

BOOST_FIXTURE_TEST_CASE(several_or_malformed_ranges_get_the_whole_file, fixture) {
    for (const std::string range :
         {"bytes=0-1,3-4", "bytes=0-1, -2", "bytes=4-2", "bytes=x-y", "items=0-1",
          "bytes=", "bytes = 0-1", "bytes=--1", "bytes=0-1-2", "bytes=99999999999999999999-"}) {
        auto res = get("/a.txt", {{"Range", range}});
        BOOST_TEST(res.status == 200, range);
        BOOST_TEST(body_of(res) == "hello, static\n", range);
        BOOST_TEST(!res.headers.contains("content-range"), range);
    }
}

BOOST_FIXTURE_TEST_CASE(head_ignores_range, fixture) {
    auto res = call(handler(), "/a.txt", {{"Range", "bytes=0-4"}}, "HEAD");
    BOOST_TEST(res.status == 200);
    BOOST_TEST(*res.body_source.length == 14u);
}

BOOST_FIXTURE_TEST_CASE(if_range_serves_the_range_only_while_the_file_is_unchanged, fixture) {
    set_mtime(root / "a.txt", 1'577'836'800);
    const std::string etag = header(get("/a.txt"), "etag");
    auto ranged = [&](std::string if_range) {
        return get("/a.txt", {{"Range", "bytes=0-4"}, {"If-Range", std::move(if_range)}}).status;
    };
    BOOST_TEST(ranged(etag) == 206);
    BOOST_TEST(ranged("Wed, 01 Jan 2020 00:00:00 GMT") == 206);
    BOOST_TEST(ranged("\"other\"") == 200);
    BOOST_TEST(ranged("W/" + etag) == 200);  // If-Range compares strongly
    BOOST_TEST(ranged("Thu, 02 Jan 2020 00:00:00 GMT") == 200);
    BOOST_TEST(ranged("not a date") == 200);
}

// --- Safety -------------------------------------------------------------------------

BOOST_FIXTURE_TEST_CASE(no_request_reaches_a_file_outside_the_root, fixture) {
    struct row {
        std::string path;
        int status;
    };
    const std::string long_segment(300, 'a');
    std::string long_path;
    while (long_path.size() < 5000)
        long_path += "/sub";
    const std::vector<row> cases = {
        {"/../outside/secret.txt", 404},
        {"/sub/../../outside/secret.txt", 404},
        {"/%2e%2e/outside/secret.txt", 404},
        {"/%2E%2E/outside/secret.txt", 404},
        {"/.%2e/outside/secret.txt", 404},
        {"/%2e./outside/secret.txt", 404},
        // Decoded once: a name "%2e%2e" (a file here, so not a directory).
        {"/%252e%252e/outside/secret.txt", 404},
        {"/%25252e%25252e/outside/secret.txt", 404},
        {"/..%2foutside%2fsecret.txt", 404},
        {"/sub%2f..%2f..%2foutside%2fsecret.txt", 404},
        {"/..\\outside\\secret.txt", 404},
        {"/..%5coutside%5csecret.txt", 404},
        {"/..%5Coutside/secret.txt", 404},
        {"/%c0%ae%c0%ae/outside/secret.txt", 404},  // overlong UTF-8 is bytes, not dots
        {"/..;/outside/secret.txt", 404},
        {"/a.txt%00.html", 400},
        {"/%00", 400},
        {"/..%00/outside/secret.txt", 400},
        {"/a.txt%0a", 400},
        {"/%", 400},
        {"/%2", 400},
        {"/%zz", 400},
        {"//etc/passwd", 404},
        {"/%2fetc/passwd", 404},
        {"/./a.txt", 404},
        {"/sub/./b.css", 404},
        {"/sub//b.css", 404},
        {"/a.txt/", 404},
        {"/a.txt/..", 404},
        {"/link_out", 404},
        {"/link_dir/secret.txt", 404},
        {"/link_dir/", 404},
        {"/link_dir", 404},
        {"/link_etc/passwd", 404},
        {"/link_etc/", 404},
        {"/link_loop", 404},
        {"/link_proc/etc/hostname", 404},
        {"/" + long_segment, 404},
        {long_path + "/a.txt", 404},
        {"/" + tmp.string() + "/outside/secret.txt", 404},
    };
    BOOST_TEST(cases.size() >= 20u);
    std::filesystem::create_symlink("link_loop", root / "link_loop");
    std::filesystem::create_symlink("/proc/self/root", root / "link_proc");
    auto h = handler();
    // A refusal for leading outside reads exactly as a missing file does.
    BOOST_TEST(call(h, "/link_out").body == call(h, "/missing").body);
    for (const auto& [path, status] : cases) {
        auto res = call(h, path);
        BOOST_TEST(res.status == status, path);
        BOOST_TEST(!res.body_source, path);
        BOOST_TEST(res.body.find("SECRET") == std::string::npos, path);
        BOOST_TEST(res.body.find("root:") == std::string::npos, path);
        BOOST_TEST(header(res, "content-type") == "text/plain; charset=utf-8", path);
    }
}

BOOST_FIXTURE_TEST_CASE(a_symlink_inside_the_root_to_a_file_inside_is_served, fixture) {
    auto res = get("/link_in");
    BOOST_TEST(res.status == 200);
    BOOST_TEST(body_of(res) == "hello, static\n");
}

BOOST_FIXTURE_TEST_CASE(an_absolute_symlink_is_refused_even_when_it_points_inside, fixture) {
    // RESOLVE_BENEATH refuses absolute symlinks outright (documented).
    BOOST_TEST(get("/link_abs_in").status == 404);
    BOOST_TEST(call(handler({.follow_symlinks_outside_root = true}), "/link_abs_in").status == 200);
}

BOOST_FIXTURE_TEST_CASE(symlinks_outside_are_followed_only_with_the_option, fixture) {
    auto h = handler({.follow_symlinks_outside_root = true});
    auto file = call(h, "/link_out");
    BOOST_TEST(file.status == 200);
    BOOST_TEST(body_of(file) == secret);
    auto through_dir = call(h, "/link_dir/secret.txt");
    BOOST_TEST(through_dir.status == 200);
    BOOST_TEST(body_of(through_dir) == secret);
    if (std::filesystem::is_regular_file("/etc/hostname"))
        BOOST_TEST(call(h, "/link_etc/hostname").status == 200);
    // The request's own path still cannot climb out, nor a link through
    // /proc's magic links (RESOLVE_NO_MAGICLINKS).
    std::filesystem::create_symlink("/proc/self/root", root / "link_proc");
    for (std::string path : {"/../outside/secret.txt", "/%2e%2e/outside/secret.txt",
                             "/link_dir/../a.txt", "/link_proc/etc/hostname"}) {
        auto res = call(h, path);
        BOOST_TEST(res.status == 404, path);
        BOOST_TEST(!res.body_source, path);
    }
}

BOOST_AUTO_TEST_SUITE_END()

// vow's WebSocket against Python's websockets (Debian's python3-websockets,
// run by /usr/bin/python3), both ways, on loopback: a vow ws_endpoint on an
// http_server with websockets as its client, and ws_connect against a
// websockets server. The peer is tests/ws/peer.py, which echoes every
// message and obeys commands sent as text ("!ping x", "!close 3001 bye",
// "!describe": see its docstring), so that each test drives both ends from
// vow's side, in straight-line code, and the same checks (the fixture's
// check_* helpers, which take vow's end) run from both sides.
//
// Where python3-websockets is missing it is installed with apt-get (as
// root, once per process); where it cannot be, every case is skipped,
// saying why (needs_websockets).
#include <vow/net/http/server.hpp>
#include <vow/net/ws/client.hpp>
#include <vow/net/ws/connection.hpp>
#include <vow/net/ws/server.hpp>
#include <vow/promise/promise.hpp>

#include <boost/test/unit_test.hpp>
#include <child_process.hpp>
#include <net_fixture.hpp>

#include <chrono>
#include <cstdlib>
#include <memory>
#include <optional>
#include <ostream>
#include <stdexcept>
#include <string>
#include <unistd.h>
#include <vector>

#ifndef VOW_WS_TEST_SOURCE_DIR
#error "tests/ws/meson.build defines VOW_WS_TEST_SOURCE_DIR (where peer.py is)"
#endif
#ifndef VOW_WS_TEST_PYTHON
#error "tests/ws/meson.build defines VOW_WS_TEST_PYTHON (the python3 python3-websockets is for)"
#endif

namespace vow::net {
// BOOST_TEST prints a message that differs: its type and up to 60 bytes.
inline std::ostream& operator<<(std::ostream& os, ws_message_type t) {
    return os << (t == ws_message_type::text ? "text" : "binary");
}
inline std::ostream& operator<<(std::ostream& os, const ws_message& m) {
    return os << m.type << " " << m.data.size() << " bytes '" << m.data.substr(0, 60)
              << (m.data.size() > 60 ? "...'" : "'");
}
}  // namespace vow::net

BOOST_AUTO_TEST_SUITE(interop_test)

using namespace std::chrono_literals;
using vow::net::ws_closed;
using vow::net::ws_connection;
using vow::net::ws_message;
using vow::test::error_as;
using vow::test::pattern;

namespace {

constexpr std::size_t mib = 1024 * 1024;

// Why peer.py cannot run here, or "" if it can: Debian's python3 must
// import websockets' legacy client and server (the API peer.py uses; 10.x
// has them, and later versions keep them). Found missing, as root,
// python3-websockets is installed with apt-get first (after an apt-get
// update if the install alone fails), once per test process.
const std::string& peer_unavailable() {
    static const std::string why = []() -> std::string {
        const std::string python = VOW_WS_TEST_PYTHON;
        const std::string check =
            python + " -c 'import websockets.legacy.client, websockets.legacy.server' 2>/dev/null";
        if (std::system(check.c_str()) == 0)
            return {};
        if (::geteuid() != 0 || !vow::test::have_program("apt-get"))
            return python + " cannot import websockets, and only root can apt-get install it";
        BOOST_TEST_MESSAGE("installing python3-websockets with apt-get, for " << python);
        const std::string apt =
            "DEBIAN_FRONTEND=noninteractive apt-get -qq -o DPkg::Lock::Timeout=60 ";
        const std::string install =
            apt + "install -y --no-install-recommends python3-websockets >/dev/null 2>&1";
        if (std::system(install.c_str()) != 0) {
            const int rc = std::system((apt + "update >/dev/null 2>&1 && " + install).c_str());
            (void)rc;  // the import below says whether it worked
        }
        if (std::system(check.c_str()) == 0)
            return {};
        return "apt-get install python3-websockets did not make websockets importable by " + python;
    }();
    return why;
}

// A Boost.Test precondition: skips the case, saying why, where peer.py
// cannot run.
auto needs_websockets() {
    return boost::unit_test::precondition([](boost::unit_test::test_unit_id) {
        boost::test_tools::assertion_result ok(peer_unavailable().empty());
        if (!ok)
            ok.message() << "skipped: the peer, Python's websockets, cannot run: "
                         << peer_unavailable();
        return ok;
    });
}

// peer.py as a child process whose output the reactor reads: the test
// waits for the peer's next line (or its exit) with wait(), and vow's end
// of the connection keeps working meanwhile. Killed when destroyed.
class python_peer {
public:
    python_peer(vow::reactor& r, const std::vector<std::string>& args) : r_(r), proc_(argv(args)) {
        watch_ = r_.add_reader(proc_.output_fd(), [this] { on_readable(); });
    }
    ~python_peer() { watch_.cancel(); }
    python_peer(const python_peer&) = delete;
    python_peer& operator=(const python_peer&) = delete;

    // The next whole line the peer prints, without its newline. Rejects if
    // its output ends first. One wait at a time.
    vow::future<std::string> next_line() {
        auto f = line_waiter_.emplace(r_).get_future();
        settle();
        return f;
    }
    // Its exit status, once its output has ended and it has exited (-1 if a
    // signal ended it).
    vow::future<int> exit_status() {
        auto f = exit_waiter_.emplace(r_).get_future();
        settle();
        return f;
    }
    [[nodiscard]] const std::string& output() const noexcept { return proc_.output(); }

private:
    static std::vector<std::string> argv(const std::vector<std::string>& args) {
        // -u: every line reaches the test as it is printed; -X utf8: so do
        // non-ASCII ones, whatever the locale.
        std::vector<std::string> v = {VOW_WS_TEST_PYTHON, "-u", "-X", "utf8",
                                      std::string(VOW_WS_TEST_SOURCE_DIR) + "/peer.py"};
        v.insert(v.end(), args.begin(), args.end());
        return v;
    }

    void on_readable() {
        if (!proc_.read_available()) {
            watch_.cancel();
            status_ = proc_.wait_exit(5s);
        }
        settle();
    }

    void settle() {
        if (line_waiter_) {
            const auto nl = proc_.output().find('\n', consumed_);
            if (nl != std::string::npos) {
                auto line = proc_.output().substr(consumed_, nl - consumed_);
                consumed_ = nl + 1;
                take(line_waiter_).resolve(std::move(line));
            } else if (status_) {
                take(line_waiter_)
                    .reject(std::make_exception_ptr(std::runtime_error(
                        "peer.py's output ended (exit status " + std::to_string(*status_) +
                        ") without the line awaited; all of it:\n" + proc_.output())));
            }
        }
        if (exit_waiter_ && status_)
            take(exit_waiter_).resolve(*status_);
    }

    template <class T>
    static vow::promise<T> take(std::optional<vow::promise<T>>& p) {
        auto out = std::move(*p);
        p.reset();
        return out;
    }

    vow::reactor& r_;
    vow::test::child_process proc_;
    vow::handle watch_;
    std::size_t consumed_ = 0;  // output handed out as lines
    std::optional<int> status_;
    std::optional<vow::promise<std::string>> line_waiter_;
    std::optional<vow::promise<int>> exit_waiter_;
};

struct interop_fixture : vow::test::net_fixture {
    std::unique_ptr<python_peer> peer;

    // ---- vow as the server, websockets as the client ----------------------

    std::optional<vow::net::http_server> server;
    std::optional<vow::net::ws_endpoint> endpoint;
    std::vector<std::string> origins;  // the Origin of each request the endpoint opened
    std::optional<vow::promise<ws_connection>> open_waiter;

    // A vow http_server on 127.0.0.1 (a free port) with a ws_endpoint at
    // "/" made with `opts` (replacing the one before, if any).
    void serve(vow::net::ws_server_options opts = {}) {
        endpoint.reset();
        server.reset();
        server.emplace(r, "127.0.0.1", 0);
        endpoint.emplace(
            *server, "/",
            [this](ws_connection c, const vow::net::http_request& req) {
                origins.emplace_back(req.headers.get("Origin").value_or("-"));
                if (open_waiter) {
                    auto p = std::move(*open_waiter);
                    open_waiter.reset();
                    p.resolve(std::move(c));
                }
            },
            std::move(opts));
    }

    // peer.py as a client of the server (`args`: --compression,
    // --subprotocols, --origin).
    python_peer& run_client(std::vector<std::string> args = {}) {
        std::vector<std::string> all = {"client",
                                        "ws://127.0.0.1:" + std::to_string(server->port()) + "/"};
        all.insert(all.end(), args.begin(), args.end());
        peer = std::make_unique<python_peer>(r, all);
        return *peer;
    }

    // A server made with `opts` and peer.py connected to it with `args`:
    // vow's end, once open. The peer's "open ..." line is next.
    ws_connection accept_client(std::vector<std::string> args = {},
                                vow::net::ws_server_options opts = {}) {
        serve(std::move(opts));
        auto opened = open_waiter.emplace(r).get_future();
        run_client(std::move(args));
        return wait(std::move(opened));
    }

    // The client's end: it printed how the connection closed, and exits 0.
    void client_exits_cleanly() { BOOST_TEST(wait(peer->exit_status()) == 0, peer->output()); }

    // ---- vow as the client, websockets as the server ----------------------

    std::uint16_t python_port = 0;

    // peer.py serving (`args`: --compression, --subprotocols); its port.
    void python_server(std::vector<std::string> args = {}) {
        args.insert(args.begin(), "serve");
        peer = std::make_unique<python_peer>(r, args);
        const auto line = wait(peer->next_line());
        BOOST_REQUIRE_MESSAGE(line.starts_with("listening on "),
                              "peer.py serve did not start: " << peer->output());
        python_port = static_cast<std::uint16_t>(std::stoi(line.substr(13)));
    }

    std::string python_url(const std::string& path) {
        return "ws://127.0.0.1:" + std::to_string(python_port) + path;
    }

    // ws_connect to the peer's `path`; its "open PATH ..." line is next.
    ws_connection connect(const std::string& path = "/", vow::net::ws_connect_options opts = {}) {
        return wait(vow::net::ws_connect(r, python_url(path), std::move(opts)));
    }

    // ---- the checks both directions share: `c` is vow's end ---------------

    // Sends `m`; the peer's answer (the echo, unless `m` was a command).
    ws_message ask(ws_connection& c, const ws_message& m) {
        wait(c.send(m));
        return wait(c.receive());
    }
    ws_message ask(ws_connection& c, const std::string& command) {
        return ask(c, ws_message::text(command));
    }

    // What the peer says of `m` as it arrived (its frames and compression),
    // after checking that its echo of `m` came back whole.
    std::string describe(ws_connection& c, const ws_message& m) {
        wait(c.send_text("!describe"));
        auto said = ask(c, m);
        auto echo = wait(c.receive());
        BOOST_TEST(echo.type == m.type);
        BOOST_TEST((echo.data == m.data), "the echo of " << m << " came back as " << echo);
        BOOST_TEST(said.is_text());
        return said.data;
    }

    void check_text_and_binary(ws_connection& c) {
        for (const auto& m :
             {ws_message::text("hello, websockets \xE2\x9C\x93"), ws_message::text(""),
              ws_message::binary(std::string("\x00\x01\xFE\xFF", 4)), ws_message::binary("")})
            BOOST_TEST(ask(c, m) == m);
        std::string all_bytes;
        for (int i = 0; i < 256; ++i)
            all_bytes.push_back(static_cast<char>(i));
        BOOST_TEST(describe(c, ws_message::text("h\xC3\xA9llo")) ==
                   "text \"h\xC3\xA9llo\" in 1 frame");
        BOOST_TEST(describe(c, ws_message::binary(all_bytes.substr(0, 8))) ==
                   "binary 0001020304050607 in 1 frame");
        BOOST_TEST(ask(c, ws_message::binary(all_bytes)) == ws_message::binary(all_bytes));
    }

    void check_1_mib_messages(ws_connection& c) {
        BOOST_TEST(describe(c, ws_message::binary(pattern(mib, 1))) ==
                   "binary 1048576 bytes = pattern 1 in 1 frame");
        auto m = ask(c, "!pattern 1048576 2");
        BOOST_TEST(m.is_binary());
        BOOST_TEST((m.data == pattern(mib, 2)), "received " << m);
        // Text of multi-byte characters, which the reads split.
        const std::string words = "vow \xE2\x9C\x93 websockets \xC3\xBC ";
        std::string text;
        while (text.size() + words.size() <= mib)
            text += words;
        text.resize(mib, '.');
        BOOST_TEST(describe(c, ws_message::text(text)) == "text 1048576 bytes in 1 frame");
    }

    // `c` sends with fragment_size 1000.
    void check_fragments(ws_connection& c) {
        std::string ticks;  // 834 x U+2713: 2502 bytes, fragments that split characters
        for (int i = 0; i < 834; ++i)
            ticks += "\xE2\x9C\x93";
        BOOST_TEST(describe(c, ws_message::text(ticks)) == "text 2502 bytes in 3 frames");
        BOOST_TEST(describe(c, ws_message::binary(pattern(1000, 3))) ==
                   "binary 1000 bytes = pattern 3 in 1 frame");
        BOOST_TEST(describe(c, ws_message::binary(pattern(1001, 3))) ==
                   "binary 1001 bytes = pattern 3 in 2 frames");
        BOOST_TEST(ask(c, "!fragments text") == ws_message::text("fragmented t\xC3\xABxt"));
        BOOST_TEST(ask(c, "!fragments binary") ==
                   ws_message::binary(std::string("\x00\x01\x02\x03\x04\x05", 6)));
        // A ping inside a fragmented message is answered there and then.
        BOOST_TEST(ask(c, "!fragments ping") == ws_message::text("fragmented"));
    }

    void check_pings(ws_connection& c) {
        wait(c.ping("vow-ping"));  // resolves on the peer's pong
        BOOST_TEST(ask(c, "!pings") == ws_message::text("pings: 'vow-ping'"));
        // The peer reports its ping answered: vow's pong carried its payload.
        BOOST_TEST(ask(c, "!ping py-ping") == ws_message::text("pong py-ping"));
        BOOST_TEST(c.is_open());
    }

    // vow closes with 4001 "bye": the peer sees exactly that.
    void check_vow_closes(ws_connection& c) {
        BOOST_TEST(ask(c, "before the close") == ws_message::text("before the close"));
        wait(c.close(4001, "bye"));
        BOOST_TEST(c.close_code().value_or(0) == 4001);
        auto e = error_as<ws_closed>(wait_error(c.receive()));
        BOOST_TEST(e.code() == 4001);
        BOOST_TEST(e.reason() == "bye");
        BOOST_TEST(wait(peer->next_line()) == "closed: received 4001 'bye'");
    }

    // The peer closes with `code` and `reason`: receive() rejects with them,
    // and the peer sees its code answered.
    void check_peer_closes(ws_connection& c, std::uint16_t code, const std::string& reason) {
        wait(c.send_text("!close " + std::to_string(code) + " " + reason));
        auto e = error_as<ws_closed>(wait_error(c.receive()));
        BOOST_TEST(e.code() == code);
        BOOST_TEST(e.reason() == reason);
        BOOST_TEST(c.close_code().value_or(0) == code);
        BOOST_TEST(c.close_reason() == reason);
        BOOST_TEST(!c.is_open());
        const auto line = wait(peer->next_line());
        const auto expected = "closed: sent " + std::to_string(code) + " '" + reason +
                              "', received " + std::to_string(code) + " ";
        BOOST_TEST(line.starts_with(expected), line);
    }

    // The peer echoes two messages, then closes with `code`: for_each_message
    // sees both, and resolves if the close was normal or rejects with it.
    void check_for_each_message_until_peer_closes(ws_connection& c, std::uint16_t code) {
        wait(c.send_text("one"));
        wait(c.send_binary("two"));
        wait(c.send_text("!close " + std::to_string(code) + " done"));
        std::vector<ws_message> got;
        auto loop = c.for_each_message([&got](ws_message m) { got.push_back(std::move(m)); });
        if (code == vow::net::ws_close::normal) {
            wait(std::move(loop));
        } else {
            auto e = error_as<ws_closed>(wait_error(std::move(loop)));
            BOOST_TEST(e.code() == code);
            BOOST_TEST(e.reason() == "done");
        }
        BOOST_TEST_REQUIRE(got.size() == 2u);
        BOOST_TEST(got[0] == ws_message::text("one"));
        BOOST_TEST(got[1] == ws_message::binary("two"));
        BOOST_TEST(c.close_code().value_or(0) == code);
        BOOST_TEST(wait(peer->next_line())
                       .starts_with("closed: sent " + std::to_string(code) + " 'done'"));
    }

    // permessage-deflate is on, and `c` sends with fragment_size 64 KiB
    // and compresses messages of `min_size` bytes or more.
    void check_deflate_on(ws_connection& c, std::size_t min_size = 64) {
        BOOST_TEST(c.deflate());
        std::string prose;
        while (prose.size() < 100000)
            prose += "vow compresses what it sends when both sides agree. ";
        prose.resize(100000);
        // websockets' echoes are compressed too (it compresses every
        // message): that they come back whole shows vow inflates them.
        BOOST_TEST(describe(c, ws_message::text(prose)) ==
                   "text 100000 bytes in 1 frame, compressed");
        // Under ws_deflate_options::min_size, sent as they are.
        const std::string small = min_size > 4 ? "" : ", compressed";
        BOOST_TEST(describe(c, ws_message::text("tiny")) == "text \"tiny\" in 1 frame" + small);
        BOOST_TEST(describe(c, ws_message::text("")) == "text \"\" in 1 frame" + small);
        BOOST_TEST(describe(c, ws_message::binary("")) == "binary (empty) in 1 frame" + small);
        // Incompressible: a little over 1 MiB compressed, so 17 fragments.
        BOOST_TEST(describe(c, ws_message::binary(pattern(mib, 1))) ==
                   "binary 1048576 bytes = pattern 1 in 17 frames, compressed");
        auto m = ask(c, "!pattern 1048576 2");
        BOOST_TEST((m.data == pattern(mib, 2)), "received " << m);
        // Compressed fragments from websockets: RSV1 on the first only.
        BOOST_TEST(ask(c, "!fragments text") == ws_message::text("fragmented t\xC3\xABxt"));
        BOOST_TEST(ask(c, "!fragments binary") ==
                   ws_message::binary(std::string("\x00\x01\x02\x03\x04\x05", 6)));
    }

    void check_deflate_off(ws_connection& c) {
        BOOST_TEST(!c.deflate());
        const std::string prose(1000, 'z');
        BOOST_TEST(describe(c, ws_message::text(prose)) == "text 1000 bytes in 1 frame");
    }

    // `c` takes messages up to 64 KiB: a longer one from the peer (sent as
    // `command` says) closes the connection with 1009, which the peer sees.
    // A message of exactly 64 KiB still arrives (with "!pattern" or
    // "!text" as `command` begins).
    void check_too_big(ws_connection& c, const std::string& command) {
        const auto at_limit = command.substr(0, command.find(' ')) + " 65536" +
                              (command.starts_with("!pattern") ? " 1" : "");
        const auto m = ask(c, at_limit);
        BOOST_TEST(m.data.size() == 65536u);
        BOOST_TEST((m.data == (m.is_binary() ? pattern(65536, 1) : std::string(65536, 'a'))));
        wait(c.send_text(command));
        auto e = error_as<vow::net::ws_error>(wait_error(c.receive()));
        BOOST_TEST(e.code() == vow::net::ws_close::message_too_big, e.what());
        BOOST_TEST(c.close_code().value_or(0) == vow::net::ws_close::message_too_big);
        const auto line = wait(peer->next_line());
        BOOST_TEST(line.starts_with("closed: received 1009 "), line);
    }

    // `c` pings after 100 ms without a byte from the peer
    // (ws_options::ping_interval): the peer answers, and `c` stays open.
    // Returns how many keepalive pings the peer saw.
    std::size_t check_keepalive(ws_connection& c, std::chrono::milliseconds quiet = 500ms) {
        settle(quiet);
        BOOST_TEST(c.is_open());
        const auto m = ask(c, "!pings");
        BOOST_TEST(m.data.starts_with("pings: 'vow-keepalive'"), m.data);
        BOOST_TEST(c.is_open());
        std::size_t n = 0;
        for (auto at = m.data.find("vow-keepalive"); at != std::string::npos;
             at = m.data.find("vow-keepalive", at + 1))
            ++n;
        return n;
    }

    // `c` has an idle_timeout and no keepalive: the peer, which sends
    // nothing unasked, gets 1001 "idle timeout".
    void check_idle_timeout(ws_connection& c) {
        auto e = error_as<ws_closed>(wait_error(c.receive()));
        BOOST_TEST(e.code() == vow::net::ws_close::going_away);
        BOOST_TEST(e.reason() == "idle timeout");
        BOOST_TEST(wait(peer->next_line()) == "closed: received 1001 'idle timeout'");
    }

    // A normal close from vow's side; the peer reports it.
    void close_normally(ws_connection& c) {
        wait(c.close());
        BOOST_TEST(c.close_code().value_or(0) == vow::net::ws_close::normal);
        BOOST_TEST(wait(peer->next_line()) == "closed: received 1000 ''");
    }
};

vow::net::ws_server_options with_fragments(std::size_t n) {
    vow::net::ws_server_options o;
    o.ws.fragment_size = n;
    return o;
}

// Keepalive pings after 100 ms of silence, or none and an idle timeout of
// 300 ms.
vow::net::ws_options keepalive() {
    vow::net::ws_options o;
    o.ping_interval = 100ms;
    o.ping_timeout = 5s;
    return o;
}
vow::net::ws_options idle_timeout() {
    vow::net::ws_options o;
    o.ping_interval = std::nullopt;
    o.idle_timeout = 300ms;
    return o;
}

vow::net::ws_server_options with_deflate() {
    vow::net::ws_server_options o;
    o.ws.deflate = vow::net::ws_deflate_options{};
    o.ws.fragment_size = 64 * 1024;
    return o;
}

}  // namespace

// ---- vow server, websockets client ----------------------------------------

BOOST_FIXTURE_TEST_CASE(a_vow_server_and_a_websockets_client_exchange_text_and_binary,
                        interop_fixture, *needs_websockets()) {
    auto c = accept_client();
    BOOST_TEST(wait(peer->next_line()) == "open subprotocol=- extensions=-");
    check_text_and_binary(c);
    close_normally(c);
    client_exits_cleanly();
}

BOOST_FIXTURE_TEST_CASE(a_vow_server_and_a_websockets_client_exchange_1_mib_messages,
                        interop_fixture, *needs_websockets()) {
    auto c = accept_client();
    BOOST_TEST(wait(peer->next_line()) == "open subprotocol=- extensions=-");
    check_1_mib_messages(c);
    close_normally(c);
    client_exits_cleanly();
}

BOOST_FIXTURE_TEST_CASE(a_vow_server_reassembles_websockets_fragments_and_sends_its_own,
                        interop_fixture, *needs_websockets()) {
    auto c = accept_client({}, with_fragments(1000));
    BOOST_TEST(wait(peer->next_line()) == "open subprotocol=- extensions=-");
    check_fragments(c);
    close_normally(c);
    client_exits_cleanly();
}

BOOST_FIXTURE_TEST_CASE(a_vow_server_answers_a_websockets_ping_and_gets_its_own_answered,
                        interop_fixture, *needs_websockets()) {
    auto c = accept_client();
    BOOST_TEST(wait(peer->next_line()) == "open subprotocol=- extensions=-");
    check_pings(c);
    close_normally(c);
    client_exits_cleanly();
}

BOOST_FIXTURE_TEST_CASE(a_websockets_client_sees_the_code_and_reason_a_vow_server_closes_with,
                        interop_fixture, *needs_websockets()) {
    auto c = accept_client();
    BOOST_TEST(wait(peer->next_line()) == "open subprotocol=- extensions=-");
    check_vow_closes(c);
    client_exits_cleanly();
}

BOOST_FIXTURE_TEST_CASE(
    a_vow_server_receive_rejects_with_the_code_and_reason_a_websockets_client_closes_with,
    interop_fixture, *needs_websockets()) {
    for (auto [code, reason] :
         {std::pair<std::uint16_t, std::string>{1000, "done"}, {3001, "py-bye \xE2\x9C\x93"}}) {
        auto c = accept_client();
        BOOST_TEST(wait(peer->next_line()) == "open subprotocol=- extensions=-");
        check_peer_closes(c, code, reason);
        client_exits_cleanly();
    }
}

BOOST_FIXTURE_TEST_CASE(
    for_each_message_on_a_vow_server_ends_normally_at_a_websockets_1000_and_rejects_at_3001,
    interop_fixture, *needs_websockets()) {
    for (std::uint16_t code : {1000, 3001}) {
        auto c = accept_client();
        BOOST_TEST(wait(peer->next_line()) == "open subprotocol=- extensions=-");
        check_for_each_message_until_peer_closes(c, code);
        client_exits_cleanly();
    }
}

BOOST_FIXTURE_TEST_CASE(a_vow_server_and_a_websockets_client_compress_with_permessage_deflate,
                        interop_fixture, *needs_websockets()) {
    auto c = accept_client({}, with_deflate());
    BOOST_TEST(wait(peer->next_line()) == "open subprotocol=- extensions=permessage-deflate");
    check_deflate_on(c);
    close_normally(c);
    client_exits_cleanly();
}

BOOST_FIXTURE_TEST_CASE(
    a_vow_server_with_small_windows_no_context_takeover_and_no_min_size_compresses_with_websockets,
    interop_fixture, *needs_websockets()) {
    auto o = with_deflate();
    o.ws.deflate = vow::net::ws_deflate_options{
        .min_size = 0, .no_context_takeover = true, .max_window_bits = 10};
    auto c = accept_client({}, o);
    BOOST_TEST(wait(peer->next_line()) ==
               "open subprotocol=- extensions=permessage-deflate; "
               "server_no_context_takeover; client_no_context_takeover; "
               "server_max_window_bits=10");
    check_deflate_on(c, 0);
    check_deflate_on(c, 0);  // a second time: each message starts from an empty window
    close_normally(c);
    client_exits_cleanly();
}

BOOST_FIXTURE_TEST_CASE(
    a_vow_server_closes_with_1009_at_a_websockets_message_over_its_limit_even_compressed,
    interop_fixture, *needs_websockets()) {
    vow::net::ws_server_options o;
    o.ws.max_message_bytes = 64 * 1024;
    auto c = accept_client({}, o);
    BOOST_TEST(wait(peer->next_line()) == "open subprotocol=- extensions=-");
    check_too_big(c, "!pattern 100000 1");
    client_exits_cleanly();
    // 1 MiB that deflates to about 1 KiB: inflating stops at the limit.
    o.ws.deflate = vow::net::ws_deflate_options{};
    c = accept_client({}, o);
    BOOST_TEST(wait(peer->next_line()) == "open subprotocol=- extensions=permessage-deflate");
    check_too_big(c, "!text 1048576");
    client_exits_cleanly();
}

BOOST_FIXTURE_TEST_CASE(
    permessage_deflate_stays_off_unless_both_a_vow_server_and_websockets_want_it, interop_fixture,
    *needs_websockets()) {
    // The client offers it, the server does not accept it.
    auto c = accept_client();
    BOOST_TEST(wait(peer->next_line()) == "open subprotocol=- extensions=-");
    check_deflate_off(c);
    close_normally(c);
    client_exits_cleanly();
    // The server would accept it, the client does not offer it.
    c = accept_client({"--compression", "none"}, with_deflate());
    BOOST_TEST(wait(peer->next_line()) == "open subprotocol=- extensions=-");
    check_deflate_off(c);
    close_normally(c);
    client_exits_cleanly();
}

BOOST_FIXTURE_TEST_CASE(a_vow_server_picks_its_preferred_subprotocol_of_those_websockets_offers,
                        interop_fixture, *needs_websockets()) {
    vow::net::ws_server_options o;
    o.subprotocols = {"chat.v2", "chat.v1"};
    auto c = accept_client({"--subprotocols", "chat.v1,chat.v2"}, o);
    BOOST_TEST(wait(peer->next_line()) == "open subprotocol=chat.v2 extensions=-");
    BOOST_TEST(c.subprotocol() == "chat.v2");
    BOOST_TEST(ask(c, "in chat.v2") == ws_message::text("in chat.v2"));
    close_normally(c);
    client_exits_cleanly();
    // None in common: no subprotocol...
    c = accept_client({"--subprotocols", "other"}, o);
    BOOST_TEST(wait(peer->next_line()) == "open subprotocol=- extensions=-");
    BOOST_TEST(c.subprotocol() == "");
    close_normally(c);
    client_exits_cleanly();
    // ...or a refusal, when the endpoint requires one.
    o.require_subprotocol = true;
    serve(o);
    run_client({"--subprotocols", "other"});
    BOOST_TEST(wait(peer->next_line()) == "refused 400");
    client_exits_cleanly();
    BOOST_TEST(endpoint->connections() == 0u);
}

BOOST_FIXTURE_TEST_CASE(a_vow_server_refuses_an_origin_its_check_refuses_with_403, interop_fixture,
                        *needs_websockets()) {
    vow::net::ws_server_options o;
    o.check_origin = [](std::string_view origin, const vow::net::http_request&) {
        return origin == "https://good.example";
    };
    serve(o);
    run_client({"--origin", "https://evil.example"});
    BOOST_TEST(wait(peer->next_line()) == "refused 403");
    client_exits_cleanly();
    BOOST_TEST(origins.empty());  // the open handler never ran
    auto c = accept_client({"--origin", "https://good.example"}, o);
    BOOST_TEST(wait(peer->next_line()) == "open subprotocol=- extensions=-");
    BOOST_TEST(origins == std::vector<std::string>{"https://good.example"});
    close_normally(c);
    client_exits_cleanly();
}

BOOST_FIXTURE_TEST_CASE(a_vow_server_keeps_a_websockets_client_alive_with_pings_and_closes_it_idle,
                        interop_fixture, *needs_websockets()) {
    vow::net::ws_server_options o;
    o.ws = keepalive();
    auto c = accept_client({}, o);
    BOOST_TEST(wait(peer->next_line()) == "open subprotocol=- extensions=-");
    (void)check_keepalive(c);
    close_normally(c);
    client_exits_cleanly();
    o.ws = idle_timeout();
    c = accept_client({}, o);
    BOOST_TEST(wait(peer->next_line()) == "open subprotocol=- extensions=-");
    check_idle_timeout(c);
    client_exits_cleanly();
}

// A keepalive ping's pong brings the next ping forward: the next one goes
// out ping_interval after the last byte from the peer, not ping_timeout
// after the last ping (with a 100 ms interval and a 5 s timeout, about 6
// pings in 700 ms of silence, not 1).
BOOST_FIXTURE_TEST_CASE(keepalive_pings_go_out_every_ping_interval_while_websockets_answers,
                        interop_fixture, *needs_websockets()) {
    vow::net::ws_server_options o;
    o.ws = keepalive();
    auto c = accept_client({}, o);
    BOOST_TEST(wait(peer->next_line()) == "open subprotocol=- extensions=-");
    const auto pings = check_keepalive(c, 700ms);
    BOOST_TEST(pings >= 3u, "websockets saw " << pings << " keepalive pings in 700 ms");
    close_normally(c);
    client_exits_cleanly();
}

// close() ends at the peer's answer even when max_queue messages wait
// unreceived: while closing, the reader reads past a full queue to the
// peer's close frame. Its reason (websockets echoes the code and reason)
// shows that the answer arrived; the close timeout, which would end the
// wait without it, is longer than the test's watchdog.
BOOST_FIXTURE_TEST_CASE(close_ends_at_the_websockets_answer_even_with_a_full_receive_queue,
                        interop_fixture, *needs_websockets()) {
    vow::net::ws_server_options o;
    o.ws.close_timeout = 120s;
    auto c = accept_client({}, o);
    BOOST_TEST(wait(peer->next_line()) == "open subprotocol=- extensions=-");
    for (int i = 0; i < 20; ++i)
        wait(c.send_text("unreceived " + std::to_string(i)));
    settle(200ms);  // the echoes arrive, and fill the queue
    wait(c.close(4001, "bye"));
    BOOST_TEST(c.close_reason() == "bye");   // the peer's close frame was read
    BOOST_TEST(wait(peer->next_line()) == "closed: received 4001 'bye'");
    client_exits_cleanly();
}

BOOST_FIXTURE_TEST_CASE(a_vow_server_shutting_down_says_1001_going_away_to_a_websockets_client,
                        interop_fixture, *needs_websockets()) {
    auto c = accept_client();
    BOOST_TEST(wait(peer->next_line()) == "open subprotocol=- extensions=-");
    auto done = server->shutdown(5s);
    BOOST_TEST(wait(peer->next_line()) == "closed: received 1001 'server shutting down'");
    wait(std::move(done));
    BOOST_TEST(c.close_code().value_or(0) == vow::net::ws_close::going_away);
    client_exits_cleanly();
}

// ---- vow client, websockets server -----------------------------------------

BOOST_FIXTURE_TEST_CASE(a_vow_client_and_a_websockets_server_exchange_text_and_binary,
                        interop_fixture, *needs_websockets()) {
    python_server();
    auto c = connect("/chat?room=1");
    BOOST_TEST(wait(peer->next_line()) ==
               "open /chat?room=1 subprotocol=- extensions=- x-vow-test=- origin=-");
    check_text_and_binary(c);
    close_normally(c);
}

BOOST_FIXTURE_TEST_CASE(a_vow_client_and_a_websockets_server_exchange_1_mib_messages,
                        interop_fixture, *needs_websockets()) {
    python_server();
    auto c = connect();
    BOOST_TEST(wait(peer->next_line()) ==
               "open / subprotocol=- extensions=- x-vow-test=- origin=-");
    check_1_mib_messages(c);
    close_normally(c);
}

BOOST_FIXTURE_TEST_CASE(a_vow_client_reassembles_websockets_fragments_and_sends_its_own,
                        interop_fixture, *needs_websockets()) {
    python_server();
    vow::net::ws_connect_options o;
    o.ws.fragment_size = 1000;
    auto c = connect("/", o);
    BOOST_TEST(wait(peer->next_line()) ==
               "open / subprotocol=- extensions=- x-vow-test=- origin=-");
    check_fragments(c);
    close_normally(c);
}

BOOST_FIXTURE_TEST_CASE(a_vow_client_answers_a_websockets_ping_and_gets_its_own_answered,
                        interop_fixture, *needs_websockets()) {
    python_server();
    auto c = connect();
    BOOST_TEST(wait(peer->next_line()) ==
               "open / subprotocol=- extensions=- x-vow-test=- origin=-");
    check_pings(c);
    close_normally(c);
}

BOOST_FIXTURE_TEST_CASE(a_vow_client_keeps_a_websockets_server_alive_with_pings_and_closes_it_idle,
                        interop_fixture, *needs_websockets()) {
    python_server();
    vow::net::ws_connect_options o;
    o.ws = keepalive();
    auto c = connect("/", o);
    BOOST_TEST(wait(peer->next_line()) ==
               "open / subprotocol=- extensions=- x-vow-test=- origin=-");
    (void)check_keepalive(c);
    close_normally(c);
    o.ws = idle_timeout();
    c = connect("/", o);
    BOOST_TEST(wait(peer->next_line()) ==
               "open / subprotocol=- extensions=- x-vow-test=- origin=-");
    check_idle_timeout(c);
}

BOOST_FIXTURE_TEST_CASE(a_websockets_server_sees_the_code_and_reason_a_vow_client_closes_with,
                        interop_fixture, *needs_websockets()) {
    python_server();
    auto c = connect();
    BOOST_TEST(wait(peer->next_line()) ==
               "open / subprotocol=- extensions=- x-vow-test=- origin=-");
    check_vow_closes(c);
}

BOOST_FIXTURE_TEST_CASE(
    a_vow_client_receive_rejects_with_the_code_and_reason_a_websockets_server_closes_with,
    interop_fixture, *needs_websockets()) {
    python_server();
    for (auto [code, reason] :
         {std::pair<std::uint16_t, std::string>{1000, "done"}, {4002, "server-bye \xE2\x9C\x93"}}) {
        auto c = connect();
        BOOST_TEST(wait(peer->next_line()) ==
                   "open / subprotocol=- extensions=- x-vow-test=- origin=-");
        check_peer_closes(c, code, reason);
    }
}

BOOST_FIXTURE_TEST_CASE(
    for_each_message_on_a_vow_client_ends_normally_at_a_websockets_1000_and_rejects_at_4002,
    interop_fixture, *needs_websockets()) {
    python_server();
    for (std::uint16_t code : {1000, 4002}) {
        auto c = connect();
        BOOST_TEST(wait(peer->next_line()) ==
                   "open / subprotocol=- extensions=- x-vow-test=- origin=-");
        check_for_each_message_until_peer_closes(c, code);
    }
}

BOOST_FIXTURE_TEST_CASE(a_vow_client_and_a_websockets_server_compress_with_permessage_deflate,
                        interop_fixture, *needs_websockets()) {
    python_server();  // websockets' default: permessage-deflate, asking for 12-bit client windows
    vow::net::ws_connect_options o;
    o.ws.deflate = vow::net::ws_deflate_options{};
    o.ws.fragment_size = 64 * 1024;
    auto c = connect("/", o);
    BOOST_TEST(wait(peer->next_line()) ==
               "open / subprotocol=- extensions=permessage-deflate; "
               "server_max_window_bits=12; client_max_window_bits=12 x-vow-test=- origin=-");
    check_deflate_on(c);
    close_normally(c);
}

BOOST_FIXTURE_TEST_CASE(
    a_vow_client_with_small_windows_no_context_takeover_and_no_min_size_compresses_with_websockets,
    interop_fixture, *needs_websockets()) {
    python_server();
    vow::net::ws_connect_options o;
    o.ws.deflate = vow::net::ws_deflate_options{
        .min_size = 0, .no_context_takeover = true, .max_window_bits = 10};
    o.ws.fragment_size = 64 * 1024;
    auto c = connect("/", o);
    BOOST_TEST(wait(peer->next_line()) ==
               "open / subprotocol=- extensions=permessage-deflate; "
               "client_no_context_takeover; server_max_window_bits=12; "
               "client_max_window_bits=10 x-vow-test=- origin=-");
    check_deflate_on(c, 0);
    check_deflate_on(c, 0);  // a second time: each message starts from an empty window
    close_normally(c);
}

BOOST_FIXTURE_TEST_CASE(a_vow_client_takes_a_message_sent_with_the_101, interop_fixture,
                        *needs_websockets()) {
    python_server();
    auto c = connect("/greet");
    BOOST_TEST(wait(c.receive()) == ws_message::text("hello from websockets"));
    BOOST_TEST(wait(peer->next_line()) ==
               "open /greet subprotocol=- extensions=- x-vow-test=- origin=-");
    check_text_and_binary(c);
    close_normally(c);
}

BOOST_FIXTURE_TEST_CASE(
    a_vow_client_closes_with_1009_at_a_websockets_message_over_its_limit_even_compressed,
    interop_fixture, *needs_websockets()) {
    python_server();
    vow::net::ws_connect_options o;
    o.ws.max_message_bytes = 64 * 1024;
    auto c = connect("/", o);
    BOOST_TEST(wait(peer->next_line()) ==
               "open / subprotocol=- extensions=- x-vow-test=- origin=-");
    check_too_big(c, "!pattern 100000 1");
    // 1 MiB that deflates to about 1 KiB: inflating stops at the limit.
    o.ws.deflate = vow::net::ws_deflate_options{};
    c = connect("/", o);
    BOOST_TEST(wait(peer->next_line()) ==
               "open / subprotocol=- extensions=permessage-deflate; "
               "server_max_window_bits=12; client_max_window_bits=12 x-vow-test=- origin=-");
    check_too_big(c, "!text 1048576");
}

BOOST_FIXTURE_TEST_CASE(
    permessage_deflate_stays_off_unless_both_a_vow_client_and_websockets_want_it, interop_fixture,
    *needs_websockets()) {
    // The server would accept it, the client does not offer it.
    python_server();
    auto c = connect();
    BOOST_TEST(wait(peer->next_line()) ==
               "open / subprotocol=- extensions=- x-vow-test=- origin=-");
    check_deflate_off(c);
    close_normally(c);
    // The client offers it, the server does not accept it.
    python_server({"--compression", "none"});
    vow::net::ws_connect_options o;
    o.ws.deflate = vow::net::ws_deflate_options{};
    c = connect("/", o);
    BOOST_TEST(wait(peer->next_line()) ==
               "open / subprotocol=- extensions=- x-vow-test=- origin=-");
    check_deflate_off(c);
    close_normally(c);
}

BOOST_FIXTURE_TEST_CASE(a_websockets_server_picks_a_subprotocol_a_vow_client_offers,
                        interop_fixture, *needs_websockets()) {
    python_server({"--subprotocols", "chat.v2"});
    vow::net::ws_connect_options o;
    o.subprotocols = {"chat.v1", "chat.v2"};
    auto c = connect("/", o);
    BOOST_TEST(wait(peer->next_line()) ==
               "open / subprotocol=chat.v2 extensions=- x-vow-test=- origin=-");
    BOOST_TEST(c.subprotocol() == "chat.v2");
    BOOST_TEST(ask(c, "in chat.v2") == ws_message::text("in chat.v2"));
    close_normally(c);
    // None in common: the connection opens without one.
    o.subprotocols = {"chat.v1"};
    c = connect("/", o);
    BOOST_TEST(wait(peer->next_line()) ==
               "open / subprotocol=- extensions=- x-vow-test=- origin=-");
    BOOST_TEST(c.subprotocol() == "");
    close_normally(c);
}

BOOST_FIXTURE_TEST_CASE(a_websockets_server_sees_the_headers_a_vow_client_adds, interop_fixture,
                        *needs_websockets()) {
    python_server();
    vow::net::ws_connect_options o;
    o.headers.add("X-Vow-Test", "42");
    o.headers.add("Origin", "https://vow.example");
    auto c = connect("/headers", o);
    BOOST_TEST(wait(peer->next_line()) ==
               "open /headers subprotocol=- extensions=- x-vow-test=42 origin=https://vow.example");
    close_normally(c);
}

BOOST_FIXTURE_TEST_CASE(
    ws_connect_rejects_a_websockets_server_refusing_with_403_with_ws_handshake_error,
    interop_fixture, *needs_websockets()) {
    python_server();
    auto e = error_as<vow::net::ws_handshake_error>(
        wait_error(vow::net::ws_connect(r, python_url("/forbidden"))));
    BOOST_TEST(e.status() == 403);
    BOOST_TEST(e.body() == "no entry\n");
    BOOST_TEST(std::string(e.what()).find("403") != std::string::npos, e.what());
    // The server is fine: the next connection opens.
    auto c = connect();
    BOOST_TEST(wait(peer->next_line()) ==
               "open / subprotocol=- extensions=- x-vow-test=- origin=-");
    close_normally(c);
}

BOOST_AUTO_TEST_SUITE_END()

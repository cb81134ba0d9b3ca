/// @file
/// vow::net::ws_connection: one WebSocket connection (RFC 6455), either side.
///
/// Messages in and out as futures, ping/pong, the close handshake.
///
/// @code
/// // Echo every message until the peer closes:
/// vow::net::ws_connection c = ...;   // from ws_connect() or a ws_endpoint
/// c.for_each_message([c](vow::net::ws_message m) mutable {
///     return c.send(m);               // text as text, binary as binary
/// });                                 // future<void>: resolves at a normal close
///
/// c.receive().then([](vow::net::ws_message m) { fmt::print("{}\n", m.data); });
/// c.send_text("hello");               // future<void>: settles when the send buffer is low again
/// c.close(vow::net::ws_close::normal, "bye");   // future<void>: the peer answered,
///                                               // or close_timeout passed
/// @endcode
#pragma once

#include <vow/net/address.hpp>
#include <vow/net/error.hpp>
#include <vow/net/io_options.hpp>
#include <vow/net/stream.hpp>
#include <vow/promise/future.hpp>
#include <vow/reactor/reactor.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

namespace vow::net {

namespace detail::ws {
struct access;
}

/// Close codes (RFC 6455 7.4.1). 1005, 1006 and 1015 are never sent; they
/// describe a close without a code, a connection that dropped without a
/// close frame, and a failed TLS handshake.
namespace ws_close {
/// A normal close.
inline constexpr std::uint16_t normal = 1000;
/// The endpoint is going away (server shutdown, idle timeout).
inline constexpr std::uint16_t going_away = 1001;
/// The peer broke the protocol.
inline constexpr std::uint16_t protocol_error = 1002;
/// A message of a type the endpoint cannot take.
inline constexpr std::uint16_t unsupported_data = 1003;
/// Never sent: the close frame had no code.
inline constexpr std::uint16_t no_status = 1005;
/// Never sent: the connection dropped without a close frame.
inline constexpr std::uint16_t abnormal = 1006;
/// Invalid UTF-8 in a text message or a close reason.
inline constexpr std::uint16_t invalid_data = 1007;
/// A message against the endpoint's policy.
inline constexpr std::uint16_t policy_violation = 1008;
/// A message over the size limit.
inline constexpr std::uint16_t message_too_big = 1009;
/// The client needs an extension the server did not agree to.
inline constexpr std::uint16_t mandatory_extension = 1010;
/// An unexpected condition (also: a keepalive ping went unanswered).
inline constexpr std::uint16_t internal_error = 1011;
/// Overloaded: try again later.
inline constexpr std::uint16_t try_again_later = 1013;
}  // namespace ws_close

/// Whether `code` may be sent in a close frame: 1000-1003, 1007-1011,
/// 1012-1014 and 3000-4999.
[[nodiscard]] bool ws_close_code_sendable(std::uint16_t code) noexcept;

/// A WebSocket message's type.
enum class ws_message_type : std::uint8_t {
    text,   ///< UTF-8 text (opcode 1)
    binary  ///< any bytes (opcode 2)
};

/// One whole message. A text message's data is valid UTF-8.
struct ws_message {
    ws_message_type type = ws_message_type::text;  ///< text (the default) or binary
    std::string data;                              ///< the payload, reassembled and decompressed

    /// True for a text message.
    [[nodiscard]] bool is_text() const noexcept { return type == ws_message_type::text; }
    /// True for a binary message.
    [[nodiscard]] bool is_binary() const noexcept { return type == ws_message_type::binary; }
    /// A text message with data `s`.
    static ws_message text(std::string s) { return {ws_message_type::text, std::move(s)}; }
    /// A binary message with data `s`.
    static ws_message binary(std::string s) { return {ws_message_type::binary, std::move(s)}; }
    /// True if type and data are equal.
    friend bool operator==(const ws_message&, const ws_message&) = default;
};

/// permessage-deflate (RFC 7692). Off unless ws_options::deflate is set, and
/// used only when both sides agree in the handshake.
struct ws_deflate_options {
    /// Compress only messages at least this long (shorter ones go out as is).
    std::size_t min_size = 64;
    int level = 6;  ///< zlib's 1-9
    /// Forget the compression context after each message (less memory per
    /// connection, worse ratio). The server asks the client for the same
    /// with client_no_context_takeover.
    bool no_context_takeover = false;
    int max_window_bits = 15;  ///< 9-15: our sending window (memory per connection)
};

/// Limits, keepalive and timeouts of a ws_connection (either side).
struct ws_options {
    /// A message (after decompression) larger than this closes with 1009.
    std::size_t max_message_bytes = std::size_t{16} * 1024 * 1024;
    /// Whole messages kept for receive(); past it, reading pauses.
    std::size_t max_queue = 16;
    /// A send that would queue more than this rejects (limit_error).
    std::size_t max_send_buffer = std::size_t{16} * 1024 * 1024;
    /// Outgoing messages longer than this go out as fragments of this size
    /// (0: never fragmented).
    std::size_t fragment_size = 0;
    /// Keepalive: after this long without a byte from the peer, ping it; no
    /// pong (or any byte) within ping_timeout closes with 1011 ("keepalive
    /// ping timeout"). nullopt: no keepalive pings.
    std::optional<reactor::duration> ping_interval = std::chrono::seconds(20);
    /// How long a keepalive ping waits for a pong (or any byte) before the
    /// connection closes with 1011 (see ping_interval).
    reactor::duration ping_timeout = std::chrono::seconds(20);
    /// Nothing received (not even a pong) for this long closes with 1001
    /// ("idle timeout"). nullopt: no idle timeout.
    std::optional<reactor::duration> idle_timeout = {};
    /// How long close() (and a close the peer began, or a protocol error)
    /// waits for the other side before the transport is closed anyway.
    reactor::duration close_timeout = std::chrono::seconds(10);
    /// permessage-deflate; nullopt: not offered (client) / not accepted (server).
    std::optional<ws_deflate_options> deflate = {};
};

/// One WebSocket connection (RFC 6455), either side: messages in and out as
/// futures, ping/pong, the close handshake.
///
/// Receiving: a reader runs in the background while the connection is open:
/// it answers pings, notes pongs, reassembles fragmented messages and keeps
/// up to max_queue whole messages for receive(); while that many wait,
/// it stops reading (so a peer that outpaces its receiver is held back by
/// TCP, not buffered without limit). One receive() at a time.
///
/// Sending: send_text / send_binary / send queue one message and settle when
/// the transport's write does: once the bytes queued for the peer are at or
/// below its high-water mark (64 KiB for TCP and TLS streams: backpressure).
/// A send whose bytes would take the queue past max_send_buffer rejects
/// with vow::net::limit_error and sends nothing. Sends may overlap; messages
/// go out whole and in the order of the calls.
///
/// Closing: close() sends a close frame and waits for the peer's, then
/// closes the transport (the server side first, RFC 6455 7.1.1). When the
/// peer closes first, its close frame is answered at once with the same
/// code. Once closed, receive() rejects with vow::net::ws_closed (code and
/// reason of the close), and sends reject with ws_closed too. for_each_message
/// resolves when the close was normal (1000, 1001 or no code: 1005) and
/// rejects with the ws_error (or ws_closed) otherwise.
///
/// The protocol is enforced strictly on what the peer sends: a violation
/// (unmasked client frame, masked server frame, reserved bits or opcodes,
/// a fragmented or oversized control frame, a continuation without a start,
/// a new message inside a fragmented one, a bad close code or a 1-byte
/// close payload) closes with 1002; invalid UTF-8 in a text message or a
/// close reason with 1007 (checked as the bytes arrive, across fragments);
/// a message over max_message_bytes with 1009, as soon as its header says so.
/// The connection then rejects what waits with vow::net::ws_error, whose
/// code() is the code sent and whose message says what the peer did.
///
/// A handle: copies share one connection; the last copy's destruction closes
/// the transport at once (no handshake: call close() for one).
/// Thread-bound to its reactor, like every vow stream.
class ws_connection {
public:
    /// An empty connection: is_open() is false, operations throw
    /// vow::usage_error.
    ws_connection() noexcept = default;

    /// The next whole message. Rejects with ws_closed once the connection
    /// has closed (every later call too), with ws_error after a protocol
    /// error or a dropped connection, or as io_options says (a timeout or a
    /// stop request abandons only the wait: no message is lost). A second
    /// receive() while one waits throws vow::usage_error.
    [[nodiscard]] future<ws_message> receive(const io_options& opts = {});

    /// Calls fn(ws_message) for every message until the connection closes:
    /// fn returns void or future<void>, and the next message is taken once
    /// that future settles (one at a time, in order). Resolves when the
    /// close was normal (1000, 1001, 1005), rejects with the ws_closed or
    /// ws_error otherwise, or with what fn threw or rejected with (after
    /// closing with 1011). Built on vow::repeat (`<vow/promise/loop.hpp>`).
    template <class F>
    [[nodiscard]] future<void> for_each_message(F fn);

    /// Queue a message. Throws vow::invalid_argument for send_text with
    /// invalid UTF-8. Rejects with limit_error past max_send_buffer, with
    /// ws_closed once a close frame was sent or received, with ws_error
    /// after an error.
    [[nodiscard]] future<void> send_text(std::string_view text, io_options opts = {});
    /// Queue a binary message; rejects as send_text does.
    [[nodiscard]] future<void> send_binary(std::string_view data, io_options opts = {});
    /// Queue `m` as its type says (send_text or send_binary).
    [[nodiscard]] future<void> send(const ws_message& m, io_options opts = {});

    /// Sends a ping (payload at most 125 bytes, else vow::invalid_argument)
    /// and resolves when a pong for it (or for a later ping) arrives.
    /// Rejects with ws_closed or ws_error if the connection ends first, or
    /// as io_options says.
    [[nodiscard]] future<void> ping(std::string_view payload = {}, const io_options& opts = {});

    /// The close handshake: sends a close frame with `code` and `reason`
    /// (vow::invalid_argument for a code that may not be sent, a reason over
    /// 123 bytes or not UTF-8) unless one was sent already, waits for the
    /// peer's close frame (and, on the client, for the server to end the
    /// TCP connection) up to close_timeout, and closes the transport. Always
    /// resolves; calling it again returns a future for the same end.
    [[nodiscard]] future<void> close(std::uint16_t code = ws_close::normal, std::string_view reason = {});
    /// Closes the transport now, without a close frame (the peer sees 1006).
    void abort() noexcept;

    /// Open until a close frame was sent or received, or an error.
    [[nodiscard]] bool is_open() const noexcept;
    /// The subprotocol both sides agreed on ("" if none).
    [[nodiscard]] const std::string& subprotocol() const;
    /// Whether permessage-deflate is on for this connection.
    [[nodiscard]] bool deflate() const noexcept;
    /// Once a close frame was sent or received (or the connection failed):
    /// the close code - the peer's if it closed first (1005 if its frame had
    /// no code), else the one sent; 1006 if the connection dropped without
    /// one. nullopt while open. close_reason(): the peer's reason.
    [[nodiscard]] std::optional<std::uint16_t> close_code() const noexcept;
    /// The reason in the peer's close frame; "" if none was received.
    [[nodiscard]] std::string close_reason() const;
    /// Bytes queued for the peer and not yet taken by the kernel.
    [[nodiscard]] std::size_t buffered_output() const noexcept;
    /// The transport's peer address; an empty address for an empty
    /// connection.
    [[nodiscard]] address peer_address() const;
    /// The reactor the connection is bound to. Throws vow::usage_error on an
    /// empty connection.
    [[nodiscard]] reactor& get_reactor() const;

    /// is_open().
    explicit operator bool() const noexcept { return is_open(); }

    /// What a handshake agreed, for open().
    struct agreed {
        /// The subprotocol chosen; "" for none.
        std::string subprotocol;
        /// permessage-deflate is on.
        bool deflate = false;
        /// Deflate: the client resets its compression context per message.
        bool client_no_context_takeover = false;
        /// Deflate: the server resets its compression context per message.
        bool server_no_context_takeover = false;
        /// Deflate: the client's window bits (8-15).
        int client_max_window_bits = 15;
        /// Deflate: the server's window bits (8-15).
        int server_max_window_bits = 15;
    };
    /// Makes a connection of a stream whose handshake is done (ws_connect and
    /// ws_endpoint do; tests do over memory transports). `client` chooses
    /// the side; `subprotocol` and `deflate` are what the handshake agreed
    /// (deflate: the negotiated parameters, see net/ws/protocol.hpp's
    /// deflate_params; false for none).
    static ws_connection open(stream transport, bool client, ws_options opts, agreed handshake);

    class impl;

private:
    friend struct detail::ws::access;
    explicit ws_connection(std::shared_ptr<impl> p) noexcept : impl_(std::move(p)) {}
    impl& need(const char* op) const;
    // for_each_message's end: returns for a normal close; otherwise closes
    // with 1011 if `e` is not the connection's own error, and rethrows it.
    void end_of_loop(std::exception_ptr e);
    std::shared_ptr<impl> impl_;
};

}  // namespace vow::net

#include <vow/promise/loop.hpp>

namespace vow::net {

template <class F>
future<void> ws_connection::for_each_message(F fn) {
    static_assert(std::is_invocable_v<F&, ws_message>,
                  "vow::net::ws_connection::for_each_message: fn takes a ws_message");
    using R = std::invoke_result_t<F&, ws_message>;
    static_assert(std::is_void_v<R> || std::is_same_v<R, future<void>>,
                  "vow::net::ws_connection::for_each_message: fn returns void or future<void>");
    auto& r = get_reactor();   // vow::usage_error if empty
    ws_connection self = *this;
    return repeat(r,
                  [self, fn = std::move(fn)]() mutable {
                      return self.receive().then([&fn](ws_message m) {
                          if constexpr (std::is_void_v<R>) {
                              fn(std::move(m));
                              return stop_iteration::no;
                          } else {
                              return fn(std::move(m)).then([] { return stop_iteration::no; });
                          }
                      });
                  })
        .catch_([self](std::exception_ptr e) mutable { self.end_of_loop(std::move(e)); });
}

}  // namespace vow::net

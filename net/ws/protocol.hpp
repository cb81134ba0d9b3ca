// net/ws/protocol.hpp - WebSocket's wire format without I/O (internal to
// vow, not installed): frame headers, masking, UTF-8 validation, the
// message reader (frames in, whole messages and control frames out, with
// every RFC 6455 rule checked), the handshake's key and accept values, and
// permessage-deflate's compressors. The connection (connection.cpp), the
// tests and the fuzz target drive these.
#pragma once

#include <vow/net/ws/connection.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace vow::net::detail::ws {

enum class opcode : std::uint8_t { continuation = 0, text = 1, binary = 2, close = 8, ping = 9, pong = 10 };

// ---- UTF-8 ----------------------------------------------------------------

// Validates UTF-8 as it arrives in pieces (RFC 3629: no overlong forms, no
// surrogates, nothing above U+10FFFF). ASCII runs go 8 bytes at a time.
class utf8_validator {
public:
    // False as soon as the bytes so far cannot begin valid UTF-8.
    bool feed(const unsigned char* p, std::size_t n) noexcept;
    bool feed(std::string_view s) noexcept {
        return feed(reinterpret_cast<const unsigned char*>(s.data()), s.size());
    }
    // Whether what was fed ends between characters.
    [[nodiscard]] bool complete() const noexcept { return need_ == 0; }
    void reset() noexcept { need_ = 0; }

private:
    std::uint8_t need_ = 0;    // continuation bytes still to come
    std::uint8_t lo_ = 0x80;   // range of the next continuation byte
    std::uint8_t hi_ = 0xBF;
};

[[nodiscard]] bool valid_utf8(std::string_view s) noexcept;

// ---- frames ---------------------------------------------------------------

// Whether a close code may appear in a received close frame.
[[nodiscard]] bool close_code_receivable(std::uint16_t code) noexcept;

// XORs `n` bytes with the 4-byte `mask`, starting at byte `offset` of the
// mask's cycle (the position in the frame's payload). 8 bytes at a time.
void apply_mask(char* p, std::size_t n, std::array<unsigned char, 4> mask, std::size_t offset) noexcept;

// Writes a frame header for `length` payload bytes; returns its size (2 to
// 14 bytes). `mask`: the client's masking key, or nullptr (server).
std::size_t write_header(char* out, opcode op, bool fin, bool rsv1, std::uint64_t length,
                         const unsigned char* mask) noexcept;
inline constexpr std::size_t max_header_size = 14;

// Appends one whole frame: header and payload (masked with a fresh random
// key when `client`).
void append_frame(std::string& out, opcode op, bool fin, bool rsv1, std::string_view payload, bool client);

// A fresh masking key from the kernel's random source (getrandom), drawn
// 64 keys per system call.
std::array<unsigned char, 4> random_mask();

// ---- reading --------------------------------------------------------------

class inflater;

struct reader_event {
    enum kind_t : std::uint8_t { none, message, ping, pong, close, error };
    kind_t kind = none;
    ws_message_type type = ws_message_type::text;   // message
    std::string data;     // message data; ping/pong payload; close reason; error: what, in words
    std::uint16_t code = 0;   // close: the peer's code (1005: none); error: the code to close with
};

// Frames in, events out. Checks every rule of RFC 6455 on what the peer
// sends; the first violation is an error event, after which the reader
// accepts nothing more. Allocates only for bytes that arrived.
class frame_reader {
public:
    // `from_client`: the frames come from a client (they must be masked) -
    // that is, this is the server. `inf`: permessage-deflate's inflater when
    // the handshake agreed to it, else nullptr (RSV1 is then an error).
    frame_reader(bool from_client, std::size_t max_message_bytes, inflater* inf) noexcept
        : from_client_(from_client), max_message_(max_message_bytes), inflater_(inf) {}

    // Parses frames from `data` (payloads are unmasked in place), stopping
    // after one event or when the rest is an incomplete header. Returns the
    // bytes consumed; the caller keeps the rest and calls again with more
    // appended. Payload bytes are taken as they arrive, so a frame may be
    // consumed across many calls.
    std::size_t next(char* data, std::size_t n, reader_event& ev);

    // Inside a fragmented message (between its first and last frame).
    [[nodiscard]] bool in_message() const noexcept { return in_message_; }
    // Bytes of the message being assembled.
    [[nodiscard]] std::size_t assembled() const noexcept { return message_.size(); }
    [[nodiscard]] bool failed() const noexcept { return failed_; }

private:
    std::size_t fail(reader_event& ev, std::uint16_t code, std::string what, std::size_t consumed);
    bool finish_control(reader_event& ev);
    bool finish_message(reader_event& ev);

    bool from_client_;
    std::size_t max_message_;
    inflater* inflater_;
    bool failed_ = false;
    // the frame being read
    bool in_payload_ = false;
    bool fin_ = false;
    bool masked_ = false;
    opcode op_ = opcode::continuation;
    std::array<unsigned char, 4> mask_{};
    std::uint64_t left_ = 0;        // payload bytes still to come
    std::size_t mask_pos_ = 0;      // payload bytes already unmasked
    std::string control_;           // a control frame's payload
    // the message being assembled
    bool in_message_ = false;
    bool compressed_ = false;
    ws_message_type type_ = ws_message_type::text;
    std::string message_;
    utf8_validator utf8_;
};

// ---- the handshake ----------------------------------------------------------

// SHA-1 (FIPS 180-4) of `data`: only for Sec-WebSocket-Accept.
std::array<unsigned char, 20> sha1(std::string_view data) noexcept;
std::string base64_encode(const unsigned char* p, std::size_t n);
// Whether `key` is base64 of 16 bytes (24 characters, "==" at the end).
[[nodiscard]] bool valid_key(std::string_view key) noexcept;
// Sec-WebSocket-Accept for a Sec-WebSocket-Key.
std::string accept_value(std::string_view key);
// A fresh Sec-WebSocket-Key.
std::string new_key();

// ---- permessage-deflate (RFC 7692) ------------------------------------------

// What a handshake agreed; parsed from and written to
// Sec-WebSocket-Extensions.
struct deflate_params {
    bool server_no_context_takeover = false;
    bool client_no_context_takeover = false;
    int server_max_window_bits = 15;
    int client_max_window_bits = 15;
    bool client_max_window_bits_offered = false;   // the client's offer named it (so it may be set)
};

// Parses one permessage-deflate offer or response's parameters (the text
// after "permessage-deflate", e.g. "; client_max_window_bits"). False for
// an unknown, repeated or malformed parameter.
bool parse_deflate_params(std::string_view params, deflate_params& out) noexcept;
// The extension's elements of a Sec-WebSocket-Extensions value, split at
// commas: each "name; params".
// The server's choice: the first permessage-deflate offer in `header` it
// can accept with `ours`, and its response text; false if none.
bool negotiate_deflate(std::string_view header, const ws_deflate_options& ours, deflate_params& agreed,
                       std::string& response);
// The client's offer text for `ours`.
std::string deflate_offer(const ws_deflate_options& ours);
// The client's check of the server's response against its offer: false (and
// `why`) if the server answered what was not offered or is unusable.
bool accept_deflate_response(std::string_view response, const ws_deflate_options& ours, deflate_params& agreed,
                             std::string& why);

class inflater {
public:
    inflater(int window_bits, bool no_context_takeover);
    ~inflater();
    inflater(const inflater&) = delete;
    inflater& operator=(const inflater&) = delete;
    enum class result { ok, too_big, corrupt };
    // Inflates a whole message's compressed payload into `out` (replacing
    // it), stopping with too_big as soon as it would pass `limit` bytes.
    result inflate(std::string_view in, std::string& out, std::size_t limit, std::string& why);

private:
    struct state;
    std::unique_ptr<state> s_;
    bool no_context_;
};

class deflater {
public:
    deflater(int window_bits, bool no_context_takeover, int level);
    ~deflater();
    deflater(const deflater&) = delete;
    deflater& operator=(const deflater&) = delete;
    // Compresses a whole message into `out` (replacing it), without the
    // 00 00 ff ff tail (RFC 7692 7.2.1).
    void deflate(std::string_view in, std::string& out);

private:
    struct state;
    std::unique_ptr<state> s_;
    bool no_context_;
};

// What the endpoint needs of a connection that its handle does not offer.
struct access {
    // fn runs once, when the connection has closed.
    static void on_closed(ws_connection& c, std::function<void()> fn);
};

}  // namespace vow::net::detail::ws

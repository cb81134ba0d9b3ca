// net/http/parser.hpp - incremental HTTP/1.1 parsers and serializers
// (internal to vow: not installed; the server and client build on it).
//
//   detail::request_parser p;
//   http_request req;
//   for (;;) {
//       auto r = p.parse(buffer, req);              // buffer: bytes since the message began
//       if (r.status == parse_status::need_more) { /* read more, append, retry */ }
//       else if (r.status == parse_status::complete) { buffer.erase(0, r.consumed); p.reset(); /* handle req */ }
//       else { /* reply r.error_status, r.error_reason; close */ }
//   }
//
// No I/O. The parsers follow RFC 9112 strictly, since a server that is
// lenient where a proxy in front of it is strict (or the reverse) can be
// smuggled requests: lines end in CRLF only (a bare LF or CR is an error;
// lenient parsers accept bare LF, which is exactly the disagreement request
// smuggling exploits), no obs-fold, no whitespace before a header's colon,
// one Content-Length at most, never Content-Length with Transfer-Encoding,
// and "chunked" as the only transfer coding. Empty lines before a request
// line are skipped (RFC 9112 2.2 asks for that; old clients send a CRLF after
// a POST body).
//
// Cost: the header block is scanned for line ends once as bytes arrive
// (memchr; a call after need_more resumes where the last one stopped) and
// parsed once when its end is found; chunked bodies are decoded as they
// arrive, from where the last call stopped. So feeding a message in n pieces
// costs O(size + n), never O(size * n).
//
// Thread safety: a parser is a plain object; one thread at a time.
// The serializers are thread-safe (the Date cache is per thread).
#pragma once

#include <vow/net/http/message.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <ctime>
#include <optional>
#include <string>
#include <string_view>

namespace vow::net::detail {

struct http_limits {
    // The request/status line and all header lines.
    std::size_t max_header_bytes = std::size_t{16} * 1024;
    std::size_t max_headers = 100;
    std::size_t max_body_bytes = std::size_t{8} * 1024 * 1024;
};

// head: only from a request_parser in stop_at_head mode, once the head is
// parsed and before any of the body is read.
enum class parse_status { need_more, complete, error, head };

struct parse_result {
    parse_status status = parse_status::need_more;
    std::size_t consumed = 0;   // bytes of `data` that belong to the completed message (complete only)
    // error only: 400, 413 (body too large), 431 (headers too large),
    // 501 (unsupported transfer coding), 505 (bad version). The response
    // parser fills it the same way; a client only needs error_reason.
    int error_status = 0;
    std::string error_reason;   // error only: what was wrong ("two Content-Length headers")
};

// tchar (RFC 9110 5.6.2): the bytes allowed in methods, header names, tokens.
constexpr std::array<bool, 256> make_tchar_table() {
    std::array<bool, 256> t{};
    for (int c = '0'; c <= '9'; ++c)
        t[static_cast<std::size_t>(c)] = true;
    for (int c = 'a'; c <= 'z'; ++c)
        t[static_cast<std::size_t>(c)] = true;
    for (int c = 'A'; c <= 'Z'; ++c)
        t[static_cast<std::size_t>(c)] = true;
    for (char c : std::string_view("!#$%&'*+-.^_`|~"))
        t[static_cast<unsigned char>(c)] = true;
    return t;
}
inline constexpr auto tchar = make_tchar_table();

constexpr bool is_tchar(char c) noexcept { return tchar[static_cast<unsigned char>(c)]; }

// Empties a request, keeping the storage of its strings and header list:
// the server's request, once answered, is emptied so; the parser swaps its
// members with it, so the next parse allocates nothing once they have grown.
void clear_request(http_request& r) noexcept;

// The value of the hex digit `c` (0-15), or -1 if it is not one: chunk sizes
// here, percent-escapes in the server's router.
constexpr int hex_value(char c) noexcept {
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

// ASCII case-insensitive equality (header names, tokens).
bool iequals(std::string_view a, std::string_view b) noexcept;
// Whether the comma-separated `list` holds `token` (case-insensitive, optional
// whitespace around elements ignored): list_has_token("keep-alive, Upgrade", "upgrade").
bool list_has_token(std::string_view list, std::string_view token) noexcept;
// `s` without the optional whitespace (spaces and tabs) around it.
std::string_view trim_ows(std::string_view s) noexcept;
// Whether `s` is all digits (at least one) and fits in 64 bits; then `v` holds it.
bool parse_decimal(std::string_view s, std::uint64_t& v) noexcept;

// What the request and response parsers share: finding the end of the header
// block, and reading a Content-Length, chunked or until-close body. Offsets
// are into `data`, which holds everything since the message began, so they
// stay valid as the caller appends.
class message_parser {
public:
    explicit message_parser(http_limits limits) : limits_(limits) {}
    [[nodiscard]] const http_limits& limits() const noexcept { return limits_; }

protected:
    enum class phase : std::uint8_t { head, fixed_body, chunk_size, chunk_data, chunk_crlf, trailer, until_close };

    // Framing facts gathered while parsing the header fields.
    struct framing {
        std::size_t host_count = 0;
        std::size_t length_count = 0;
        std::uint64_t content_length = 0;
        bool length_differs = false;
        bool has_te = false;
        bool chunked_last = false;      // the last coding seen is "chunked"
        bool chunked_twice = false;
        std::string_view unknown_coding;
    };

    void reset_framing() noexcept;
    // Looks for the end of the header block from where the last call stopped.
    // complete: head_end_ and the line offsets are set.
    parse_result scan_head(std::string_view data);
    // What request_parser::parse and response_parser::parse do, over the
    // message type they fill (`msg` is theirs, `out` the caller's):
    // scan_head, then `parse_head(data)` once the head is complete (it
    // fills `msg` but its body and chooses the framing with
    // expect_chunked_body / expect_fixed_body), then read_body. Defined in
    // parser.cpp, the only place it is instantiated.
    template <class Message, class ParseHead>
    parse_result parse_message(std::string_view data, Message& msg, Message& out, ParseHead parse_head);
    // Parses the header lines (after the start line) into `out`.
    bool parse_fields(std::string_view data, http_headers& out, framing& f, parse_result& err) const;
    // The body is chunked, as a Transfer-Encoding header said. False, with
    // `err` set, if Content-Length came too, in an HTTP/1.0 request
    // (`http10_request`; RFC 9112 6.1), if "chunked" is applied twice, for
    // a coding other than chunked (501), or if the list does not end in
    // chunked. Both parsers' checks, in that order.
    bool expect_chunked_body(const framing& f, bool http10_request, parse_result& err);
    // The body is `length` bytes. False, with `err` set (413), over the limit.
    bool expect_fixed_body(std::uint64_t length, parse_result& err);
    // Decodes body bytes from where the last call stopped; on complete the
    // body is in `body`.
    parse_result read_body(std::string_view data, std::string& body);
    // chunk_size phase: reads the chunk-size line at pos_ and moves to
    // chunk_data (or trailer after the last chunk); `body_size` is what the
    // body holds so far, for the limit. False, with `r` left need_more or
    // set to the error, if the line is incomplete or wrong.
    bool read_chunk_size(std::string_view data, std::size_t body_size, parse_result& r);
    parse_result error(int status, std::string reason);
    // Streaming: decodes what `data` holds of the body (the bytes after those
    // consumed so far) into `chunk`. consumed is set whatever the status:
    // the bytes the caller drops before the next call.
    parse_result read_body_some(std::string_view data, std::string& chunk);
    // Streaming: the connection reached EOF. complete for a body that ends
    // with the connection, an error naming what was missing otherwise.
    parse_result finish_streamed_body();

    http_limits limits_;
    phase phase_ = phase::head;
    std::size_t scan_ = 0;          // head: next byte to search for '\n'
    std::size_t line_ = 0;          // head: where the current line starts
    std::size_t msg_start_ = 0;     // after leading empty lines
    std::size_t start_line_end_ = 0; // the CR ending the start line; 0 until found
    std::size_t lines_ = 0;         // header lines seen so far
    std::size_t head_end_ = 0;      // offset after the blank line
    std::size_t pos_ = 0;           // body: next byte to decode
    std::uint64_t remaining_ = 0;   // fixed body length, or bytes left in the current chunk
    std::size_t overhead_ = 0;      // chunked: size-line, CRLF and trailer bytes
    std::size_t trailer_bytes_ = 0;
    std::size_t seen_ = 0;          // data.size() at the last call; data only grows
    std::string chunked_body_;
    bool streaming_ = false;        // parse() stops at the end of the head
    bool keep_trailers_ = false;    // trailer fields go to trailers_ (else checked, dropped)
    bool head_first_ = false;       // requests: parse() stops at the head, the body limit waits
    http_headers trailers_;
    std::uint64_t streamed_ = 0;    // streaming: body bytes decoded so far
};

class request_parser : private message_parser {
public:
    explicit request_parser(http_limits limits = {});
    // `data` is everything buffered since the start of the current message.
    // Returns need_more (call again with more data appended), complete
    // (`out` holds the request; the first `consumed` bytes were it), or error
    // (the connection should answer error_status and close). `out` is
    // written only on complete. After complete or error, call reset()
    // before the next message.
    parse_result parse(std::string_view data, http_request& out);
    void reset();
    using message_parser::limits;
    // Once the head is parsed and while the body is still arriving: the
    // request without its body (to answer "Expect: 100-continue", or route
    // early); nullptr before that. Valid until the next parse() or reset().
    [[nodiscard]] const http_request* head() const noexcept { return phase_ == phase::head ? nullptr : &req_; }

    // Deciding per request, once the head is in, whether its body is read
    // whole or streamed (the server's streaming routes). Once set (it stays
    // set across reset()), parse() returns parse_status::head at the end of
    // the head, consumed the head's size, `out` untouched and head() holding
    // the request; every framing check is done but the Content-Length limit,
    // which waits for the caller's choice: buffer_body() or stream_body().
    // Without it, parse() goes on as ever (no extra cost).
    void stop_at_head(bool v) noexcept { head_first_ = v; }
    // After parse_status::head: the body is read whole by parse(), as
    // without stop_at_head. Returns complete, or the 413 error the limit
    // check deferred (a Content-Length over max_body_bytes).
    parse_result buffer_body();
    // After parse_status::head: the body is streamed. The head moves to
    // `out` (without a body); the caller drops the head's bytes, then calls
    // body_some() with what follows, dropping `consumed` bytes after each
    // call. max_body_bytes does not apply (the caller bounds the body); the
    // header limit still bounds chunk-size lines and trailers (which are
    // checked and dropped). reset() ends it.
    void stream_body(http_request& out);
    // As response_parser::body_some, without trailers.
    parse_result body_some(std::string_view data, std::string& chunk) { return read_body_some(data, chunk); }
    // The connection reached EOF while streaming: an error naming how much
    // of the body arrived.
    parse_result finish_body() { return finish_streamed_body(); }

private:
    parse_result parse_head(std::string_view data);
    http_request req_;
    std::size_t max_body_bytes_;   // limits_'s, restored by reset() after stream_body
};

class response_parser : private message_parser {
public:
    explicit response_parser(http_limits limits = {});
    // The response answers a HEAD request: no body whatever the headers say.
    // Cleared by reset().
    void expect_no_body(bool v) noexcept { no_body_ = v; }
    // As request_parser::parse. A 1xx interim response (100 Continue) is
    // returned as a complete message of its own.
    parse_result parse(std::string_view data, http_response& out);
    // The connection reached EOF with `data` buffered: completes a
    // read-until-close body; an error if the message is incomplete
    // (including when no response began at all).
    parse_result finish(std::string_view data, http_response& out);
    void reset();

    // Streaming the body (a client's http_body_sink): once set (after
    // reset(), before the first parse), parse() completes at the end of the
    // head with `out` holding no body and consumed the head's size. The
    // caller then drops those bytes and calls body_some() with what follows,
    // dropping `consumed` bytes after each call. The body limit is not
    // checked (the consumer of the chunks bounds what it keeps); the header
    // limit still bounds chunk-size lines and the trailer section. Cleared
    // by reset().
    void stream_body(bool v) noexcept { streaming_ = v; }
    // Appends the body bytes `data` holds to `chunk`: need_more, complete
    // at the end of the body (the trailer fields of a chunked one are moved
    // into `trailers`), or error. consumed is set in every case.
    parse_result body_some(std::string_view data, std::string& chunk, http_headers& trailers);
    // The connection reached EOF while streaming: complete for a body that
    // ends with the connection, an error naming what was missing otherwise.
    parse_result finish_body() { return finish_streamed_body(); }
    using message_parser::limits;

private:
    parse_result parse_head(std::string_view data);
    http_response resp_;
    bool no_body_ = false;
};

// Appends a response: status line, the headers given, Content-Length (unless
// the user set Transfer-Encoding or the status forbids a body: 1xx/204/304;
// a Content-Length the user set is replaced by the body's, except with
// head_only, where it is kept as the length a GET would have had),
// "Connection: close" when !keep_alive, "Connection: keep-alive" when
// keep_alive and announce_keep_alive (an HTTP/1.0 client closes unless the
// response says so, RFC 9112 C.2.2) - neither if the user set a Connection
// field -, a Date header (cached per second; unless the user set one), then
// the body unless head_only or the status forbids one.
// A streamed body (r.body_source) is not appended: the head announces it
// with Content-Length when its length is known, otherwise with
// "Transfer-Encoding: chunked", or (http10_peer) with neither: the body
// ends when the connection closes, which the caller must then do.
// Throws vow::invalid_argument if a header name is not a token or a value or
// reason holds CR, LF or NUL (which would split the response), or for a
// body_source with a body, with a user Transfer-Encoding, or a file without
// a length.
// Whether a response with this status carries a body (RFC 9110 6.4.1):
// not 1xx, 204 or 304.
inline bool status_has_body(int status) noexcept { return status >= 200 && status != 204 && status != 304; }

void serialize_response(std::string& out, const http_response& r, bool keep_alive, bool head_only,
                        bool announce_keep_alive = false, bool http10_peer = false);

// The chunked framing around one chunk of a streamed body: "<hex size>\r\n"
// + chunk + "\r\n" appended to `out`; and the last chunk, "0\r\n\r\n".
void append_chunk(std::string& out, std::string_view chunk);
inline constexpr std::string_view last_chunk = "0\r\n\r\n";

// Appends a request: "<method> <target> HTTP/1.1", Host (unless the headers
// carry one), the headers, Content-Length when there is a body (or for
// POST/PUT/PATCH with an empty one; replaced as above; not with a user
// Transfer-Encoding), then the body.
// Throws vow::invalid_argument for a method that is not a token, a target
// with spaces or control bytes, or headers as above.
void serialize_request(std::string& out, std::string_view method, std::string_view target,
                       std::string_view host_header, const http_headers& headers, std::string_view body);

// Appends a request head for a body sent after it, as it is produced: the
// fields as serialize_request writes them, but Content-Length: `length`, or
// Transfer-Encoding: chunked without one (the caller's Content-Length and
// Transfer-Encoding fields are dropped, since this framing replaces them).
// The caller sends the body, chunk-framed without a length. Throws as
// serialize_request.
void serialize_request_head(std::string& out, std::string_view method, std::string_view target,
                            std::string_view host_header, const http_headers& headers,
                            std::optional<std::uint64_t> length);

// The chunk of `src` after its first `sent` bytes: src.next() for a
// producer; for a file region, up to `max` bytes read at offset + sent on
// the file's pool, std::nullopt once the region is read (or the file ends
// early: the sender's length check then reports the short body). A throw
// from next() becomes a rejected future. The client's upload and the
// server's body loop both pull through it.
future<std::optional<std::string>> next_body_chunk(reactor& r, const http_body_source& src, std::uint64_t sent,
                                                   std::size_t max);

// The IMF-fixdate for now ("Sun, 06 Nov 1994 08:49:37 GMT"), cached per
// second per thread.
std::string_view http_date_now();
// The IMF-fixdate of `t` (RFC 9110 5.6.7), formatted by hand: strftime's
// day and month names follow the locale.
std::string http_date(std::time_t t);
// An IMF-fixdate back to seconds since the epoch; nullopt for anything
// else (the obsolete RFC 850 and asctime forms too).
std::optional<std::time_t> parse_http_date(std::string_view s) noexcept;

}  // namespace vow::net::detail

/// @file
/// HTTP/1.1 requests, responses and header lists.
///
/// @code
/// vow::net::http_response r = vow::net::http_response::json(R"({"id":7})", 201);
/// r.headers.add("Location", "/users/7");
///
/// void handle(const vow::net::http_request& req) {
///     req.method;                         // "GET"
///     req.path;                           // "/users/7"
///     req.headers.get("user-agent");      // names match case-insensitively
///     req.param("id");                    // "7", filled by the router
/// }
/// @endcode
///
/// Plain value types: no I/O, no reactor. The server parses requests into
/// http_request and writes http_response; the client does the reverse. Like
/// any standard container, one object may be used by one thread at a time.
#pragma once

#include <vow/net/http/body.hpp>
#include <vow/net/stream.hpp>

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace vow::net {

/// An ordered list of (name, value) header fields. Lookups compare names
/// case-insensitively (ASCII), as HTTP does; names keep the spelling they
/// were given, and fields keep their order, so repeated fields (Set-Cookie)
/// survive a round trip. Values are stored as given: the parser strips the
/// optional whitespace around them, the serializer writes them verbatim.
class http_headers {
public:
    /// One header field: (name, value).
    using field = std::pair<std::string, std::string>;
    /// Iterates over the fields, in order.
    using const_iterator = std::vector<field>::const_iterator;

    /// Appends a field, keeping any others of that name.
    void add(std::string name, std::string value);
    /// Replaces every field called `name` with one field, where the first was
    /// (at the end if there was none).
    void set(std::string name, std::string value);
    /// Removes every field called `name`; returns how many there were.
    std::size_t remove(std::string_view name);
    /// The value of the first field called `name`, or nullopt. The view lives
    /// until this list is next modified.
    [[nodiscard]] std::optional<std::string_view> get(std::string_view name) const;
    /// True if some field is called `name`.
    [[nodiscard]] bool contains(std::string_view name) const;
    /// How many fields are called `name`.
    [[nodiscard]] std::size_t count(std::string_view name) const;
    /// True if some field called `name` holds `token` in its comma-separated
    /// list, compared case-insensitively: has_token("Connection", "close").
    [[nodiscard]] bool has_token(std::string_view name, std::string_view token) const;

    /// The number of fields (each repeated field counts).
    [[nodiscard]] std::size_t size() const noexcept { return fields_.size(); }
    /// True if there are no fields.
    [[nodiscard]] bool empty() const noexcept { return fields_.empty(); }
    /// Removes every field.
    void clear() noexcept { fields_.clear(); }
    /// Reserves room for `n` fields.
    void reserve(std::size_t n) { fields_.reserve(n); }

    /// The first field.
    [[nodiscard]] const_iterator begin() const noexcept { return fields_.begin(); }
    /// Past the last field.
    [[nodiscard]] const_iterator end() const noexcept { return fields_.end(); }

    /// True if both hold the same fields, spelled the same, in the same order.
    friend bool operator==(const http_headers&, const http_headers&) = default;

private:
    std::vector<field> fields_;
};

/// A request as the server received it (or as a test builds it).
struct http_request {
    std::string method;     ///< "GET"; case-sensitive, as sent
    std::string target;     ///< as sent: "/users/7?x=1"
    std::string path;       ///< target without the query: "/users/7"
    std::string query;      ///< after '?', without it: "x=1" ("" if none)
    int version_minor = 1;  ///< `HTTP/1.<minor>`; 0 or 1
    http_headers headers;   ///< the header fields, in the order received
    std::string body;       ///< de-chunked
    /// Filled by the router ({id} -> "7").
    std::vector<std::pair<std::string, std::string>> params;
    /// Server side, for a route registered with {.stream_body = true}
    /// (`<vow/net/http/server.hpp>`): the body as it arrives, instead of `body`
    /// (which stays empty). next() gives the decoded (de-chunked) chunks, in
    /// order, then std::nullopt; `length` is the Content-Length if the
    /// request had one (nullopt for a chunked body). Empty for other routes.
    http_body_source body_source = {};

    /// The router's value for `{name}`; "" if absent.
    [[nodiscard]] std::string_view param(std::string_view name) const;
    /// Whether the connection may carry another request after this one:
    /// HTTP/1.1 unless "Connection: close"; HTTP/1.0 only with
    /// "Connection: keep-alive" (a token list, compared case-insensitively).
    [[nodiscard]] bool keep_alive() const;
};

/// A response: built by a handler (server side) or parsed (client side).
struct http_response {
    int status = 200;      ///< the status code; 200 by default
    std::string reason;    ///< "" means the standard phrase for `status`
    http_headers headers;  ///< the header fields
    std::string body;      ///< de-chunked when parsed
    /// Server side: a body sent as it is produced, or from a file
    /// (`<vow/net/http/body.hpp>`), instead of `body` (which must then be
    /// empty). With a length it is sent with Content-Length, without one
    /// chunked (to an HTTP/1.0 client: delimited by closing the connection).
    /// For HEAD, and for 204 and 304, nothing of it is sent (a file region's
    /// length still gives Content-Length).
    http_body_source body_source = {};
    /// Client side: the trailer fields that followed a chunked body.
    http_headers trailers = {};

    /// Server side: taking the connection over (WebSocket's handshake, or any
    /// protocol the client names in `Upgrade`). A handler that answers an
    /// upgrade request (HTTP/1.1, `Connection: upgrade` and an `Upgrade`
    /// header) with status 101, its own `Connection: Upgrade` and `Upgrade`
    /// headers, and this set, gets the connection: the server writes the 101
    /// head (no body), then calls `upgrade(connection, request)` on the
    /// reactor's thread and forgets the connection - it no longer counts in
    /// connections(), the server's timeouts no longer apply, and shutdown()
    /// does not wait for it. A throw from `upgrade` goes to the reactor's
    /// exception handler (and the connection closes, unless the function kept
    /// a copy of it). With any other status the member is ignored (the
    /// handler refused: 400, 403, 426, ...). The server refuses to hand over,
    /// and closes the connection after its answer: 500 to a request that
    /// asked for no upgrade, 400 if bytes came after the request (a client
    /// must wait for the 101 before it sends more), 503 while shutting down.
    /// docs/design.md, "Streams".
    std::function<void(stream, http_request)> upgrade = {};

    /// A response with `Content-Type: text/plain; charset=utf-8`.
    static http_response text(std::string body, int status = 200);
    /// A response with `Content-Type: application/json`; `body` is sent as is.
    static http_response json(std::string body, int status = 200);

    /// For a parsed response (client side): whether the server keeps the
    /// connection open, by the same rules as http_request::keep_alive, from
    /// its headers and version_minor.
    [[nodiscard]] bool keep_alive() const;
    int version_minor = 1;  ///< `HTTP/1.<minor>` of a parsed response
};

/// The standard reason phrase: 404 -> "Not Found"; "Unknown" for codes the
/// RFCs do not list.
std::string_view http_reason_phrase(int status) noexcept;

}  // namespace vow::net

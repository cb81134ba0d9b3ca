/// @file
/// vow::net::http_client: an HTTP/1.1 client with a keep-alive pool.
///
/// @code
/// vow::net::http_client client(r);
/// client.get("http://127.0.0.1:8080/users/7")
///     .then([](vow::net::http_response res) {
///         fmt::print("{} {}\n", res.status, res.body);
///     });
/// @endcode
#pragma once

#include <vow/net/error.hpp>
#include <vow/net/http/message.hpp>
#include <vow/net/tls_layer.hpp>
#include <vow/promise/future.hpp>
#include <vow/reactor/reactor.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>

namespace vow::net {

/// How an http_client connects, pools and limits; every duration and limit
/// must be positive (max_redirects: not negative).
struct http_client_options {
    /// For a new connection: the TCP connect and the TLS handshake.
    reactor::duration connect_timeout = std::chrono::seconds(10);
    /// Each request, redirects included.
    reactor::duration request_timeout = std::chrono::seconds(30);
    /// Pooled connections unused this long close.
    reactor::duration idle_timeout = std::chrono::seconds(30);
    /// Connections open to one scheme, host and port at once; more requests
    /// wait their turn.
    std::size_t max_connections_per_host = 256;
    /// Idle connections kept per scheme, host and port; one more is closed.
    std::size_t max_idle_per_host = 256;
    /// Redirects followed per request; one more rejects with http_error.
    int max_redirects = 5;
    /// The largest response header (or trailer) section.
    std::size_t max_header_bytes = std::size_t{64} * 1024;
    /// The largest buffered response body (not one sunk by
    /// request_options::on_body).
    std::size_t max_body_bytes = std::size_t{64} * 1024 * 1024;
    /// Sent with every request unless the request sets the same name.
    http_headers default_headers = {};
    /// https:// URLs: a vow::net::tls_context::client() from vow-tls
    /// (`<vow/net/tls.hpp>`), which verifies the server's certificate and host
    /// name by default. Without one, an https:// URL throws vow::usage_error.
    std::shared_ptr<tls_layer> tls = {};
    /// A redirect from https:// to http:// is refused (http_error) unless set.
    bool allow_https_to_http_redirects = false;
};

/// Per-request options of http_client.
struct request_options {
    /// Cancels the request (vow::cancelled_error); none by default.
    std::stop_token stop = {};
    /// Instead of request_timeout. It covers the whole exchange, streamed
    /// bodies included: raise it for large ones.
    std::optional<reactor::duration> timeout = {};
    /// Header fields sent with this request; they win over
    /// http_client_options::default_headers of the same name.
    http_headers headers = {};
    /// Follow redirects (default); false resolves with the 3xx response.
    bool follow_redirects = true;
    /// A request body streamed from a producer or a file region
    /// (`<vow/net/http/body.hpp>`; vow::net::file_body opens a file as one),
    /// instead of the string body, which must then be empty
    /// (vow::invalid_argument otherwise, as for a file source without an
    /// open file or a length). With a length it is sent with Content-Length,
    /// without one with Transfer-Encoding: chunked (the request's own
    /// Content-Length and Transfer-Encoding headers are dropped). The next
    /// chunk is asked for once the connection took the last one. A producer
    /// that rejects, or gives more or fewer bytes than its length, fails the
    /// request (its error, or vow::net::http_error) and the connection is
    /// closed. A producer's body cannot be sent twice: no retry on a reused
    /// connection, and a 307/308 (or 301/302 but after a POST) redirect
    /// rejects with http_error; a file region is read again. 303 drops the
    /// body, as for a string body.
    http_body_source body_source = {};
    /// When set, the response body is not kept in http_response::body (it
    /// stays empty) but handed to this sink in chunks as it arrives; the next
    /// read from the connection waits for the future the sink returns. The
    /// response future resolves once the whole body was taken, trailers
    /// included. max_body_bytes does not apply (the sink bounds what it keeps;
    /// it can count and reject). A rejection from the sink (or a throw) fails
    /// the request with that error and closes the connection; a connection
    /// that ends mid-body rejects with http_error ("the connection closed
    /// after N of M body bytes"). The body of a redirect that is followed
    /// is dropped, not sunk.
    http_body_sink on_body = {};
};

/// An HTTP/1.1 client with a keep-alive pool.
///
/// Every status is a response, not an error (as fetch does): check
/// `res.status`. A chunked response's trailer fields are in `res.trailers`.
/// Bodies of any size stream through request_options::body_source and
/// on_body (below; `<vow/net/http/body.hpp>`). Errors reject the future:
/// vow::net::io_error for refused or reset connections, vow::net::dns_error,
/// vow::timeout_error (the request's whole time, redirects included),
/// vow::cancelled_error (request_options' stop token), vow::net::http_error
/// for a malformed response or too many redirects, vow::net::limit_error for
/// a response over the limits. A bad URL throws vow::net::url_error at the
/// call. https:// needs a TLS context in the options (below); its failures
/// reject with vow::net::tls_error.
///
/// Redirects (301, 302, 303, 307, 308 with a Location) are followed up to
/// max_redirects: 303, and 301/302 after a POST, become a GET without the
/// body (and without the headers that described it); 307 and 308 repeat the
/// request as it was. A redirect to another host or port does not carry the
/// request's Authorization, Proxy-Authorization and Cookie headers, nor
/// does one between http:// and https://. A redirect from https:// to
/// http:// is refused unless allow_https_to_http_redirects is set.
///
/// Connections are pooled per scheme, host and port and reused while the
/// server keeps them alive; at most max_connections_per_host are open to one
/// host (further requests wait their turn, in order). A request that fails on
/// a reused connection before any byte of the response arrives (the server
/// closed it while idle) is retried once on a new connection if its method
/// is idempotent (GET, HEAD, OPTIONS, PUT, DELETE). Idle pooled connections
/// keep reactor::run() running until idle_timeout closes them; close_idle()
/// or destroying the client closes them at once.
///
/// Thread safety: thread-bound to the reactor's thread. Where thread checks
/// are on (docs/design.md, "Threading"), the constructor, the destructor and
/// every member but the getters abort when called on another thread.
class http_client {
public:
    /// Throws vow::invalid_argument for zero timeouts or limits.
    explicit http_client(reactor& r, http_client_options opts = {});
    /// Closes every connection; requests in flight reject with io_error
    /// (std::errc::operation_canceled).
    ~http_client();
    http_client(const http_client&) = delete;
    http_client& operator=(const http_client&) = delete;

    /// A GET request: request("GET", url, {}, opts).
    [[nodiscard]] future<http_response> get(std::string_view url, request_options opts = {});
    /// A POST request with `body`: request("POST", url, body, opts).
    [[nodiscard]] future<http_response> post(std::string_view url, std::string body, request_options opts = {});
    /// Any method ("PUT", "DELETE", ...). Throws vow::net::url_error for a
    /// bad URL and vow::invalid_argument for a bad method token.
    [[nodiscard]] future<http_response> request(std::string_view method, std::string_view url,
                                                std::string body = {}, request_options opts = {});

    /// Closes the pooled connections that are not in use.
    void close_idle() noexcept;
    /// Pooled connections not in use now.
    [[nodiscard]] std::size_t idle_connections() const noexcept;
    /// Connections opened so far.
    [[nodiscard]] std::uint64_t connections_opened() const noexcept;

    class impl;

private:
    std::shared_ptr<impl> impl_;
};

}  // namespace vow::net

// bench/net/http_evhttp.cpp - the baseline HTTP hello-world server for the
// network benchmarks: raw libevent evhttp, one thread.
//
//   http_evhttp --port 0        # prints "listening on 127.0.0.1:<port>"
//   curl http://127.0.0.1:<port>/   # hello world
//
// `GET /` answers 200 with the body "hello world" (text/plain, 11 bytes);
// any other path answers 404. Connections stay open between requests (HTTP/1.1
// keep-alive, evhttp's default), which is what wrk and the client benchmarks
// rely on. Accepted sockets get TCP_NODELAY. The reply body is a reference to
// static memory (evbuffer_add_reference), the cheapest evhttp reply there is.
// Also the server the HTTP client benchmarks (client_*.py/js, vow's fetch)
// are run against. Listens on 127.0.0.1 only; SIGTERM or SIGINT end it.
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string_view>

namespace {

constexpr char body[] = "hello world";

void on_request(evhttp_request* req, void*) {
    const char* uri = evhttp_request_get_uri(req);
    if (std::strcmp(uri, "/") != 0) {
        evhttp_send_error(req, HTTP_NOTFOUND, nullptr);
        return;
    }
    evkeyvalq* headers = evhttp_request_get_output_headers(req);
    evhttp_add_header(headers, "Content-Type", "text/plain");
    evbuffer* out = evbuffer_new();
    evbuffer_add_reference(out, body, sizeof body - 1, nullptr, nullptr);
    evhttp_send_reply(req, HTTP_OK, "OK", out);
    evbuffer_free(out);
}

void on_signal(evutil_socket_t, short, void* base) {
    event_base_loopbreak(static_cast<event_base*>(base));
}

int parse_port(int argc, char** argv) {
    int port = 0;
    for (int i = 1; i < argc; ++i) {
        std::string_view a = argv[i];
        if (a == "--port" && i + 1 < argc) {
            port = std::atoi(argv[++i]);
        } else if (a == "--quiet") {
            // accepted for symmetry with vow's server; this one is always quiet
        } else {
            std::fprintf(stderr, "usage: http_evhttp --port N (0 picks a free port)\n");
            std::exit(2);
        }
    }
    return port;
}

// The listening socket is made here rather than by evhttp_bind_socket so it
// can carry TCP_NODELAY: evhttp gives no hook that sees each accepted fd, and
// on Linux an accepted socket inherits TCP_NODELAY from its listener.
evutil_socket_t bind_listener(int port) {
    evutil_socket_t fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) {
        return -1;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(static_cast<unsigned short>(port));
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 || listen(fd, 1024) != 0) {
        evutil_closesocket(fd);
        return -1;
    }
    evutil_make_socket_nonblocking(fd);
    return fd;
}

}  // namespace

int main(int argc, char** argv) {
    int port = parse_port(argc, argv);
    // A peer that closes while a reply is being written must not kill the
    // server: libevent writes with write(), which raises SIGPIPE.
    std::signal(SIGPIPE, SIG_IGN);
    event_base* base = event_base_new();
    evhttp* http = evhttp_new(base);
    evhttp_set_allowed_methods(http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD);
    evhttp_set_gencb(http, on_request, nullptr);

    evutil_socket_t fd = bind_listener(port);
    if (fd < 0 || evhttp_accept_socket(http, fd) != 0) {
        std::fprintf(stderr, "http_evhttp: cannot listen on 127.0.0.1:%d: %s\n", port,
                     std::strerror(errno));
        return 1;
    }
    sockaddr_in bound{};
    socklen_t len = sizeof bound;
    getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &len);
    std::printf("listening on 127.0.0.1:%d\n", ntohs(bound.sin_port));
    std::fflush(stdout);

    event* sigterm = evsignal_new(base, SIGTERM, on_signal, base);
    event* sigint = evsignal_new(base, SIGINT, on_signal, base);
    event_add(sigterm, nullptr);
    event_add(sigint, nullptr);
    event_base_dispatch(base);

    event_free(sigterm);
    event_free(sigint);
    evhttp_free(http);
    event_base_free(base);
    return 0;
}

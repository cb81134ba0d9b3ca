// bench/net/echo_bufferevent.cpp - the baseline TCP echo server for the
// network benchmarks: raw libevent, one evconnlistener and one bufferevent
// per connection, written the way a careful libevent user would.
//
//   echo_bufferevent --port 0        # prints "listening on 127.0.0.1:<port>"
//   echo_bufferevent --port 7000
//
// Each read callback moves the whole input buffer to the output buffer
// (evbuffer_add_buffer: no copy of the bytes), so the server echoes exactly
// what it receives, in order. Accepted sockets get TCP_NODELAY, as vow's
// server and every peer do. One thread, no evthread locking: this is the
// cheapest libevent program that does the job, the figure vow is held to.
// Listens on 127.0.0.1 only; runs until killed (SIGTERM or SIGINT end the
// loop cleanly).
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string_view>

namespace {

void on_read(bufferevent* bev, void*) {
    evbuffer_add_buffer(bufferevent_get_output(bev), bufferevent_get_input(bev));
}

void on_event(bufferevent* bev, short what, void*) {
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
        bufferevent_free(bev);
    }
}

void on_accept(evconnlistener* listener, evutil_socket_t fd, sockaddr*, int, void*) {
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    event_base* base = evconnlistener_get_base(listener);
    bufferevent* bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
    if (bev == nullptr) {
        evutil_closesocket(fd);
        return;
    }
    bufferevent_setcb(bev, on_read, nullptr, on_event, nullptr);
    bufferevent_enable(bev, EV_READ | EV_WRITE);
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
            std::fprintf(stderr, "usage: echo_bufferevent --port N (0 picks a free port)\n");
            std::exit(2);
        }
    }
    return port;
}

}  // namespace

int main(int argc, char** argv) {
    int port = parse_port(argc, argv);
    // A peer that closes while a reply is being written must not kill the
    // server: libevent writes with write(), which raises SIGPIPE.
    std::signal(SIGPIPE, SIG_IGN);
    event_base* base = event_base_new();
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(static_cast<unsigned short>(port));
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    evconnlistener* listener = evconnlistener_new_bind(
        base, on_accept, nullptr, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE, 1024,
        reinterpret_cast<sockaddr*>(&sa), sizeof sa);
    if (listener == nullptr) {
        std::fprintf(stderr, "echo_bufferevent: cannot listen on 127.0.0.1:%d: %s\n", port,
                     std::strerror(errno));
        return 1;
    }
    sockaddr_in bound{};
    socklen_t len = sizeof bound;
    getsockname(evconnlistener_get_fd(listener), reinterpret_cast<sockaddr*>(&bound), &len);
    std::printf("listening on 127.0.0.1:%d\n", ntohs(bound.sin_port));
    std::fflush(stdout);

    event* sigterm = evsignal_new(base, SIGTERM, on_signal, base);
    event* sigint = evsignal_new(base, SIGINT, on_signal, base);
    event_add(sigterm, nullptr);
    event_add(sigint, nullptr);
    event_base_dispatch(base);

    event_free(sigterm);
    event_free(sigint);
    evconnlistener_free(listener);
    event_base_free(base);
    return 0;
}

// bench/net/echo_libuv.cpp - the libuv peer of vow's TCP echo server, the
// way libuv's own benchmark echo server is written: alloc_cb hands out a
// fresh buffer (malloc of libuv's suggested 64 KiB), read_cb writes what
// came in with uv_write, and the write's callback frees the buffer.
//
//   echo_libuv --port 0        # prints "listening on 127.0.0.1:<port>"
//
// Accepted sockets get TCP_NODELAY. Listens on 127.0.0.1 only; SIGTERM or
// SIGINT end it.
#include <uv.h>

#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace {

struct write_req {
    uv_write_t req;
    uv_buf_t buf;
};

void on_close(uv_handle_t* h) { std::free(h); }

void on_alloc(uv_handle_t*, std::size_t suggested, uv_buf_t* buf) {
    buf->base = static_cast<char*>(std::malloc(suggested));
    buf->len = buf->base ? suggested : 0;
}

void on_written(uv_write_t* req, int) {
    auto* w = reinterpret_cast<write_req*>(req);
    std::free(w->buf.base);
    std::free(w);
}

void on_read(uv_stream_t* s, ssize_t n, const uv_buf_t* buf) {
    if (n > 0) {
        auto* w = static_cast<write_req*>(std::malloc(sizeof(write_req)));
        w->buf = uv_buf_init(buf->base, static_cast<unsigned>(n));
        if (uv_write(&w->req, s, &w->buf, 1, on_written) != 0) {
            std::free(buf->base);
            std::free(w);
            uv_close(reinterpret_cast<uv_handle_t*>(s), on_close);
        }
        return;
    }
    std::free(buf->base);
    if (n < 0)
        uv_close(reinterpret_cast<uv_handle_t*>(s), on_close);
}

void on_connection(uv_stream_t* server, int status) {
    if (status != 0)
        return;
    auto* client = static_cast<uv_tcp_t*>(std::malloc(sizeof(uv_tcp_t)));
    uv_tcp_init(server->loop, client);
    if (uv_accept(server, reinterpret_cast<uv_stream_t*>(client)) != 0) {
        uv_close(reinterpret_cast<uv_handle_t*>(client), on_close);
        return;
    }
    uv_tcp_nodelay(client, 1);
    uv_read_start(reinterpret_cast<uv_stream_t*>(client), on_alloc, on_read);
}

void on_signal(uv_signal_t* s, int) { uv_stop(s->loop); }

}  // namespace

int main(int argc, char** argv) {
    int port = 0;
    for (int i = 1; i < argc; ++i) {
        std::string_view a = argv[i];
        if (a == "--port" && i + 1 < argc) {
            port = std::atoi(argv[++i]);
        } else if (a != "--quiet") {
            std::fprintf(stderr, "usage: echo_libuv --port N (0 picks a free port)\n");
            return 2;
        }
    }
    uv_loop_t* loop = uv_default_loop();
    uv_tcp_t server;
    uv_tcp_init(loop, &server);
    sockaddr_in addr{};
    uv_ip4_addr("127.0.0.1", port, &addr);
    if (uv_tcp_bind(&server, reinterpret_cast<const sockaddr*>(&addr), 0) != 0 ||
        uv_listen(reinterpret_cast<uv_stream_t*>(&server), 4096, on_connection) != 0) {
        std::fprintf(stderr, "echo_libuv: cannot listen on 127.0.0.1:%d\n", port);
        return 1;
    }
    sockaddr_in bound{};
    int len = sizeof bound;
    uv_tcp_getsockname(&server, reinterpret_cast<sockaddr*>(&bound), &len);
    std::printf("listening on 127.0.0.1:%d\n", ntohs(bound.sin_port));
    std::fflush(stdout);
    uv_signal_t sigterm, sigint;
    uv_signal_init(loop, &sigterm);
    uv_signal_start(&sigterm, on_signal, SIGTERM);
    uv_signal_init(loop, &sigint);
    uv_signal_start(&sigint, on_signal, SIGINT);
    uv_run(loop, UV_RUN_DEFAULT);
    return 0;
}

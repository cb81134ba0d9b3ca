// bench/net/echo_asio.cpp - the Boost.Asio peer of vow's TCP echo server:
// one io_context on one thread, one session per connection, each doing
// async_read_some into its buffer and async_write of what it read.
//
//   echo_asio --port 0        # prints "listening on 127.0.0.1:<port>"
//
// Completion handlers rather than coroutines: the way Asio's own echo
// examples are fastest. Accepted sockets get TCP_NODELAY. Listens on
// 127.0.0.1 only; SIGTERM or SIGINT end it.
//
// Boost 1.74's Asio uses std::exchange without including <utility>, which
// g++ 12 in C++20 mode no longer pulls in for it: <utility> comes first.
#include <utility>

#include <boost/asio.hpp>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string_view>

namespace {

namespace asio = boost::asio;
using asio::ip::tcp;

class session : public std::enable_shared_from_this<session> {
public:
    explicit session(tcp::socket socket) : socket_(std::move(socket)) {}

    void read() {
        socket_.async_read_some(asio::buffer(buffer_),
                                [self = shared_from_this()](boost::system::error_code ec,
                                                            std::size_t n) {
                                    if (!ec) {
                                        self->write(n);
                                    }
                                });
    }

private:
    void write(std::size_t n) {
        asio::async_write(socket_, asio::buffer(buffer_.data(), n),
                          [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
                              if (!ec) {
                                  self->read();
                              }
                          });
    }

    tcp::socket socket_;
    std::array<char, 65536> buffer_;
};

void accept(tcp::acceptor& acceptor) {
    acceptor.async_accept([&acceptor](boost::system::error_code ec, tcp::socket socket) {
        if (!ec) {
            socket.set_option(tcp::no_delay(true), ec);
            std::make_shared<session>(std::move(socket))->read();
        }
        accept(acceptor);
    });
}

int parse_port(int argc, char** argv) {
    int port = 0;
    for (int i = 1; i < argc; ++i) {
        std::string_view a = argv[i];
        if (a == "--port" && i + 1 < argc) {
            port = std::atoi(argv[++i]);
        } else if (a != "--quiet") {
            std::fprintf(stderr, "usage: echo_asio --port N (0 picks a free port)\n");
            std::exit(2);
        }
    }
    return port;
}

}  // namespace

int main(int argc, char** argv) {
    int port = parse_port(argc, argv);
    asio::io_context io(1);
    tcp::acceptor acceptor(
        io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)));
    std::printf("listening on 127.0.0.1:%u\n", acceptor.local_endpoint().port());
    std::fflush(stdout);
    accept(acceptor);
    asio::signal_set signals(io, SIGTERM, SIGINT);
    signals.async_wait([&io](boost::system::error_code, int) { io.stop(); });
    io.run();
    return 0;
}

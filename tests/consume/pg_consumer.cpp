// tests/consume/pg_consumer.cpp - a program that uses vow-pg the way a user
// does: the installed headers (<vow/vow.hpp>, <vow/pg.hpp>) and what
// `pkg-config --cflags --libs vow-pg` or dependency('vow-pg') hands it;
// libpq is vow-pg's business, never included here.
//
// Needs no server: a connect to a port where nothing listens is refused
// with vow::pg::connection_error, through the reactor; and a parameter and
// a type name come out as documented.
#include <vow/pg.hpp>
#include <vow/vow.hpp>

#include <fmt/core.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

int main() {
    // A loopback port nobody listens on: bound, then closed.
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0)
        return 1;
    ::close(fd);

    vow::reactor r;
    auto f = vow::pg::connection::connect(r, fmt::format("host=127.0.0.1 port={} user=nobody", ntohs(a.sin_port)));
    try {
        (void)vow::run_until_complete(r, std::move(f));
        fmt::print("connected to a closed port\n");
        return 1;
    } catch (const vow::pg::connection_error& e) {
        fmt::print("closed port: connection_error {}\n", e.sqlstate());
    }
    fmt::print("{} {}\n", vow::pg::type_name(vow::pg::make_param(std::int64_t{7}).type),
               vow::pg::make_param(std::int64_t{7}).value);
    return 0;
}

/// @file
/// TCP streams, servers and connect, as futures.
///
/// Includes `<vow/net/tcp/stream.hpp>` (tcp_stream, io_options,
/// stream_options), `<vow/net/tcp/server.hpp>` (tcp_server) and
/// `<vow/net/tcp/connect.hpp>` (connect).
///
/// @code
/// vow::net::tcp_server server(r, "127.0.0.1", 0);          // port 0: a free one
/// server.on_connection([](vow::net::tcp_stream s) {
///     echo(std::move(s));                                  // see examples/echo_server.cpp
/// });
/// vow::net::connect(r, "localhost", server.port())
///     .then([](vow::net::tcp_stream s) {
///         auto w = s.write("hello\n");
///         return s.read_until("\n", 1024);                  // future<std::string>: "hello\n"
///     });
/// @endcode
#pragma once

#include <vow/net/tcp/connect.hpp>
#include <vow/net/tcp/server.hpp>
#include <vow/net/tcp/stream.hpp>

/// @file
/// WebSocket (RFC 6455, permessage-deflate RFC 7692): ws_connection, the
/// server's ws_endpoint and the client's ws_connect.
#pragma once

#include <vow/net/ws/client.hpp>
#include <vow/net/ws/connection.hpp>
#include <vow/net/ws/server.hpp>

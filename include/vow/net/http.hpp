/// @file
/// HTTP/1.1: the server, the client, messages and bodies.
///
/// Includes `<vow/net/http/message.hpp>` (requests, responses, headers),
/// `<vow/net/http/body.hpp>` (streamed bodies), `<vow/net/http/server.hpp>`
/// (http_server), `<vow/net/http/client.hpp>` (http_client) and
/// `<vow/net/http/static_files.hpp>` (a handler serving files).
#pragma once

#include <vow/net/http/body.hpp>
#include <vow/net/http/client.hpp>
#include <vow/net/http/message.hpp>
#include <vow/net/http/server.hpp>
#include <vow/net/http/static_files.hpp>

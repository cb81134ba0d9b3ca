// vow/net/http.hpp - HTTP/1.1: includes vow/net/http/message.hpp (requests,
// responses, headers), vow/net/http/body.hpp (streamed bodies),
// vow/net/http/server.hpp (http_server) and vow/net/http/client.hpp
// (http_client).
#pragma once

#include <vow/net/http/body.hpp>
#include <vow/net/http/client.hpp>
#include <vow/net/http/message.hpp>
#include <vow/net/http/server.hpp>

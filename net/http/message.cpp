// vow::net::http_headers, http_request, http_response: lookups, keep-alive
// rules and the reason-phrase table.
#include <vow/net/http/message.hpp>

#include "parser.hpp"

#include <algorithm>

namespace vow::net {

using detail::iequals;

void http_headers::add(std::string name, std::string value) {
    fields_.emplace_back(std::move(name), std::move(value));
}

void http_headers::set(std::string name, std::string value) {
    auto first = std::find_if(fields_.begin(), fields_.end(),
                              [&](const field& f) { return iequals(f.first, name); });
    if (first == fields_.end()) {
        fields_.emplace_back(std::move(name), std::move(value));
        return;
    }
    auto rest = std::remove_if(std::next(first), fields_.end(),
                               [&](const field& f) { return iequals(f.first, name); });
    fields_.erase(rest, fields_.end());
    first->first = std::move(name);
    first->second = std::move(value);
}

std::size_t http_headers::remove(std::string_view name) {
    auto rest = std::remove_if(fields_.begin(), fields_.end(),
                               [&](const field& f) { return iequals(f.first, name); });
    auto n = static_cast<std::size_t>(fields_.end() - rest);
    fields_.erase(rest, fields_.end());
    return n;
}

std::optional<std::string_view> http_headers::get(std::string_view name) const {
    for (const auto& f : fields_)
        if (iequals(f.first, name))
            return std::string_view(f.second);
    return std::nullopt;
}

bool http_headers::contains(std::string_view name) const {
    return get(name).has_value();
}

std::size_t http_headers::count(std::string_view name) const {
    return static_cast<std::size_t>(std::count_if(
        fields_.begin(), fields_.end(), [&](const field& f) { return iequals(f.first, name); }));
}

bool http_headers::has_token(std::string_view name, std::string_view token) const {
    for (const auto& f : fields_)
        if (iequals(f.first, name) && detail::list_has_token(f.second, token))
            return true;
    return false;
}

std::string_view http_request::param(std::string_view name) const {
    for (const auto& p : params)
        if (p.first == name)
            return p.second;
    return {};
}

namespace {
bool keep_alive_for(int version_minor, const http_headers& h) {
    if (version_minor >= 1)
        return !h.has_token("Connection", "close");
    return h.has_token("Connection", "keep-alive") && !h.has_token("Connection", "close");
}
}  // namespace

bool http_request::keep_alive() const {
    return keep_alive_for(version_minor, headers);
}

bool http_response::keep_alive() const {
    return keep_alive_for(version_minor, headers);
}

http_response http_response::text(std::string body, int status) {
    http_response r;
    r.status = status;
    r.headers.add("Content-Type", "text/plain; charset=utf-8");
    r.body = std::move(body);
    return r;
}

http_response http_response::json(std::string body, int status) {
    http_response r;
    r.status = status;
    r.headers.add("Content-Type", "application/json");
    r.body = std::move(body);
    return r;
}

std::string_view http_reason_phrase(int status) noexcept {
    switch (status) {
    case 100: return "Continue";
    case 101: return "Switching Protocols";
    case 102: return "Processing";
    case 103: return "Early Hints";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 203: return "Non-Authoritative Information";
    case 204: return "No Content";
    case 205: return "Reset Content";
    case 206: return "Partial Content";
    case 207: return "Multi-Status";
    case 208: return "Already Reported";
    case 226: return "IM Used";
    case 300: return "Multiple Choices";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 303: return "See Other";
    case 304: return "Not Modified";
    case 305: return "Use Proxy";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 402: return "Payment Required";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 406: return "Not Acceptable";
    case 407: return "Proxy Authentication Required";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 411: return "Length Required";
    case 412: return "Precondition Failed";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 416: return "Range Not Satisfiable";
    case 417: return "Expectation Failed";
    case 418: return "I'm a teapot";
    case 421: return "Misdirected Request";
    case 422: return "Unprocessable Content";
    case 423: return "Locked";
    case 424: return "Failed Dependency";
    case 425: return "Too Early";
    case 426: return "Upgrade Required";
    case 428: return "Precondition Required";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 451: return "Unavailable For Legal Reasons";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    case 506: return "Variant Also Negotiates";
    case 507: return "Insufficient Storage";
    case 508: return "Loop Detected";
    case 510: return "Not Extended";
    case 511: return "Network Authentication Required";
    default: return "Unknown";
    }
}

}  // namespace vow::net

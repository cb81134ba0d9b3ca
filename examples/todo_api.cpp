// examples/todo_api.cpp - a small JSON API on vow::net::http_server and a
// PostgreSQL pool (vow::pg): the seeds' "microservice".
//
//   todo_api --dsn "host=127.0.0.1 user=app dbname=app" [--port N]
//
//   GET  /todos                 -> [{"id": 1, "title": "milk", "done": false, "created": "..."}, ...]
//   POST /todos  {"title": "milk"}  -> 201 {"id": 1, "title": "milk", "done": false, ...}
//   POST /todos/{id}/complete   -> 200 the todo, done; 404 if there is none
//   DELETE /todos/{id}          -> 204; 404 if there is none
//
// Bad input is a 400 with {"error": "..."} saying what is wrong (not JSON,
// no title, a title over 200 characters, an id that is not a number); a
// database error is a 500 with the server's message. The table is created
// if it does not exist. Prints "listening on http://HOST:PORT" (port 0: a
// free one); SIGINT or SIGTERM stop it gracefully: requests in flight are
// answered, then the pool is closed.
//
// JSON is nlohmann/json (Debian's nlohmann-json3-dev): header-only,
// packaged, and it reads like the JSON it builds. (Boost.JSON would do too,
// but it arrived in Boost 1.75 and Debian 12 has 1.74.)
#include <vow/vow.hpp>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include <charconv>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>

using namespace std::chrono_literals;
using nlohmann::json;
using vow::net::http_request;
using vow::net::http_response;

namespace {

http_response error_response(int status, std::string_view message) {
    return http_response::json(json{{"error", message}}.dump(), status);
}

// The todo in row `row` (id, title, done, created) as JSON.
json todo_json(const vow::pg::row& row) {
    return json{{"id", row.get<std::int64_t>("id")},
                {"title", row.get<std::string>("title")},
                {"done", row.get<bool>("done")},
                {"created", row.get<std::string>("created")}};
}

std::optional<std::int64_t> parse_id(std::string_view s) {
    std::int64_t v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || p != s.data() + s.size() || v <= 0)
        return std::nullopt;
    return v;
}

// A database error becomes a 500 with the server's message.
template <class F>
auto or_500(F&& f) {
    return std::forward<F>(f).catch_([](const std::exception& e) {
        return error_response(500, e.what());
    });
}

constexpr std::string_view columns = "id, title, done, created::text AS created";

}  // namespace

int main(int argc, char** argv) {
    std::string dsn;
    std::uint16_t port = 8080;
    for (int i = 1; i + 1 < argc; i += 2) {
        std::string_view a = argv[i];
        if (a == "--dsn") {
            dsn = argv[i + 1];
        } else if (a == "--port") {
            unsigned v = 0;
            std::string_view s = argv[i + 1];
            auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
            if (ec != std::errc() || p != s.data() + s.size() || v > 65535) {
                fmt::print(stderr, "todo_api: bad port '{}'\n", s);
                return 2;
            }
            port = static_cast<std::uint16_t>(v);
        }
    }
    if (dsn.empty() || argc % 2 == 0) {
        fmt::print(stderr, "usage: todo_api --dsn DSN [--port N]\n");
        return 2;
    }

    vow::reactor r;
    vow::pg::pool db(r, dsn, {.max_size = 8});

    // ANCHOR: routes
    vow::net::http_server server(r, "127.0.0.1", port);

    server.get("/todos", [&db](const http_request&) {
        return or_500(db.query(fmt::format("SELECT {} FROM todos ORDER BY id", columns))
                          .then([](vow::pg::result res) {
                              json list = json::array();
                              for (auto row : res)
                                  list.push_back(todo_json(row));
                              return http_response::json(list.dump());
                          }));
    });

    server.post("/todos", [&](const http_request& req) -> vow::future<http_response> {
        json body = json::parse(req.body, nullptr, /*allow_exceptions=*/false);
        if (body.is_discarded() || !body.is_object())
            return vow::make_ready_future(r, error_response(400, "the body must be a JSON object"));
        auto title = body.find("title");
        if (title == body.end() || !title->is_string() || title->get<std::string>().empty())
            return vow::make_ready_future(r, error_response(400, "\"title\" must be a non-empty string"));
        if (title->get<std::string>().size() > 200)
            return vow::make_ready_future(r, error_response(400, "\"title\" is longer than 200 characters"));
        return or_500(db.query(fmt::format("INSERT INTO todos (title) VALUES ($1) RETURNING {}", columns),
                               title->get<std::string>())
                          .then([](vow::pg::result res) { return http_response::json(todo_json(res[0]).dump(), 201); }));
    });

    server.post("/todos/{id}/complete", [&](const http_request& req) -> vow::future<http_response> {
        auto id = parse_id(req.param("id"));
        if (!id)
            return vow::make_ready_future(r, error_response(400, "the id must be a positive number"));
        return or_500(db.query(fmt::format("UPDATE todos SET done = true WHERE id = $1 RETURNING {}", columns), *id)
                          .then([](vow::pg::result res) {
                              if (res.empty())
                                  return error_response(404, "no such todo");
                              return http_response::json(todo_json(res[0]).dump());
                          }));
    });

    server.route("DELETE", "/todos/{id}", [&](const http_request& req) -> vow::future<http_response> {
        auto id = parse_id(req.param("id"));
        if (!id)
            return vow::make_ready_future(r, error_response(400, "the id must be a positive number"));
        return or_500(db.query("DELETE FROM todos WHERE id = $1", *id).then([](vow::pg::result res) {
            if (res.affected_rows() == 0)
                return error_response(404, "no such todo");
            http_response gone;
            gone.status = 204;
            return gone;
        }));
    });
    // ANCHOR_END: routes

    // The table first, then the server.
    try {
        vow::run_until_complete(r, db.query("CREATE TABLE IF NOT EXISTS todos ("
                                            "id bigserial PRIMARY KEY, title text NOT NULL, "
                                            "done boolean NOT NULL DEFAULT false, "
                                            "created timestamptz NOT NULL DEFAULT now())"));
    } catch (const std::exception& e) {
        fmt::print(stderr, "todo_api: {}\n", e.what());
        return 1;
    }

    bool stopping = false;
    vow::handle sigs[2];
    auto stop = [&] {
        if (std::exchange(stopping, true))
            return;
        for (auto& h : sigs)
            h.cancel();
        (void)server.shutdown(5s).then([&] { return db.close(); }).then([&] {
            fmt::print("shut down after {} requests\n", server.requests());
            std::fflush(stdout);
        });
    };
    sigs[0] = r.add_signal_handler(SIGINT, stop);
    sigs[1] = r.add_signal_handler(SIGTERM, stop);

    fmt::print("listening on http://{}\n", server.local_address());
    std::fflush(stdout);
    r.run();
    return 0;
}

// pg/error.cpp - vow::pg::error and the errors made from libpq's answers.
#include <vow/pg/error.hpp>

#include "pg_internal.hpp"

#include <fmt/format.h>

#include <string>

namespace vow::pg {

namespace {

std::string describe(const error_fields& f) {
    std::string s = fmt::format("vow::pg: {}", f.message.empty() ? std::string("error") : f.message);
    if (!f.sqlstate.empty())
        s += fmt::format(" (SQLSTATE {})", f.sqlstate);
    if (!f.detail.empty())
        s += fmt::format("\nDETAIL: {}", f.detail);
    if (!f.hint.empty())
        s += fmt::format("\nHINT: {}", f.hint);
    return s;
}

std::string trimmed(const char* s) {
    std::string out = s ? s : "";
    while (!out.empty() && (out.back() == '\n' || out.back() == ' '))
        out.pop_back();
    return out;
}

}  // namespace

error::error(error_fields f) : std::runtime_error(describe(f)), f_(std::move(f)) {}

namespace detail {

error_fields notice_fields(const PGresult* res) {
    auto field = [res](int code) { return trimmed(PQresultErrorField(res, code)); };
    error_fields f{field(PG_DIAG_SQLSTATE), field(PG_DIAG_SEVERITY_NONLOCALIZED), field(PG_DIAG_MESSAGE_PRIMARY),
                   field(PG_DIAG_MESSAGE_DETAIL), field(PG_DIAG_MESSAGE_HINT), field(PG_DIAG_CONSTRAINT_NAME),
                   field(PG_DIAG_TABLE_NAME), field(PG_DIAG_COLUMN_NAME)};
    if (f.message.empty())
        f.message = trimmed(PQresultErrorMessage(res));
    return f;
}

std::exception_ptr make_error(const PGresult* res) {
    error_fields f = notice_fields(res);
    const std::string& s = f.sqlstate;
    // FATAL and PANIC end the session (admin_shutdown, a terminated
    // backend): the connection is gone, whatever the state says. A
    // class-08 ERROR (a protocol violation) leaves it usable.
    if (f.severity == "FATAL" || f.severity == "PANIC")
        return std::make_exception_ptr(connection_error(std::move(f)));
    if (s.empty()) {
        // libpq's own error (the connection broke while reading the answer).
        f.sqlstate = std::string(sqlstate::connection_failure);
        return std::make_exception_ptr(connection_error(std::move(f)));
    }
    if (s == sqlstate::unique_violation)
        return std::make_exception_ptr(unique_violation(std::move(f)));
    if (s == sqlstate::foreign_key_violation)
        return std::make_exception_ptr(foreign_key_violation(std::move(f)));
    if (s == sqlstate::not_null_violation)
        return std::make_exception_ptr(not_null_violation(std::move(f)));
    if (s == sqlstate::check_violation)
        return std::make_exception_ptr(check_violation(std::move(f)));
    if (s.starts_with("23"))
        return std::make_exception_ptr(integrity_violation(std::move(f)));
    if (s == sqlstate::serialization_failure)
        return std::make_exception_ptr(serialization_failure(std::move(f)));
    if (s == sqlstate::deadlock_detected)
        return std::make_exception_ptr(deadlock_detected(std::move(f)));
    if (s.starts_with("40"))
        return std::make_exception_ptr(transaction_rollback(std::move(f)));
    if (s == sqlstate::syntax_error)
        return std::make_exception_ptr(syntax_error(std::move(f)));
    if (s == sqlstate::undefined_table)
        return std::make_exception_ptr(undefined_table(std::move(f)));
    if (s == sqlstate::undefined_column)
        return std::make_exception_ptr(undefined_column(std::move(f)));
    if (s == sqlstate::division_by_zero)
        return std::make_exception_ptr(division_by_zero(std::move(f)));
    if (s == sqlstate::query_canceled)
        return std::make_exception_ptr(query_canceled(std::move(f)));
    return std::make_exception_ptr(error(std::move(f)));
}

std::exception_ptr make_connection_error(const PGconn* conn, const char* doing) {
    std::string msg = conn ? trimmed(PQerrorMessage(conn)) : std::string("out of memory");
    if (msg.empty())
        msg = "the connection was lost";
    // libpq's messages can span lines ("connection to server ... failed: ..."):
    // one line reads better in a log.
    std::string flat;
    for (char c : msg) {
        if (c == '\n' || c == '\t') {
            if (!flat.empty() && flat.back() != ' ')
                flat += ' ';
        } else {
            flat += c;
        }
    }
    msg = std::move(flat);
    const bool connecting = std::string_view(doing) == "connect";
    error_fields f{std::string(connecting ? sqlstate::unable_to_connect : sqlstate::connection_failure),
                   "FATAL",
                   connecting ? fmt::format("cannot connect: {}", msg) : fmt::format("connection lost ({}): {}", doing, msg),
                   {}, {}, {}, {}, {}};
    return std::make_exception_ptr(connection_error(std::move(f)));
}

}  // namespace detail
}  // namespace vow::pg

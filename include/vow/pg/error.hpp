// vow/pg/error.hpp - the errors of vow::pg: the server's, with its SQLSTATE,
// and the client's own (a lost connection, a value read as the wrong type).
//
//   c.query("INSERT INTO users(email) VALUES ($1)", email)
//       .catch_([](const vow::pg::unique_violation& e) { ... e.constraint() ... })
//       .catch_([](const vow::pg::error& e) { fmt::print("{} {}\n", e.sqlstate(), e.what()); });
//
// Every error the server reports is a vow::pg::error carrying its fields
// (SQLSTATE, severity, primary message, detail, hint, and where given the
// constraint, table and column). The common classes have their own types,
// so a handler never has to parse a message: unique_violation,
// foreign_key_violation, not_null_violation and check_violation (all
// integrity_violation, class 23), serialization_failure and
// deadlock_detected (both transaction_rollback, class 40), syntax_error,
// undefined_table, undefined_column, division_by_zero and query_canceled.
// Any other state is a plain vow::pg::error: compare sqlstate() with the
// constants of vow::pg::sqlstate.
//
// connection_error is a pg::error too: the connection could not be made
// (refused, wrong password, no such database: the server's words), or was
// lost (the server shut down, the backend was terminated). Its sqlstate()
// is the server's where the server sent one (57P01 admin_shutdown, ...),
// and otherwise 08001 (could not connect) or 08006 (connection lost).
//
// conversion_error is the client refusing to read a value as the type asked
// for (int8 into an int, a NULL into a non-optional); it names the column.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

namespace vow::pg {

// SQLSTATE codes (PostgreSQL's Appendix A) that callers commonly test for.
namespace sqlstate {
inline constexpr std::string_view unique_violation = "23505";
inline constexpr std::string_view foreign_key_violation = "23503";
inline constexpr std::string_view not_null_violation = "23502";
inline constexpr std::string_view check_violation = "23514";
inline constexpr std::string_view serialization_failure = "40001";
inline constexpr std::string_view deadlock_detected = "40P01";
inline constexpr std::string_view syntax_error = "42601";
inline constexpr std::string_view undefined_table = "42P01";
inline constexpr std::string_view undefined_column = "42703";
inline constexpr std::string_view division_by_zero = "22012";
inline constexpr std::string_view query_canceled = "57014";
inline constexpr std::string_view admin_shutdown = "57P01";
inline constexpr std::string_view invalid_password = "28P01";
inline constexpr std::string_view invalid_catalog_name = "3D000";   // no such database
inline constexpr std::string_view invalid_sql_statement_name = "26000";
inline constexpr std::string_view feature_not_supported = "0A000";
inline constexpr std::string_view connection_failure = "08006";
inline constexpr std::string_view unable_to_connect = "08001";
}  // namespace sqlstate

// What the server said about an error, field by field (empty when absent).
struct error_fields {
    std::string sqlstate;
    std::string severity;   // ERROR, FATAL, PANIC
    std::string message;    // the primary message
    std::string detail;
    std::string hint;
    std::string constraint;
    std::string table;
    std::string column;
};

class error : public std::runtime_error {
public:
    // what(): "vow::pg: <message> (SQLSTATE <code>)", then the detail and
    // hint on their own lines where the server gave them.
    explicit error(error_fields f);

    [[nodiscard]] const std::string& sqlstate() const noexcept { return f_.sqlstate; }
    // The first two characters: the class ("23": integrity constraint).
    [[nodiscard]] std::string_view sqlstate_class() const noexcept {
        return std::string_view(f_.sqlstate).substr(0, 2);
    }
    [[nodiscard]] const std::string& severity() const noexcept { return f_.severity; }
    [[nodiscard]] const std::string& message() const noexcept { return f_.message; }
    [[nodiscard]] const std::string& detail() const noexcept { return f_.detail; }
    [[nodiscard]] const std::string& hint() const noexcept { return f_.hint; }
    [[nodiscard]] const std::string& constraint() const noexcept { return f_.constraint; }
    [[nodiscard]] const std::string& table() const noexcept { return f_.table; }
    [[nodiscard]] const std::string& column() const noexcept { return f_.column; }
    [[nodiscard]] const error_fields& fields() const noexcept { return f_; }

private:
    error_fields f_;
};

// Class 23.
class integrity_violation : public error {
public:
    using error::error;
};
class unique_violation : public integrity_violation {
public:
    using integrity_violation::integrity_violation;
};
class foreign_key_violation : public integrity_violation {
public:
    using integrity_violation::integrity_violation;
};
class not_null_violation : public integrity_violation {
public:
    using integrity_violation::integrity_violation;
};
class check_violation : public integrity_violation {
public:
    using integrity_violation::integrity_violation;
};
// Class 40: the transaction was rolled back; running it again may succeed.
class transaction_rollback : public error {
public:
    using error::error;
};
class serialization_failure : public transaction_rollback {
public:
    using transaction_rollback::transaction_rollback;
};
class deadlock_detected : public transaction_rollback {
public:
    using transaction_rollback::transaction_rollback;
};
class syntax_error : public error {
public:
    using error::error;
};
class undefined_table : public error {
public:
    using error::error;
};
class undefined_column : public error {
public:
    using error::error;
};
class division_by_zero : public error {
public:
    using error::error;
};
// 57014: the query was cancelled (a cancel request, statement_timeout).
class query_canceled : public error {
public:
    using error::error;
};
// The connection could not be made, or was lost.
class connection_error : public error {
public:
    using error::error;
};

// A value could not be read as the type asked for, or a parameter could not
// be sent as given. The message names the column (or parameter) and why.
class conversion_error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

}  // namespace vow::pg

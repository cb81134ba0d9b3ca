/// @file
/// The errors of vow::pg: the server's, with its SQLSTATE, and the client's
/// own (a lost connection, a value read as the wrong type).
///
/// @code
/// c.query("INSERT INTO users(email) VALUES ($1)", email)
///     .catch_([](const vow::pg::unique_violation& e) { ... e.constraint() ... })
///     .catch_([](const vow::pg::error& e) { fmt::print("{} {}\n", e.sqlstate(), e.what()); });
/// @endcode
///
/// Every error the server reports is a vow::pg::error carrying its fields
/// (SQLSTATE, severity, primary message, detail, hint, and where given the
/// constraint, table and column). The common classes have their own types,
/// so a handler never has to parse a message: unique_violation,
/// foreign_key_violation, not_null_violation and check_violation (all
/// integrity_violation, class 23), serialization_failure and
/// deadlock_detected (both transaction_rollback, class 40), syntax_error,
/// undefined_table, undefined_column, division_by_zero and query_canceled.
/// Any other state is a plain vow::pg::error: compare sqlstate() with the
/// constants of vow::pg::sqlstate.
///
/// connection_error is a pg::error too: the connection could not be made
/// (refused, wrong password, no such database: the server's words), or was
/// lost (the server shut down, the backend was terminated). Its sqlstate()
/// is the server's where the server sent one (57P01 admin_shutdown, ...),
/// and otherwise 08001 (could not connect) or 08006 (connection lost).
///
/// conversion_error is the client refusing to read a value as the type asked
/// for (int8 into an int, a NULL into a non-optional); it names the column.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

namespace vow::pg {

/// SQLSTATE codes (PostgreSQL's Appendix A) that callers commonly test for.
namespace sqlstate {
inline constexpr std::string_view unique_violation = "23505";       ///< A duplicate key.
inline constexpr std::string_view foreign_key_violation = "23503";  ///< A foreign key violated.
inline constexpr std::string_view not_null_violation = "23502";     ///< NULL in a NOT NULL column.
inline constexpr std::string_view check_violation = "23514";        ///< A CHECK constraint failed.
inline constexpr std::string_view serialization_failure = "40001";  ///< Serialization conflict.
inline constexpr std::string_view deadlock_detected = "40P01";      ///< A deadlock was broken.
inline constexpr std::string_view syntax_error = "42601";           ///< The SQL does not parse.
inline constexpr std::string_view undefined_table = "42P01";        ///< No such table.
inline constexpr std::string_view undefined_column = "42703";       ///< No such column.
inline constexpr std::string_view division_by_zero = "22012";       ///< Division by zero.
inline constexpr std::string_view query_canceled = "57014";         ///< The query was cancelled.
inline constexpr std::string_view admin_shutdown = "57P01";         ///< The server shut down.
inline constexpr std::string_view invalid_password = "28P01";       ///< Password refused.
inline constexpr std::string_view invalid_catalog_name = "3D000";   ///< no such database
inline constexpr std::string_view invalid_sql_statement_name = "26000";  ///< No such statement.
inline constexpr std::string_view feature_not_supported = "0A000";       ///< Not supported.
inline constexpr std::string_view connection_failure = "08006";  ///< The connection was lost.
inline constexpr std::string_view unable_to_connect = "08001";   ///< Could not connect.
}  // namespace sqlstate

/// What the server said about an error, field by field (empty when absent).
struct error_fields {
    std::string sqlstate;    ///< The SQLSTATE code ("23505").
    std::string severity;    ///< ERROR, FATAL, PANIC
    std::string message;     ///< the primary message
    std::string detail;      ///< A secondary message with more detail.
    std::string hint;        ///< A suggestion of what to do about it.
    std::string constraint;  ///< The name of the constraint concerned.
    std::string table;       ///< The name of the table concerned.
    std::string column;      ///< The name of the column concerned.
};

/// An error the server reported (or a connection_error), with its fields.
///
/// The common SQLSTATE classes have their own derived types; any other state
/// is a plain vow::pg::error: compare sqlstate() with the constants of
/// vow::pg::sqlstate.
class error : public std::runtime_error {
public:
    /// An error with the server's fields `f`.
    ///
    /// what(): `"vow::pg: <message> (SQLSTATE <code>)"`, then the detail and
    /// hint on their own lines where the server gave them.
    explicit error(error_fields f);

    /// The SQLSTATE code ("23505"); compare it with vow::pg::sqlstate's constants.
    [[nodiscard]] const std::string& sqlstate() const noexcept { return f_.sqlstate; }
    /// The first two characters: the class ("23": integrity constraint).
    [[nodiscard]] std::string_view sqlstate_class() const noexcept {
        return std::string_view(f_.sqlstate).substr(0, 2);
    }
    /// ERROR, FATAL or PANIC.
    [[nodiscard]] const std::string& severity() const noexcept { return f_.severity; }
    /// The primary message.
    [[nodiscard]] const std::string& message() const noexcept { return f_.message; }
    /// The detail, or empty.
    [[nodiscard]] const std::string& detail() const noexcept { return f_.detail; }
    /// The hint, or empty.
    [[nodiscard]] const std::string& hint() const noexcept { return f_.hint; }
    /// The name of the constraint concerned, or empty.
    [[nodiscard]] const std::string& constraint() const noexcept { return f_.constraint; }
    /// The name of the table concerned, or empty.
    [[nodiscard]] const std::string& table() const noexcept { return f_.table; }
    /// The name of the column concerned, or empty.
    [[nodiscard]] const std::string& column() const noexcept { return f_.column; }
    /// All the fields.
    [[nodiscard]] const error_fields& fields() const noexcept { return f_; }

private:
    error_fields f_;
};

/// Class 23: an integrity constraint was violated.
class integrity_violation : public error {
public:
    /// An error with the server's fields.
    using error::error;
};
/// 23505: a unique constraint was violated (a duplicate key).
class unique_violation : public integrity_violation {
public:
    /// An error with the server's fields.
    using integrity_violation::integrity_violation;
};
/// 23503: a foreign key was violated.
class foreign_key_violation : public integrity_violation {
public:
    /// An error with the server's fields.
    using integrity_violation::integrity_violation;
};
/// 23502: a NULL in a NOT NULL column.
class not_null_violation : public integrity_violation {
public:
    /// An error with the server's fields.
    using integrity_violation::integrity_violation;
};
/// 23514: a CHECK constraint failed.
class check_violation : public integrity_violation {
public:
    /// An error with the server's fields.
    using integrity_violation::integrity_violation;
};
/// Class 40: the transaction was rolled back; running it again may succeed.
class transaction_rollback : public error {
public:
    /// An error with the server's fields.
    using error::error;
};
/// 40001: a serializable (or repeatable read) transaction conflicted with
/// another.
class serialization_failure : public transaction_rollback {
public:
    /// An error with the server's fields.
    using transaction_rollback::transaction_rollback;
};
/// 40P01: the transaction was chosen to break a deadlock.
class deadlock_detected : public transaction_rollback {
public:
    /// An error with the server's fields.
    using transaction_rollback::transaction_rollback;
};
/// 42601: the SQL does not parse.
class syntax_error : public error {
public:
    /// An error with the server's fields.
    using error::error;
};
/// 42P01: the query names a table (or view) that does not exist.
class undefined_table : public error {
public:
    /// An error with the server's fields.
    using error::error;
};
/// 42703: the query names a column that does not exist.
class undefined_column : public error {
public:
    /// An error with the server's fields.
    using error::error;
};
/// 22012: division by zero.
class division_by_zero : public error {
public:
    /// An error with the server's fields.
    using error::error;
};
/// 57014: the query was cancelled (a cancel request, statement_timeout).
class query_canceled : public error {
public:
    /// An error with the server's fields.
    using error::error;
};
/// The connection could not be made, or was lost.
class connection_error : public error {
public:
    /// An error with the server's fields (or the client's own: 08001, 08006).
    using error::error;
};

/// A value could not be read as the type asked for, or a parameter could not
/// be sent as given. The message names the column (or parameter) and why.
class conversion_error : public std::runtime_error {
public:
    /// An error with the message `what`.
    using std::runtime_error::runtime_error;
};

}  // namespace vow::pg

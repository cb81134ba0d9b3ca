// pg/pg_internal.hpp - what vow-pg's sources share: errors made from
// libpq's results and connections.
#pragma once

#include <vow/pg/error.hpp>

#include <exception>

#include <libpq-fe.h>

namespace vow::pg::detail {

// The server's error in `res` (a PGRES_FATAL_ERROR result), as the
// vow::pg::error subclass its SQLSTATE names.
std::exception_ptr make_error(const PGresult* res);

// The fields of a notice or error result, as the server sent them.
error_fields notice_fields(const PGresult* res);

// connection_error from libpq's message on `conn` ("connect", "read", ...
// says what was being done); its SQLSTATE is 08001 while connecting,
// 08006 afterwards.
std::exception_ptr make_connection_error(const PGconn* conn, const char* doing);

}  // namespace vow::pg::detail

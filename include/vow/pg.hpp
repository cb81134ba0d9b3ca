/// @file
/// vow::pg, the PostgreSQL client (the vow-pg library, on libpq).
///
/// Connections, queries, results, transactions, the pool, binary COPY rows.
#pragma once

#include <vow/pg/connection.hpp>
#include <vow/pg/copy.hpp>
#include <vow/pg/error.hpp>
#include <vow/pg/pool.hpp>
#include <vow/pg/result.hpp>
#include <vow/pg/types.hpp>

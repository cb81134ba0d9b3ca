// pg/result.cpp - vow::pg::result and row over libpq's PGresult.
#include <vow/pg/result.hpp>

#include <vow/error.hpp>

#include <libpq-fe.h>

#include <fmt/format.h>

#include <charconv>
#include <cstring>

namespace vow::pg {

namespace {

const PGresult* pq(const pg_result* r) { return reinterpret_cast<const PGresult*>(r); }

int find_column(const pg_result* res, std::string_view name) {
    if (res) {
        const int n = PQnfields(pq(res));
        for (int i = 0; i < n; ++i)
            if (name == PQfname(pq(res), i))
                return i;
    }
    std::string names;
    if (res)
        for (int i = 0; i < PQnfields(pq(res)); ++i)
            names += fmt::format("{}'{}'", i ? ", " : "", PQfname(pq(res), i));
    throw vow::invalid_argument(fmt::format("vow::pg: the result has no column '{}' (its columns: {})", name,
                                            names.empty() ? std::string("none") : names));
}

}  // namespace

result::result(pg_result* res)
    : res_(res, [](pg_result* p) { PQclear(reinterpret_cast<PGresult*>(p)); }) {}

int result::size() const noexcept { return res_ ? PQntuples(pq(res_.get())) : 0; }
int result::columns() const noexcept { return res_ ? PQnfields(pq(res_.get())) : 0; }

std::string_view result::column_name(int index) const {
    if (index < 0 || index >= columns())
        throw vow::invalid_argument(
            fmt::format("vow::pg: column {} is out of range (the result has {} columns)", index, columns()));
    return PQfname(pq(res_.get()), index);
}

oid result::column_type(int index) const {
    if (index < 0 || index >= columns())
        throw vow::invalid_argument(
            fmt::format("vow::pg: column {} is out of range (the result has {} columns)", index, columns()));
    return PQftype(pq(res_.get()), index);
}

int result::column_index(std::string_view name) const { return find_column(res_.get(), name); }

row result::operator[](int index) const {
    if (index < 0 || index >= size())
        throw vow::invalid_argument(
            fmt::format("vow::pg: row {} is out of range (the result has {} rows)", index, size()));
    return row(res_, index);
}

std::string_view result::command_tag() const noexcept {
    return res_ ? PQcmdStatus(const_cast<PGresult*>(pq(res_.get()))) : "";
}

std::uint64_t result::affected_rows() const noexcept {
    std::string_view tag = command_tag();
    auto space = tag.rfind(' ');
    if (space == std::string_view::npos)
        return 0;
    std::uint64_t n = 0;
    std::from_chars(tag.data() + space + 1, tag.data() + tag.size(), n);
    return n;
}

field row::at(int index) const {
    const PGresult* r = pq(res_.get());
    if (index < 0 || index >= PQnfields(r))
        throw vow::invalid_argument(
            fmt::format("vow::pg: column {} is out of range (the row has {} columns)", index, PQnfields(r)));
    field f;
    f.null = PQgetisnull(r, row_, index) != 0;
    f.text = std::string_view(PQgetvalue(r, row_, index), static_cast<std::size_t>(PQgetlength(r, row_, index)));
    f.type = PQftype(r, index);
    f.column = PQfname(r, index);
    f.column_index = index;
    f.row = row_;
    return f;
}

int row::column_index(std::string_view name) const { return find_column(res_.get(), name); }
int row::size() const noexcept { return PQnfields(pq(res_.get())); }

}  // namespace vow::pg

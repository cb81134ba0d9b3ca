// vow/pg/result.hpp - the rows a query returned, with typed access.
//
//   vow::pg::result res = ...;            // from connection::query
//   for (vow::pg::row row : res)
//       fmt::print("{} {}\n", row.get<std::int64_t>(0), row.get<std::optional<std::string>>("name"));
//   res.affected_rows();                  // INSERT/UPDATE/DELETE/COPY: how many rows
//
// A result is a cheap handle: copies share one set of rows (libpq's
// PGresult, freed with the last copy); so does a row. The string_views
// read from a row point into the result: keep the result (or the row)
// while using them.
// Reading a value is described in <vow/pg/types.hpp>; a column name that is
// not in the result, or an index out of range, throws vow::invalid_argument
// naming it.
#pragma once

#include <vow/pg/types.hpp>

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <memory>
#include <string>
#include <string_view>

struct pg_result;   // libpq's PGresult, kept opaque

namespace vow::pg {

class result;

class row {
public:
    // The value of column `index` (0-based) or of the column named `name`.
    template <class T>
    [[nodiscard]] T get(int index) const {
        return read_field<T>(at(index));
    }
    template <class T>
    [[nodiscard]] T get(std::string_view name) const {
        return read_field<T>(at(column_index(name)));
    }
    [[nodiscard]] bool is_null(int index) const { return at(index).null; }
    [[nodiscard]] bool is_null(std::string_view name) const { return at(column_index(name)).null; }

    // The field as the traits see it (text, type, NULL-ness).
    [[nodiscard]] field at(int index) const;
    [[nodiscard]] int column_index(std::string_view name) const;
    [[nodiscard]] int size() const noexcept;   // columns
    [[nodiscard]] int index() const noexcept { return row_; }

private:
    friend class result;
    row(std::shared_ptr<pg_result> res, int r) noexcept : res_(std::move(res)), row_(r) {}
    std::shared_ptr<pg_result> res_;   // a row keeps its result alive
    int row_;
};

class result {
public:
    result() = default;   // empty: no rows, no columns

    [[nodiscard]] int size() const noexcept;      // rows
    [[nodiscard]] bool empty() const noexcept { return size() == 0; }
    [[nodiscard]] int columns() const noexcept;
    [[nodiscard]] std::string_view column_name(int index) const;
    [[nodiscard]] oid column_type(int index) const;
    // The index of the column named `name`; throws vow::invalid_argument,
    // listing the columns, if there is none.
    [[nodiscard]] int column_index(std::string_view name) const;

    // Row `index`; throws vow::invalid_argument if out of range.
    [[nodiscard]] row operator[](int index) const;
    [[nodiscard]] row at(int index) const { return (*this)[index]; }

    // The command tag ("SELECT 3", "INSERT 0 1", "COPY 1000000").
    [[nodiscard]] std::string_view command_tag() const noexcept;
    // Rows inserted, updated, deleted, copied or selected, from the tag.
    [[nodiscard]] std::uint64_t affected_rows() const noexcept;

    // The first column of the first row, read as T: for one-value queries.
    // Throws vow::invalid_argument if the result has no rows or columns.
    template <class T>
    [[nodiscard]] T value() const {
        return (*this)[0].template get<T>(0);
    }

    class iterator {
    public:
        using iterator_category = std::forward_iterator_tag;
        using value_type = row;
        using difference_type = std::ptrdiff_t;
        using pointer = void;
        using reference = row;
        iterator() = default;
        row operator*() const noexcept { return row(res_, i_); }
        iterator& operator++() noexcept {
            ++i_;
            return *this;
        }
        iterator operator++(int) noexcept {
            auto t = *this;
            ++i_;
            return t;
        }
        friend bool operator==(const iterator& a, const iterator& b) noexcept { return a.i_ == b.i_; }

    private:
        friend class result;
        iterator(std::shared_ptr<pg_result> res, int i) noexcept : res_(std::move(res)), i_(i) {}
        std::shared_ptr<pg_result> res_;
        int i_ = 0;
    };
    [[nodiscard]] iterator begin() const noexcept { return iterator(res_, 0); }
    [[nodiscard]] iterator end() const noexcept { return iterator(nullptr, size()); }

    // libpq's PGresult, for what vow does not wrap (owned by the result).
    [[nodiscard]] const pg_result* native_handle() const noexcept { return res_.get(); }

    // Takes ownership of a PGresult (freed with PQclear).
    explicit result(pg_result* res);

private:
    std::shared_ptr<pg_result> res_;
};

}  // namespace vow::pg

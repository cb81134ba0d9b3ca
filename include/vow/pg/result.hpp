/// @file
/// vow::pg::result and vow::pg::row: the rows a query returned, with typed
/// access.
///
/// @code
/// vow::pg::result res = ...;            // from connection::query
/// for (vow::pg::row row : res)
///     fmt::print("{} {}\n", row.get<std::int64_t>(0),
///                row.get<std::optional<std::string>>("name"));
/// res.affected_rows();                  // INSERT/UPDATE/DELETE/COPY: how many rows
/// @endcode
///
/// A result is a cheap handle: copies share one set of rows (libpq's
/// PGresult, freed with the last copy); so does a row. The string_views
/// read from a row point into the result: keep the result (or the row)
/// while using them.
/// Reading a value is described in `<vow/pg/types.hpp>`; a column name that
/// is not in the result, or an index out of range, throws
/// vow::invalid_argument naming it.
#pragma once

#include <vow/pg/types.hpp>

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <memory>
#include <string>
#include <string_view>

/// libpq's PGresult, kept opaque (result::native_handle() gives it).
struct pg_result;

namespace vow::pg {

class result;

/// One row of a result: a handle that keeps the result alive.
class row {
public:
    /// The value of column `index` (0-based), read as T
    /// (`<vow/pg/types.hpp>`).
    template <class T>
    [[nodiscard]] T get(int index) const {
        return read_field<T>(at(index));
    }
    /// The value of the column named `name`, read as T.
    template <class T>
    [[nodiscard]] T get(std::string_view name) const {
        return read_field<T>(at(column_index(name)));
    }
    /// True if column `index` is NULL.
    [[nodiscard]] bool is_null(int index) const { return at(index).null; }
    /// True if the column named `name` is NULL.
    [[nodiscard]] bool is_null(std::string_view name) const { return at(column_index(name)).null; }

    /// The field as the traits see it (text, type, NULL-ness).
    [[nodiscard]] field at(int index) const;
    /// The index of the column named `name`; throws vow::invalid_argument,
    /// listing the columns, if there is none.
    [[nodiscard]] int column_index(std::string_view name) const;
    /// The number of columns.
    [[nodiscard]] int size() const noexcept;
    /// This row's index in its result (0-based).
    [[nodiscard]] int index() const noexcept { return row_; }

private:
    friend class result;
    row(std::shared_ptr<pg_result> res, int r) noexcept : res_(std::move(res)), row_(r) {}
    std::shared_ptr<pg_result> res_;   // a row keeps its result alive
    int row_;
};

/// The rows a query returned: a cheap handle, copies share them.
///
/// Iterable: `for (vow::pg::row row : res)` visits the rows in order.
class result {
public:
    /// An empty result: no rows, no columns.
    result() = default;

    /// The number of rows.
    [[nodiscard]] int size() const noexcept;
    /// True if there are no rows.
    [[nodiscard]] bool empty() const noexcept { return size() == 0; }
    /// The number of columns.
    [[nodiscard]] int columns() const noexcept;
    /// The name of column `index`; throws vow::invalid_argument if out of range.
    [[nodiscard]] std::string_view column_name(int index) const;
    /// The type OID of column `index` (vow::pg::oids); throws
    /// vow::invalid_argument if out of range.
    [[nodiscard]] oid column_type(int index) const;
    /// The index of the column named `name`; throws vow::invalid_argument,
    /// listing the columns, if there is none.
    [[nodiscard]] int column_index(std::string_view name) const;

    /// Row `index`; throws vow::invalid_argument if out of range.
    [[nodiscard]] row operator[](int index) const;
    /// Row `index`, as operator[].
    [[nodiscard]] row at(int index) const { return (*this)[index]; }

    /// The command tag ("SELECT 3", "INSERT 0 1", "COPY 1000000").
    [[nodiscard]] std::string_view command_tag() const noexcept;
    /// Rows inserted, updated, deleted, copied or selected, from the tag.
    [[nodiscard]] std::uint64_t affected_rows() const noexcept;

    /// The first column of the first row, read as T: for one-value queries.
    /// Throws vow::invalid_argument if the result has no rows or columns.
    template <class T>
    [[nodiscard]] T value() const {
        return (*this)[0].template get<T>(0);
    }

    /// A forward iterator over the rows; dereferencing makes a row.
    class iterator {
    public:
        using iterator_category = std::forward_iterator_tag;  ///< A forward iterator.
        using value_type = row;                               ///< A row.
        using difference_type = std::ptrdiff_t;               ///< A distance in rows.
        using pointer = void;                                 ///< None: rows are made.
        using reference = row;                                ///< A row, by value.
        /// An iterator that points at no result.
        iterator() = default;
        /// The row it points at.
        row operator*() const noexcept { return row(res_, i_); }
        /// Moves to the next row.
        iterator& operator++() noexcept {
            ++i_;
            return *this;
        }
        /// Moves to the next row; returns where it pointed before.
        iterator operator++(int) noexcept {
            auto t = *this;
            ++i_;
            return t;
        }
        /// True if both point at the same row index.
        friend bool operator==(const iterator& a, const iterator& b) noexcept { return a.i_ == b.i_; }

    private:
        friend class result;
        iterator(std::shared_ptr<pg_result> res, int i) noexcept : res_(std::move(res)), i_(i) {}
        std::shared_ptr<pg_result> res_;
        int i_ = 0;
    };
    /// The first row.
    [[nodiscard]] iterator begin() const noexcept { return iterator(res_, 0); }
    /// Past the last row.
    [[nodiscard]] iterator end() const noexcept { return iterator(nullptr, size()); }

    /// libpq's PGresult, for what vow does not wrap (owned by the result).
    [[nodiscard]] const pg_result* native_handle() const noexcept { return res_.get(); }

    /// Takes ownership of a PGresult (freed with PQclear).
    explicit result(pg_result* res);

private:
    std::shared_ptr<pg_result> res_;
};

}  // namespace vow::pg

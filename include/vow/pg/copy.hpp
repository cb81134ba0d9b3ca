/// @file
/// vow::pg::copy_writer: rows in COPY's binary format, for
/// connection::copy_from("COPY t FROM STDIN (FORMAT binary)", ...).
///
/// @code
/// vow::pg::copy_writer w;                       // starts with the format's header
/// for (...) {
///     w.row(id, name, std::optional<double>{}); // one field per column, in order
///     if (w.size() >= 256 * 1024)
///         co_yield w.take();                    // hand a chunk to copy_from's producer
/// }
/// last_chunk = w.finish();                      // the rest and the trailer
/// @endcode
///
/// The binary format spares the server the parsing of text (a quarter of its
/// time per row in bench/RESULTS.md's "PostgreSQL" rows) and the client the
/// formatting of numbers. It is strict: each value's C++ type must be the
/// column's type exactly, as the server reads the bytes without conversion:
/// std::int16_t int2, std::int32_t int4, std::int64_t int8, float float4,
/// double float8, bool bool, std::string / std::string_view / const char*
/// text or varchar (UTF-8), vow::pg::bytes / std::span<const std::byte>
/// bytea, system_clock::time_point timestamptz, `std::optional<T>` or
/// std::nullopt NULL.
///
/// A value of the wrong width is the server's error (22P03, "incorrect binary
/// data format"), naming the column; COPY then copies nothing.
#pragma once

#include <bit>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace vow::pg {

/// Writes rows in COPY's binary format, to hand to connection::copy_from()
/// in chunks: take() what has accumulated, finish() for the last chunk.
class copy_writer {
public:
    /// A writer holding the format's header, ready for rows.
    copy_writer() { header(); }

    /// Appends one row: its fields, one per column.
    template <class... A>
    void row(const A&... fields) {
        static_assert(sizeof...(A) > 0 && sizeof...(A) <= 1600, "vow::pg::copy_writer::row: 1 to 1600 fields");
        put16(static_cast<std::uint16_t>(sizeof...(A)));
        (field(fields), ...);
        ++rows_;
    }

    /// Bytes waiting to be taken.
    [[nodiscard]] std::size_t size() const noexcept { return buf_.size(); }
    /// Rows written so far.
    [[nodiscard]] std::uint64_t rows() const noexcept { return rows_; }

    /// The bytes so far (the header first), leaving the writer empty for
    /// more rows.
    [[nodiscard]] std::string take() {
        std::string out;
        out.swap(buf_);
        return out;
    }
    /// The bytes so far and the format's trailer: the last chunk.
    [[nodiscard]] std::string finish() {
        put16(0xFFFF);
        return take();
    }

private:
    void header() {
        static constexpr char signature[] = {'P', 'G', 'C', 'O', 'P', 'Y', '\n', '\xff', '\r', '\n', '\0'};
        buf_.append(signature, sizeof signature);
        put32(0);   // flags
        put32(0);   // header extension length
    }
    void put16(std::uint16_t v) {
        const char b[2] = {static_cast<char>(v >> 8), static_cast<char>(v)};
        buf_.append(b, 2);
    }
    void put32(std::uint32_t v) {
        const char b[4] = {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
                           static_cast<char>(v)};
        buf_.append(b, 4);
    }
    void put64(std::uint64_t v) {
        put32(static_cast<std::uint32_t>(v >> 32));
        put32(static_cast<std::uint32_t>(v));
    }
    void bytes_field(const void* p, std::size_t n);

    template <class T>
    void field(const T& v) {
        using U = std::remove_cvref_t<T>;
        if constexpr (std::is_same_v<U, std::nullopt_t> || std::is_same_v<U, std::nullptr_t>) {
            put32(0xFFFFFFFFu);   // -1: NULL
        } else if constexpr (requires { typename U::value_type; v.has_value(); }) {   // std::optional
            if (v)
                field(*v);
            else
                put32(0xFFFFFFFFu);
        } else if constexpr (std::is_same_v<U, bool>) {
            put32(1);
            buf_.push_back(v ? '\1' : '\0');
        } else if constexpr (std::is_integral_v<U> && std::is_signed_v<U> && !std::is_same_v<U, char>) {
            static_assert(sizeof(U) >= 2, "vow::pg::copy_writer: an 8-bit integer has no PostgreSQL type: widen it "
                                          "to std::int16_t");
            put32(sizeof(U));
            if constexpr (sizeof(U) == 2)
                put16(static_cast<std::uint16_t>(v));
            else if constexpr (sizeof(U) == 4)
                put32(static_cast<std::uint32_t>(v));
            else
                put64(static_cast<std::uint64_t>(v));
        } else if constexpr (std::is_same_v<U, float>) {
            put32(4);
            put32(std::bit_cast<std::uint32_t>(v));
        } else if constexpr (std::is_same_v<U, double>) {
            put32(8);
            put64(std::bit_cast<std::uint64_t>(v));
        } else if constexpr (std::is_convertible_v<const U&, std::string_view>) {
            std::string_view s(v);
            bytes_field(s.data(), s.size());
        } else if constexpr (std::is_convertible_v<const U&, std::span<const std::byte>>) {
            std::span<const std::byte> b(v);
            bytes_field(b.data(), b.size());
        } else if constexpr (std::is_same_v<U, std::chrono::system_clock::time_point>) {
            // Microseconds since 2000-01-01 00:00:00 UTC.
            constexpr std::int64_t epoch_2000 = 946'684'800'000'000;
            auto us = std::chrono::duration_cast<std::chrono::microseconds>(v.time_since_epoch()).count();
            put32(8);
            put64(static_cast<std::uint64_t>(us - epoch_2000));
        } else {
            static_assert(sizeof(U) == 0,
                          "vow::pg::copy_writer: no binary COPY form for this type; see <vow/pg/copy.hpp> for the "
                          "types it writes");
        }
    }

    std::string buf_;
    std::uint64_t rows_ = 0;
};

}  // namespace vow::pg

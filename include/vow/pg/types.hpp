/// @file
/// How C++ values become query parameters, and how result fields become C++
/// values.
///
/// @code
/// c.query("SELECT name, born FROM people WHERE id = $1 AND active = $2", 42, true);
/// row.get<std::int64_t>(0);  row.get<std::optional<std::string>>("name");
/// @endcode
///
/// Parameters: bool, the signed integers (int2/int4/int8 by size),
/// float/double (float4/float8), std::string, std::string_view, const char*
/// (text: the server infers the type from the query, so a string also
/// passes numeric, uuid, json, date or array literals such as "{1,2,3}"),
/// vow::pg::bytes and std::span<const std::byte> (bytea, sent in binary),
/// std::chrono::system_clock::time_point (timestamptz, microseconds, UTC),
/// `std::optional<T>` and std::nullopt / nullptr (NULL). Unsigned integers go
/// as the smallest signed type that holds them all (uint32 as int8); uint64
/// is refused at compile time.
///
/// Reading (`row.get<T>`): a conversion happens only where it loses nothing:
/// @code{.unparsed}
/// std::int16_t         int2
/// std::int32_t / int   int2, int4
/// std::int64_t         int2, int4, int8, oid
/// double               float4, float8, int2, int4
/// float                float4, int2
/// bool                 bool
/// std::string          any type but bytea, as the server spells it (text,
///                      varchar, numeric, uuid, json, arrays, dates, ...)
/// std::string_view     the same, pointing into the result (valid while a
///                      copy of the result lives)
/// vow::pg::bytes       bytea
/// system_clock::time_point   timestamptz
/// std::optional<T>     NULL as nullopt, otherwise as T
/// @endcode
/// Anything else, and a NULL read as a non-optional, throws
/// vow::pg::conversion_error naming the column, its type and what to use.
///
/// Other types: specialize `vow::pg::type_traits<T>` with
/// @code
/// static void to_param(const T& v, param& out);   // set out.value (text), out.type
///                                                 // (0: let the server infer)
/// static T from_field(const field& f);            // f.text is the server's text
/// @endcode
#pragma once

#include <vow/pg/error.hpp>

#include <chrono>
#include <charconv>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace vow::pg {

/// A PostgreSQL type's OID (its number in pg_type).
using oid = unsigned int;

/// The type OIDs of PostgreSQL's built-in types that vow knows by name.
namespace oids {
inline constexpr oid unspecified = 0;     ///< No type: the server infers it.
inline constexpr oid boolean = 16;        ///< bool
inline constexpr oid bytea = 17;          ///< bytea
inline constexpr oid name = 19;           ///< name
inline constexpr oid int8 = 20;           ///< int8 (bigint)
inline constexpr oid int2 = 21;           ///< int2 (smallint)
inline constexpr oid int4 = 23;           ///< int4 (integer)
inline constexpr oid text = 25;           ///< text
inline constexpr oid oid_type = 26;       ///< oid
inline constexpr oid json = 114;          ///< json
inline constexpr oid float4 = 700;        ///< float4 (real)
inline constexpr oid float8 = 701;        ///< float8 (double precision)
inline constexpr oid bpchar = 1042;       ///< bpchar (char(n))
inline constexpr oid varchar = 1043;      ///< varchar
inline constexpr oid date = 1082;         ///< date
inline constexpr oid timestamp = 1114;    ///< timestamp (without time zone)
inline constexpr oid timestamptz = 1184;  ///< timestamptz
inline constexpr oid numeric = 1700;      ///< numeric
inline constexpr oid uuid = 2950;         ///< uuid
inline constexpr oid jsonb = 3802;        ///< jsonb
}  // namespace oids

/// PostgreSQL's name of a type OID ("int8"), or "type <oid>" for one vow
/// does not know by name.
[[nodiscard]] std::string type_name(oid type);

/// A byte string: bytea.
using bytes = std::vector<std::byte>;

/// One parameter as it goes to the server.
struct param {
    oid type = oids::unspecified;  ///< 0: the server infers it from the query
    bool null = false;             ///< The parameter is NULL (value is ignored).
    bool binary = false;           ///< value holds the binary form (bytea)
    std::string value;             ///< The value: its text form, unless binary.
};

/// One field of a result, as `type_traits<T>::from_field` sees it.
struct field {
    std::string_view text;    ///< the value as the server sent it (text format)
    oid type = 0;             ///< Its column's type OID.
    bool null = false;        ///< The value is NULL (text is empty).
    std::string_view column;  ///< its name, for messages
    int column_index = 0;     ///< Its column's index (0-based).
    int row = 0;              ///< Its row's index (0-based).
};

/// Throws conversion_error: "vow::pg: column 'c' (int8, row 3) cannot be
/// read as int: <why>".
[[noreturn]] void throw_conversion(const field& f, std::string_view asked, std::string_view why);

namespace detail {
// Parses an integer or a floating point field (text format); throws
// conversion_error if the text is not one (it always is for the types the
// traits accept).
std::int64_t parse_int(const field& f, std::string_view asked);
double parse_double(const field& f, std::string_view asked);
void format_double(double v, std::string& out);
bytes decode_bytea(const field& f);
std::chrono::system_clock::time_point parse_timestamptz(const field& f);
void format_timestamptz(std::chrono::system_clock::time_point t, std::string& out);

template <class T>
inline constexpr bool is_optional_v = false;
template <class T>
inline constexpr bool is_optional_v<std::optional<T>> = true;
}  // namespace detail

/// How a T becomes a parameter and is read from a field. Not defined for
/// types vow::pg does not convert (a compile-time error names this header).
///
/// A specialization for another type has either or both of
/// @code
/// static void to_param(const T& v, param& out);   // set out.value (text), out.type
///                                                 // (0: let the server infer)
/// static T from_field(const field& f);            // f.text is the server's text
/// @endcode
/// The second is called only for a field that is not NULL (read_field sees to it).
template <class T, class Enable = void>
struct type_traits {
    static_assert(sizeof(T) == 0,
                  "vow::pg: no conversion for this type; see <vow/pg/types.hpp> for the types vow::pg "
                  "binds and reads, or specialize vow::pg::type_traits<T>");
};

/// bool: bound as bool, read from a bool column only.
template <>
struct type_traits<bool> {
    /// Sets `out` to `v` as a bool.
    static void to_param(bool v, param& out) {
        out.type = oids::boolean;
        out.value = v ? "t" : "f";
    }
    /// Reads a bool column; conversion_error for any other type.
    static bool from_field(const field& f) {
        if (f.type != oids::boolean)
            throw_conversion(f, "bool", "only a bool column reads as bool");
        return !f.text.empty() && f.text[0] == 't';
    }
};

/// The integers (not bool or char): signed ones bound as int2/int4/int8 by
/// size, unsigned ones as the smallest signed type that holds them all
/// (64-bit unsigned is refused at compile time); read only where no value
/// can be lost.
template <std::integral T>
    requires(!std::same_as<T, bool> && !std::same_as<T, char> && !std::same_as<T, char8_t>)
struct type_traits<T> {
    static_assert(!(std::is_unsigned_v<T> && sizeof(T) >= 8),
                  "vow::pg: a 64-bit unsigned integer has no lossless PostgreSQL type; convert it "
                  "(to std::int64_t, or to a string for numeric)");
    /// The bytes a signed type needs to hold every T (1 for int8_t, 2 for uint8_t, 8 for
    /// uint32_t): to_param binds up to 2 as int2, up to 4 as int4, the rest as int8.
    static constexpr int width = std::is_unsigned_v<T> ? static_cast<int>(sizeof(T)) * 2 : static_cast<int>(sizeof(T));

    /// Sets `out` to `v` as int2, int4 or int8 (as `width` says).
    static void to_param(T v, param& out) {
        out.type = width <= 2 ? oids::int2 : width <= 4 ? oids::int4 : oids::int8;
        char buf[24];
        auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
        out.value.assign(buf, end);
    }
    /// Reads int2, int4, int8 or oid where T holds all its values;
    /// conversion_error otherwise.
    static T from_field(const field& f) {
        const char* asked = width <= 1 ? "an 8-bit integer" : width <= 2 ? "int16_t" : width <= 4 ? "int32_t" : "int64_t";
        bool ok = false;
        switch (f.type) {
        case oids::int2: ok = std::is_signed_v<T> && sizeof(T) >= 2; break;
        case oids::int4: ok = std::is_signed_v<T> && sizeof(T) >= 4; break;
        case oids::int8: ok = std::is_signed_v<T> && sizeof(T) >= 8; break;
        case oids::oid_type: ok = (std::is_signed_v<T> && sizeof(T) >= 8) || (std::is_unsigned_v<T> && sizeof(T) >= 4); break;
        default: break;
        }
        if (!ok)
            throw_conversion(f, asked,
                             "that would lose values (read int2 as int16_t or wider, int4 as int32_t or "
                             "int64_t, int8 as int64_t, numeric as std::string)");
        return static_cast<T>(detail::parse_int(f, asked));
    }
};

/// float and double: bound as float4 / float8, read where no precision is lost.
template <std::floating_point T>
struct type_traits<T> {
    /// Sets `out` to `v` as float4 (float) or float8 (double).
    static void to_param(T v, param& out) {
        out.type = sizeof(T) <= 4 ? oids::float4 : oids::float8;
        detail::format_double(static_cast<double>(v), out.value);
    }
    /// Reads float4 or int2 as float; float4, float8, int2 or int4 as double;
    /// conversion_error otherwise.
    static T from_field(const field& f) {
        bool ok = false;
        if constexpr (sizeof(T) <= 4)
            ok = f.type == oids::float4 || f.type == oids::int2;
        else
            ok = f.type == oids::float4 || f.type == oids::float8 || f.type == oids::int2 || f.type == oids::int4;
        if (!ok)
            throw_conversion(f, sizeof(T) <= 4 ? "float" : "double",
                             "that would lose precision (read float8 as double, numeric as std::string)");
        return static_cast<T>(detail::parse_double(f, sizeof(T) <= 4 ? "float" : "double"));
    }
};

/// std::string_view: bound as text of a type the server infers; reads any
/// type but bytea, pointing into the result.
template <>
struct type_traits<std::string_view> {
    /// Sets `out` to the text `v`, its type left to the server.
    static void to_param(std::string_view v, param& out) { out.value.assign(v); }
    /// The field's text as the server sent it (valid while a copy of the
    /// result lives); conversion_error for bytea.
    static std::string_view from_field(const field& f) {
        if (f.type == oids::bytea)
            throw_conversion(f, "a string", "a bytea column reads as vow::pg::bytes");
        return f.text;
    }
};

/// std::string: as std::string_view, but reading a copy.
template <>
struct type_traits<std::string> {
    /// Sets `out` to the text `v`, its type left to the server.
    static void to_param(const std::string& v, param& out) { out.value = v; }
    /// A copy of the field's text; conversion_error for bytea.
    static std::string from_field(const field& f) { return std::string(type_traits<std::string_view>::from_field(f)); }
};

/// const char*: bound as text of a type the server infers (a null pointer
/// as NULL); parameters only.
template <>
struct type_traits<const char*> {
    /// Sets `out` to the text `v`, or NULL for a null pointer.
    static void to_param(const char* v, param& out) {
        if (v == nullptr)
            out.null = true;
        else
            out.value = v;
    }
};

/// String literals: bound as text (up to the first NUL); parameters only.
template <std::size_t N>
struct type_traits<char[N]> {
    /// Sets `out` to the text in `v`, its type left to the server.
    static void to_param(const char (&v)[N], param& out) { out.value.assign(v, std::char_traits<char>::length(v)); }
};

/// std::span<const std::byte>: bound as bytea, in binary; parameters only.
template <>
struct type_traits<std::span<const std::byte>> {
    /// Sets `out` to the bytes of `v` as binary bytea.
    static void to_param(std::span<const std::byte> v, param& out) {
        out.type = oids::bytea;
        out.binary = true;
        out.value.assign(reinterpret_cast<const char*>(v.data()), v.size());
    }
};

/// vow::pg::bytes: bound as bytea (binary), read from a bytea column only.
template <>
struct type_traits<bytes> {
    /// Sets `out` to the bytes of `v` as binary bytea.
    static void to_param(const bytes& v, param& out) {
        type_traits<std::span<const std::byte>>::to_param(std::span<const std::byte>(v), out);
    }
    /// Decodes a bytea column; conversion_error for any other type.
    static bytes from_field(const field& f) {
        if (f.type != oids::bytea)
            throw_conversion(f, "vow::pg::bytes", "only a bytea column reads as bytes");
        return detail::decode_bytea(f);
    }
};

/// std::chrono::system_clock::time_point: bound as timestamptz (microseconds,
/// UTC), read from a timestamptz column only.
template <>
struct type_traits<std::chrono::system_clock::time_point> {
    /// Sets `out` to `v` as timestamptz, in microseconds.
    static void to_param(std::chrono::system_clock::time_point v, param& out) {
        out.type = oids::timestamptz;
        detail::format_timestamptz(v, out.value);
    }
    /// Reads a timestamptz column; conversion_error for any other type
    /// (timestamp without time zone included).
    static std::chrono::system_clock::time_point from_field(const field& f) {
        if (f.type != oids::timestamptz)
            throw_conversion(f, "system_clock::time_point",
                             "only timestamptz names an instant (a timestamp without time zone does "
                             "not: cast it, e.g. col AT TIME ZONE 'UTC', or read it as std::string)");
        return detail::parse_timestamptz(f);
    }
};

/// std::nullopt: a NULL parameter.
template <>
struct type_traits<std::nullopt_t> {
    /// Sets `out` to NULL.
    static void to_param(std::nullopt_t, param& out) { out.null = true; }
};
/// nullptr: a NULL parameter.
template <>
struct type_traits<std::nullptr_t> {
    /// Sets `out` to NULL.
    static void to_param(std::nullptr_t, param& out) { out.null = true; }
};

/// `std::optional<T>`: NULL as nullopt, otherwise as T.
template <class T>
struct type_traits<std::optional<T>> {
    /// Sets `out` as T's traits do, or to NULL if `v` is empty.
    static void to_param(const std::optional<T>& v, param& out) {
        if (v)
            type_traits<T>::to_param(*v, out);
        else
            out.null = true;
    }
    /// nullopt for NULL, otherwise the field read as T.
    static std::optional<T> from_field(const field& f) {
        if (f.null)
            return std::nullopt;
        return type_traits<T>::from_field(f);
    }
};

/// Reads `f` as T: NULL is an error (conversion_error) unless T is an optional.
template <class T>
T read_field(const field& f) {
    if constexpr (!detail::is_optional_v<T>) {
        if (f.null)
            throw_conversion(f, "a non-optional type", "it is NULL: read it as std::optional<T>");
    }
    return type_traits<T>::from_field(f);
}

/// Makes the parameter for `v`, with `type_traits<T>::to_param`.
template <class T>
param make_param(const T& v) {
    param p;
    type_traits<std::remove_cv_t<std::remove_reference_t<T>>>::to_param(v, p);
    return p;
}

}  // namespace vow::pg

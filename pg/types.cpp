// pg/types.cpp - the text forms of vow::pg's parameter and field types, and
// copy_writer's out-of-line part.
#include <vow/pg/types.hpp>
#include <vow/pg/copy.hpp>

#include <fmt/format.h>

#include <charconv>
#include <cmath>

namespace vow::pg {

std::string type_name(oid type) {
    switch (type) {
    case oids::boolean: return "bool";
    case oids::bytea: return "bytea";
    case oids::name: return "name";
    case oids::int8: return "int8";
    case oids::int2: return "int2";
    case oids::int4: return "int4";
    case oids::text: return "text";
    case oids::oid_type: return "oid";
    case oids::json: return "json";
    case oids::float4: return "float4";
    case oids::float8: return "float8";
    case oids::bpchar: return "bpchar";
    case oids::varchar: return "varchar";
    case oids::date: return "date";
    case oids::timestamp: return "timestamp";
    case oids::timestamptz: return "timestamptz";
    case oids::numeric: return "numeric";
    case oids::uuid: return "uuid";
    case oids::jsonb: return "jsonb";
    default: return fmt::format("type {}", type);
    }
}

void throw_conversion(const field& f, std::string_view asked, std::string_view why) {
    throw conversion_error(fmt::format("vow::pg: column '{}' ({}, row {}) cannot be read as {}: {}", f.column,
                                       type_name(f.type), f.row, asked, why));
}

namespace detail {

std::int64_t parse_int(const field& f, std::string_view asked) {
    std::int64_t v = 0;
    auto [end, ec] = std::from_chars(f.text.data(), f.text.data() + f.text.size(), v);
    if (ec != std::errc() || end != f.text.data() + f.text.size())
        throw_conversion(f, asked, fmt::format("'{}' is not an integer", f.text));
    return v;
}

double parse_double(const field& f, std::string_view asked) {
    std::string_view t = f.text;
    if (t == "NaN")
        return std::nan("");
    if (t == "Infinity")
        return HUGE_VAL;
    if (t == "-Infinity")
        return -HUGE_VAL;
    double v = 0;
    auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
    if (ec != std::errc() || end != t.data() + t.size())
        throw_conversion(f, asked, fmt::format("'{}' is not a number", t));
    return v;
}

void format_double(double v, std::string& out) {
    if (std::isnan(v)) {
        out = "NaN";
    } else if (std::isinf(v)) {
        out = v > 0 ? "Infinity" : "-Infinity";
    } else {
        char buf[32];
        auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);   // shortest round-trip form
        out.assign(buf, end);
    }
}

namespace {
int hex_value(char c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}
}  // namespace

bytes decode_bytea(const field& f) {
    std::string_view t = f.text;
    if (!t.starts_with("\\x"))
        throw_conversion(f, "vow::pg::bytes", "not in bytea's hex format (bytea_output must be 'hex', the default)");
    t.remove_prefix(2);
    if (t.size() % 2 != 0)
        throw_conversion(f, "vow::pg::bytes", "an odd number of hex digits");
    bytes out(t.size() / 2);
    for (std::size_t i = 0; i < out.size(); ++i) {
        int hi = hex_value(t[2 * i]);
        int lo = hex_value(t[2 * i + 1]);
        if (hi < 0 || lo < 0)
            throw_conversion(f, "vow::pg::bytes", "not a hex digit");
        out[i] = static_cast<std::byte>(hi * 16 + lo);
    }
    return out;
}

namespace {
// Reads exactly `n` digits at `pos`; -1 if they are not digits.
int digits(std::string_view t, std::size_t& pos, std::size_t n) {
    if (pos + n > t.size())
        return -1;
    int v = 0;
    for (std::size_t i = 0; i < n; ++i) {
        char c = t[pos + i];
        if (c < '0' || c > '9')
            return -1;
        v = v * 10 + (c - '0');
    }
    pos += n;
    return v;
}
bool expect(std::string_view t, std::size_t& pos, char c) {
    if (pos < t.size() && t[pos] == c) {
        ++pos;
        return true;
    }
    return false;
}
}  // namespace

std::chrono::system_clock::time_point parse_timestamptz(const field& f) {
    using namespace std::chrono;
    std::string_view t = f.text;
    const char* asked = "system_clock::time_point";
    if (t == "infinity" || t == "-infinity")
        throw_conversion(f, asked, fmt::format("'{}' is not a point in time", t));
    if (t.ends_with(" BC"))
        throw_conversion(f, asked, "dates before the common era are out of range");
    // ISO: YYYY-MM-DD HH:MM:SS[.ffffff](+|-)HH[:MM[:SS]]; the year may have
    // more than four digits.
    std::size_t pos = 0;
    std::size_t year_digits = 0;
    while (year_digits < t.size() && t[year_digits] >= '0' && t[year_digits] <= '9')
        ++year_digits;
    int y = year_digits >= 4 ? digits(t, pos, year_digits) : -1;
    int mo = expect(t, pos, '-') ? digits(t, pos, 2) : -1;
    int d = expect(t, pos, '-') ? digits(t, pos, 2) : -1;
    int h = expect(t, pos, ' ') ? digits(t, pos, 2) : -1;
    int mi = expect(t, pos, ':') ? digits(t, pos, 2) : -1;
    int s = expect(t, pos, ':') ? digits(t, pos, 2) : -1;
    if (y < 0 || mo < 0 || d < 0 || h < 0 || mi < 0 || s < 0)
        throw_conversion(f, asked,
                         fmt::format("'{}' is not an ISO timestamp (DateStyle must be ISO, which vow sets)", t));
    long long micros = 0;
    if (expect(t, pos, '.')) {
        int n = 0;
        while (pos < t.size() && t[pos] >= '0' && t[pos] <= '9') {
            if (n < 6) {
                micros = micros * 10 + (t[pos] - '0');
                ++n;
            }
            ++pos;
        }
        for (; n < 6; ++n)
            micros *= 10;
    }
    int sign = 0;
    if (expect(t, pos, '+'))
        sign = 1;
    else if (expect(t, pos, '-'))
        sign = -1;
    int oh = sign ? digits(t, pos, 2) : -1;
    int om = 0, os = 0;
    if (expect(t, pos, ':'))
        om = digits(t, pos, 2);
    if (expect(t, pos, ':'))
        os = digits(t, pos, 2);
    if (!sign || oh < 0 || om < 0 || os < 0 || pos != t.size())
        throw_conversion(f, asked, fmt::format("'{}' is not an ISO timestamp with an offset", t));
    auto day = sys_days(year_month_day(year(y), month(static_cast<unsigned>(mo)), std::chrono::day(static_cast<unsigned>(d))));
    auto local = day + hours(h) + minutes(mi) + seconds(s) + microseconds(micros);
    auto offset = hours(oh) + minutes(om) + seconds(os);
    auto utc = sign > 0 ? local - offset : local + offset;
    return time_point_cast<system_clock::duration>(utc);
}

void format_timestamptz(std::chrono::system_clock::time_point tp, std::string& out) {
    using namespace std::chrono;
    auto us = time_point_cast<microseconds>(tp);
    auto day = floor<days>(us);
    year_month_day ymd(day);
    auto in_day = us - day;
    auto h = duration_cast<hours>(in_day);
    auto m = duration_cast<minutes>(in_day - h);
    auto s = duration_cast<seconds>(in_day - h - m);
    auto frac = (in_day - h - m - s).count();
    int y = static_cast<int>(ymd.year());
    if (y <= 0)
        throw conversion_error(fmt::format("vow::pg: a time_point in year {} cannot be sent as timestamptz "
                                           "(years before 1 are written BC)", y));
    out = fmt::format("{:04}-{:02}-{:02} {:02}:{:02}:{:02}.{:06}+00", y, static_cast<unsigned>(ymd.month()),
                      static_cast<unsigned>(ymd.day()), h.count(), m.count(), s.count(), frac);
}

}  // namespace detail
}  // namespace vow::pg

namespace vow::pg {

void copy_writer::bytes_field(const void* p, std::size_t n) {
    if (n > 0x7FFFFFFFu)
        throw conversion_error(fmt::format("vow::pg::copy_writer: a field of {} bytes is over COPY's 2 GiB limit", n));
    put32(static_cast<std::uint32_t>(n));
    buf_.append(static_cast<const char*>(p), n);
}

}  // namespace vow::pg

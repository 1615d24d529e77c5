// Private helpers of the llm codec: lenient readers over boost::json values, bounded
// excerpts for error messages, and the pieces response and chunk decoding share.
#pragma once

#include <majordomo/llm/chat.hpp>

#include <boost/json/storage_ptr.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

namespace majordomo::llm::detail {

namespace json = boost::json;

/// Bytes of a malformed body quoted in a bad_json message.
inline constexpr std::size_t json_excerpt_limit = 200;
/// Bytes of server text kept in diagnostics::server_message.
inline constexpr std::size_t server_message_limit = 512;

/// Storage for the DOM of one parsed text that a decoded value keeps as its raw JSON:
/// one allocation (an arena sized from the text) instead of one per JSON node, freed
/// in one piece with the last value using it.
json::storage_ptr make_json_arena(std::size_t text_size);

/// Puts `dom` into `raw` together with its storage (the arena it was parsed into).
/// Move-assignment would copy it into raw's storage instead whenever the two differ.
void adopt(json::object& raw, json::object&& dom) noexcept;

/// `s` without leading and trailing spaces, tabs, CRs and LFs.
std::string_view trim(std::string_view s) noexcept;

/// At most `limit` bytes of `s`, cut on a UTF-8 boundary, surrounding whitespace trimmed,
/// control characters other than LF and TAB shown as '?'. A cut text ends in "..."
/// within the limit.
std::string excerpt(std::string_view s, std::size_t limit);

/// Throws client_errc::bad_json saying `what`, quoting at most json_excerpt_limit bytes
/// of `bytes` around offset `at` (where the parser stopped).
[[noreturn]] void throw_bad_json(std::string_view what, std::string_view bytes, std::size_t at = 0);

/// Throws the api_errc error an in-band `{"error":...}` object describes (status from its
/// integer `code` when that is an HTTP error status, else 500).
[[noreturn]] void throw_in_band_error(const json::object& o, std::string_view bytes);

// Lenient readers: a missing, null or mistyped optional field reads as absent. Numbers
// never reach a cast they do not fit (a double beyond int64 converted is undefined
// behaviour, and Boost.JSON reads 1e400 as infinity):
//  - to_integer: an integer that fits int64 (a double is truncated); else absent.
//    For ids and times (`created`): a wrong value is not a value.
//  - to_count: token counts and sizes, clamped into [0, INT64_MAX]: a negative count
//    reads 0, a huge one INT64_MAX; a non-number is absent. Usage is a by-product of an
//    answer: a server's odd count must not cost the caller the answer.
//  - to_int: an int that fits (indices); else absent, so the position is used.
//  - to_number: a finite double; infinity is absent.
// Sums of counts saturate (add_counts).

inline const json::value* field(const json::object& o, std::string_view k) noexcept
{
    auto* v = o.if_contains(k);
    return v && !v->is_null() ? v : nullptr;
}

inline constexpr std::int64_t max_int64 = std::numeric_limits<std::int64_t>::max();

inline std::optional<std::int64_t> to_integer(const json::value& v) noexcept
{
    switch (v.kind()) {
    case json::kind::int64: return v.get_int64();
    case json::kind::uint64: {
        auto u = v.get_uint64();
        if (u > static_cast<std::uint64_t>(max_int64))
            return std::nullopt;
        return static_cast<std::int64_t>(u);
    }
    case json::kind::double_: {
        // [-2^63, 2^63) converts exactly; NaN fails both tests.
        double d = v.get_double();
        if (d >= -0x1p63 && d < 0x1p63)
            return static_cast<std::int64_t>(d);
        return std::nullopt;
    }
    default: return std::nullopt;
    }
}

inline std::optional<std::int64_t> to_count(const json::value& v) noexcept
{
    switch (v.kind()) {
    case json::kind::int64: return std::max<std::int64_t>(v.get_int64(), 0);
    case json::kind::uint64: return static_cast<std::int64_t>(std::min<std::uint64_t>(v.get_uint64(), max_int64));
    case json::kind::double_: {
        double d = v.get_double();
        if (std::isnan(d))
            return std::nullopt;
        if (d <= 0)
            return 0;
        if (d >= 0x1p63)
            return max_int64;
        return static_cast<std::int64_t>(d);
    }
    default: return std::nullopt;
    }
}

/// a + b for counts (both >= 0), saturating at INT64_MAX.
inline std::int64_t add_counts(std::int64_t a, std::int64_t b) noexcept
{
    return a > max_int64 - b ? max_int64 : a + b;
}

inline std::optional<double> to_number(const json::value& v) noexcept
{
    switch (v.kind()) {
    case json::kind::double_: {
        double d = v.get_double();
        if (!std::isfinite(d))
            return std::nullopt;
        return d;
    }
    case json::kind::int64: return static_cast<double>(v.get_int64());
    case json::kind::uint64: return static_cast<double>(v.get_uint64());
    default: return std::nullopt;
    }
}

/// An int that fits, e.g. an index; nullopt otherwise.
inline std::optional<int> to_int(const json::value& v) noexcept
{
    auto i = to_integer(v);
    if (!i || *i < std::numeric_limits<int>::min() || *i > std::numeric_limits<int>::max())
        return std::nullopt;
    return static_cast<int>(*i);
}

inline void assign(std::string& out, const json::value& v)
{
    if (v.is_string())
        out.assign(v.get_string().data(), v.get_string().size());
    else
        out.clear();
}

/// `content` as text: a string, null, or an array of parts whose text parts are joined.
void append_text(std::string& out, const json::value& v);

/// Tool-call `arguments`: normally a JSON string; an object (some servers) is serialized.
void assign_arguments(std::string& out, const json::value& v);

/// `usage`, null or absent giving nullopt.
std::optional<usage> decode_usage(const json::value& v);

/// llama.cpp's `timings`.
std::optional<server_timings> decode_timings(const json::value& v);

} // namespace majordomo::llm::detail

namespace majordomo::llm {
struct chat_chunk;
namespace detail {
/// Decodes a chunk by its DOM alone (raw kept), as chunk_decoder does for the shapes its
/// event decoder leaves over: what the fuzz target and tests compare the two against.
void decode_chunk_with_dom(std::string_view data, chat_chunk& out);
} // namespace detail
} // namespace majordomo::llm

// Private helpers of the llm codec: lenient readers over boost::json values, bounded
// excerpts for error messages, and the pieces response and chunk decoding share.
#pragma once

#include <majordomo/llm/chat.hpp>

#include <boost/json/storage_ptr.hpp>
#include <boost/json/value.hpp>

#include <cstdint>
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

// Lenient readers: a missing, null or mistyped optional field reads as absent.

inline const json::value* field(const json::object& o, std::string_view k) noexcept
{
    auto* v = o.if_contains(k);
    return v && !v->is_null() ? v : nullptr;
}

inline std::optional<std::int64_t> to_integer(const json::value& v) noexcept
{
    switch (v.kind()) {
    case json::kind::int64: return v.get_int64();
    case json::kind::uint64: return static_cast<std::int64_t>(v.get_uint64());
    case json::kind::double_: {
        // Guards the cast: a double outside int64 is not a count.
        double d = v.get_double();
        if (d > -9.2e18 && d < 9.2e18)
            return static_cast<std::int64_t>(d);
        return std::nullopt;
    }
    default: return std::nullopt;
    }
}

inline std::optional<double> to_number(const json::value& v) noexcept
{
    switch (v.kind()) {
    case json::kind::double_: return v.get_double();
    case json::kind::int64: return static_cast<double>(v.get_int64());
    case json::kind::uint64: return static_cast<double>(v.get_uint64());
    default: return std::nullopt;
    }
}

/// An int that fits, e.g. an index; nullopt otherwise.
inline std::optional<int> to_int(const json::value& v) noexcept
{
    auto i = to_integer(v);
    if (!i || *i < -2147483647 || *i > 2147483647)
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

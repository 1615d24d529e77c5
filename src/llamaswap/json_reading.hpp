// Private readers shared by the llama-swap management decoders (management.cpp, admin.cpp):
// lenient field access over boost::json, and the bad_json error for an answer of the wrong shape.
#pragma once

#include "llm/json_helpers.hpp"

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace majordomo::llamaswap::detail {

namespace json = boost::json;

/// What to check when an answer has the wrong shape: most likely the URL is not llama-swap's.
inline constexpr std::string_view check_base_url = "check that the base URL points at llama-swap";

/// Throws client_errc::bad_json: "llama-swap <what> has an unexpected shape: '<excerpt>'", then
/// "; <advice>" when there is any. The excerpt is cut on a UTF-8 boundary, control characters masked.
[[noreturn]] void bad_shape(std::string_view what, std::string_view body, std::string_view advice = {});

/// `body` parsed; text that is not JSON at all is bad_shape(what, body, advice).
json::value parse(std::string_view body, std::string_view what, std::string_view advice = {});

/// A string field; absent, null or not a string reads "".
inline std::string str(const json::object& o, std::string_view k)
{
    auto* v = llm::detail::field(o, k);
    return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

/// An integer that fits int64, else absent (a double beyond it is never cast).
inline std::optional<std::int64_t> integer(const json::object& o, std::string_view k)
{
    auto* v = llm::detail::field(o, k);
    return v ? llm::detail::to_integer(*v) : std::nullopt;
}

/// A count clamped into [0, INT64_MAX], else absent.
inline std::optional<std::int64_t> count(const json::object& o, std::string_view k)
{
    auto* v = llm::detail::field(o, k);
    return v ? llm::detail::to_count(*v) : std::nullopt;
}

/// A finite number, else absent.
inline std::optional<double> number(const json::object& o, std::string_view k)
{
    auto* v = llm::detail::field(o, k);
    return v ? llm::detail::to_number(*v) : std::nullopt;
}

} // namespace majordomo::llamaswap::detail

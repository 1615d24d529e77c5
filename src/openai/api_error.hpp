// Turns a non-2xx answer, or an error sent inside a stream, into majordomo::error.
#pragma once

#include <majordomo/error.hpp>
#include <majordomo/http/message.hpp>

#include <string_view>

namespace majordomo::openai::detail {

struct call_context {
    std::string_view provider;
    std::string_view model;
    std::string_view origin = {}; ///< the base URL; errors show only its scheme, host and port
};

/// Throws the API error for a non-2xx response, its diagnostics parsed from the body.
[[noreturn]] void throw_api_error(const call_context& ctx, int status, const http::fields& headers,
                                  std::string_view body);

/// Throws the API error for an error object found in a 200 stream (`data: {"error":...}`,
/// the older `error:` field, or llama-swap's raw JSON appended after loading frames).
[[noreturn]] void throw_stream_error(const call_context& ctx, std::string_view payload);

/// Throws client_errc::missing_api_key / no_base_url before anything is sent.
void check_ready(const call_context& ctx, std::string_view base_url, const std::optional<std::string>& key);

} // namespace majordomo::openai::detail

// What a failed response says about itself: the error body and the Retry-After delay.
// Sans-io; the openai and llama-swap layers feed it the status, headers and body.
#pragma once

#include <majordomo/error.hpp>
#include <majordomo/http/message.hpp>

#include <chrono>
#include <optional>
#include <string_view>

namespace majordomo::llm {

/// Diagnostics from the body of a non-2xx response (or an error object sent inside a
/// stream). Understands:
///  - OpenAI `{"error":{"message","type","param","code"}}`, `code` a string, int or null;
///  - llama.cpp `{"error":{"code":400,"message","type","n_prompt_tokens","n_ctx"}}`;
///  - llama-swap `{"src":"llama-swap","error":{...}}` and `{"src":...,"error":"<text>"}`;
///  - sd.cpp `{"error":"<text>"}` and `{"error":"server_error","message":"<text>"}`;
///  - plain text (llama-swap's `llama-swap: <msg>`), an HTML page (tags stripped), empty.
/// Sets http_status, server_message (an excerpt of at most 512 bytes, cut on a UTF-8
/// boundary), error_type, error_code (an int code as decimal text), n_prompt_tokens and
/// n_ctx. `content_type` only steers the guess; a JSON body labelled text/plain still parses.
diagnostics parse_error_body(int http_status, std::string_view content_type, std::string_view body);

/// As above with the content type unknown.
diagnostics parse_error_body(int http_status, std::string_view body);

/// The delay a server asked for: `retry-after-ms` (milliseconds, wins when valid) or
/// `Retry-After` (delta-seconds, or an HTTP-date measured from `now`; a date in the past
/// gives zero). Blank or unparsable values give nullopt; huge ones are clamped to a day.
std::optional<std::chrono::milliseconds> parse_retry_after(
    std::string_view retry_after, std::string_view retry_after_ms = {},
    std::chrono::system_clock::time_point now = std::chrono::system_clock::now());

/// The same, read from response headers (names matched case-insensitively).
std::optional<std::chrono::milliseconds> parse_retry_after(const http::fields& headers);

} // namespace majordomo::llm

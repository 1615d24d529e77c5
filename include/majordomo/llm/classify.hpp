// Error diagnostics from response bodies, and the classification of any error.
#pragma once

#include <majordomo/error.hpp>

#include <boost/system/error_code.hpp>

#include <chrono>
#include <exception>
#include <optional>
#include <string_view>

namespace majordomo::llm {

/// Diagnostics from an error body: the OpenAI envelope {"error":{message,type,code}},
/// llama.cpp's (with n_prompt_tokens, n_ctx), llama-swap's {"src",...,"error":{...}} and
/// {"src",...,"error":"..."}, sd.cpp's {"error":"..."}, plain text and HTML. The server
/// message is a bounded excerpt.
diagnostics parse_error_body(int http_status, std::string_view body);

/// A Retry-After (seconds or HTTP-date) or retry-after-ms header value.
std::optional<std::chrono::milliseconds> parse_retry_after(std::string_view retry_after,
                                                           std::string_view retry_after_ms = {});

enum class error_kind {
    cancelled,        ///< the caller cancelled (operation_aborted)
    deadline,         ///< with_deadline fired
    transport,        ///< connect, reset, TLS, DNS
    authentication,   ///< 401, or a blank API key
    permission,       ///< 403
    not_found,        ///< 404: unknown model or route
    rate_limited,     ///< 429 (see retry_after)
    bad_request,      ///< 400 and other 4xx; llama.cpp's 500 for malformed JSON
    context_length,   ///< llama.cpp exceed_context_size_error
    server,           ///< 500, 502, 504
    unavailable,      ///< 503, llama.cpp "Loading model", a model unloaded mid-request
    stream_truncated, ///< the stream ended without [DONE]
    decoding,         ///< malformed response bytes or JSON
    other,
};

const char* to_string(error_kind k) noexcept;

struct classification {
    error_kind kind = error_kind::other;
    /// Whether sending the same request again can help. For stream_truncated this holds
    /// only if the caller has not consumed output from the stream yet.
    bool retryable = false;
    std::optional<std::chrono::milliseconds> retry_after;
};

classification classify(const boost::system::error_code& ec, const diagnostics& diag = {});
classification classify(const std::exception_ptr& e);

} // namespace majordomo::llm

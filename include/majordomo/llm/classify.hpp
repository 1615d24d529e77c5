// What kind of failure an error is, and whether trying again can help.
#pragma once

#include <majordomo/error.hpp>
#include <majordomo/llm/error_body.hpp>

#include <boost/system/error_code.hpp>

#include <chrono>
#include <exception>
#include <optional>

namespace majordomo::llm {

enum class error_kind {
    cancelled,        ///< the caller cancelled (operation_aborted)
    deadline,         ///< with_deadline fired (client_errc::deadline_exceeded)
    transport,        ///< connect, reset, DNS, TLS, a response cut off by the peer
    authentication,   ///< 401, or a blank API key
    permission,       ///< 403
    not_found,        ///< 404: unknown model or route
    rate_limited,     ///< 429 (see retry_after)
    bad_request,      ///< 400 and other 4xx, 501, llama.cpp's 500s for invalid requests
    context_length,   ///< llama.cpp exceed_context_size_error, OpenAI context_length_exceeded
    server,           ///< 500, 502, 504 and other 5xx; 408
    unavailable,      ///< 503 (llama.cpp "Loading model"), 409, a model unloaded mid-request
    stream_truncated, ///< the stream ended without data: [DONE]
    decoding,         ///< malformed response bytes or JSON, a wrong content type
    other,            ///< misuse and configuration: bad DSN, no base URL, ...
};

const char* to_string(error_kind k) noexcept;

struct classification {
    error_kind kind = error_kind::other;
    /// Whether sending the same request again can help: 408, 409, 429, 5xx (but not 501
    /// nor llama.cpp's 500s for invalid requests), 503 while a model loads, transport
    /// failures, deadlines, a model unloaded mid-request, a truncated stream.
    /// A stream_truncated (or any error met while reading a stream) is retryable only
    /// if the caller has not consumed output from the stream yet: a retry starts the
    /// answer over. This flag cannot know that; the caller must check.
    bool retryable = false;
    /// How long the server asked to wait (Retry-After, retry-after-ms), if it did.
    std::optional<std::chrono::milliseconds> retry_after;
};

/// Classifies an error code, with the diagnostics that came with it (HTTP status, the
/// error body's type and code, Retry-After). Follows wire-formats §4.4 and §7.5.
classification classify(const boost::system::error_code& ec, const diagnostics& diag = {});

/// Classifies a caught majordomo::error.
classification classify(const error& e);

/// Classifies any exception: majordomo::error with its diagnostics, other
/// system_errors by code, anything else (or a null pointer) as other.
classification classify(const std::exception_ptr& e);

} // namespace majordomo::llm

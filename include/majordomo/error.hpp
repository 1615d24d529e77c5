// The error model: error categories by origin, diagnostics, the exception every
// async_* call throws, and the one non-throwing adapter.
#pragma once

#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>
#include <boost/system/system_error.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace majordomo {

/// Errors detected by majordomo itself, above the HTTP transport.
enum class client_errc {
    deadline_exceeded = 1,   ///< with_deadline's timer fired before the operation finished
    stream_truncated,        ///< a stream ended without its terminator (`data: [DONE]`)
    bad_json,                ///< a body or event was not the JSON we expected
    unexpected_content_type, ///< e.g. a stream answered without text/event-stream
    invalid_argument,        ///< the caller passed something unusable (message says which)
    no_base_url,             ///< the provider was built without a base URL
    missing_api_key,         ///< an API key was set but blank
    operation_in_progress,   ///< a second async_next while one is pending
    bad_dsn,                 ///< a DSN could not be parsed
    unknown_provider,        ///< a registry lookup found no such provider
    bad_image,               ///< image data missing, empty or not valid base64
    model_unloaded,          ///< the model was unloaded while the request used it
    stream_closed,           ///< a stream was used again after it failed or was cancelled
    first_token_deadline_exceeded, ///< phase_deadlines::first_token passed before the first real token
    idle_deadline_exceeded,        ///< phase_deadlines::idle passed between two chunks of a stream
    total_deadline_exceeded,       ///< phase_deadlines::total passed before the call (or its stream) ended
};

/// A non-2xx answer from a server, or an error reported inside a 200 stream.
/// The value is the HTTP status (or 500 for an in-stream error without one).
enum class api_errc {};

const boost::system::error_category& get_client_category() noexcept;
const boost::system::error_category& get_api_category() noexcept;

inline boost::system::error_code make_error_code(client_errc e) noexcept
{
    return {static_cast<int>(e), get_client_category()};
}
inline boost::system::error_code make_error_code(api_errc e) noexcept
{
    return {static_cast<int>(e), get_api_category()};
}
/// The error code for an API error with this HTTP status.
inline boost::system::error_code make_api_error(int http_status) noexcept
{
    return make_error_code(static_cast<api_errc>(http_status));
}

/// What we know about a failure beyond its code. Server text is kept apart from
/// client text: it can quote the prompt. Secrets never enter either.
struct diagnostics {
    std::string provider;        ///< provider name, e.g. "llama-swap"
    std::string model;           ///< model id the call was for
    int http_status = 0;         ///< 0 when no response was received
    std::string server_message;  ///< from the error body, bounded excerpt
    std::string error_type;      ///< OpenAI "type", e.g. "invalid_request_error"
    std::string error_code;      ///< OpenAI "code" as text, e.g. "rate_limit_exceeded"
    std::string client_message;  ///< what majordomo adds: context and the fix
    std::string origin;          ///< scheme://host[:port] of the server, never userinfo or path
    std::optional<std::chrono::milliseconds> retry_after; ///< from Retry-After
    std::optional<long long> n_prompt_tokens; ///< llama.cpp exceed_context_size_error
    std::optional<long long> n_ctx;           ///< llama.cpp exceed_context_size_error
    /// Tries made by a call with retries (llm::retry_params); 0 when the failure came from
    /// below the retry loop.
    int attempts = 0;
    /// The request provably never reached the server: no connection was made, or its write
    /// failed. Sending it again is then safe whatever its method.
    bool request_not_sent = false;
};

/// The exception thrown by every majordomo async_* call.
class error : public boost::system::system_error {
public:
    error(boost::system::error_code ec, diagnostics diag);
    explicit error(boost::system::error_code ec);
    error(boost::system::error_code ec, std::string client_message);

    const diagnostics& diag() const noexcept { return diag_; }

    /// For people: provider, model, origin, what failed, what the server said, then the
    /// code's message (what to do). Never system_error's " [category:N at file:line]"
    /// suffix: a source location stays in code().location() for those who want it.
    const char* what() const noexcept override;

private:
    diagnostics diag_;
    std::string what_;
};

/// scheme://host[:port] of `url`, for messages and logs: userinfo, path, query and
/// fragment are dropped, as is any part that does not look like what it should be
/// (a scheme that is not lower-case letters, a host or port with stray characters),
/// shown as `***`. Text that is not a URL gives "***". The userinfo is taken to end at
/// the last '@', so a key holding '/', '?' or '#' is hidden too.
std::string redact_url(std::string_view url);

/// Throws majordomo::error with a source location attached to the code.
[[noreturn]] void throw_error(boost::system::error_code ec, std::string client_message = {},
                              const boost::source_location& loc = BOOST_CURRENT_LOCATION);

/// The error half of a non-throwing result.
struct failure {
    boost::system::error_code code;
    diagnostics diag;
};

/// Lets result<T, failure>::value() rethrow the rich exception.
[[noreturn]] void throw_exception_from_error(const failure& f, const boost::source_location& loc);

template <class T>
using result = boost::system::result<T, failure>;

/// Converts whatever the current exception is into a failure.
failure current_failure();

} // namespace majordomo

namespace boost::system {
template <>
struct is_error_code_enum<majordomo::client_errc> : std::true_type {};
template <>
struct is_error_code_enum<majordomo::api_errc> : std::true_type {};
} // namespace boost::system

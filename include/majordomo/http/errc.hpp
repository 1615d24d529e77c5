// Errors of the HTTP transport: limits and malformed responses.
#pragma once

#include <boost/system/error_code.hpp>

namespace majordomo::http {

enum class errc {
    header_limit_exceeded = 1, ///< status line and headers (interim responses included) over client_params::header_limit
    body_limit_exceeded,       ///< response body larger than client_params::body_limit
    bad_status_line,           ///< the response did not start with a valid HTTP/1.x status line
    bad_header,                ///< a malformed header field, Content-Length or Transfer-Encoding
    bad_chunk,                 ///< a malformed chunk size or chunk framing
    response_truncated,        ///< the server closed the connection before the response ended
    bad_url,                   ///< the request URL could not be parsed
    unsupported_scheme,        ///< the URL scheme is neither http nor https
    bad_request_field,         ///< a request method or header the client refuses to send (CR, LF, NUL, not a token)
    chunk_line_limit_exceeded, ///< a chunk-size line with its extensions over client_params::header_limit
    trailer_limit_exceeded,    ///< the trailer section of a chunked body over client_params::header_limit
    bad_framing,               ///< Content-Length with Transfer-Encoding, a bad Content-Length, or an unknown transfer coding
    unexpected_upgrade,        ///< 101 Switching Protocols to a request that asked for no upgrade
    stream_closed,             ///< reading a response_stream that an error, a cancellation or close() ended
};

const boost::system::error_category& get_http_category() noexcept;

inline boost::system::error_code make_error_code(errc e) noexcept
{
    return {static_cast<int>(e), get_http_category()};
}

} // namespace majordomo::http

template <>
struct boost::system::is_error_code_enum<majordomo::http::errc> : std::true_type {};

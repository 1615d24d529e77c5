// Errors of the HTTP transport: limits and malformed responses.
#pragma once

#include <boost/system/error_code.hpp>

namespace majordomo::http {

enum class errc {
    header_limit_exceeded = 1, ///< response headers larger than client_params::header_limit
    body_limit_exceeded,       ///< response body larger than client_params::body_limit
    bad_status_line,           ///< the response did not start with a valid HTTP/1.x status line
    bad_header,                ///< a malformed header field, Content-Length or Transfer-Encoding
    bad_chunk,                 ///< a malformed chunk size or chunk framing
    response_truncated,        ///< the server closed the connection before the response ended
    bad_url,                   ///< the request URL could not be parsed
    unsupported_scheme,        ///< the URL scheme is neither http nor https
    bad_request_field,         ///< a request method or header the client refuses to send (CR, LF, NUL, not a token)
};

const boost::system::error_category& get_http_category() noexcept;

inline boost::system::error_code make_error_code(errc e) noexcept
{
    return {static_cast<int>(e), get_http_category()};
}

} // namespace majordomo::http

template <>
struct boost::system::is_error_code_enum<majordomo::http::errc> : std::true_type {};

// Writes an HTTP/1.1 request head (request line and fields) into one string. Sans-io.
#pragma once

#include <majordomo/http/message.hpp>

#include <string>
#include <string_view>

namespace majordomo::http::detail {

struct request_head_params {
    std::string_view target;      ///< path and query, starting with '/'
    std::string_view host;        ///< Host value unless the request sets one
    std::string_view user_agent;  ///< User-Agent unless the request sets one; empty: none
};

/// The head of `req`, ending with the blank line. Content-Length is the body's size
/// (sent for a non-empty body and for POST, PUT and PATCH); the request's own
/// Content-Length and Transfer-Encoding fields are dropped, since the client frames
/// the body.
/// @throws error with errc::bad_request_field for a method or field name that is not
///   an HTTP token or a value holding CR, LF or NUL: sending it would let the value
///   forge fields or a second request. The message names the field, not its value.
std::string write_request_head(const request& req, const request_head_params& p);

} // namespace majordomo::http::detail

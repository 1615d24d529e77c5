// Request URLs: what the client connects to, and what it writes in the request line. Sans-io.
#pragma once

#include "http/connection.hpp"

#include <string>

namespace majordomo::http::detail {

struct target {
    http::detail::origin origin; ///< scheme, host (decoded, IPv6 without brackets) and port
    std::string host_header; ///< the Host field: host, and the port when not the default
    std::string path;        ///< path and query, starting with '/'
};

/// Parses an absolute http or https URL.
/// @throws error with errc::bad_url (a host with bytes a host cannot have, an empty port or
///   one outside 1-65535, no host) or errc::unsupported_scheme. The message never holds
///   the URL: it may carry a key in its userinfo or query.
target parse_target(const std::string& url);

} // namespace majordomo::http::detail

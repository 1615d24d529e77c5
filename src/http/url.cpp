#include "http/url.hpp"

#include <majordomo/error.hpp>
#include <majordomo/http/errc.hpp>

#include <boost/url/parse.hpp>

#include <cctype>

namespace majordomo::http::detail {

namespace {

// A host we would connect to: letters, digits, '-', '.', '_' once percent-decoded. A NUL
// or control byte in a host name would cut it short in OpenSSL's and the resolver's C
// strings and so name a different host than the one checked.
bool plausible_host_name(std::string_view h)
{
    if (h.empty() || h.size() > 253)
        return false;
    for (unsigned char c : h)
        if (!(std::isalnum(c) || c == '-' || c == '.' || c == '_'))
            return false;
    return true;
}

// The URL is never echoed: it may carry a key in its userinfo or query.
[[noreturn]] void throw_bad_url(const char* why)
{
    throw error(make_error_code(errc::bad_url), std::string("bad URL (not shown, it may hold secrets): ") + why);
}

} // namespace

target parse_target(const std::string& url)
{
    auto u = boost::urls::parse_uri(url);
    if (!u)
        throw_bad_url("it is not an absolute URL");
    target t;
    auto scheme = u->scheme_id();
    if (scheme == boost::urls::scheme::https)
        t.origin.tls = true;
    else if (scheme != boost::urls::scheme::http)
        throw error(make_error_code(errc::unsupported_scheme), "scheme '" + std::string(u->scheme()) + "'");
    switch (u->host_type()) {
    case boost::urls::host_type::ipv4: t.origin.host = u->host_ipv4_address().to_string(); break;
    case boost::urls::host_type::ipv6: t.origin.host = u->host_ipv6_address().to_string(); break;
    case boost::urls::host_type::name:
        t.origin.host = u->host_name();
        if (!plausible_host_name(t.origin.host))
            throw_bad_url("the host name holds bytes a host name cannot have (NUL, control, space, %-escapes)");
        break;
    default: throw_bad_url("it has no host, or a host of an unsupported form");
    }
    const std::uint16_t default_port = t.origin.tls ? 443 : 80;
    t.origin.port = default_port;
    if (u->has_port()) {
        const auto port = u->port();
        unsigned long v = 0;
        for (char c : port)
            v = std::min(v * 10 + static_cast<unsigned long>(c - '0'), 65536ul); // Boost.URL admits digits only
        if (port.empty() || v == 0 || v > 65535)
            throw_bad_url("the port must be a number from 1 to 65535");
        t.origin.port = static_cast<std::uint16_t>(v);
    }
    t.origin.set_key();
    const bool ipv6 = u->host_type() == boost::urls::host_type::ipv6;
    t.host_header = ipv6 ? "[" + t.origin.host + "]" : t.origin.host;
    if (t.origin.port != default_port)
        t.host_header += ":" + std::to_string(t.origin.port);
    t.path = std::string(u->encoded_target());
    if (t.path.empty() || t.path.front() != '/')
        t.path.insert(0, "/");
    return t;
}


} // namespace majordomo::http::detail

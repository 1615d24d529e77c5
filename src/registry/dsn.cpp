#include <majordomo/error.hpp>
#include <majordomo/registry/dsn.hpp>

#include <boost/url/encode.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>

namespace majordomo::registry {
namespace {

struct scheme_info {
    std::string_view name;
    provider_kind kind;
    std::string_view http_scheme;
};

constexpr scheme_info schemes[] = {
    {"llama-swap", provider_kind::llama_swap, "http"},
    {"llama-swap+http", provider_kind::llama_swap, "http"},
    {"llama-swap+https", provider_kind::llama_swap, "https"},
    {"openai", provider_kind::openai, "https"},
    {"openai+http", provider_kind::openai, "http"},
    {"openai+https", provider_kind::openai, "https"},
};

[[noreturn]] void reject(std::string_view text, std::string_view why)
{
    throw error(make_error_code(client_errc::bad_dsn),
                "DSN '" + redact_dsn(text) + "': " + std::string(why));
}

} // namespace

std::string redact_dsn(std::string_view text)
{
    auto sep = text.find("://");
    if (sep == std::string_view::npos)
        return text.find('@') == std::string_view::npos ? std::string(text) : "***";
    auto auth_begin = sep + 3;
    auto auth_end = text.find_first_of("/?#", auth_begin);
    auto authority = text.substr(auth_begin, auth_end == std::string_view::npos ? auth_end : auth_end - auth_begin);
    auto at = authority.rfind('@');
    if (at == std::string_view::npos)
        return std::string(text);
    std::string out(text.substr(0, auth_begin));
    out += "***";
    out += text.substr(auth_begin + at);
    return out;
}

dsn parse_dsn(std::string_view text)
{
    auto u = boost::urls::parse_uri(text);
    if (!u)
        reject(text, "not a URI; expected scheme://[token@]host[:port]");
    const scheme_info* info = nullptr;
    for (const auto& s : schemes)
        if (u->scheme() == s.name)
            info = &s;
    if (!info)
        reject(text, "unknown scheme '" + std::string(u->scheme()) +
                         "'; use llama-swap, llama-swap+http, llama-swap+https, openai, openai+http or openai+https");
    if (u->host().empty())
        reject(text, "no host");
    if (u->has_port()) {
        // Boost.URL accepts any digit string as a port; TCP ports are 1..65535.
        auto port = u->port();
        if (port.empty() || port.size() > 5 || std::stoul(std::string(port)) - 1 > 65534)
            reject(text, "the port must be 1..65535");
    }
    if (u->has_query() || u->has_fragment())
        reject(text, "a query or fragment is not allowed");
    std::string path(u->encoded_path());
    while (!path.empty() && path.back() == '/')
        path.pop_back();
    if (info->kind == provider_kind::llama_swap && !path.empty())
        reject(text, "a llama-swap DSN takes no path; the provider adds /v1 itself");

    dsn d;
    d.kind = info->kind;
    d.base_url = std::string(info->http_scheme) + "://" + std::string(u->encoded_host_and_port()) + path;
    if (u->has_userinfo()) {
        std::string token = u->userinfo();
        if (token.empty())
            reject(text, "empty token before '@'; remove the '@' or put the token before it");
        d.token = std::move(token);
    }
    return d;
}

std::string to_string(const dsn& d)
{
    auto u = boost::urls::parse_uri(d.base_url);
    if (!u)
        throw error(make_error_code(client_errc::bad_dsn), "base URL is not a URI");
    const bool https = u->scheme_id() == boost::urls::scheme::https;
    std::string out = d.kind == provider_kind::llama_swap ? (https ? "llama-swap+https" : "llama-swap")
                                                          : (https ? "openai" : "openai+http");
    out += "://";
    if (d.token) {
        out += boost::urls::encode(*d.token, boost::urls::unreserved_chars);
        out += '@';
    }
    out += u->encoded_host_and_port();
    out += u->encoded_path();
    return out;
}

} // namespace majordomo::registry

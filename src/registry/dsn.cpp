#include <majordomo/error.hpp>
#include <majordomo/registry/dsn.hpp>

#include <boost/url/encode.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>

#include <algorithm>
#include <charconv>
#include <optional>

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

char lower(char c) noexcept { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

// Schemes are case-insensitive (RFC 3986 §3.1).
const scheme_info* find_scheme(std::string_view s) noexcept
{
    for (const auto& info : schemes)
        if (info.name.size() == s.size() &&
            std::equal(s.begin(), s.end(), info.name.begin(), [](char a, char b) { return lower(a) == b; }))
            return &info;
    return nullptr;
}

[[noreturn]] void reject(std::string_view text, std::string_view why)
{
    throw error(make_error_code(client_errc::bad_dsn), "DSN '" + redact_dsn(text) + "': " + std::string(why));
}

int hex(char c) noexcept
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = lower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

// The token with its %XX escapes decoded; nullopt for a '%' not followed by two hex digits.
std::optional<std::string> percent_decode(std::string_view s)
{
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] != '%') {
            out += s[i];
            continue;
        }
        if (i + 2 >= s.size())
            return std::nullopt;
        int hi = hex(s[i + 1]), lo = hex(s[i + 2]);
        if (hi < 0 || lo < 0)
            return std::nullopt;
        out += static_cast<char>(hi * 16 + lo);
        i += 2;
    }
    return out;
}

bool control(char c) noexcept { return static_cast<unsigned char>(c) < 0x20 || c == 0x7F; }

} // namespace

bool is_dsn_scheme(std::string_view text) noexcept
{
    auto sep = text.find("://");
    return sep != std::string_view::npos && find_scheme(text.substr(0, sep)) != nullptr;
}

std::string redact_dsn(std::string_view text) { return redact_url(text); }

dsn parse_dsn(std::string_view text)
{
    auto sep = text.find("://");
    if (sep == std::string_view::npos)
        reject(text, "not a DSN; expected scheme://[token@]host[:port], e.g. llama-swap://127.0.0.1:8080");
    const scheme_info* info = find_scheme(text.substr(0, sep));
    if (!info)
        reject(text, "unknown scheme; use llama-swap, llama-swap+http, llama-swap+https, openai, openai+http or "
                     "openai+https");
    for (char c : text)
        if (c == ' ' || control(c))
            reject(text, "the DSN holds a space or control character; remove it, or percent-encode it in the token");

    // The token runs to the LAST '@': a key may hold '/', '?', '#' or '@' as it is, and is
    // never split into host and path. An '@' in a path must be written %40 (see
    // docs/decisions/0005-dsn-tokens-and-redaction.md).
    auto rest = text.substr(sep + 3);
    std::optional<std::string> token;
    if (auto at = rest.rfind('@'); at != std::string_view::npos) {
        if (at == 0)
            reject(text, "empty token before '@'; remove the '@' or put the token before it");
        token = percent_decode(rest.substr(0, at));
        if (!token)
            reject(text, "the token holds a '%' not followed by two hex digits; write a literal '%' as %25");
        if (std::any_of(token->begin(), token->end(), control))
            reject(text, "the token decodes to a control character; check its %-escapes");
        rest.remove_prefix(at + 1);
    }

    // What is left has no userinfo: host, port and path, parsed as a URL.
    std::string url = std::string(info->http_scheme) + "://" + std::string(rest);
    auto u = boost::urls::parse_uri(url);
    if (!u)
        reject(text, "the host, port or path is malformed; expected host[:port][/path]");
    if (u->host().empty())
        reject(text, "no host; expected scheme://[token@]host[:port]");
    if (u->has_port()) {
        // Boost.URL accepts any digit string as a port; TCP ports are 1..65535.
        auto port = u->port();
        unsigned value = 0;
        auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
        if (port.empty() || ec != std::errc{} || end != port.data() + port.size() || value < 1 || value > 65535)
            reject(text, "the port must be 1..65535");
    }
    if (u->has_query() || u->has_fragment())
        reject(text, "a query or fragment is not allowed; a '?' or '#' in the token is fine before the '@'");
    std::string path(u->encoded_path());
    while (!path.empty() && path.back() == '/')
        path.pop_back();
    if (info->kind == provider_kind::llama_swap && !path.empty())
        reject(text, "a llama-swap DSN takes no path; the provider adds /v1 itself");

    dsn d;
    d.kind = info->kind;
    d.base_url = std::string(info->http_scheme) + "://" + std::string(u->encoded_host_and_port()) + path;
    d.token = std::move(token);
    return d;
}

std::string to_string(const dsn& d)
{
    auto u = boost::urls::parse_uri(d.base_url);
    if (!u)
        throw error(make_error_code(client_errc::bad_dsn), "the dsn's base URL is not a URL; set scheme://host[:port]");
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

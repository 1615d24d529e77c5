#include "http/request_head.hpp"

#include <majordomo/error.hpp>
#include <majordomo/http/errc.hpp>

#include <boost/beast/core/string.hpp>

#include <algorithm>
#include <array>

namespace majordomo::http::detail {

using boost::beast::iequals;

namespace {

// RFC 9110 token characters, as a table: the head is written on every request.
constexpr auto tchar_table = [] {
    std::array<bool, 256> t{};
    for (int c = '0'; c <= '9'; ++c)
        t[static_cast<unsigned char>(c)] = true;
    for (int c = 'a'; c <= 'z'; ++c)
        t[static_cast<unsigned char>(c)] = t[static_cast<unsigned char>(c - 'a' + 'A')] = true;
    for (char c : std::string_view("!#$%&'*+-.^_`|~"))
        t[static_cast<unsigned char>(c)] = true;
    return t;
}();

bool is_token(std::string_view s) noexcept
{
    return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return tchar_table[static_cast<unsigned char>(c)]; });
}

bool is_safe_value(std::string_view s) noexcept
{
    return std::none_of(s.begin(), s.end(), [](char c) { return c == '\r' || c == '\n' || c == '\0'; });
}

[[noreturn]] void refuse(std::string what)
{
    throw error(make_error_code(errc::bad_request_field), std::move(what));
}

} // namespace

std::string write_request_head(const request& req, const request_head_params& p)
{
    if (!is_token(req.method))
        refuse("request method is not an HTTP token");
    if (!is_safe_value(p.target) || p.target.find(' ') != std::string_view::npos)
        refuse("request target holds a space, CR, LF or NUL");
    const bool framed = !req.body.empty() || req.method == "POST" || req.method == "PUT" || req.method == "PATCH";
    bool has_host = false, has_agent = false;

    std::string h;
    h.reserve(64 + p.target.size() + p.host.size() + p.user_agent.size() + req.headers.size() * 48);
    h.append(req.method).append(" ").append(p.target).append(" HTTP/1.1\r\n");
    for (const auto& f : req.headers) {
        if (!is_token(f.name))
            refuse("request header name '" + std::string(is_safe_value(f.name) ? f.name : "?") +
                   "' is not an HTTP token");
        if (!is_safe_value(f.value))
            refuse("request header '" + f.name + "' holds CR, LF or NUL");
        if (iequals(f.name, "Content-Length") || iequals(f.name, "Transfer-Encoding"))
            continue;
        has_host = has_host || iequals(f.name, "Host");
        has_agent = has_agent || iequals(f.name, "User-Agent");
        h.append(f.name).append(": ").append(f.value).append("\r\n");
    }
    if (!has_host)
        h.append("Host: ").append(p.host).append("\r\n");
    if (!has_agent && !p.user_agent.empty()) {
        if (!is_safe_value(p.user_agent))
            refuse("client_params::user_agent holds CR, LF or NUL");
        h.append("User-Agent: ").append(p.user_agent).append("\r\n");
    }
    if (framed)
        h.append("Content-Length: ").append(std::to_string(req.body.size())).append("\r\n");
    h.append("\r\n");
    return h;
}

} // namespace majordomo::http::detail

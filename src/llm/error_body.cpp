#include <majordomo/llm/error_body.hpp>

#include "llm/json_helpers.hpp"

#include <boost/beast/core/string.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>

namespace majordomo::llm {
namespace json = boost::json;
namespace {

using detail::excerpt;
using detail::server_message_limit;
using detail::trim;

using boost::beast::iequals;

char lower(char c) noexcept { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool icontains(std::string_view hay, std::string_view needle) noexcept
{
    auto same = [](char a, char b) { return lower(a) == lower(b); };
    return std::search(hay.begin(), hay.end(), needle.begin(), needle.end(), same) != hay.end();
}

// A JSON scalar as text: strings as they are, integers in decimal (llama.cpp's int code).
std::string scalar_text(const json::value* v)
{
    if (!v)
        return {};
    switch (v->kind()) {
    case json::kind::string: return std::string(v->get_string());
    case json::kind::int64: return std::to_string(v->get_int64());
    case json::kind::uint64: return std::to_string(v->get_uint64());
    default: return {};
    }
}

std::string message_text(const json::value& v)
{
    return v.is_string() ? excerpt(v.get_string(), server_message_limit)
                         : excerpt(json::serialize(v), server_message_limit);
}

bool looks_like_html(std::string_view content_type, std::string_view body) noexcept
{
    if (icontains(content_type, "html"))
        return true;
    if (body.empty() || body.front() != '<')
        return false;
    auto head = body.substr(0, 1024);
    return icontains(head, "<html") || icontains(head, "<!doctype") || icontains(head, "<body") ||
           icontains(head, "<title");
}

// The visible text of an HTML error page: tags dropped, script and style skipped, the
// common entities decoded, whitespace runs collapsed.
std::string html_text(std::string_view html)
{
    std::string out;
    out.reserve(std::min<std::size_t>(html.size(), 4 * server_message_limit));
    bool pending_space = false;
    auto put = [&](char c) {
        if (c == ' ' || c == '\n' || c == '\r' || c == '\t') {
            pending_space = !out.empty();
            return;
        }
        if (pending_space)
            out += ' ';
        pending_space = false;
        out += c;
    };
    std::size_t i = 0;
    while (i < html.size() && out.size() < 4 * server_message_limit) {
        char c = html[i];
        if (c == '<') {
            auto close = html.find('>', i);
            if (close == std::string_view::npos)
                break;
            auto tag = html.substr(i + 1, close - i - 1);
            i = close + 1;
            for (std::string_view skip : {"script", "style"}) {
                if (tag.size() >= skip.size() && iequals(tag.substr(0, skip.size()), skip)) {
                    // Skip to the matching end tag.
                    std::string end = "</" + std::string(skip);
                    std::size_t j = i;
                    while (j < html.size() && !iequals(html.substr(j, end.size()), end))
                        ++j;
                    i = j;
                }
            }
            put(' ');
            continue;
        }
        if (c == '&') {
            static constexpr std::array<std::pair<std::string_view, char>, 6> entities{{
                {"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&#39;", '\''}, {"&nbsp;", ' '},
            }};
            bool done = false;
            for (auto [name, ch] : entities)
                if (html.substr(i, name.size()) == name) {
                    put(ch);
                    i += name.size();
                    done = true;
                    break;
                }
            if (done)
                continue;
        }
        put(c);
        ++i;
    }
    return out;
}

void from_error_object(diagnostics& d, const json::object& e)
{
    if (auto* m = e.if_contains("message"); m && !m->is_null())
        d.server_message = message_text(*m);
    d.error_type = scalar_text(e.if_contains("type"));
    d.error_code = scalar_text(e.if_contains("code"));
    if (auto* n = e.if_contains("n_prompt_tokens"))
        d.n_prompt_tokens = detail::to_count(*n);
    if (auto* n = e.if_contains("n_ctx"))
        d.n_ctx = detail::to_count(*n);
    if (d.server_message.empty() && !e.empty())
        d.server_message = excerpt(json::serialize(e), server_message_limit);
}

// True when `body` was one of the JSON error shapes we know.
bool from_json(diagnostics& d, std::string_view body)
{
    boost::system::error_code ec;
    auto v = json::parse(body, ec);
    if (ec || !v.is_object())
        return false;
    const auto& o = v.get_object();
    const auto* e = o.if_contains("error");
    if (e && e->is_object()) {
        // OpenAI, llama.cpp and current llama-swap (which adds "src" beside it).
        from_error_object(d, e->get_object());
        return true;
    }
    const auto* m = o.if_contains("message");
    if (!e && m && (o.contains("type") || o.contains("code"))) {
        // A bare error object: old llama.cpp's `error: {"code","message","type"}` SSE field.
        from_error_object(d, o);
        return true;
    }
    if (e && e->is_string()) {
        if (m && m->is_string()) {
            // sd.cpp {"error":"server_error","message":"..."}: the string is the type.
            d.error_type = std::string(e->get_string());
            d.server_message = excerpt(m->get_string(), server_message_limit);
        } else {
            // sd.cpp {"error":"..."} and llama-swap before cb536168 {"src",...,"error":"..."}.
            d.server_message = excerpt(e->get_string(), server_message_limit);
        }
        return true;
    }
    if (m && m->is_string()) {
        d.server_message = excerpt(m->get_string(), server_message_limit);
        return true;
    }
    if (auto* dt = o.if_contains("detail"); dt && dt->is_string()) {
        d.server_message = excerpt(dt->get_string(), server_message_limit);
        return true;
    }
    return false;
}

std::optional<double> decimal(std::string_view s) noexcept
{
    s = trim(s);
    if (s.empty())
        return std::nullopt;
    double v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v, std::chars_format::fixed);
    if (ec != std::errc{} || p != s.data() + s.size() || !std::isfinite(v) || v < 0)
        return std::nullopt;
    return v;
}

constexpr double max_delay_ms = 24.0 * 3600 * 1000;

std::chrono::milliseconds clamp_ms(double ms) noexcept
{
    return std::chrono::milliseconds(static_cast<long long>(std::min(ms, max_delay_ms)));
}

// An HTTP-date in any of the three forms RFC 9110 §5.6.7 says recipients accept:
// IMF-fixdate "Sun, 06 Nov 1994 08:49:37 GMT", RFC 850 "Sunday, 06-Nov-94 08:49:37 GMT"
// and asctime "Sun Nov  6 08:49:37 1994". All are UTC.
// In seconds: a far year (a hostile 9999) would overflow the system clock's nanoseconds.
std::optional<std::chrono::sys_seconds> http_date(std::string_view s) noexcept
{
    static constexpr std::array<std::string_view, 12> months{"jan", "feb", "mar", "apr", "may", "jun",
                                                             "jul", "aug", "sep", "oct", "nov", "dec"};
    int day = -1, month = -1, year = -1, hh = -1, mm = -1, ss = -1;
    auto number = [](std::string_view t, int& out) {
        auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), out);
        return ec == std::errc{} && p == t.data() + t.size();
    };
    std::size_t i = 0;
    while (i < s.size()) {
        while (i < s.size() && (s[i] == ' ' || s[i] == ',' || s[i] == '-'))
            ++i;
        std::size_t j = i;
        while (j < s.size() && s[j] != ' ' && s[j] != ',' && s[j] != '-')
            ++j;
        auto tok = s.substr(i, j - i);
        i = j;
        if (tok.empty())
            continue;
        if (tok.find(':') != std::string_view::npos) {
            if (tok.size() != 8 || tok[2] != ':' || tok[5] != ':' || !number(tok.substr(0, 2), hh) ||
                !number(tok.substr(3, 2), mm) || !number(tok.substr(6, 2), ss))
                return std::nullopt;
        } else if (tok[0] >= '0' && tok[0] <= '9') {
            int n = 0;
            if (!number(tok, n))
                return std::nullopt;
            if (day < 0 && tok.size() <= 2)
                day = n;
            else if (year < 0 && tok.size() == 4)
                year = n;
            else if (year < 0 && tok.size() == 2)
                year = n < 70 ? 2000 + n : 1900 + n; // RFC 850's two-digit year
            else
                return std::nullopt;
        } else if (tok.size() == 3 && month < 0) {
            for (std::size_t m = 0; m < months.size(); ++m)
                if (iequals(tok, months[m]))
                    month = static_cast<int>(m) + 1;
            // Otherwise a weekday name or "GMT"; both carry nothing we need.
        }
    }
    if (day < 1 || month < 1 || year < 1900 || hh < 0 || hh > 23 || mm < 0 || mm > 59 || ss < 0 || ss > 60)
        return std::nullopt;
    using namespace std::chrono;
    year_month_day ymd{std::chrono::year{year}, std::chrono::month{static_cast<unsigned>(month)},
                       std::chrono::day{static_cast<unsigned>(day)}};
    if (!ymd.ok())
        return std::nullopt;
    return sys_days{ymd} + hours{hh} + minutes{mm} + seconds{ss};
}

} // namespace

diagnostics parse_error_body(int http_status, std::string_view content_type, std::string_view body)
{
    diagnostics d;
    d.http_status = http_status;
    auto t = trim(body);
    if (t.empty())
        return d;
    if (t.front() == '{' && from_json(d, t))
        return d;
    if (looks_like_html(content_type, t))
        d.server_message = excerpt(html_text(t), server_message_limit);
    else
        d.server_message = excerpt(t, server_message_limit);
    return d;
}

diagnostics parse_error_body(int http_status, std::string_view body)
{
    return parse_error_body(http_status, {}, body);
}

std::optional<std::chrono::milliseconds> parse_retry_after(std::string_view retry_after,
                                                           std::string_view retry_after_ms,
                                                           std::chrono::system_clock::time_point now)
{
    if (auto ms = decimal(retry_after_ms))
        return clamp_ms(*ms);
    if (auto s = decimal(retry_after))
        return clamp_ms(*s * 1000);
    auto t = trim(retry_after);
    if (t.empty())
        return std::nullopt;
    if (auto when = http_date(t)) {
        const auto left = *when - std::chrono::floor<std::chrono::seconds>(now);
        return clamp_ms(static_cast<double>(std::max<std::int64_t>(left.count(), 0)) * 1000.0);
    }
    return std::nullopt;
}

std::optional<std::chrono::milliseconds> parse_retry_after(const http::fields& headers)
{
    return parse_retry_after(headers.find("retry-after"), headers.find("retry-after-ms"));
}

} // namespace majordomo::llm

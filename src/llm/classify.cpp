#include <majordomo/http/errc.hpp>
#include <majordomo/llm/classify.hpp>
#include <majordomo/sse/parser.hpp>

#include <boost/asio/error.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <charconv>
#include <ctime>

namespace majordomo::llm {
namespace json = boost::json;
namespace {

constexpr std::size_t message_limit = 512;

std::string excerpt(std::string_view s)
{
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' '))
        s.remove_suffix(1);
    std::string out(s.substr(0, message_limit));
    if (s.size() > message_limit)
        out += "...";
    return out;
}

std::string text_of(const json::value* v)
{
    if (!v)
        return {};
    if (v->is_string())
        return std::string(v->get_string());
    if (v->is_int64())
        return std::to_string(v->get_int64());
    return {};
}

// Strips tags from an HTML error page, keeping its text.
std::string html_text(std::string_view html)
{
    std::string out;
    bool in_tag = false;
    for (char c : html) {
        if (c == '<')
            in_tag = true;
        else if (c == '>') {
            in_tag = false;
            if (!out.empty() && out.back() != ' ')
                out += ' ';
        } else if (!in_tag)
            out += c;
    }
    auto b = out.find_first_not_of(" \n\r\t");
    return b == std::string::npos ? std::string() : out.substr(b);
}

} // namespace

diagnostics parse_error_body(int http_status, std::string_view body)
{
    diagnostics d;
    d.http_status = http_status;
    boost::system::error_code ec;
    auto v = json::parse(body, ec);
    if (!ec && v.is_object()) {
        const auto& o = v.get_object();
        const auto* e = o.if_contains("error");
        if (e && e->is_object()) {
            // OpenAI, llama.cpp and current llama-swap envelopes.
            const auto& eo = e->get_object();
            d.server_message = excerpt(text_of(eo.if_contains("message")));
            d.error_type = text_of(eo.if_contains("type"));
            d.error_code = text_of(eo.if_contains("code"));
            if (auto* n = eo.if_contains("n_prompt_tokens"); n && n->is_int64())
                d.n_prompt_tokens = n->get_int64();
            if (auto* n = eo.if_contains("n_ctx"); n && n->is_int64())
                d.n_ctx = n->get_int64();
            return d;
        }
        if (e && e->is_string()) {
            // llama-swap v224-v250 {"src","error":"..."}, sd.cpp {"error":"..."} and
            // sd.cpp {"error":"server_error","message":"..."}.
            auto* m = o.if_contains("message");
            if (m && m->is_string()) {
                d.server_message = excerpt(m->get_string());
                d.error_type = std::string(e->get_string());
            } else {
                d.server_message = excerpt(e->get_string());
            }
            return d;
        }
        if (auto* m = o.if_contains("message"); m && m->is_string()) {
            d.server_message = excerpt(m->get_string());
            return d;
        }
        d.server_message = excerpt(body);
        return d;
    }
    auto trimmed = body.substr(0, 256);
    if (trimmed.find("<html") != std::string_view::npos || trimmed.find("<HTML") != std::string_view::npos ||
        trimmed.find("<!DOCTYPE") != std::string_view::npos)
        d.server_message = excerpt(html_text(body));
    else
        d.server_message = excerpt(body);
    return d;
}

std::optional<std::chrono::milliseconds> parse_retry_after(std::string_view retry_after, std::string_view retry_after_ms)
{
    auto number = [](std::string_view s) -> std::optional<double> {
        while (!s.empty() && s.front() == ' ')
            s.remove_prefix(1);
        while (!s.empty() && s.back() == ' ')
            s.remove_suffix(1);
        double v = 0;
        auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
        if (ec != std::errc{} || p != s.data() + s.size() || s.empty() || v < 0)
            return std::nullopt;
        return v;
    };
    if (auto ms = number(retry_after_ms))
        return std::chrono::milliseconds(static_cast<long long>(*ms));
    if (auto s = number(retry_after))
        return std::chrono::milliseconds(static_cast<long long>(*s * 1000));
    if (retry_after.size() > 10) {
        // An HTTP-date: "Wed, 21 Oct 2015 07:28:00 GMT".
        std::tm tm{};
        std::string text(retry_after);
        if (strptime(text.c_str(), "%a, %d %b %Y %H:%M:%S", &tm)) {
            auto when = std::chrono::system_clock::from_time_t(timegm(&tm));
            auto left = std::chrono::duration_cast<std::chrono::milliseconds>(when - std::chrono::system_clock::now());
            return std::max(left, std::chrono::milliseconds(0));
        }
    }
    return std::nullopt;
}

const char* to_string(error_kind k) noexcept
{
    switch (k) {
    case error_kind::cancelled: return "cancelled";
    case error_kind::deadline: return "deadline";
    case error_kind::transport: return "transport";
    case error_kind::authentication: return "authentication";
    case error_kind::permission: return "permission";
    case error_kind::not_found: return "not_found";
    case error_kind::rate_limited: return "rate_limited";
    case error_kind::bad_request: return "bad_request";
    case error_kind::context_length: return "context_length";
    case error_kind::server: return "server";
    case error_kind::unavailable: return "unavailable";
    case error_kind::stream_truncated: return "stream_truncated";
    case error_kind::decoding: return "decoding";
    case error_kind::other: return "other";
    }
    return "other";
}

classification classify(const boost::system::error_code& ec, const diagnostics& diag)
{
    using k = error_kind;
    classification c;
    c.retry_after = diag.retry_after;
    if (ec == boost::asio::error::operation_aborted)
        return {k::cancelled, false, {}};
    if (ec.category() == get_client_category()) {
        switch (static_cast<client_errc>(ec.value())) {
        case client_errc::deadline_exceeded: return {k::deadline, true, {}};
        case client_errc::stream_truncated: return {k::stream_truncated, true, {}};
        case client_errc::bad_json:
        case client_errc::unexpected_content_type:
        case client_errc::bad_image: return {k::decoding, false, {}};
        case client_errc::missing_api_key: return {k::authentication, false, {}};
        case client_errc::model_unloaded: return {k::unavailable, true, {}};
        default: return {k::other, false, {}};
        }
    }
    if (ec.category() == http::get_http_category() || ec.category() == sse::get_sse_category())
        return {k::decoding, false, {}};
    if (ec.category() == get_api_category()) {
        const int status = ec.value();
        const bool llama_context = diag.error_type == "exceed_context_size_error" ||
                                   diag.error_code == "context_length_exceeded";
        if (llama_context)
            return {k::context_length, false, {}};
        switch (status) {
        case 401: return {k::authentication, false, {}};
        case 403: return {k::permission, false, {}};
        case 404: return {k::not_found, false, {}};
        case 408:
        case 409: return {k::server, true, c.retry_after};
        case 429: return {k::rate_limited, true, c.retry_after ? c.retry_after : std::chrono::milliseconds(1000)};
        case 501: return {k::bad_request, false, {}};
        case 503: return {k::unavailable, true, c.retry_after};
        default: break;
        }
        // llama.cpp answers malformed request JSON with 500 and an invalid_request_error type.
        if (status == 500 && (diag.error_type == "invalid_request_error" || diag.error_code == "invalid_request"))
            return {k::bad_request, false, {}};
        if (status >= 500)
            return {k::server, true, c.retry_after};
        if (status >= 400)
            return {k::bad_request, false, {}};
        return {k::other, false, {}};
    }
    // asio, ssl and system errors: the transport. Connect-phase failures are safe to retry.
    if (ec.category() == boost::asio::error::get_ssl_category())
        return {k::transport, false, {}};
    return {k::transport, true, {}};
}

classification classify(const std::exception_ptr& e)
{
    try {
        std::rethrow_exception(e);
    } catch (const error& x) {
        return classify(x.code(), x.diag());
    } catch (const boost::system::system_error& x) {
        return classify(x.code());
    } catch (...) {
        return {error_kind::other, false, {}};
    }
}

} // namespace majordomo::llm

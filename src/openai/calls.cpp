#include "openai/calls.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

namespace majordomo::openai::detail {

namespace asio = boost::asio;
namespace json = boost::json;

std::string trimmed_base(const provider_params& p)
{
    std::string base = p.base_url;
    while (!base.empty() && base.back() == '/')
        base.pop_back();
    return base;
}

endpoint::endpoint(provider& p)
    : name(p.params().name), base(trimmed_base(p.params())), api_key(p.params().api_key),
      extra_headers(p.params().extra_headers), max_event_size(p.params().max_event_size), http(p.http_client())
{
}

http::request make_request(const endpoint& ep, call_spec spec)
{
    http::request r;
    r.method = std::move(spec.method);
    r.url = ep.base + spec.path;
    if (ep.api_key)
        r.headers.push_back({"Authorization", "Bearer " + *ep.api_key});
    if (!spec.body.empty())
        r.headers.push_back({"Content-Type", std::move(spec.content_type)});
    r.headers.push_back({"Accept", std::move(spec.accept)});
    for (const auto& f : ep.extra_headers)
        r.headers.set(f.name, f.value);
    r.body = std::move(spec.body);
    return r;
}

asio::awaitable<http::response> async_call(endpoint& ep, call_spec spec)
{
    std::string model(spec.model);
    call_context ctx{ep.name, model, ep.base};
    check_ready(ctx, ep.base, ep.api_key);
    auto req = make_request(ep, std::move(spec));
    auto r = co_await ep.http.async_request(std::move(req));
    if (r.status / 100 != 2)
        throw_api_error(ctx, r.status, r.headers, r.body);
    co_return r;
}

asio::awaitable<http::response_stream> async_open(endpoint& ep, call_spec spec)
{
    std::string model(spec.model);
    call_context ctx{ep.name, model, ep.base};
    check_ready(ctx, ep.base, ep.api_key);
    auto req = make_request(ep, std::move(spec));
    auto s = co_await ep.http.async_open(std::move(req));
    if (s.status() / 100 != 2) {
        auto err = co_await s.async_read_all();
        throw_api_error(ctx, s.status(), s.headers(), err);
    }
    co_return s;
}

std::optional<std::string> unframed_error(std::string_view tail)
{
    auto brace = tail.find('{');
    if (brace == std::string_view::npos)
        return std::nullopt;
    auto candidate = tail.substr(brace);
    while (!candidate.empty() && (candidate.back() == '\n' || candidate.back() == '\r' || candidate.back() == ' '))
        candidate.remove_suffix(1);
    boost::system::error_code ec;
    auto v = json::parse(candidate, ec);
    if (ec || !v.is_object())
        return std::nullopt;
    if (v.get_object().contains("error"))
        return std::string(candidate);
    // The older `error: {...}` line holds the error object itself.
    auto head = tail.substr(0, brace);
    if (head.find("error:") != std::string_view::npos)
        return "{\"error\":" + std::string(candidate) + "}";
    return std::nullopt;
}

asio::awaitable<void> expect_event_stream(http::response_stream& s, const call_context& ctx)
{
    auto type = s.headers().find("content-type");
    if (type.find("text/event-stream") != std::string_view::npos)
        co_return;
    auto text = co_await s.async_read_all();
    if (unframed_error(text))
        throw_stream_error(ctx, text);
    diagnostics d;
    d.provider = std::string(ctx.provider);
    d.model = std::string(ctx.model);
    d.client_message = "expected text/event-stream, got '" + std::string(type.substr(0, 100)) + "'";
    throw error(make_error_code(client_errc::unexpected_content_type), std::move(d));
}

} // namespace majordomo::openai::detail

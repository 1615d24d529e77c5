#include "openai/calls.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <functional>

namespace majordomo::openai {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

std::string trimmed(std::string base)
{
    while (!base.empty() && base.back() == '/')
        base.pop_back();
    return base;
}

} // namespace

provider::impl::impl(asio::any_io_executor ex, provider_params p)
    : params(std::move(p)), base(trimmed(params.base_url)),
      http(params.http ? *params.http : http::client(std::move(ex), params.http_params))
{
}

namespace detail {

http::request make_request(const provider::impl& p, const call_spec& spec)
{
    http::request r;
    r.method = spec.method;
    r.url = p.base + spec.path;
    if (p.params.api_key)
        r.headers.push_back({"Authorization", "Bearer " + *p.params.api_key});
    if (!spec.body.empty())
        r.headers.push_back({"Content-Type", spec.content_type});
    r.headers.push_back({"Accept", spec.accept});
    for (const auto& f : p.params.extra_headers)
        r.headers.set(f.name, f.value);
    r.body = spec.body;
    return r;
}

namespace {

// One call's plan, fixed when it starts: its retries and phase deadlines.
struct call_plan {
    clock::time_point start = clock::now();
    const llm::retry_params* retry;
    llm::detail::phase_plan phases;

    call_plan(const llm::call_params& cp, const llm::retry_params& fallback)
        : retry(cp.retry ? &*cp.retry : &fallback), phases(cp.deadlines, start)
    {
    }
};

} // namespace

asio::awaitable<answered> async_call(http::client& http, http::request req, call_context ctx,
                                     const llm::retry_params& retry, const llm::call_params& cp)
{
    const call_plan pl(cp, retry);
    const llm::detail::call_names names{ctx.provider, ctx.model, ctx.origin};
    std::optional<http::response> out;
    std::function<asio::awaitable<void>()> attempt = [&]() -> asio::awaitable<void> {
        auto r = co_await llm::detail::async_request(http, req, pl.phases, names);
        if (r.status / 100 != 2)
            throw_api_error(ctx, r.status, r.headers, r.body);
        out = std::move(r);
    };
    const llm::detail::retry_call rc{pl.retry, req.method, pl.phases.retry_bound()};
    const int attempts = co_await llm::detail::async_retry(rc, std::move(attempt));
    out->timings.start = pl.start;
    co_return answered{std::move(*out), attempts};
}

asio::awaitable<answered> async_call(const provider::impl& p, const call_spec& spec, const llm::call_params& cp)
{
    const call_context ctx{p.params.name, spec.model, p.base};
    check_ready(ctx, p.base, p.params.api_key);
    auto req = make_request(p, spec);
    auto a = co_await async_call(p.http, std::move(req), ctx, p.params.retry, cp);
    co_return a;
}

llm::call_timings whole_timings(const answered& a)
{
    auto t = llm::call_timings::from_http(a.r.timings);
    t.first_token = a.r.timings.first_byte;
    t.attempts = a.attempts;
    return t;
}

llm::call_timings opened::timings() const
{
    auto t = llm::call_timings::from_http(body.timings());
    t.start = start;
    t.attempts = attempts;
    return t;
}

asio::awaitable<opened> async_open(const provider::impl& p, const call_spec& spec, const llm::call_params& cp)
{
    const call_context ctx{p.params.name, spec.model, p.base};
    check_ready(ctx, p.base, p.params.api_key);
    const call_plan pl(cp, p.params.retry);
    const llm::detail::call_names names{ctx.provider, ctx.model, ctx.origin};
    const auto req = make_request(p, spec);
    const auto check = spec.check;
    // Everything up to a usable stream is one attempt, bounded by the opening phase.
    auto open_one = [&]() -> asio::awaitable<http::response_stream> {
        auto s = co_await p.http.async_open(req);
        if (s.status() / 100 != 2) {
            auto err = co_await s.async_read_all();
            throw_api_error(ctx, s.status(), s.headers(), err);
        }
        if (check)
            co_await check(s, ctx);
        co_return s;
    };
    std::optional<http::response_stream> got;
    std::function<asio::awaitable<void>()> attempt = [&]() -> asio::awaitable<void> {
        auto op = open_one();
        auto s = co_await llm::detail::async_within(std::move(op), pl.phases.opening(), names);
        got = std::move(s);
    };
    const llm::detail::retry_call rc{pl.retry, req.method, pl.phases.retry_bound()};
    const int attempts = co_await llm::detail::async_retry(rc, std::move(attempt));
    co_return opened{std::move(*got), attempts, pl.start, pl.phases};
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

} // namespace detail
} // namespace majordomo::openai

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

http::request make_request(const provider::impl& p, const call_spec& spec, std::string body)
{
    http::request r;
    r.method = std::string(spec.method);
    r.url = p.base;
    r.url += spec.path;
    if (p.params.api_key)
        r.headers.push_back({"Authorization", "Bearer " + *p.params.api_key});
    if (!body.empty())
        r.headers.push_back({"Content-Type", std::string(spec.content_type)});
    r.headers.push_back({"Accept", std::string(spec.accept)});
    for (const auto& f : p.params.extra_headers)
        r.headers.set(f.name, f.value);
    r.body = std::move(body);
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

// Not a coroutine: the call below keeps what it needs (ctx views the provider and the
// caller's model, both alive until it completes).
asio::awaitable<answered> async_call(const provider::impl& p, call_spec spec, const llm::call_params& cp)
{
    const call_context ctx{p.params.name, spec.model, p.base};
    check_ready(ctx, p.base, p.params.api_key);
    return async_call(p.http, make_request(p, spec, std::move(spec.body)), ctx, p.params.retry, cp);
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

asio::awaitable<opened> async_open(const provider::impl& p, call_spec spec, const llm::call_params& cp)
{
    const call_context ctx{p.params.name, spec.model, p.base};
    check_ready(ctx, p.base, p.params.api_key);
    const call_plan pl(cp, p.params.retry);
    const llm::detail::call_names names{ctx.provider, ctx.model, ctx.origin};
    // Everything up to a usable stream is one attempt, bounded by the opening phase.
    auto open_one = [&]() -> asio::awaitable<http::response_stream> {
        auto open = p.http.async_open(make_request(p, spec, spec.body));
        auto s = co_await std::move(open);
        if (s.status() / 100 != 2) {
            auto err = co_await s.async_read_all();
            throw_api_error(ctx, s.status(), s.headers(), err);
        }
        if (spec.check.usable && !spec.check.usable(s))
            co_await spec.check.reject(s, ctx);
        co_return s;
    };
    std::optional<http::response_stream> got;
    std::function<asio::awaitable<void>()> attempt = [&]() -> asio::awaitable<void> {
        auto op = open_one();
        const auto bound = pl.phases.opening();
        if (!bound) {
            auto s = co_await std::move(op);
            got = std::move(s);
            co_return;
        }
        auto s = co_await llm::detail::async_within(std::move(op), bound, names);
        got = std::move(s);
    };
    const llm::detail::retry_call rc{pl.retry, spec.method, pl.phases.retry_bound()};
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

namespace {

bool is_event_stream(const http::response_stream& s)
{
    return s.headers().find("content-type").find("text/event-stream") != std::string_view::npos;
}

asio::awaitable<void> reject_event_stream(http::response_stream& s, const call_context& ctx)
{
    auto type = s.headers().find("content-type");
    auto text = co_await s.async_read_all();
    if (unframed_error(text))
        throw_stream_error(ctx, text);
    diagnostics d;
    d.provider = std::string(ctx.provider);
    d.model = std::string(ctx.model);
    d.client_message = "expected text/event-stream, got '" + std::string(type.substr(0, 100)) + "'";
    throw error(make_error_code(client_errc::unexpected_content_type), std::move(d));
}

} // namespace

const open_check event_stream_check{is_event_stream, reject_event_stream};

} // namespace detail
} // namespace majordomo::openai

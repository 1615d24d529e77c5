#include "openai/api_error.hpp"
#include "openai/calls.hpp"
#include "openai/decoding.hpp"
#include "openai/event_reader.hpp"
#include "llm/retry.hpp"

#include <majordomo/error.hpp>
#include <majordomo/llm/chunk_decoder.hpp>
#include <majordomo/llm/json_codec.hpp>
#include <majordomo/openai/provider.hpp>

#include <boost/asio/this_coro.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <functional>

namespace majordomo::openai {

namespace asio = boost::asio;
namespace json = boost::json;
using clock = llm::call_timings::clock;

struct provider::impl {
    impl(asio::any_io_executor ex, provider_params p)
        : params(std::move(p)), http(params.http ? *params.http : http::client(std::move(ex), params.http_params))
    {
        base = params.base_url;
        while (!base.empty() && base.back() == '/')
            base.pop_back();
    }

    http::request make_request(std::string method, std::string_view path, std::string body,
                               std::string_view accept = "application/json") const
    {
        http::request r;
        r.method = std::move(method);
        r.url = base + std::string(path);
        if (params.api_key)
            r.headers.push_back({"Authorization", "Bearer " + *params.api_key});
        if (!body.empty())
            r.headers.push_back({"Content-Type", "application/json"});
        r.headers.push_back({"Accept", std::string(accept)});
        for (const auto& f : params.extra_headers)
            r.headers.set(f.name, f.value);
        r.body = std::move(body);
        return r;
    }

    // One call's plan, fixed when it starts: its retries and phase deadlines.
    struct call_plan {
        clock::time_point start;
        const llm::retry_params* retry;
        llm::detail::phase_plan phases;
    };

    call_plan plan(const llm::call_params& c) const
    {
        const auto start = clock::now();
        return {start, c.retry ? &*c.retry : &params.retry, llm::detail::phase_plan(c.deadlines, start)};
    }

    struct answered {
        http::response r;
        int attempts = 1;
    };

    // Sends a JSON request, with retries, and returns the 2xx body; anything else is an API error.
    asio::awaitable<answered> async_call(std::string method, std::string_view path, std::string body,
                                         std::string_view model, const llm::call_params& cp) const
    {
        detail::call_context ctx{params.name, model, base};
        detail::check_ready(ctx, base, params.api_key);
        const auto pl = plan(cp);
        const llm::detail::call_names names{params.name, model, base};
        std::optional<http::response> out;
        std::function<asio::awaitable<void>()> attempt = [&]() -> asio::awaitable<void> {
            auto r = co_await llm::detail::async_request(http, make_request(method, path, body), pl.phases, names);
            if (r.status / 100 != 2)
                detail::throw_api_error(ctx, r.status, r.headers, r.body);
            out = std::move(r);
        };
        const llm::detail::retry_call rc{pl.retry, method, pl.phases.retry_bound()};
        const int attempts = co_await llm::detail::async_retry(rc, std::move(attempt));
        out->timings.start = pl.start;
        co_return answered{std::move(*out), attempts};
    }

    // Runs a decoder on a 2xx body; its bad_json gains the provider, model and origin.
    template <class Decode>
    auto decode(std::string_view model, Decode&& f) const -> decltype(f())
    {
        try {
            return f();
        } catch (const error& e) {
            auto d = e.diag();
            d.provider = params.name;
            d.model = std::string(model);
            d.origin = base;
            throw error(e.code(), std::move(d));
        }
    }

    static asio::awaitable<llm::chat_response> async_chat(std::shared_ptr<impl> self, llm::chat_request req);
    static asio::awaitable<llm::chat_stream> async_chat_stream(std::shared_ptr<impl> self, llm::chat_request req);

    provider_params params;
    std::string base;
    mutable http::client http;
};

namespace {


// Pulls chunks off one chat response. Any failure (an error event, a bad chunk, a
// truncated or broken body, cancellation) closes the connection and the stream stays
// failed; after [DONE] it stays at its end.
class stream_source final : public llm::chat_stream::source {
public:
    stream_source(http::response_stream body, std::size_t max_event, std::string provider, std::string model,
                  llm::detail::phase_plan phases, clock::time_point start, int attempts)
        : reader_(std::move(body), sse::parser_params{max_event}), provider_(std::move(provider)),
          model_(std::move(model)), phases_(std::move(phases))
    {
        timings_ = llm::call_timings::from_http(reader_.body().timings());
        timings_.start = start;
        timings_.attempts = attempts;
    }

    asio::awaitable<std::optional<llm::chat_chunk>> async_next() override
    {
        llm::chat_chunk c;
        const llm::chat_chunk* got = co_await async_next_into(c);
        if (!got)
            co_return std::nullopt;
        co_return std::optional<llm::chat_chunk>(std::move(c));
    }

    asio::awaitable<const llm::chat_chunk*> async_next_into(llm::chat_chunk& out) override
    {
        if (busy_)
            throw error(make_error_code(client_errc::operation_in_progress), "chat_stream::async_next");
        if (state_ == state::finished)
            co_return nullptr;
        if (state_ == state::failed)
            throw_closed();
        busy_ = true;
        struct unbusy {
            bool& b;
            ~unbusy() { b = false; }
        } guard{busy_};
        const bool token_seen = timings_.first_token != clock::time_point{};
        const auto bound = phases_.next_chunk(token_seen, last_chunk_);
        bool got = false;
        if (!bound) {
            got = co_await read_next(out);
        } else {
            // The read below runs under its own cancellation state: a caller's cancellation
            // requested before this call would not reach it.
            auto cs = co_await asio::this_coro::cancellation_state;
            if (cs.cancelled() != asio::cancellation_type::none) {
                fail(asio::error::operation_aborted);
                throw error(make_error_code(asio::error::operation_aborted), "chat_stream::async_next");
            }
            // A phase deadline cancels the read (which closes the stream) and reports itself.
            try {
                auto op = read_next(out);
                const llm::detail::call_names names{provider_, model_};
                got = co_await llm::detail::async_within(std::move(op), bound, names);
            } catch (const error& e) {
                if (e.code() == bound->code)
                    fail(e.code());
                throw;
            }
        }
        last_chunk_ = clock::now();
        if (!got)
            co_return nullptr;
        co_return &out;
    }

    const llm::call_timings& timings() const noexcept override { return timings_; }

private:
    enum class state { open, finished, failed };

    // Reads events until a chunk (decoded into `out`: true), the terminator (false) or a failure.
    asio::awaitable<bool> read_next(llm::chat_chunk& out)
    {
        try {
            // A terminal cancellation that reached the caller before this call (one that set
            // throw_if_cancelled(false)) would otherwise be missed by the read started below.
            auto cs = co_await asio::this_coro::cancellation_state;
            if (cs.cancelled() != asio::cancellation_type::none)
                throw error(make_error_code(asio::error::operation_aborted), "chat_stream::async_next");
            detail::call_context ctx{provider_, model_};
            for (;;) {
                auto ev = co_await reader_.async_next();
                sync_timings();
                if (!ev) {
                    if (auto e = detail::unframed_error(reader_.unframed_tail()))
                        detail::throw_stream_error(ctx, *e);
                    diagnostics d;
                    d.provider = provider_;
                    d.model = model_;
                    d.client_message = "the body ended without data: [DONE]";
                    throw error(make_error_code(client_errc::stream_truncated), std::move(d));
                }
                if (ev->data == "[DONE]") {
                    state_ = state::finished;
                    timings_.end = clock::now();
                    // Whatever the server does after [DONE] is not waited for.
                    reader_.finish();
                    co_return false;
                }
                if (ev->type == "error")
                    detail::throw_stream_error(ctx, ev->data);
                try {
                    decoder_.decode(ev->data, out);
                    if (timings_.first_token == clock::time_point{} && out.has_output())
                        timings_.first_token = clock::now();
                    co_return true;
                } catch (error& e) {
                    auto d = e.diag();
                    d.provider = provider_;
                    d.model = model_;
                    throw error(e.code(), std::move(d));
                }
            }
        } catch (...) {
            // Every failure, cancellation included, ends the stream and its connection.
            fail(current_failure().code);
            throw;
        }
    }

    void fail(boost::system::error_code ec) noexcept
    {
        state_ = state::failed;
        failure_ = ec;
        reader_.close();
    }

    [[noreturn]] void throw_closed() const
    {
        diagnostics d;
        d.provider = provider_;
        d.model = model_;
        if (failure_ == asio::error::operation_aborted)
            d.client_message = "chat_stream::async_next after the stream was cancelled";
        else
            d.client_message = "chat_stream::async_next after the stream failed with: " + failure_.message();
        throw error(make_error_code(client_errc::stream_closed), std::move(d));
    }

    void sync_timings()
    {
        const auto& h = reader_.body().timings();
        timings_.first_byte = h.first_byte;
    }

    detail::event_reader reader_;
    // One per stream: its parser and buffers stay warm across the stream's chunks.
    llm::chunk_decoder decoder_;
    llm::call_timings timings_;
    std::string provider_;
    std::string model_;
    llm::detail::phase_plan phases_;
    clock::time_point last_chunk_;
    state state_ = state::open;
    boost::system::error_code failure_;
    bool busy_ = false;
};

class model_handle final : public llm::model {
public:
    model_handle(std::shared_ptr<provider::impl> p, std::string id, llm::model_options o)
        : p_(std::move(p)), id_(std::move(id)), opts_(o)
    {
    }

    const std::string& id() const noexcept override { return id_; }

    asio::awaitable<llm::chat_response> async_chat(llm::chat_request req) override
    {
        apply(req);
        return provider::impl::async_chat(p_, std::move(req));
    }

    asio::awaitable<llm::chat_stream> async_chat_stream(llm::chat_request req) override
    {
        apply(req);
        return provider::impl::async_chat_stream(p_, std::move(req));
    }

private:
    void apply(llm::chat_request& req) const
    {
        if (req.model.empty())
            req.model = id_;
        if (!req.max_tokens)
            req.max_tokens = opts_.max_tokens;
        if (!req.temperature)
            req.temperature = opts_.temperature;
    }

    std::shared_ptr<provider::impl> p_;
    std::string id_;
    llm::model_options opts_;
};

} // namespace

asio::awaitable<llm::chat_response> provider::impl::async_chat(std::shared_ptr<impl> self, llm::chat_request req)
{
    auto body = llm::encode_chat_request(req, {.stream = false, .legacy_max_tokens = self->params.legacy_max_tokens});
    auto a = co_await self->async_call("POST", "/chat/completions", std::move(body), req.model, req.call);
    auto resp = self->decode(req.model, [&] { return llm::decode_chat_response(a.r.body); });
    resp.call = llm::call_timings::from_http(a.r.timings);
    resp.call.first_token = a.r.timings.first_byte; // a whole response has its tokens at once
    resp.call.attempts = a.attempts;
    co_return resp;
}

asio::awaitable<llm::chat_stream> provider::impl::async_chat_stream(std::shared_ptr<impl> self,
                                                                   llm::chat_request req)
{
    detail::call_context ctx{self->params.name, req.model, self->base};
    detail::check_ready(ctx, self->base, self->params.api_key);
    auto body = llm::encode_chat_request(req, {.stream = true, .legacy_max_tokens = self->params.legacy_max_tokens});
    const auto pl = self->plan(req.call);
    const llm::detail::call_names names{self->params.name, req.model, self->base};
    // Retried only while it opens: once the caller holds the stream nothing is re-sent.
    std::optional<http::response_stream> opened;
    std::function<asio::awaitable<void>()> attempt = [&]() -> asio::awaitable<void> {
        auto open = self->http.async_open(self->make_request("POST", "/chat/completions", body, "text/event-stream"));
        auto s = co_await llm::detail::async_within(std::move(open), pl.phases.opening(), names);
        if (s.status() / 100 != 2) {
            auto read = s.async_read_all();
            auto err = co_await llm::detail::async_within(std::move(read), pl.phases.opening(), names);
            detail::throw_api_error(ctx, s.status(), s.headers(), err);
        }
        auto type = s.headers().find("content-type");
        if (type.find("text/event-stream") == std::string_view::npos) {
            auto read = s.async_read_all();
            auto text = co_await llm::detail::async_within(std::move(read), pl.phases.opening(), names);
            if (detail::unframed_error(text))
                detail::throw_stream_error(ctx, text);
            diagnostics d;
            d.provider = self->params.name;
            d.model = req.model;
            d.client_message = "expected text/event-stream, got '" + std::string(type.substr(0, 100)) + "'";
            throw error(make_error_code(client_errc::unexpected_content_type), std::move(d));
        }
        opened = std::move(s);
    };
    const llm::detail::retry_call rc{pl.retry, "POST", pl.phases.retry_bound()};
    const int attempts = co_await llm::detail::async_retry(rc, std::move(attempt));
    co_return llm::chat_stream(std::make_unique<stream_source>(std::move(*opened), self->params.max_event_size,
                                                               self->params.name, req.model, pl.phases, pl.start,
                                                               attempts));
}

provider::provider(asio::any_io_executor ex, provider_params params)
    : impl_(std::make_shared<impl>(std::move(ex), std::move(params)))
{
}

provider::~provider() = default;

const std::string& provider::name() const noexcept { return impl_->params.name; }
http::client& provider::http_client() noexcept { return impl_->http; }
const provider_params& provider::params() const noexcept { return impl_->params; }

std::shared_ptr<llm::model> provider::get_model(std::string id, llm::model_options options)
{
    return std::make_shared<model_handle>(impl_, std::move(id), options);
}

asio::awaitable<llm::chat_response> provider::async_chat(llm::chat_request req)
{
    return impl::async_chat(impl_, std::move(req));
}

asio::awaitable<llm::chat_stream> provider::async_chat_stream(llm::chat_request req)
{
    return impl::async_chat_stream(impl_, std::move(req));
}

asio::awaitable<std::vector<model_entry>> provider::async_list_models()
{
    auto self = impl_;
    const llm::call_params cp;
    auto a = co_await self->async_call("GET", "/models", {}, {}, cp);
    co_return self->decode({}, [&] { return detail::decode_model_list(a.r.body); });
}

asio::awaitable<embedding_response> provider::async_embed(embedding_request req)
{
    auto self = impl_;
    if (req.input.empty())
        throw error(make_error_code(client_errc::invalid_argument), "async_embed needs at least one input");
    json::object body{{"model", req.model}};
    json::array input;
    for (const auto& s : req.input)
        input.push_back(json::string(s));
    body["input"] = std::move(input);
    if (req.dimensions)
        body["dimensions"] = *req.dimensions;
    for (const auto& [k, v] : req.extra)
        body[k] = v;
    auto a = co_await self->async_call("POST", "/embeddings", json::serialize(body), req.model, req.call);
    auto out = self->decode(req.model, [&] { return detail::decode_embeddings(a.r.body, req.input.size()); });
    out.call = llm::call_timings::from_http(a.r.timings);
    out.call.first_token = a.r.timings.first_byte;
    out.call.attempts = a.attempts;
    co_return out;
}

} // namespace majordomo::openai

// Private: the request plumbing the OpenAI provider's non-chat call families share
// (completions, rerank, audio), built on the provider's public accessors, and a pulled
// SSE stream of any chunk type with chat's rules.
#pragma once

#include "openai/api_error.hpp"
#include "openai/event_reader.hpp"

#include <majordomo/error.hpp>
#include <majordomo/llm/timings.hpp>
#include <majordomo/openai/provider.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/cancellation_state.hpp>
#include <boost/asio/this_coro.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace majordomo::openai::detail {

/// The base URL without trailing slashes.
std::string trimmed_base(const provider_params& p);

/// What one call needs of its provider, copied at the call's start: the call stays valid if
/// the provider object goes away meanwhile (the HTTP client copy shares its pool).
struct endpoint {
    std::string name;
    std::string base;
    std::optional<std::string> api_key;
    http::fields extra_headers;
    std::size_t max_event_size = 0;
    http::client http;

    explicit endpoint(provider& p);
};

struct call_spec {
    std::string method = "POST";
    std::string path; ///< below the base URL, e.g. "/completions"
    std::string body;
    std::string content_type = "application/json"; ///< sent when the body is not empty
    std::string accept = "application/json";
    std::string_view model;
};

http::request make_request(const endpoint& ep, call_spec spec);

/// Sends and reads the whole answer; a non-2xx one throws the API error.
boost::asio::awaitable<http::response> async_call(endpoint& ep, call_spec spec);

/// Sends and returns once the headers of a 2xx answer arrived; a non-2xx one throws the API error.
boost::asio::awaitable<http::response_stream> async_open(endpoint& ep, call_spec spec);

/// Runs a sans-io decoder; its errors gain the provider, model and origin.
template <class Decode>
auto decode_with(const endpoint& ep, std::string_view model, Decode&& f) -> decltype(f())
{
    try {
        return f();
    } catch (const error& e) {
        auto d = e.diag();
        d.provider = ep.name;
        d.model = std::string(model);
        d.origin = ep.base;
        throw error(e.code(), std::move(d));
    }
}

/// An error object a server wrote at the end of a stream without SSE framing (llama-swap
/// after loading frames, llama.cpp's older `error:` line), as `{"error":...}` text.
std::optional<std::string> unframed_error(std::string_view tail);

/// Checks that a 2xx stream is text/event-stream; otherwise throws the error its body holds
/// or client_errc::unexpected_content_type.
boost::asio::awaitable<void> expect_event_stream(http::response_stream& s, const call_context& ctx);

/// A pulled `data:`-framed stream of Chunk values ending at `data: [DONE]`, with chat_stream's
/// rules: errors in the stream are API errors, a body without [DONE] is stream_truncated, any
/// failure or cancellation closes the connection and later calls fail with stream_closed.
/// `Decode` is `Chunk(std::string_view data)`, `HasOutput` is `bool(const Chunk&)`.
template <class Chunk, class Source, class Decode, class HasOutput>
class sse_source final : public Source {
public:
    sse_source(http::response_stream body, std::size_t max_event, std::string provider, std::string model,
               Decode decode, HasOutput has_output)
        : reader_(std::move(body), sse::parser_params{max_event}), provider_(std::move(provider)),
          model_(std::move(model)), decode_(std::move(decode)), has_output_(std::move(has_output))
    {
        timings_ = llm::call_timings::from_http(reader_.body().timings());
    }

    boost::asio::awaitable<std::optional<Chunk>> async_next() override
    {
        namespace asio = boost::asio;
        using clock = llm::call_timings::clock;
        if (busy_)
            throw error(make_error_code(client_errc::operation_in_progress), "stream async_next");
        if (state_ == state::finished)
            co_return std::nullopt;
        if (state_ == state::failed)
            throw_closed();
        busy_ = true;
        struct unbusy {
            bool& b;
            ~unbusy() { b = false; }
        } guard{busy_};
        try {
            auto cs = co_await asio::this_coro::cancellation_state;
            if (cs.cancelled() != asio::cancellation_type::none)
                throw error(make_error_code(asio::error::operation_aborted), "stream async_next");
            call_context ctx{provider_, model_};
            for (;;) {
                auto ev = co_await reader_.async_next();
                timings_.first_byte = reader_.body().timings().first_byte;
                if (!ev) {
                    if (auto e = unframed_error(reader_.unframed_tail()))
                        throw_stream_error(ctx, *e);
                    diagnostics d;
                    d.provider = provider_;
                    d.model = model_;
                    d.client_message = "the body ended without data: [DONE]";
                    throw error(make_error_code(client_errc::stream_truncated), std::move(d));
                }
                if (ev->data == "[DONE]") {
                    state_ = state::finished;
                    timings_.end = clock::now();
                    reader_.finish();
                    co_return std::nullopt;
                }
                if (ev->type == "error")
                    throw_stream_error(ctx, ev->data);
                try {
                    Chunk c = decode_(ev->data);
                    if (timings_.first_token == clock::time_point{} && has_output_(c))
                        timings_.first_token = clock::now();
                    co_return c;
                } catch (error& e) {
                    auto d = e.diag();
                    d.provider = provider_;
                    d.model = model_;
                    throw error(e.code(), std::move(d));
                }
            }
        } catch (...) {
            state_ = state::failed;
            failure_ = current_failure().code;
            reader_.close();
            throw;
        }
    }

    const llm::call_timings& timings() const noexcept override { return timings_; }

private:
    enum class state { open, finished, failed };

    [[noreturn]] void throw_closed() const
    {
        diagnostics d;
        d.provider = provider_;
        d.model = model_;
        if (failure_ == boost::asio::error::operation_aborted)
            d.client_message = "async_next after the stream was cancelled";
        else
            d.client_message = "async_next after the stream failed with: " + failure_.message();
        throw error(make_error_code(client_errc::stream_closed), std::move(d));
    }

    event_reader reader_;
    llm::call_timings timings_;
    std::string provider_;
    std::string model_;
    Decode decode_;
    HasOutput has_output_;
    state state_ = state::open;
    boost::system::error_code failure_;
    bool busy_ = false;
};

} // namespace majordomo::openai::detail

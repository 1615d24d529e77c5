// Private: the one call path of every OpenAI call family (chat, embeddings, models,
// completions, rerank, audio): the request built from the provider's settings, retries,
// phase deadlines and the API error of a non-2xx answer; and the pulled SSE stream of any
// chunk type behind chat and completion streams.
#pragma once

#include "llm/retry.hpp"
#include "openai/api_error.hpp"
#include "openai/event_reader.hpp"

#include <majordomo/error.hpp>
#include <majordomo/llm/provider.hpp>
#include <majordomo/llm/timings.hpp>
#include <majordomo/openai/provider.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/cancellation_state.hpp>
#include <boost/asio/this_coro.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace majordomo::openai {

/// The provider's state, shared by its models and by every call in flight: a call keeps
/// it alive, so it stays valid if the provider object goes away meanwhile.
struct provider::impl {
    impl(boost::asio::any_io_executor ex, provider_params p);

    provider_params params;
    std::string base; ///< base_url without trailing slashes
    mutable http::client http;
};

namespace detail {

using clock = llm::call_timings::clock;

/// Checks a 2xx streamed answer before async_open hands it out: `usable` looks at its headers
/// (no coroutine when they are right); when they are not, `reject` reads the body and throws
/// the error it holds. Both run within the opening phase, and a failure is retried as any other.
struct open_check {
    bool (*usable)(const http::response_stream&) = nullptr;
    boost::asio::awaitable<void> (*reject)(http::response_stream&, const call_context&) = nullptr;
};

/// One request; the views must outlive the call.
struct call_spec {
    std::string_view method = "POST";
    std::string_view path; ///< below the base URL, e.g. "/completions"
    std::string body;
    std::string_view content_type = "application/json"; ///< sent when the body is not empty
    std::string_view accept = "application/json";
    std::string_view model;
    open_check check; ///< async_open only
};

/// The request of `spec` with `body` (spec.body, copied or moved).
http::request make_request(const provider::impl& p, const call_spec& spec, std::string body);

/// A 2xx answer and the requests it took.
struct answered {
    http::response r; ///< its timings' start is the first attempt's
    int attempts = 1;
};

/// The call path below every provider: sends `req` until it gets a 2xx answer, retried as
/// `cp.retry` (else `retry`) allows, its headers bounded by the opening phase deadline and
/// its body by total; a non-2xx answer throws the API error.
boost::asio::awaitable<answered> async_call(http::client& http, http::request req, call_context ctx,
                                            const llm::retry_params& retry, const llm::call_params& cp);

/// async_call on the provider: fails before sending without a base URL or with a blank key.
boost::asio::awaitable<answered> async_call(const provider::impl& p, call_spec spec, const llm::call_params& cp);

/// A whole answer's timings: its tokens came with its headers.
llm::call_timings whole_timings(const answered& a);

/// A 2xx streamed answer whose headers arrived, and the plan the rest of it runs under.
struct opened {
    http::response_stream body;
    int attempts = 1;
    clock::time_point start; ///< the first attempt's
    llm::detail::phase_plan phases;

    /// The timings so far, from the call's start.
    llm::call_timings timings() const;
};

/// Sends until a 2xx answer's headers arrived (and spec.check passed), retried and bounded
/// as async_call; once it returns, nothing is sent again.
boost::asio::awaitable<opened> async_open(const provider::impl& p, call_spec spec, const llm::call_params& cp);

/// Runs a sans-io decoder; its errors gain the provider, model and origin.
template <class Decode>
auto decode_with(const provider::impl& p, std::string_view model, Decode&& f) -> decltype(f())
{
    try {
        return f();
    } catch (const error& e) {
        auto d = e.diag();
        d.provider = p.params.name;
        d.model = std::string(model);
        d.origin = p.base;
        throw error(e.code(), std::move(d));
    }
}

/// An error object a server wrote at the end of a stream without SSE framing (llama-swap
/// after loading frames, llama.cpp's older `error:` line), as `{"error":...}` text.
std::optional<std::string> unframed_error(std::string_view tail);

/// The open_check of SSE streams: a 2xx answer must be text/event-stream; otherwise the error
/// its body holds, or client_errc::unexpected_content_type.
extern const open_check event_stream_check;

/// A stream source that decodes into a caller's chunk: `Source` plus async_next_into, which
/// chat_stream::source declares itself (async_next_view reuses its chunk through it) and other
/// sources gain here, for sse_source's own use.
template <class Source, class Chunk>
class source_base : public Source {
public:
    /// Decodes the next chunk into `out`: &out, or nullptr at the terminator.
    virtual boost::asio::awaitable<const Chunk*> async_next_into(Chunk& out) = 0;
};

template <>
class source_base<llm::chat_stream::source, llm::chat_chunk> : public llm::chat_stream::source {};

/// A pulled `data:`-framed stream ending at `data: [DONE]`, under its call's phase deadlines.
/// Any failure (an error event, a bad chunk, a truncated or broken body, a phase deadline,
/// cancellation) closes the connection and the stream stays failed (stream_closed); after
/// [DONE] it stays at its end. One async_next at a time (operation_in_progress).
///
/// `Decode` is the decode step: `Decode::chunk` the chunk type, `decode(data, out)` decodes
/// one event into `out` (reusing its buffers where it can), `Decode::has_output(out)` says
/// whether it holds a real token (the first marks first_token), `Decode::what` names the
/// operation in errors. One Decode lives as long as the stream.
template <class Source, class Decode>
class sse_source final : public source_base<Source, typename Decode::chunk> {
public:
    using chunk = typename Decode::chunk;

    sse_source(opened o, std::size_t max_event, std::string provider, std::string model)
        : reader_(std::move(o.body), sse::parser_params{max_event}), provider_(std::move(provider)),
          model_(std::move(model)), phases_(std::move(o.phases))
    {
        timings_ = llm::call_timings::from_http(reader_.body().timings());
        timings_.start = o.start;
        timings_.attempts = o.attempts;
    }

    boost::asio::awaitable<std::optional<chunk>> async_next() override
    {
        chunk c;
        const chunk* got = co_await async_next_into(c);
        if (!got)
            co_return std::nullopt;
        co_return std::optional<chunk>(std::move(c));
    }

    const llm::call_timings& timings() const noexcept override { return timings_; }

    // The one coroutine per chunk above read_next: chat's hot path (async_next_view) calls it
    // straight through the vtable (see chat.cpp on keeping it cheap).
    boost::asio::awaitable<const chunk*> async_next_into(chunk& out) override
    {
        namespace asio = boost::asio;
        if (busy_)
            throw error(make_error_code(client_errc::operation_in_progress), Decode::what);
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
                throw error(make_error_code(asio::error::operation_aborted), Decode::what);
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

private:
    enum class state { open, finished, failed };

    // Reads events until a chunk (decoded into `out`: true), the terminator (false) or a failure.
    boost::asio::awaitable<bool> read_next(chunk& out)
    {
        namespace asio = boost::asio;
        try {
            // A terminal cancellation that reached the caller before this call (one that set
            // throw_if_cancelled(false)) would otherwise be missed by the read started below.
            auto cs = co_await asio::this_coro::cancellation_state;
            if (cs.cancelled() != asio::cancellation_type::none)
                throw error(make_error_code(asio::error::operation_aborted), Decode::what);
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
                    // Whatever the server does after [DONE] is not waited for.
                    reader_.finish();
                    co_return false;
                }
                if (ev->type == "error")
                    throw_stream_error(ctx, ev->data);
                try {
                    decode_.decode(ev->data, out);
                    if (timings_.first_token == clock::time_point{} && Decode::has_output(out))
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
        if (failure_ == boost::asio::error::operation_aborted)
            d.client_message = std::string(Decode::what) + " after the stream was cancelled";
        else
            d.client_message = std::string(Decode::what) + " after the stream failed with: " + failure_.message();
        throw error(make_error_code(client_errc::stream_closed), std::move(d));
    }

    event_reader reader_;
    Decode decode_;
    llm::call_timings timings_;
    std::string provider_;
    std::string model_;
    llm::detail::phase_plan phases_;
    clock::time_point last_chunk_;
    state state_ = state::open;
    boost::system::error_code failure_;
    bool busy_ = false;
};

} // namespace detail
} // namespace majordomo::openai

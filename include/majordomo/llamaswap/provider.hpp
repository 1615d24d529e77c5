// The llama-swap provider: chat through the OpenAI provider at {base}/v1, management,
// image generation and live events.
#pragma once

#include <majordomo/audio/audio.hpp>
#include <majordomo/http/client.hpp>
#include <majordomo/imagegen/image_model.hpp>
#include <majordomo/llamaswap/management.hpp>
#include <majordomo/llm/completion.hpp>
#include <majordomo/llm/rerank.hpp>
#include <majordomo/llm/provider.hpp>
#include <majordomo/llm/retry.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <memory>
#include <optional>
#include <string>

namespace majordomo::openai {
class provider;
}

namespace majordomo::llamaswap {

struct provider_params {
    std::string name = "llama-swap";
    /// scheme://host[:port]; a trailing slash is trimmed. Empty: the provider still
    /// constructs, and every call fails with client_errc::no_base_url.
    std::string base_url;
    /// Sent as a bearer token (llama-swap apiKeys). Unset: the placeholder `no-key`.
    std::optional<std::string> token;
    /// A client to share; otherwise one is made from http_params.
    std::optional<http::client> http;
    http::client_params http_params;
    /// Retries of chat (through the OpenAI provider), management reads, images and
    /// async_preload, inside the caller's with_deadline. On by default for connect
    /// failures, 429, 502, 503 and llama-swap's 409.
    llm::retry_params retry;
};

/// What async_preload reports.
struct preload_result {
    std::string model;
    /// start: the first request; headers_received: llama-swap answered, the model being
    /// ready (time_to_headers() is the swap as the caller saw it); attempts: requests sent.
    llm::call_timings timings;
};

/// A pulled stream of GET /api/events. Destroying it closes the connection.
class event_stream {
public:
    event_stream(event_stream&&) noexcept;
    event_stream& operator=(event_stream&&) noexcept;
    ~event_stream();

    /// The next event, or nullopt when llama-swap closed the stream (shutdown, reload).
    boost::asio::awaitable<std::optional<event>> async_next();

    struct impl;
    explicit event_stream(std::unique_ptr<impl> p);

private:
    std::unique_ptr<impl> impl_;
};

/// @par Thread safety  Safe from many coroutines at once, on one or many threads.
class provider : public llm::provider,
                 public imagegen::image_provider,
                 public llm::completion_provider,
                 public llm::rerank_provider,
                 public audio::audio_provider {
public:
    provider(boost::asio::any_io_executor ex, provider_params params);
    ~provider() override;

    const std::string& name() const noexcept override;

    /// A chat model; chat goes to {base}/v1/chat/completions with `max_tokens`.
    std::shared_ptr<llm::model> get_model(std::string id, llm::model_options options = {}) override;

    /// An image model; generation goes to {base}/v1/images/generations.
    std::shared_ptr<imagegen::image_model> get_image_model(std::string id) override;

    /// GET /v1/models.
    boost::asio::awaitable<std::vector<model_info>> async_list_models();
    /// GET /running.
    boost::asio::awaitable<std::vector<running_model>> async_running();
    /// POST /api/models/unload/{model} (falls back to GET /unload on releases without it
    /// only for unload-all). Blocks until llama-swap stopped the model.
    boost::asio::awaitable<void> async_unload(std::string model);
    /// POST /api/models/unload; on older releases GET /unload.
    boost::asio::awaitable<void> async_unload_all();
    /// GET /health: true when llama-swap answers 200.
    boost::asio::awaitable<bool> async_health();
    /// GET /api/events.
    boost::asio::awaitable<event_stream> async_events();

    // The rest of the management API (src/llamaswap/admin.cpp). An endpoint the server's release
    // lacks fails with an api_errc error whose message names the endpoint, the status and the
    // release that brought it, never with a decode error.

    /// GET /api/version.
    boost::asio::awaitable<version_info> async_version();
    /// GET /api/metrics/activity (v236+); on older releases GET /api/metrics, the whole log unpaged.
    boost::asio::awaitable<activity_page> async_activity(activity_query q);
    boost::asio::awaitable<activity_page> async_activity(); ///< the first page, llama-swap's defaults
    /// GET /api/metrics/stats[?model=] (v236+), for one model or (empty) all.
    boost::asio::awaitable<activity_stats> async_stats(std::string model);
    boost::asio::awaitable<activity_stats> async_stats();
    /// GET /api/profiles (v245+).
    boost::asio::awaitable<profile_list> async_profiles();
    /// PUT /api/profiles/active: activates `name`, or deactivates with nullopt; returns the active one.
    boost::asio::awaitable<std::optional<std::string>> async_set_profile(std::optional<std::string> name);
    /// POST /api/inflight/{id}/cancel: cancels an in-flight request (ids from async_events' inflight
    /// events). A queued request then gets an empty 200, a served one is cut.
    boost::asio::awaitable<void> async_cancel(std::string id);
    /// Any method to /upstream/{model}{path}: the whole 2xx answer, raw. A non-2xx answer throws
    /// its API error.
    boost::asio::awaitable<http::response> async_upstream(upstream_request req);
    /// As async_upstream, returning once the headers of a 2xx answer arrived; the body is pulled.
    boost::asio::awaitable<http::response_stream> async_upstream_stream(upstream_request req);
    /// Loads `model` and returns once it is ready: GET /upstream/{model}/, which llama-swap
    /// routes through its scheduler like an inference call (it swaps the model in, waiting
    /// out any swap in progress) and answers with llama-server's root page once the model
    /// is up. There is no other load endpoint (llama-swap-api.md §2.2-2.3).
    /// @par Errors  api_errc 404 for an unknown model; the start failure (502, 500) when
    ///   it did not come up; transport errors. Retried as `call.retry`, or the provider's.
    /// @par Cancellation  Terminal; bound it with with_deadline (a cold start can take
    ///   minutes) or `call.deadlines.total`.
    boost::asio::awaitable<preload_result> async_preload(std::string model, llm::call_params call = {});

    /// Image generation without a model handle; `req.model` must be set.
    boost::asio::awaitable<imagegen::image_result> async_generate_image(imagegen::image_request req);

    /// POST /v1/completions through the OpenAI provider (src/llamaswap/calls.cpp).
    boost::asio::awaitable<llm::completion_response> async_complete(llm::completion_request req) override;
    boost::asio::awaitable<llm::completion_stream> async_complete_stream(llm::completion_request req) override;

    /// POST /v1/rerank through the OpenAI provider.
    boost::asio::awaitable<llm::rerank_response> async_rerank(llm::rerank_request req) override;

    /// POST /v1/audio/transcriptions (multipart, routed by its model field) and /v1/audio/speech.
    boost::asio::awaitable<audio::transcription> async_transcribe(audio::transcription_request req) override;
    boost::asio::awaitable<audio::speech_result> async_speech(audio::speech_request req) override;
    boost::asio::awaitable<audio::speech_stream> async_speech_stream(audio::speech_request req) override;

    /// The OpenAI provider chat goes through (null without a base URL).
    std::shared_ptr<openai::provider> chat_provider() const noexcept;

    struct impl;

private:
    std::shared_ptr<impl> impl_;
};

inline std::shared_ptr<provider> make_provider(boost::asio::any_io_executor ex, provider_params params)
{
    return std::make_shared<provider>(std::move(ex), std::move(params));
}

} // namespace majordomo::llamaswap

// The llama-swap provider: chat through the OpenAI provider at {base}/v1, management,
// image generation and live events.
#pragma once

#include <majordomo/http/client.hpp>
#include <majordomo/imagegen/image_model.hpp>
#include <majordomo/llamaswap/management.hpp>
#include <majordomo/llm/provider.hpp>

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
class provider : public llm::provider, public imagegen::image_provider {
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

    /// Image generation without a model handle; `req.model` must be set.
    boost::asio::awaitable<imagegen::image_result> async_generate_image(imagegen::image_request req);

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

// The OpenAI-compatible provider: chat and text completions (whole and streamed), model list,
// embeddings.
#pragma once

#include <majordomo/audio/audio.hpp>
#include <majordomo/http/client.hpp>
#include <majordomo/llm/completion.hpp>
#include <majordomo/llm/provider.hpp>
#include <majordomo/llm/rerank.hpp>
#include <majordomo/llm/retry.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/json/object.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace majordomo::openai {

struct provider_params {
    std::string name = "openai";
    /// Where the API lives, with or without a trailing slash: https://api.openai.com/v1,
    /// http://127.0.0.1:8080/v1. Empty: every call fails with client_errc::no_base_url.
    std::string base_url;
    /// Sent as `Authorization: Bearer <key>`. A blank key fails every call with
    /// client_errc::missing_api_key before anything is sent. Never logged.
    std::optional<std::string> api_key;
    http::fields extra_headers;
    /// Sends `max_tokens` instead of `max_completion_tokens` (llama.cpp, older servers).
    bool legacy_max_tokens = false;
    /// A client to share (its pool, TLS settings and limits); otherwise one is made
    /// from http_params.
    std::optional<http::client> http;
    http::client_params http_params;
    /// Bytes one SSE event may hold.
    std::size_t max_event_size = 16 * 1024 * 1024;
    /// Retries of every call, inside the caller's with_deadline; a request's `call.retry`
    /// overrides them. On by default for connect failures, 429, 502, 503 and 409.
    llm::retry_params retry;
};

/// One row of GET {base}/models.
struct model_entry {
    std::string id;
    std::string object;
    std::optional<std::int64_t> created;
    std::string owned_by;
    boost::json::object raw;
};

struct embedding_request {
    std::string model;
    std::vector<std::string> input; ///< one or many
    std::optional<int> dimensions;
    boost::json::object extra; ///< merged into the body last
    llm::call_params call;     ///< retries and phase deadlines of this call
};

struct embedding_response {
    std::string model;
    std::vector<std::vector<float>> embeddings; ///< in input order
    std::optional<std::int64_t> prompt_tokens;
    std::optional<std::int64_t> total_tokens;
    boost::json::object raw;
    llm::call_timings call;
};

/// @par Thread safety  Safe from many coroutines at once, on one or many threads.
class provider : public llm::provider,
                 public llm::completion_provider,
                 public llm::rerank_provider,
                 public audio::audio_provider {
public:
    provider(boost::asio::any_io_executor ex, provider_params params);
    ~provider() override;

    const std::string& name() const noexcept override;
    std::shared_ptr<llm::model> get_model(std::string id, llm::model_options options = {}) override;

    /// GET {base}/models.
    boost::asio::awaitable<std::vector<model_entry>> async_list_models();

    /// POST {base}/embeddings.
    boost::asio::awaitable<embedding_response> async_embed(embedding_request req);

    /// Chat without a model handle; `req.model` must be set.
    boost::asio::awaitable<llm::chat_response> async_chat(llm::chat_request req);
    boost::asio::awaitable<llm::chat_stream> async_chat_stream(llm::chat_request req);

    /// POST {base}/completions, whole and streamed (src/openai/completions.cpp).
    boost::asio::awaitable<llm::completion_response> async_complete(llm::completion_request req) override;
    boost::asio::awaitable<llm::completion_stream> async_complete_stream(llm::completion_request req) override;

    /// POST {base}/rerank (src/openai/rerank.cpp).
    boost::asio::awaitable<llm::rerank_response> async_rerank(llm::rerank_request req) override;

    /// POST {base}/audio/transcriptions (multipart) and {base}/audio/speech (src/openai/audio.cpp).
    boost::asio::awaitable<audio::transcription> async_transcribe(audio::transcription_request req) override;
    boost::asio::awaitable<audio::speech_result> async_speech(audio::speech_request req) override;
    boost::asio::awaitable<audio::speech_stream> async_speech_stream(audio::speech_request req) override;

    /// The HTTP client in use (shared or owned).
    http::client& http_client() noexcept;
    const provider_params& params() const noexcept;

    struct impl;

private:
    std::shared_ptr<impl> impl_;
};

/// Makes a provider; the usual way, since models keep their provider alive.
inline std::shared_ptr<provider> make_provider(boost::asio::any_io_executor ex, provider_params params)
{
    return std::make_shared<provider>(std::move(ex), std::move(params));
}

} // namespace majordomo::openai

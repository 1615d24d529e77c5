// llama-swap's model calls beyond chat and images: each goes through the OpenAI provider at
// {base}/v1, since llama-swap routes them by their `model` field and passes them through unchanged.
#include "openai/api_error.hpp"

#include <majordomo/error.hpp>
#include <majordomo/llamaswap/provider.hpp>
#include <majordomo/openai/provider.hpp>

namespace majordomo::llamaswap {

namespace asio = boost::asio;

namespace {

// Awaits the delegate's `call` with `req`; a provider built without a URL fails with no_base_url
// naming the request's model. A coroutine, so that error is thrown when the call is awaited.
template <class Result, class Request>
asio::awaitable<Result> forward(const provider& p, asio::awaitable<Result> (openai::provider::*call)(Request),
                                Request req)
{
    auto c = p.chat_provider();
    if (!c)
        openai::detail::check_ready({p.name(), req.model}, "", std::nullopt);
    co_return co_await (c.get()->*call)(std::move(req));
}

} // namespace

asio::awaitable<llm::completion_response> provider::async_complete(llm::completion_request req)
{
    return forward(*this, &openai::provider::async_complete, std::move(req));
}

asio::awaitable<llm::completion_stream> provider::async_complete_stream(llm::completion_request req)
{
    return forward(*this, &openai::provider::async_complete_stream, std::move(req));
}

asio::awaitable<llm::rerank_response> provider::async_rerank(llm::rerank_request req)
{
    return forward(*this, &openai::provider::async_rerank, std::move(req));
}

asio::awaitable<audio::transcription> provider::async_transcribe(audio::transcription_request req)
{
    return forward(*this, &openai::provider::async_transcribe, std::move(req));
}

asio::awaitable<audio::speech_result> provider::async_speech(audio::speech_request req)
{
    return forward(*this, &openai::provider::async_speech, std::move(req));
}

asio::awaitable<audio::speech_stream> provider::async_speech_stream(audio::speech_request req)
{
    return forward(*this, &openai::provider::async_speech_stream, std::move(req));
}

} // namespace majordomo::llamaswap

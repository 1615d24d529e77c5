// POST {base}/chat/completions, whole and streamed. A file of its own, kept small: g++ 12
// inlines Asio's frame allocator into a stream's two per-chunk coroutines (sse_source's
// async_next_into and read_next) only while the file's inlining budget lasts; inside
// provider.cpp it ran out ("--param inline-unit-growth limit reached", about 40 instructions a
// chunk more; callgrind, majordomo-streambench --streams 100).
#include "openai/chat.hpp"

#include <majordomo/llm/chunk_decoder.hpp>
#include <majordomo/llm/json_codec.hpp>

namespace majordomo::openai::detail {

namespace asio = boost::asio;

namespace {

// Chat's decode step: into the caller's chunk, through one decoder per stream whose parser
// and buffers stay warm across its chunks.
struct chat_decode {
    using chunk = llm::chat_chunk;
    static constexpr const char* what = "chat_stream::async_next";

    void decode(std::string_view data, chunk& out) { decoder.decode(data, out); }
    static bool has_output(const chunk& c) noexcept { return c.has_output(); }

    llm::chunk_decoder decoder;
};

using stream_source = sse_source<llm::chat_stream::source, chat_decode>;

} // namespace

asio::awaitable<llm::chat_response> async_chat(std::shared_ptr<provider::impl> self, llm::chat_request req)
{
    call_spec spec;
    spec.path = "/chat/completions";
    spec.body = llm::encode_chat_request(req, {.stream = false, .legacy_max_tokens = self->params.legacy_max_tokens});
    spec.model = req.model;
    auto a = co_await async_call(*self, std::move(spec), req.call);
    auto resp = decode_with(*self, req.model, [&] { return llm::decode_chat_response(a.r.body); });
    resp.call = whole_timings(a);
    co_return resp;
}

asio::awaitable<llm::chat_stream> async_chat_stream(std::shared_ptr<provider::impl> self, llm::chat_request req)
{
    call_spec spec;
    spec.path = "/chat/completions";
    spec.body = llm::encode_chat_request(req, {.stream = true, .legacy_max_tokens = self->params.legacy_max_tokens});
    spec.accept = "text/event-stream";
    spec.model = req.model;
    spec.check = event_stream_check;
    auto o = co_await async_open(*self, std::move(spec), req.call);
    co_return llm::chat_stream(
        std::make_unique<stream_source>(std::move(o), self->params.max_event_size, self->params.name, req.model));
}

} // namespace majordomo::openai::detail

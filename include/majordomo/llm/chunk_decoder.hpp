// The decoder of a chat stream's chunks, one SSE `data:` payload at a time. It keeps
// its JSON parser and scratch buffers across chunks, so a long stream decodes at the
// speed of the bytes instead of the allocator.
#pragma once

#include <majordomo/error.hpp>
#include <majordomo/llm/chunk.hpp>

#include <memory>
#include <string_view>

namespace majordomo::llm {

struct chunk_decoder_options {
    /// Keep each chunk's JSON in chat_chunk::raw (in one allocation per chunk, owned by
    /// the chunk). When false, raw stays empty and nothing is allocated for the JSON.
    bool keep_raw = true;
};

/// Decodes `chat.completion.chunk` payloads leniently (DESIGN.md rule 4): missing
/// optional fields, unknown fields (kept in raw), null content, empty choices, tool calls
/// without `function`, absent or "" arguments, null usage, any `created`. llama-swap's
/// loading frames come back with chat_chunk::loading set.
/// @par Errors  client_errc::bad_json (message quoting at most 200 bytes of the
///   payload, around where parsing stopped) for anything that is not a JSON object;
///   api_errc with parsed diagnostics for an in-band `{"error":{...}}` payload.
/// @par Thread safety  One decoder per stream; decoded chunks are independent of it.
class chunk_decoder {
public:
    explicit chunk_decoder(chunk_decoder_options options = {});
    ~chunk_decoder();
    chunk_decoder(chunk_decoder&&) noexcept;
    chunk_decoder& operator=(chunk_decoder&&) noexcept;

    chat_chunk decode(std::string_view data);

    /// Decodes into `out`, reusing the capacity of its strings and vectors. When it
    /// throws, `out` is valid but unspecified.
    void decode(std::string_view data, chat_chunk& out);

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

} // namespace majordomo::llm

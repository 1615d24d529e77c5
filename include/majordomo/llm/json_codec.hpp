// The OpenAI Chat Completions wire format: encoding requests exactly, decoding
// responses and chunks leniently (DESIGN.md rule 4). Sans-io.
#pragma once

#include <majordomo/llm/chat.hpp>
#include <majordomo/llm/chunk.hpp>

#include <string>
#include <string_view>

namespace majordomo::llm {

struct encode_options {
    bool stream = false;
    /// `max_tokens` (llama.cpp, older servers) instead of `max_completion_tokens`.
    bool legacy_max_tokens = false;
};

/// The JSON body of POST /chat/completions.
std::string encode_chat_request(const chat_request& req, const encode_options& opts);

/// Decodes a whole (non-streamed) response.
/// @par Errors  Throws majordomo::error(client_errc::bad_json) quoting a bounded excerpt.
chat_response decode_chat_response(std::string_view body);

/// Decodes the JSON payload of one SSE `data:` event. An `{"error":...}` payload
/// throws the API error it describes.
/// @par Errors  client_errc::bad_json (bounded excerpt), api_errc.
chat_chunk decode_chat_chunk(std::string_view data);

/// "data:<mime>;base64,<...>" for image bytes.
std::string to_data_url(const image_part& img);

} // namespace majordomo::llm

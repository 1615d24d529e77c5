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
std::string encode_chat_request(const chat_request& req, const encode_options& opts = {});

/// Decodes a whole (non-streamed) response, leniently: missing optional fields, null
/// content, empty choices, tool calls without `function`, null usage; unknown fields are
/// kept in `raw`. A body that is an `{"error":...}` object throws the API error it describes.
/// @par Errors  client_errc::bad_json quoting at most 200 bytes of the body; api_errc.
chat_response decode_chat_response(std::string_view body);

/// Decodes the JSON payload of one SSE `data:` event, with a per-thread chunk_decoder
/// (see chunk_decoder.hpp for the rules; a stream may hold its own decoder instead).
/// An `{"error":...}` payload throws the API error it describes.
/// @par Errors  client_errc::bad_json (at most 200 bytes quoted), api_errc.
chat_chunk decode_chat_chunk(std::string_view data);

/// "data:<mime>;base64,<...>" for image bytes; without a MIME type, it is sniffed
/// from the bytes (PNG, JPEG, WebP, GIF; PNG when unknown).
std::string to_data_url(const image_part& img);

} // namespace majordomo::llm

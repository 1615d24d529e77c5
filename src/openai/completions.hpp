// Private, sans-io: the /v1/completions request body and its answers, whole and streamed.
#pragma once

#include <majordomo/llm/completion.hpp>

#include <string>
#include <string_view>

namespace majordomo::openai::detail {

std::string encode_completion_request(const llm::completion_request& req, bool stream);

/// A whole answer. Lenient: missing optional fields, unknown ones (kept in raw), a
/// non-numeric count read as absent.
/// @par Errors  client_errc::bad_json when the body is not a JSON object with a `choices`
///   array; api_errc for an `{"error":...}` object sent with a 2xx status.
llm::completion_response decode_completion_response(std::string_view body);

/// One `data:` event of a stream.
/// @par Errors  client_errc::bad_json when it is not a JSON object; api_errc for `{"error":...}`.
llm::completion_chunk decode_completion_chunk(std::string_view data);

} // namespace majordomo::openai::detail

// Private, sans-io: the /v1/rerank request body and its answer.
#pragma once

#include <majordomo/llm/rerank.hpp>

#include <cstddef>
#include <string>
#include <string_view>

namespace majordomo::openai::detail {

std::string encode_rerank_request(const llm::rerank_request& req);

/// An answer for `documents` documents, most relevant first: the Jina/Cohere shape
/// {"results":[{"index","relevance_score","document"?}]} (a document as a string or {"text"}),
/// or TEI's bare array [{"index","score","text"?}]. Lenient on usage and unknown fields.
/// @par Errors  client_errc::bad_json when the body has no results array, a result's index is
///   not an integer in [0, documents) or repeats, or a score is not a finite number; api_errc for
///   an `{"error":...}` object sent with a 2xx status.
llm::rerank_response decode_rerank_response(std::string_view body, std::size_t documents);

} // namespace majordomo::openai::detail

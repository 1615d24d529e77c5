// Sans-io decoding of the OpenAI answers that are not chat: the model list and embeddings.
#pragma once

#include <majordomo/openai/provider.hpp>

#include <cstddef>
#include <string_view>
#include <vector>

namespace majordomo::openai::detail {

/// The rows of a GET {base}/models answer.
/// @par Errors  client_errc::bad_json when the body is not {"data":[...]}.
std::vector<model_entry> decode_model_list(std::string_view body);

/// An embeddings answer for `inputs` inputs, in input order.
/// @par Errors  client_errc::bad_json when the body is not {"data":[...]}, a vector holds
///   anything but finite numbers that fit a float, a row's index is not an integer in
///   [0, inputs) or repeats, or an input gets no vector. Usage counts are lenient (absent
///   when not numbers, clamped into [0, INT64_MAX]).
embedding_response decode_embeddings(std::string_view body, std::size_t inputs);

} // namespace majordomo::openai::detail

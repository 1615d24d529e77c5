// Private: the exact JSON and SSE shapes the simulator writes, llama-swap's own (llama-swap-api.md §2.5,
// §4, §5) and its upstreams' (wire-formats.md §1-§3).
#pragma once

#include "server.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace majordomo::sim::detail {

/// llama.cpp's build string: `b<build>-<commit>`.
inline constexpr std::string_view system_fingerprint = "b7100-5d1e0a7c";

struct typed_body {
    std::string content_type;
    std::string body;
};

/// llama-swap's own error body: Accept negotiation (text/plain, text/html, else JSON), then the JSON
/// generation. `code` overrides the code derived from the status (e.g. "concurrency_limit").
typed_body swap_error_body(error_format fmt, std::string_view accept, unsigned status,
                           std::string_view message, std::string_view code = {});

/// llama.cpp's error envelope: {"error":{"code":<int>,"message":"...","type":"..."}}.
std::string llama_error(unsigned code, std::string_view message, std::string_view type);

/// The fields every chunk of one completion shares.
struct completion_ids {
    std::string id; ///< "chatcmpl-" + 32 alphanumerics
    std::string model;
};

/// One streamed chunk: choices first, then created, id, model, system_fingerprint, object.
boost::json::object chat_chunk(const completion_ids& ids, boost::json::object delta, boost::json::value finish);
/// The include_usage chunk: "choices":[] plus usage and timings.
boost::json::object usage_chunk(const completion_ids& ids, boost::json::object usage,
                                boost::json::object timings);
/// A whole (stream:false) completion, keys in llama-server's order.
boost::json::object chat_completion(const completion_ids& ids, std::string_view content,
                                    std::string_view finish, boost::json::object usage,
                                    boost::json::object timings);
boost::json::object usage_json(std::size_t prompt_tokens, std::size_t completion_tokens);
boost::json::object timings_json(std::size_t prompt_n, double prompt_ms, std::size_t predicted_n,
                                 double predicted_ms);

/// `data: <compact json>\n\n`, the llama-server SSE event.
std::string sse_data(const boost::json::value& v);
/// `data: {"choices":[{"delta":{"reasoning_content":"..."}}]}\n\n`, llama-swap's loading frame.
std::string loading_frame(std::string_view text);
/// `event:message\ndata:{"type":"...","data":"<json as a string>"}\n\n` (no spaces after the colons).
std::string event_frame(std::string_view type, const boost::json::value& data);

/// The modelStatus payload: every model sorted by id.
boost::json::array model_status(const std::vector<model_slot*>& sorted);
/// GET /v1/models: listed models sorted by id.
boost::json::object model_list(const std::vector<model_slot*>& sorted, std::int64_t now);
/// GET /running: non-stopped models sorted by id.
boost::json::object running_list(const std::vector<model_slot*>& sorted);
/// The command line /running reports for a model's upstream.
std::string upstream_cmd(const model_slot& m);

} // namespace majordomo::sim::detail

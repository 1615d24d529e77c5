// llama-swap's own surface beyond chat: model listing, running models, live events.
// Shapes follow llama-swap v250 and keep what older releases send (reference §2, §4).
#pragma once

#include <majordomo/http/message.hpp>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace majordomo::llamaswap {

/// One row of GET /v1/models.
struct model_info {
    std::string id;
    std::string object;   ///< "model"
    std::string owned_by; ///< "llama-swap"
    std::optional<std::int64_t> created;
    std::string name;        ///< omitted by llama-swap when empty
    std::string description; ///< omitted by llama-swap when empty
    std::vector<std::string> aliases; ///< from meta.llamaswap.aliases
    boost::json::object meta;         ///< the whole `meta` object
    std::optional<std::string> status; ///< status.value: "loaded" or "unloaded" (v236+)
    boost::json::object raw;
};

/// One row of GET /running.
struct running_model {
    std::string model;
    std::string state; ///< "starting", "ready" or "stopping" (older releases: "ready" only)
    std::string cmd;
    std::string proxy;
    std::optional<std::int64_t> ttl; ///< configured seconds, not the time remaining
    std::string name;
    std::string description;
    boost::json::object raw;
};

/// One model's state in a modelStatus event.
struct model_status {
    std::string id;
    std::string name;
    std::string description;
    std::string state; ///< "stopped", "starting", "ready", "stopping"; "" for peers
    bool unlisted = false;
    std::string peer_id;
    std::vector<std::string> aliases;
    boost::json::object raw;
};

/// One event of GET /api/events. modelStatus is typed; other kinds are passed raw.
struct event {
    std::string type;                 ///< "modelStatus", "logData", "inflight", "activity", ...
    std::vector<model_status> models; ///< when type == "modelStatus"
    boost::json::value data;          ///< the decoded payload (llama-swap double-encodes it)
};

/// GET /api/version.
struct version_info {
    std::string version; ///< e.g. "250"
    std::string commit;
    std::string build_date;
    boost::json::object raw;
};

/// Token counts of one activity row; absent when the server did not send them.
struct activity_tokens {
    std::optional<std::int64_t> cache_tokens;
    std::optional<std::int64_t> draft_tokens;
    std::optional<std::int64_t> draft_accepted_tokens;
    std::optional<std::int64_t> input_tokens;
    std::optional<std::int64_t> output_tokens;
    std::optional<double> prompt_per_second;
    std::optional<double> tokens_per_second;
};

/// One row of the activity log (GET /api/metrics/activity; before v236 GET /api/metrics).
struct activity_row {
    std::int64_t id = 0;
    std::string timestamp; ///< RFC 3339, as sent
    std::string model;
    std::string req_path;          ///< v236+
    std::string resp_content_type; ///< v236+
    std::optional<int> resp_status_code; ///< v236+
    activity_tokens tokens;
    std::optional<std::int64_t> duration_ms;
    bool has_capture = false;
    std::string error_msg;
    boost::json::object raw;
};

/// A page of the activity log. Releases before v236 send the whole log at once, unpaged.
struct activity_page {
    std::vector<activity_row> rows;
    std::optional<std::int64_t> page;
    std::optional<std::int64_t> limit;
    std::optional<std::int64_t> total;
    std::optional<std::int64_t> total_pages;
    bool legacy = false; ///< read from the older GET /api/metrics
};

/// Filters of GET /api/metrics/activity; unset ones are not sent (the older path ignores them all).
struct activity_query {
    std::vector<std::string> models;
    std::optional<int> limit; ///< 1-999, llama-swap's default 25
    std::optional<int> page;  ///< from 1
    std::string sort;         ///< id, time, model, duration, ...
    std::string order;        ///< asc or desc
    std::optional<std::int64_t> min_id;
    std::optional<std::int64_t> max_id;
    std::string start; ///< RFC 3339
    std::string end;   ///< RFC 3339
};

struct histogram {
    std::vector<double> bins;
    std::optional<double> min, max, bin_size, p50, p95, p99;
};

/// GET /api/metrics/stats.
struct activity_stats {
    std::int64_t total_requests = 0;
    std::int64_t total_input_tokens = 0;
    std::int64_t total_output_tokens = 0;
    std::int64_t total_cache_tokens = 0;
    std::optional<histogram> prompt_histogram; ///< null until there is data
    std::optional<histogram> gen_histogram;
    boost::json::object raw;
};

/// One profile of GET /api/profiles: pins map a requested id to a target ("" disables the id).
struct profile {
    std::string id;
    std::string description;
    std::vector<std::pair<std::string, std::string>> pins;
    boost::json::object raw;
};

struct profile_list {
    std::optional<std::string> active;
    std::vector<profile> profiles;
};

/// A raw request to a model's upstream through /upstream/{model}{path}, with swap on demand.
struct upstream_request {
    std::string model;          ///< the upstream's model id or alias; required
    std::string method = "GET";
    std::string path = "/";     ///< below the upstream's root, e.g. "/slots" or "/v1/chat/completions"
    std::string body;
    std::string content_type;   ///< sent when the body is not empty; default application/json
    http::fields headers;       ///< added last; Authorization is set by the provider
};

/// Decoders of the bodies above; each throws majordomo::error(client_errc::bad_json)
/// quoting a bounded excerpt when the shape is wrong.
std::vector<model_info> decode_model_list(std::string_view body);
std::vector<running_model> decode_running(std::string_view body);
event decode_event(std::string_view sse_data);
version_info decode_version(std::string_view body);
/// Both shapes: the paged {"data":[...],"page",...} of v236+ and the bare array of older releases,
/// whose rows carry their token counts at the top level.
activity_page decode_activity(std::string_view body);
activity_stats decode_stats(std::string_view body);
profile_list decode_profiles(std::string_view body);

} // namespace majordomo::llamaswap

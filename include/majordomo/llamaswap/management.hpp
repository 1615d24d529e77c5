// llama-swap's own surface beyond chat: model listing, running models, live events.
// Shapes follow llama-swap v250 and keep what older releases send (reference §2, §4).
#pragma once

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

/// Decoders of the bodies above; each throws majordomo::error(client_errc::bad_json)
/// quoting a bounded excerpt when the shape is wrong.
std::vector<model_info> decode_model_list(std::string_view body);
std::vector<running_model> decode_running(std::string_view body);
event decode_event(std::string_view sse_data);

} // namespace majordomo::llamaswap

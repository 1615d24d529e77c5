// A llama-swap simulator: an in-process HTTP/1.1 server on loopback that behaves like llama-swap
// (v250 and the 2026-08 error envelope) in front of llama-server and stable-diffusion.cpp's sd-server,
// so clients can be exercised over real sockets: model swaps with a load time, token rates,
// concurrency limits, TTL unloads, loading-state streams, both error-body generations and faults.
#pragma once

#include <boost/asio/any_io_executor.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace majordomo::sim {

/// A misbehaviour of a model's simulated upstream process.
enum class fault {
    none,
    fail_to_start,   ///< the load fails after load_time: 500 "unspecific error: health check timed out after
                     ///< <load_time>", or that body appended raw to a loading-state stream
    cut_stream,      ///< a stream ends cleanly (chunked EOF) half-way, without `data: [DONE]`; a whole
                     ///< response gets 502 with an empty body (the upstream died before its headers)
    stall,           ///< the upstream never answers; the request waits until unload, stop or disconnect
    error_mid_stream ///< `data: {"error":{...}}` half-way, then the end without [DONE]; whole: 500 JSON
};

/// What a model's upstream serves: llama-server (chat and completions, embeddings, or reranking with
/// `--reranking`), sd-server (images), whisper.cpp's server (transcriptions) or a text-to-speech server.
enum class model_kind { chat, image, embedding, reranker, transcription, speech };

/// The state of a model's simulated process, as /running and /api/events report it.
enum class model_state { stopped, starting, ready, stopping };

/// Which generation of llama-swap's own JSON error bodies to send (reference §5.1).
enum class error_format {
    current, ///< after v250 (#1038): {"src":"llama-swap","error":{"message","type","param":null,"code"}}
    legacy   ///< v224-v250: {"src":"llama-swap","error":"<message>"}
};

/// One model llama-swap can route to.
struct model_params {
    using kind_t = model_kind;

    std::string id;                   ///< required; may contain '/'
    std::vector<std::string> aliases; ///< unique across all ids and aliases; routed like the id
    bool unlisted = false;            ///< hidden from /v1/models, still routable and in /api/events
    std::string name;
    std::string description;
    std::chrono::milliseconds load_time{500}; ///< cold start: the request waits this long with no bytes sent
    double tokens_per_second = 200;           ///< chat: delta rate; image: steps per second (20 per image)
    std::size_t concurrency_limit = 0;        ///< 0 = unlimited; beyond it (serving + queued): 429
                                              ///< with Retry-After: 1
    std::chrono::milliseconds ttl{0};         ///< unload this long after the last request ends; 0 = never
    bool send_loading_state = false;          ///< llama-swap's sendLoadingState reasoning_content frames
    model_kind kind = model_kind::chat;
    std::string reply = "Hello! This is a simulated reply from majordomo-sim, streamed word by word.";
    fault f = fault::none;                  ///< the initial fault; change it later with simulator::set_fault
    std::size_t embedding_dimensions = 16;  ///< length of each embedding vector
};

/// A runtime profile (llama-swap v245+): pins map a requested id to a target id; "" disables the id.
struct profile_params {
    std::string id;
    std::string description;
    std::vector<std::pair<std::string, std::string>> pins;
};

/// The simulator's configuration.
struct simulator_params {
    using error_format = sim::error_format;

    std::vector<model_params> models;
    std::vector<std::string> api_keys; ///< empty: no auth. Otherwise Basic (password), Bearer or x-api-key
    error_format errors = error_format::current;
    bool exclusive = true; ///< one model at a time: another model waits for in-flight requests, then swaps
    /// The llama-swap release to behave as, for the management API: before 236 the activity log is the
    /// unpaged GET /api/metrics and there is no /api/metrics/stats or in-flight cancel; before 245 there
    /// are no profiles. An endpoint a release lacks gets the Go mux's `404 page not found`.
    int release = 250;
    std::vector<profile_params> profiles; ///< switched with PUT /api/profiles/active; none active at start
    std::string address = "127.0.0.1";
    std::uint16_t port = 0; ///< 0 = an ephemeral port, see simulator::port()
};

/// Counters for one model.
struct model_stats {
    model_state state = model_state::stopped;
    std::size_t loads = 0;     ///< loads started (including failed ones)
    std::size_t unloads = 0;   ///< by route, TTL, swap eviction or a failed load
    std::size_t served = 0;    ///< requests admitted to the model and answered (any outcome)
    std::size_t in_flight = 0; ///< admitted and not yet answered
    std::size_t queued = 0;    ///< waiting for the model (load, swap or drain)
};

/// A snapshot of the simulator's counters.
struct simulator_stats {
    std::size_t requests = 0;     ///< HTTP requests read, every route
    std::size_t swaps = 0;        ///< loads that first evicted another running model
    std::size_t loads = 0;        ///< loads started
    std::size_t served = 0;       ///< model requests admitted and answered
    std::size_t rejected = 0;     ///< 429 answers (concurrency limit)
    std::size_t unauthorized = 0; ///< 401 answers
    std::size_t cut = 0;          ///< in-flight requests cut by an unload
    std::map<std::string, model_stats, std::less<>> models; ///< by model id
};

/** @brief An in-process llama-swap.
 *
 *  Listens from the constructor on (address, port) and serves on the given executor; it starts no
 *  threads. All its work runs on one strand of that executor, so a multi-threaded io_context is fine;
 *  the public members may be called from any thread.
 *
 *  Routes: POST /v1/chat/completions and /v1/completions (whole and stream), /v1/embeddings,
 *  /v1/rerank (and /rerank, /v1/reranking, /reranking), /v1/audio/speech (audio streamed back),
 *  /v1/images/generations (the model from the JSON body, aliases resolve), /v1/audio/transcriptions
 *  (the model from the multipart form, parsed for real: a malformed upload is a 400); GET /v1/models
 *  and /models; GET /running; GET /unload, POST /api/models/unload and /api/models/unload/{model};
 *  GET /health; GET /api/events; GET /logs; GET /api/version; GET /api/metrics/activity (before
 *  release 236: /api/metrics) and /api/metrics/stats; GET /api/profiles and PUT /api/profiles/active;
 *  POST /api/inflight/{id}/cancel; any method /upstream/{model}/{path}; OPTIONS anywhere (CORS).
 *  Unknown paths get Go's `404 page not found`, wrong methods 405 with Allow.
 *
 *  Swaps follow llama-swap's scheduler: a ready model is served at once; a request for another model
 *  waits until the running model's in-flight requests finish, then that model is unloaded and the new
 *  one loaded (load_time), with the request held open and no bytes sent. Unloading a model while it
 *  serves cuts its streams cleanly without [DONE] (502 with an empty body for a whole response), and
 *  requests queued for it get 500 `unspecific error: group: model unloaded`.
 *
 *  @par Object lifetimes  The destructor calls stop(); the server's state lives on until its last
 *  coroutine has finished on the executor (or the io_context is destroyed). Destroy the simulator
 *  before its io_context, as with any Asio I/O object.
 *  @par Thread safety  All members may be called from any thread, concurrently.
 */
class simulator {
public:
    using executor_type = boost::asio::any_io_executor;

    /// Binds and listens at once. Throws std::invalid_argument for a bad configuration (empty or duplicate
    /// ids or aliases, tokens_per_second <= 0) and boost::system::system_error when the bind fails.
    simulator(executor_type ex, simulator_params params);
    simulator(const simulator&) = delete;
    simulator& operator=(const simulator&) = delete;
    ~simulator();

    executor_type get_executor() const noexcept;

    /// The port listened on (the ephemeral one when params.port was 0).
    std::uint16_t port() const noexcept;

    /// `http://address:port`, with no trailing slash.
    std::string url() const;

    /// Changes a model's fault for the requests that start from now on. The model may be an alias.
    /// Throws std::invalid_argument for an unknown model.
    void set_fault(std::string_view model, fault f);

    /// A snapshot of the counters.
    simulator_stats stats() const;

    /// Closes the listener and every connection (streams and /api/events end, waiting requests are
    /// dropped) and cancels load and TTL timers. Returns at once; the work runs on the executor.
    /// Idempotent.
    void stop();

private:
    struct impl;
    std::shared_ptr<impl> impl_;
};

/** @brief Reads a simulator configuration from JSON: the format of `majordomo-sim --models FILE.json`.
 *
 *  Either an array of models or an object:
 *  @code
 *  {
 *    "models": [
 *      {"id": "qwen", "aliases": ["q"], "unlisted": false, "name": "Qwen", "description": "chat",
 *       "kind": "chat",               // "chat" | "image" | "embedding" | "reranker" | "transcription" | "speech"
 *       "load_ms": 500, "tokens_per_second": 200, "concurrency_limit": 0,
 *       "ttl": 300,                   // seconds, as in llama-swap's config; or "ttl_ms"
 *       "send_loading_state": false,  // also spelt "sendLoadingState"
 *       "reply": "text streamed back", "embedding_dimensions": 16,
 *       "fault": "none"}              // "fail_to_start" | "cut_stream" | "stall" | "error_mid_stream"
 *    ],
 *    "api_keys": ["sk-1"],            // also "apiKeys"
 *    "error_format": "current",       // or "legacy"
 *    "exclusive": true, "address": "127.0.0.1", "port": 8080,
 *    "release": 250                   // the llama-swap release whose management API to serve
 *  }
 *  @endcode
 *  Only "id" is required. Unknown keys are rejected so that typos are not silently ignored.
 *  Throws std::invalid_argument with a message naming the offending key.
 */
simulator_params params_from_json(std::string_view json_text);

/// "none", "fail_to_start", "cut_stream", "stall", "error_mid_stream".
std::string_view to_string(fault f) noexcept;
/// "stopped", "starting", "ready", "stopping" (the words llama-swap uses).
std::string_view to_string(model_state s) noexcept;

} // namespace majordomo::sim

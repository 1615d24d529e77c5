// Private: the simulator's core. One server owns the listener, the model slots (simulated upstream
// processes) and the swap scheduler; one session serves one connection. Everything runs on a single
// strand, so the state needs no locks; the counters the public API reads from other threads are atomic.
#pragma once

#include <majordomo/sim/simulator.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/json/value.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <list>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace majordomo::sim::detail {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using clock_type = std::chrono::steady_clock;
using request = http::request<http::string_body>;
using response = http::response<http::string_body>;
using strand_type = asio::strand<asio::any_io_executor>;

class session;
class server;

/// One configured model and its simulated upstream process.
struct model_slot {
    model_slot(const strand_type& ex, model_params mp, std::uint16_t port);

    model_params p;
    std::uint16_t upstream_port; ///< llama-swap allocates ${PORT} from 5800 in sorted-id order
    std::atomic<fault> current_fault;
    std::atomic<model_state> state{model_state::stopped};
    std::atomic<std::size_t> in_flight{0};
    std::atomic<std::size_t> queued{0};
    std::atomic<std::size_t> loads{0};
    std::atomic<std::size_t> unloads{0};
    std::atomic<std::size_t> served{0};
    std::uint64_t generation = 0; ///< bumped when the process goes away: stale tickets and loaders see it
    std::uint64_t ttl_arm = 0;    ///< the TTL wait that is current
    std::list<session*> serving;  ///< sessions holding a ticket, cut on unload
    asio::steady_timer load_timer;
    asio::steady_timer ttl_timer;
};

/// A request waiting for a model (load in progress, swap queued, or drain of another model).
struct waiter {
    session* s = nullptr;
    model_slot* m = nullptr;
    bool failed = false;
    unsigned status = 0;
    std::string message;
};

/// How waiting for a model ended.
struct admission {
    enum class result { admitted, failed, gone } r = result::gone;
    unsigned status = 0;
    std::string message;
};

/// The state of an in-progress llama-swap sendLoadingState stream (reference §8).
class loading_stream {
public:
    loading_stream(session& s, const request& req, std::string model_id);
    asio::awaitable<bool> begin();                       ///< 200 + SSE headers, the banner
    asio::awaitable<bool> tick();                        ///< a '.' every 750 ms, a remark now and then
    asio::awaitable<bool> queue_position(std::size_t n); ///< once per change of position
    asio::awaitable<bool> done();                        ///< "Done! (1.23s)" and the closing lines
    bool started() const noexcept { return started_; }

private:
    asio::awaitable<bool> frame(std::string text);

    session& s_;
    const request& req_;
    std::string model_;
    bool started_ = false;
    std::size_t ticks_ = 0;
    std::size_t last_position_ = 0;
    clock_type::time_point t0_;
};

/// One connection: the HTTP/1.1 keep-alive loop, waits that notice a client disconnect, writes.
class session {
public:
    session(std::shared_ptr<server> srv, tcp::socket sock);
    static asio::awaitable<void> run(std::shared_ptr<session> self);

    server& srv() noexcept { return *srv_; }

    enum class wake { timeout, notified, gone };
    /// Waits until tp, a notify() or the client's disconnect. Pipelined bytes read meanwhile are kept.
    asio::awaitable<wake> wait_until(clock_type::time_point tp);

    enum class outcome { elapsed, cut, gone };
    /// Like wait_until, but only ends on time, a cut of this session's ticket, or a disconnect.
    asio::awaitable<outcome> pause_until(clock_type::time_point tp);

    void notify();
    void abort(); ///< server stop: close the socket and wake any wait

    /// Writes; each returns false once the client is gone.
    asio::awaitable<bool> write(response& res, bool head_only);
    asio::awaitable<bool> write_raw(std::string_view bytes);
    asio::awaitable<bool> start_stream(http::response<http::empty_body>& head);
    asio::awaitable<bool> write_chunk(std::string_view data);
    asio::awaitable<bool> end_stream();

    bool gone() const noexcept { return gone_; }

    // The model ticket, set while the session is admitted to a model (server::admit/release).
    model_slot* ticket_model = nullptr;
    std::uint64_t ticket_generation = 0;
    std::list<session*>::iterator ticket_it;
    bool cut = false;

    // Pending /api/events frames when this session is an event subscriber.
    std::deque<std::string> events;

    bool cancelled = false;  ///< POST /api/inflight/{id}/cancel hit this session's request
    unsigned last_status = 0; ///< of the last response head written, for the activity log

private:
    asio::awaitable<bool> serve_one(request& req);

    std::shared_ptr<server> srv_;
    tcp::socket sock_;
    beast::flat_buffer buffer_;
    asio::steady_timer wake_;
    bool notified_ = false;
    bool gone_ = false;
};

/// The listener, the models and the scheduler.
class server : public std::enable_shared_from_this<server> {
public:
    server(asio::any_io_executor ex, simulator_params p);

    void listen();                    ///< bind + listen synchronously; throws on failure
    void start();                     ///< spawn the accept loop
    void stop();                      ///< on the strand
    std::uint16_t port() const noexcept { return port_; }
    const simulator_params& params() const noexcept { return params_; }
    const strand_type& strand() const noexcept { return strand_; }
    bool stopped() const noexcept { return stopped_; }

    model_slot* find(std::string_view id_or_alias) const;
    const std::vector<model_slot*>& sorted_models() const noexcept { return sorted_; }
    const std::vector<std::unique_ptr<model_slot>>& models() const noexcept { return models_; }

    // Scheduler (reference §3.5). acquire() waits until the session may use the model.
    asio::awaitable<admission> acquire(session& s, model_slot& m, loading_stream* ls);
    void release(session& s);
    void unload(model_slot& m);
    void unload_all();

    // Connections and /api/events.
    void add_session(session* s);
    void remove_session(session* s);
    void subscribe(session* s);
    void unsubscribe(session* s);
    std::vector<std::string> initial_events() const;
    const std::string& proxy_log() const noexcept { return proxy_log_; }
    void log(std::string_view line);

    std::string random_id(std::size_t n);

    // Management state (management.cpp): in-flight requests, the activity log, profiles.
    std::uint64_t track(session& s, std::string model, std::string path, std::string method);
    /// Ends tracking; `report` records the activity row and tells /api/events (false: only forget it).
    void untrack(std::uint64_t id, bool report);
    bool cancel_inflight(std::uint64_t id);
    boost::json::value inflight_snapshot() const;
    boost::json::value active_profile() const;
    /// The id a request for `id` goes to under the active profile; nullopt when the profile disables it.
    std::optional<std::string> pin(std::string_view id) const;
    /// PUT /api/profiles/active: 0 on success, else the status, with the message in `why`.
    unsigned set_profile(const boost::json::value& body, std::string& why);
    boost::json::value profile_list() const;
    boost::json::value activity_page(std::string_view query, std::string& why) const;
    boost::json::value legacy_activity() const;
    boost::json::value activity_stats(std::string_view model) const;

    // Counters (read by simulator::stats from any thread).
    std::atomic<std::size_t> requests{0}, swaps{0}, loads{0}, served{0}, rejected{0}, unauthorized{0},
        cut{0};

private:
    static asio::awaitable<void> accept_loop(std::shared_ptr<server> self);
    static asio::awaitable<void> load(std::shared_ptr<server> self, model_slot* m, std::uint64_t gen);
    static asio::awaitable<void> ttl_wait(std::shared_ptr<server> self, model_slot* m, std::uint64_t arm);

    enum class step { admit, wait };
    step decide(model_slot& m, std::list<waiter*>::iterator self);
    void admit(session& s, model_slot& m);
    void start_load(model_slot& m);
    void stop_model(model_slot& m, bool fail_waiters, std::string_view why);
    void fail_waiters(model_slot& m, unsigned status, const std::string& message);
    void set_state(model_slot& m, model_state st);
    void arm_ttl(model_slot& m);
    void notify_waiters();
    void broadcast(const std::string& frame);
    std::size_t queue_position(std::list<waiter*>::iterator self) const;

    strand_type strand_;
    tcp::acceptor acceptor_;
    simulator_params params_;
    std::uint16_t port_ = 0;
    bool stopped_ = false;
    std::vector<std::unique_ptr<model_slot>> models_;
    std::vector<model_slot*> sorted_;
    std::map<std::string, model_slot*, std::less<>> names_;
    std::list<waiter*> waiters_;
    std::list<session*> sessions_;
    std::list<session*> subscribers_;
    std::string proxy_log_;
    std::string upstream_log_;
    std::mt19937_64 rng_;

    struct inflight_entry {
        std::uint64_t id = 0;
        session* s = nullptr;
        std::string model, path, method, timestamp;
        clock_type::time_point t0;
    };
    std::list<inflight_entry> inflight_;
    std::uint64_t next_inflight_ = 1;
    std::vector<boost::json::object> activity_;
    std::optional<std::string> active_profile_;
};

/// The per-request view the route handlers share (routes.cpp, upstream.cpp).
struct exchange {
    server& srv;
    session& s;
    const request& req;
    std::string path;  ///< percent-decoded
    std::string query; ///< still encoded, without '?'
    bool head = false;
};

/// Route dispatch: llama-swap's own endpoints and the model-routed ones (routes.cpp).
asio::awaitable<bool> handle_request(exchange& x);

/// The simulated upstream servers (upstream.cpp). Each is called with a ticket held and returns
/// whether the connection may be kept alive. `streaming` is true when a loading-state stream
/// already sent 200 and SSE headers: the upstream's answer is then spliced into it.
/// `body` is the parsed request body (null when it was not JSON: the upstream then reports its parse error).
asio::awaitable<bool> serve_chat(exchange& x, model_slot& m, const boost::json::value& body, bool streaming);
asio::awaitable<bool> serve_embeddings(exchange& x, model_slot& m, const boost::json::value& body);
asio::awaitable<bool> serve_images(exchange& x, model_slot& m, const boost::json::value& body);
/// llama-server's /v1/completions (completions.cpp).
asio::awaitable<bool> serve_completions(exchange& x, model_slot& m, const boost::json::value& body);
struct form;
/// whisper.cpp's /v1/audio/transcriptions, given the parsed upload, and a TTS server's /v1/audio/speech (audio.cpp).
asio::awaitable<bool> serve_transcription(exchange& x, model_slot& m, const form& f);
asio::awaitable<bool> serve_speech(exchange& x, model_slot& m, const boost::json::value& body);
/// llama-server's /v1/rerank and its aliases (rerank.cpp).
asio::awaitable<bool> serve_rerank(exchange& x, model_slot& m, const boost::json::value& body);
/// Everything else under /upstream/{model}: `/`, `/health`, `/v1/models`, and llama.cpp's 404.
asio::awaitable<bool> serve_upstream_other(exchange& x, model_slot& m, std::string_view upath);

/// A response with the request's HTTP version and keep-alive, and the given body.
response make_response(const request& req, http::status st, std::string_view content_type, std::string body);

} // namespace majordomo::sim::detail

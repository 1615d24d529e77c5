// Private: what the simulated upstreams share (upstream.cpp, completions.cpp, rerank.cpp, audio.cpp):
// llama-server's answer and error shapes, serving a request under the model's fault (the cut and
// stall behaviours), token estimates.
#pragma once

#include "responses.hpp"
#include "server.hpp"

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace majordomo::sim::detail {

inline constexpr std::string_view llama_json = "application/json; charset=utf-8";
inline constexpr double prompt_speedup = 10; // prompt processing runs 10x faster than generation
inline constexpr std::string_view bad_json = "[json.exception.parse_error.101] parse error: invalid JSON";
inline constexpr std::string_view no_completions =
    "This server does not support completions. Start it without `--embeddings`";
inline constexpr std::string_view simulated_failure = "simulated upstream failure";

/// Whether llama-server is the model's upstream (chat, embeddings, reranking).
inline bool llama_server(model_kind k) noexcept
{
    return k == model_kind::chat || k == model_kind::embedding || k == model_kind::reranker;
}

clock_type::duration seconds(double s);
double ms_since(clock_type::time_point t);

/// Answers as the upstream would; inside a committed loading stream the body is spliced in raw.
asio::awaitable<bool> upstream_reply(exchange& x, bool streaming, http::status st, std::string_view ct,
                                     std::string body, bool llama);
/// llama-server's {"error":{"code","message","type"}} with that status.
asio::awaitable<bool> llama_fail(exchange& x, bool streaming, unsigned code, std::string_view message,
                                 std::string_view type);
/// sd-server's and whisper.cpp's errors: {"error":"<string>"}; sd-server's exceptions add a "message".
asio::awaitable<bool> error_string_fail(exchange& x, unsigned code, std::string_view error,
                                        std::string_view message = {});
/// The upstream died before its headers: 502 with an empty body (or the end of a committed stream).
asio::awaitable<bool> bad_gateway(exchange& x, bool streaming);
/// A cut ends a committed chunked body cleanly, without [DONE].
asio::awaitable<bool> end_cut(exchange& x);
/// cpp-httplib's 404 with no body, for a route the upstream does not have.
asio::awaitable<bool> sd_not_found(exchange& x, bool streaming);

/// What a chat or text completion request asks llama-server to generate.
struct generation {
    bool stream = false;
    bool include_usage = false;      ///< stream_options.include_usage
    std::vector<std::string> pieces; ///< the model's reply as tokens
    std::size_t n = 0;               ///< how many of them are generated: the request's limit applied
    std::string_view finish;         ///< "length" when the limit cut the reply, else "stop"
};

/// Reads `req`; the first of `limits` present bounds the tokens (-1: no limit).
generation read_generation(const boost::json::object& req, const model_slot& m,
                           std::initializer_list<std::string_view> limits);

/// Which upstream server a request reached: how it fails under fault::error_mid_stream.
enum class upstream_server { llama, sd, whisper };

/// What an upstream answers once its work is done (a 200).
struct upstream_answer {
    std::string_view content_type;
    std::string body;
    bool llama = false; ///< llama-server's: sent with its Server header
};

/// llama-server's 200 with a JSON body.
inline upstream_answer llama_answer(std::string body) { return {llama_json, std::move(body), true}; }

/// The upstream's own 500 under fault::error_mid_stream.
asio::awaitable<bool> fail_mid_work(exchange& x, upstream_server from);

/// Serves an unstreamed request as its upstream would: works until `done` (for ever under a stall),
/// then answers a cut (an unload, or fault::cut_stream) or an ended stall with Go's empty 502,
/// fault::error_mid_stream with the upstream's own 500, and otherwise with what `write()` makes then.
template <class Write>
asio::awaitable<bool> serve_when_done(exchange& x, model_slot& m, upstream_server from, clock_type::time_point done,
                                      Write write)
{
    const fault f = m.current_fault;
    const auto until = f == fault::stall ? clock_type::time_point::max() : done;
    auto o = co_await x.s.pause_until(until);
    if (o == session::outcome::gone)
        co_return false;
    if (o == session::outcome::cut || f == fault::cut_stream || f == fault::stall)
        co_return co_await bad_gateway(x, false);
    if (f == fault::error_mid_stream)
        co_return co_await fail_mid_work(x, from);
    upstream_answer a = write();
    co_return co_await upstream_reply(x, false, http::status::ok, a.content_type, std::move(a.body), a.llama);
}

/// Streams `count` generated events, the first at `first` + `interval` and one per `interval` after it;
/// `event(i)` makes the i-th, then `finish()` the closing writes (each one chunk), and the body ends.
/// Under a stall nothing comes until a cut; fault::cut_stream and fault::error_mid_stream stop half-way
/// (the latter after llama-server's error event) and an unload at once: the body then ends cleanly
/// without [DONE]. The SSE head is the caller's, already sent.
template <class Event, class Finish>
asio::awaitable<bool> stream_generation(exchange& x, fault f, clock_type::time_point first,
                                        clock_type::duration interval, std::size_t count, Event event, Finish finish)
{
    if (f == fault::stall) {
        if (co_await x.s.pause_until(clock_type::time_point::max()) == session::outcome::gone)
            co_return false;
        co_return co_await end_cut(x);
    }
    const bool faulty = f == fault::cut_stream || f == fault::error_mid_stream;
    const std::size_t fault_at = faulty ? std::max<std::size_t>(1, count / 2) : std::numeric_limits<std::size_t>::max();
    auto next = first + interval;
    for (std::size_t i = 0; i < count && i < fault_at; ++i) {
        auto o = co_await x.s.pause_until(next);
        if (o == session::outcome::gone)
            co_return false;
        if (o == session::outcome::cut)
            co_return co_await end_cut(x);
        std::string out = event(i);
        if (!co_await x.s.write_chunk(out))
            co_return false;
        next += interval;
    }
    if (faulty) {
        if (f == fault::error_mid_stream) {
            // Newer llama-server: one data: {"error":...} event, then the end without [DONE] (§1.5).
            std::string ev = "data: " + llama_error(500, simulated_failure, "server_error") + "\n\n";
            if (!co_await x.s.write_chunk(ev))
                co_return false;
        }
        co_return co_await end_cut(x);
    }
    std::vector<std::string> closing = finish();
    for (const std::string& out : closing)
        if (!co_await x.s.write_chunk(out))
            co_return false;
    bool ok = co_await x.s.end_stream();
    co_return ok && x.req.keep_alive();
}

/// The envelope of llama-server's embeddings and rerank answers: the model as asked for (else the
/// model's id), "object":"list" and the usage, in that order; the caller adds the data.
boost::json::object list_answer(const boost::json::object& req, const model_slot& m, std::size_t tokens);

/// Words with their leading whitespace: "Hello world" -> "Hello", " world".
std::vector<std::string> tokenize(std::string_view text);
/// About four characters per token, at least one.
std::size_t estimate_tokens(std::string_view text);
std::optional<std::int64_t> int_field(const boost::json::object& o, std::string_view key);
bool bool_field(const boost::json::object& o, std::string_view key);

} // namespace majordomo::sim::detail

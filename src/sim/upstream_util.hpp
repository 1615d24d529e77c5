// Private: what the simulated upstreams share (upstream.cpp, completions.cpp, rerank.cpp, audio.cpp):
// llama-server's answer and error shapes, the cut and stall behaviours, token estimates.
#pragma once

#include "server.hpp"

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <cstdint>
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
/// The upstream died before its headers: 502 with an empty body (or the end of a committed stream).
asio::awaitable<bool> bad_gateway(exchange& x, bool streaming);
/// A cut ends a committed chunked body cleanly, without [DONE].
asio::awaitable<bool> end_cut(exchange& x);
/// cpp-httplib's 404 with no body, for a route the upstream does not have.
asio::awaitable<bool> sd_not_found(exchange& x, bool streaming);

/// Words with their leading whitespace: "Hello world" -> "Hello", " world".
std::vector<std::string> tokenize(std::string_view text);
/// About four characters per token, at least one.
std::size_t estimate_tokens(std::string_view text);
std::optional<std::int64_t> int_field(const boost::json::object& o, std::string_view key);
bool bool_field(const boost::json::object& o, std::string_view key);

} // namespace majordomo::sim::detail

// The simulated upstreams behind llama-swap: llama-server's chat and embeddings (wire-formats.md §1, §2)
// and sd-server's image generation (§3). Each runs with a ticket held; an unload cuts it the way
// llama-swap's ReverseProxy behaves when its upstream dies (reference §5.2).
#include "server.hpp"

#include "encoding.hpp"
#include "png.hpp"
#include "responses.hpp"
#include "upstream_util.hpp"

#include <boost/json/parse.hpp>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstdio>
#include <cmath>
#include <cstring>
#include <ctime>
#include <limits>

// g++ 12 reports a false -Wmismatched-new-delete on Asio's awaitable frame allocator once coroutine
// ramps are inlined (cmake/majordomo_settings.cmake silences it project-wide for the same reason).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

namespace majordomo::sim::detail {

namespace json = boost::json;

// The helpers below are shared with the other upstream files through upstream_util.hpp.

constexpr std::uint32_t default_image_side = 64; // sd-server would use 512; kept small on purpose
constexpr std::uint32_t max_image_side = 256;
constexpr std::int64_t max_images = 8;      // the original sd-server capped n at 8
constexpr double steps_per_image = 20;      // image time = 20 steps at tokens_per_second steps/s

clock_type::duration seconds(double s)
{
    return std::chrono::duration_cast<clock_type::duration>(std::chrono::duration<double>(s));
}

double ms_since(clock_type::time_point t)
{
    return std::chrono::duration<double, std::milli>(clock_type::now() - t).count();
}

// Answers as the upstream would. After a loading stream has committed 200, llama-swap splices the
// upstream's body into it raw and its status is lost.
asio::awaitable<bool> upstream_reply(exchange& x, bool streaming, http::status st, std::string_view ct,
                                     std::string body, bool llama)
{
    if (streaming) {
        if (!co_await x.s.write_chunk(body))
            co_return false;
        co_return co_await x.s.end_stream();
    }
    auto res = make_response(x.req, st, ct, std::move(body));
    if (llama)
        res.set(http::field::server, "llama.cpp");
    bool ok = co_await x.s.write(res, x.head);
    co_return ok && res.keep_alive();
}

asio::awaitable<bool> llama_fail(exchange& x, bool streaming, unsigned code, std::string_view message,
                                 std::string_view type)
{
    co_return co_await upstream_reply(x, streaming, static_cast<http::status>(code), llama_json,
                                      llama_error(code, message, type), true);
}

// sd-server's errors are {"error":"<string>"}; exceptions add a "message". whisper.cpp's are the same.
asio::awaitable<bool> error_string_fail(exchange& x, unsigned code, std::string_view error, std::string_view message)
{
    json::object o;
    o["error"] = error;
    if (!message.empty())
        o["message"] = message;
    co_return co_await upstream_reply(x, false, static_cast<http::status>(code), "application/json",
                                      dump_json(o), false);
}

// The upstream died before sending headers: Go's ReverseProxy answers 502 with an empty body. Inside
// a committed stream the response just ends.
asio::awaitable<bool> bad_gateway(exchange& x, bool streaming)
{
    if (streaming)
        co_return co_await x.s.end_stream();
    response res{http::status::bad_gateway, x.req.version()};
    res.keep_alive(x.req.keep_alive());
    res.content_length(0);
    bool ok = co_await x.s.write(res, false);
    co_return ok && res.keep_alive();
}

// A cut ends a committed chunked body cleanly: the client sees EOF without [DONE].
asio::awaitable<bool> end_cut(exchange& x)
{
    bool ok = co_await x.s.end_stream();
    co_return ok && x.req.keep_alive();
}

// cpp-httplib's answer for a route sd-server does not have: 404, no body.
asio::awaitable<bool> sd_not_found(exchange& x, bool streaming)
{
    co_return co_await upstream_reply(x, streaming, http::status::not_found, {}, {}, false);
}

asio::awaitable<bool> fail_mid_work(exchange& x, upstream_server from)
{
    switch (from) {
    case upstream_server::llama: co_return co_await llama_fail(x, false, 500, simulated_failure, "server_error");
    case upstream_server::sd: co_return co_await error_string_fail(x, 500, "generate_image returned no results");
    case upstream_server::whisper: co_return co_await error_string_fail(x, 500, simulated_failure);
    }
    co_return co_await bad_gateway(x, false);
}

json::object list_answer(const json::object& req, const model_slot& m, std::size_t tokens)
{
    json::object out;
    const auto* model = req.if_contains("model");
    out["model"] = model && model->is_string() ? model->get_string() : json::string(m.p.id);
    out["object"] = "list";
    json::object usage;
    usage["prompt_tokens"] = tokens;
    usage["total_tokens"] = tokens;
    out["usage"] = std::move(usage);
    return out;
}

generation read_generation(const json::object& req, const model_slot& m,
                           std::initializer_list<std::string_view> limits)
{
    generation g;
    g.stream = bool_field(req, "stream");
    if (const auto* so = req.if_contains("stream_options"); so && so->is_object())
        g.include_usage = bool_field(so->get_object(), "include_usage");
    std::optional<std::int64_t> limit;
    for (auto field : limits)
        if (!limit)
            limit = int_field(req, field);
    g.pieces = tokenize(m.p.reply);
    g.n = g.pieces.size();
    if (limit && *limit >= 0)
        g.n = std::min<std::size_t>(g.n, static_cast<std::size_t>(*limit));
    g.finish = g.n < g.pieces.size() ? "length" : "stop";
    return g;
}

// Words with their leading whitespace: "Hello world" -> "Hello", " world".
std::vector<std::string> tokenize(std::string_view text)
{
    std::vector<std::string> out;
    std::size_t i = 0;
    while (i < text.size()) {
        std::size_t j = i;
        while (j < text.size() && std::isspace(static_cast<unsigned char>(text[j])))
            ++j;
        while (j < text.size() && !std::isspace(static_cast<unsigned char>(text[j])))
            ++j;
        out.emplace_back(text.substr(i, j - i));
        i = j;
    }
    return out;
}

std::size_t estimate_tokens(std::string_view text) { return std::max<std::size_t>(1, (text.size() + 3) / 4); }

// A chat template adds a few tokens per message around roughly four characters per token.
std::size_t prompt_tokens(const json::array& messages)
{
    std::size_t n = 3;
    for (const auto& msg : messages) {
        n += 4;
        const auto* o = msg.if_object();
        const auto* c = o ? o->if_contains("content") : nullptr;
        if (!c)
            continue;
        if (c->is_string())
            n += estimate_tokens(c->get_string());
        else if (c->is_array())
            for (const auto& part : c->get_array())
                if (const auto* po = part.if_object(); po && po->contains("text") && po->at("text").is_string())
                    n += estimate_tokens(po->at("text").get_string());
    }
    return n;
}

std::optional<std::int64_t> int_field(const json::object& o, std::string_view key)
{
    const auto* v = o.if_contains(key);
    if (!v)
        return std::nullopt;
    if (v->is_int64())
        return v->get_int64();
    if (v->is_uint64())
        return static_cast<std::int64_t>(std::min<std::uint64_t>(v->get_uint64(), INT64_MAX));
    if (v->is_double())
        return static_cast<std::int64_t>(v->get_double());
    return std::nullopt;
}

bool bool_field(const json::object& o, std::string_view key)
{
    const auto* v = o.if_contains(key);
    return v && v->is_bool() && v->get_bool();
}

std::string_view json_type_name(const json::value& v)
{
    switch (v.kind()) {
    case json::kind::null: return "null";
    case json::kind::bool_: return "boolean";
    case json::kind::string: return "string";
    case json::kind::array: return "array";
    case json::kind::object: return "object";
    default: return "number";
    }
}



// ---- llama-server: POST /v1/chat/completions ----------------------------------------------------------

asio::awaitable<bool> serve_chat(exchange& x, model_slot& m, const json::value& body, bool streaming)
{
    if (!llama_server(m.p.kind))
        co_return co_await sd_not_found(x, streaming);
    if (m.p.kind == model_kind::embedding || m.p.kind == model_kind::reranker)
        co_return co_await llama_fail(x, streaming, 501, no_completions, "not_supported_error");
    if (!body.is_object()) // llama.cpp's JSON parse errors map to 500
        co_return co_await llama_fail(x, streaming, 500, bad_json, "server_error");
    const auto& req = body.get_object();
    const auto* messages = req.if_contains("messages");
    if (!messages)
        co_return co_await llama_fail(x, streaming, 400, "'messages' is required", "invalid_request_error");
    if (!messages->is_array())
        co_return co_await llama_fail(x, streaming, 400, "Expected 'messages' to be an array",
                                      "invalid_request_error");

    // n_predict, then max_completion_tokens, then max_tokens.
    const auto g = read_generation(req, m, {"n_predict", "max_completion_tokens", "max_tokens"});

    std::size_t prompt_n = prompt_tokens(messages->get_array());
    double tps = m.p.tokens_per_second;
    double prompt_ms = 1000.0 * static_cast<double>(prompt_n) / (tps * prompt_speedup);
    auto interval = seconds(1.0 / tps);
    fault f = m.current_fault;
    completion_ids ids{"chatcmpl-" + x.srv.random_id(32), m.p.id};
    auto start = clock_type::now();

    if (!g.stream) {
        auto done = start + seconds(prompt_ms / 1000.0) + interval * static_cast<long>(g.n);
        auto answer = [&] {
            std::string content;
            for (std::size_t i = 0; i < g.n; ++i)
                content += g.pieces[i];
            double predicted_ms = std::max(0.0, ms_since(start) - prompt_ms);
            auto usage = usage_json(prompt_n, g.n);
            auto timings = timings_json(prompt_n, prompt_ms, g.n, predicted_ms);
            auto out = chat_completion(ids, content, g.finish, std::move(usage), std::move(timings));
            return llama_answer(dump_json(out));
        };
        co_return co_await serve_when_done(x, m, upstream_server::llama, done, answer);
    }

    if (!streaming) { // headers at slot start, as newer llama-server builds send them
        http::response<http::empty_body> head{http::status::ok, x.req.version()};
        head.set(http::field::content_type, "text/event-stream");
        head.set(http::field::server, "llama.cpp");
        head.set("X-Accel-Buffering", "no"); // llama-swap adds it to every upstream SSE response
        if (auto origin = x.req[http::field::origin]; !origin.empty())
            head.set(http::field::access_control_allow_origin, origin);
        head.keep_alive(x.req.keep_alive());
        if (!co_await x.s.start_stream(head))
            co_return false;
    }
    auto first = start + seconds(prompt_ms / 1000.0);
    auto event = [&](std::size_t i) {
        std::string out;
        if (i == 0) { // the role chunk comes with the first decoded token
            json::object role;
            role["role"] = "assistant";
            role["content"] = nullptr;
            out += sse_data(chat_chunk(ids, std::move(role), nullptr));
        }
        json::object delta;
        delta["content"] = g.pieces[i];
        out += sse_data(chat_chunk(ids, std::move(delta), nullptr));
        return out;
    };
    auto closing = [&] {
        double predicted_ms = std::max(0.0, ms_since(first));
        auto timings = timings_json(prompt_n, prompt_ms, g.n, predicted_ms);
        auto fin = chat_chunk(ids, json::object(), json::string(g.finish));
        if (!g.include_usage) // timings ride on the last chunk: the finish chunk here, else the usage chunk
            fin["timings"] = timings;
        std::vector<std::string> out{sse_data(fin)};
        if (g.include_usage)
            out.push_back(sse_data(usage_chunk(ids, usage_json(prompt_n, g.n), std::move(timings))));
        out.emplace_back("data: [DONE]\n\n");
        return out;
    };
    co_return co_await stream_generation(x, f, first, interval, g.n, event, closing);
}

// ---- llama-server: POST /v1/embeddings ------------------------------------------------------------------

namespace {

// Deterministic: the same text always gives the same unit vector (embd_normalize 2 = L2).
json::object embeddings(const model_slot& m, const json::object& req, const std::vector<std::string>& texts,
                        bool base64, std::size_t total)
{
    json::array data;
    std::size_t dims = std::max<std::size_t>(1, m.p.embedding_dimensions);
    for (std::size_t i = 0; i < texts.size(); ++i) {
        std::uint64_t state = fnv1a(texts[i]);
        std::vector<float> v(dims);
        double norm = 0;
        for (auto& e : v) {
            e = static_cast<float>(static_cast<double>(splitmix64(state) >> 11) / 9007199254740992.0 * 2 - 1);
            norm += double(e) * e;
        }
        norm = std::sqrt(norm);
        for (auto& e : v)
            e = norm > 0 ? static_cast<float>(e / norm) : 0.f;
        json::object item;
        if (base64) { // raw little-endian float32 bytes
            std::string bytes;
            for (float e : v) {
                std::uint32_t u = 0;
                std::memcpy(&u, &e, sizeof u);
                for (int b = 0; b < 4; ++b)
                    bytes += static_cast<char>(u >> (8 * b) & 0xff);
            }
            item["embedding"] = base64_encode(bytes);
        } else {
            json::array a;
            for (float e : v)
                a.emplace_back(static_cast<double>(e));
            item["embedding"] = std::move(a);
        }
        item["index"] = i;
        item["object"] = "embedding";
        if (base64)
            item["encoding_format"] = "base64";
        data.emplace_back(std::move(item));
    }
    auto out = list_answer(req, m, total);
    out["data"] = std::move(data);
    return out;
}

} // namespace

asio::awaitable<bool> serve_embeddings(exchange& x, model_slot& m, const json::value& body)
{
    if (!llama_server(m.p.kind))
        co_return co_await sd_not_found(x, false);
    if (m.p.kind == model_kind::chat)
        co_return co_await llama_fail(x, false, 501,
                                      "This server does not support embeddings. Start it with `--embeddings`",
                                      "not_supported_error");
    if (!body.is_object())
        co_return co_await llama_fail(x, false, 500, bad_json, "server_error");
    const auto& req = body.get_object();
    const auto* input = req.if_contains("input");
    if (!input)
        co_return co_await llama_fail(x, false, 400, "\"input\" must be provided", "invalid_request_error");

    // A string, an array of strings, an array of token ids, or an array of those.
    std::vector<std::string> texts;
    bool bad = false;
    if (input->is_string()) {
        texts.emplace_back(input->get_string());
    } else if (input->is_array()) {
        const auto& a = input->get_array();
        auto is_number = [](const json::value& v) { return v.is_number(); };
        bool tokens = !a.empty() && std::all_of(a.begin(), a.end(), is_number);
        if (tokens)
            texts.push_back(dump_json(a));
        else
            for (const auto& v : a) {
                if (v.is_string())
                    texts.emplace_back(v.get_string());
                else if (v.is_array() && !v.get_array().empty())
                    texts.push_back(dump_json(v));
                else
                    bad = true;
            }
    } else {
        bad = true;
    }
    auto is_empty = [](const std::string& t) { return t.empty(); };
    if (bad || texts.empty() || std::any_of(texts.begin(), texts.end(), is_empty))
        co_return co_await llama_fail(x, false, 400, "Input content cannot be empty", "invalid_request_error");

    bool base64 = false;
    if (const auto* ef = req.if_contains("encoding_format")) {
        if (ef->is_string() && ef->get_string() == "base64")
            base64 = true;
        else if (!ef->is_string() || ef->get_string() != "float")
            co_return co_await llama_fail(x, false, 400,
                                          "The format to return the embeddings in. Can be either float or "
                                          "base64",
                                          "invalid_request_error");
    }

    std::size_t total = 0;
    for (const auto& t : texts)
        total += estimate_tokens(t);
    auto done = clock_type::now() + seconds(static_cast<double>(total) / (m.p.tokens_per_second * prompt_speedup));
    auto answer = [&] { return llama_answer(dump_json(embeddings(m, req, texts, base64, total))); };
    co_return co_await serve_when_done(x, m, upstream_server::llama, done, answer);
}

// ---- sd-server: POST /v1/images/generations -------------------------------------------------------------

asio::awaitable<bool> serve_images(exchange& x, model_slot& m, const json::value& body)
{
    if (m.p.kind != model_kind::image) // llama-server has no such route
        co_return co_await llama_fail(x, false, 404, "File Not Found", "not_found_error");
    if (!body.is_object())
        co_return co_await error_string_fail(x, 500, "server_error", bad_json);
    const auto& req = body.get_object();

    const auto* pv = req.if_contains("prompt");
    std::string prompt = pv && pv->is_string() ? std::string(pv->get_string()) : std::string();
    if (prompt.empty())
        co_return co_await error_string_fail(x, 400, "prompt required");

    std::int64_t n = 1;
    if (const auto* nv = req.if_contains("n")) {
        if (!nv->is_number())
            co_return co_await error_string_fail(x, 500, "server_error",
                                       "[json.exception.type_error.302] type must be number, but is " +
                                           std::string(json_type_name(*nv)));
        n = std::clamp<std::int64_t>(int_field(req, "n").value_or(1), 1, max_images);
    }

    std::uint32_t width = default_image_side, height = default_image_side;
    if (const auto* sv = req.if_contains("size")) {
        if (!sv->is_string())
            co_return co_await error_string_fail(x, 500, "server_error",
                                       "[json.exception.type_error.302] type must be string, but is " +
                                           std::string(json_type_name(*sv)));
        // "WIDTHxHEIGHT"; anything unparsable silently keeps the default.
        std::string s(sv->get_string());
        unsigned long w = 0, h = 0;
        char sep = 0;
        int used = 0;
        if (std::sscanf(s.c_str(), "%lu%c%lu%n", &w, &sep, &h, &used) == 3 && sep == 'x' &&
            static_cast<std::size_t>(used) == s.size() && w > 0 && h > 0) {
            width = static_cast<std::uint32_t>(std::min<unsigned long>(w, max_image_side));
            height = static_cast<std::uint32_t>(std::min<unsigned long>(h, max_image_side));
        }
    }

    if (const auto* fv = req.if_contains("output_format"); fv && fv->is_string()) {
        std::string fmt(fv->get_string());
        for (auto& c : fmt)
            c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        if (fmt != "png" && fmt != "jpeg" && fmt != "webp")
            co_return co_await error_string_fail(x, 400, "invalid output_format, must be one of [png, jpeg, webp]");
    }

    // Native parameters ride inside the prompt: <sd_cpp_extra_args>{json}</sd_cpp_extra_args>.
    std::int64_t seed = 42;
    constexpr std::string_view open_tag = "<sd_cpp_extra_args>", close_tag = "</sd_cpp_extra_args>";
    if (auto a = prompt.find(open_tag); a != std::string::npos) {
        auto b = prompt.find(close_tag, a);
        if (b != std::string::npos) {
            auto inner = prompt.substr(a + open_tag.size(), b - a - open_tag.size());
            prompt.erase(a, b + close_tag.size() - a);
            boost::system::error_code ec;
            auto extra = json::parse(inner, ec);
            if (ec || !extra.is_object())
                co_return co_await error_string_fail(x, 400, "invalid sd_cpp_extra_args");
            const auto& eo = extra.get_object();
            if (const auto* s = eo.if_contains("seed"); s && s->is_int64())
                seed = s->get_int64();
            if (const auto* w = eo.if_contains("width"); w && w->is_int64() && w->get_int64() > 0)
                width = static_cast<std::uint32_t>(std::min<std::int64_t>(w->get_int64(), max_image_side));
            if (const auto* h = eo.if_contains("height"); h && h->is_int64() && h->get_int64() > 0)
                height = static_cast<std::uint32_t>(std::min<std::int64_t>(h->get_int64(), max_image_side));
        }
    }

    auto done = clock_type::now() + seconds(static_cast<double>(n) * steps_per_image / m.p.tokens_per_second);
    auto answer = [&] {
        json::array data;
        for (std::int64_t i = 0; i < n; ++i) {
            auto pixels = render_pixels(width, height, fnv1a(prompt, static_cast<std::uint64_t>(seed + i)));
            json::object item;
            item["b64_json"] = base64_encode(encode_png(width, height, pixels));
            data.emplace_back(std::move(item));
        }
        json::object out; // key order: created, data, output_format
        out["created"] = static_cast<std::int64_t>(std::time(nullptr));
        out["data"] = std::move(data);
        out["output_format"] = "png";
        return upstream_answer{"application/json", dump_json(out), false};
    };
    co_return co_await serve_when_done(x, m, upstream_server::sd, done, answer);
}

// ---- anything else under /upstream/{model}/ -------------------------------------------------------------

asio::awaitable<bool> serve_upstream_other(exchange& x, model_slot& m, std::string_view upath)
{
    bool sd = m.p.kind == model_kind::image;
    bool get = x.req.method() == http::verb::get || x.head;
    if (get && upath == "/") {
        if (sd)
            co_return co_await upstream_reply(x, false, http::status::ok, "text/plain",
                                              "Stable Diffusion Server is running", false);
        co_return co_await upstream_reply(x, false, http::status::ok, "text/html; charset=utf-8",
                                          "<!doctype html><html><head><title>llama.cpp</title></head>"
                                          "<body>llama.cpp server (majordomo-sim)</body></html>",
                                          true);
    }
    if (get && !sd && (upath == "/health" || upath == "/v1/health"))
        co_return co_await upstream_reply(x, false, http::status::ok, llama_json, R"({"status":"ok"})", true);
    if (get && (upath == "/v1/models" || upath == "/models")) {
        json::object out;
        if (sd) {
            json::object row;
            row["id"] = "sd-cpp-local";
            row["object"] = "model";
            row["owned_by"] = "local";
            out["data"] = json::array{std::move(row)};
            co_return co_await upstream_reply(x, false, http::status::ok, "application/json", dump_json(out),
                                              false);
        }
        json::object legacy;
        legacy["name"] = m.p.id;
        legacy["model"] = m.p.id;
        legacy["type"] = "model";
        legacy["capabilities"] = json::array{m.p.kind == model_kind::embedding ? "embedding" : "completion"};
        json::object row;
        row["id"] = m.p.id;
        row["object"] = "model";
        row["created"] = static_cast<std::int64_t>(std::time(nullptr));
        row["owned_by"] = "llamacpp";
        row["meta"] = nullptr;
        out["models"] = json::array{std::move(legacy)};
        out["object"] = "list";
        out["data"] = json::array{std::move(row)};
        co_return co_await upstream_reply(x, false, http::status::ok, llama_json, dump_json(out), true);
    }
    if (sd)
        co_return co_await sd_not_found(x, false);
    co_return co_await llama_fail(x, false, 404, "File Not Found", "not_found_error");
}

} // namespace majordomo::sim::detail

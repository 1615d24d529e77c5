#include "responses.hpp"

#include "encoding.hpp"

#include <cmath>
#include <ctime>

namespace majordomo::sim::detail {

namespace json = boost::json;

namespace {

// internal/swaputil/httperror.go: the status decides type and code.
std::pair<std::string_view, std::string_view> type_and_code(unsigned status)
{
    switch (status) {
    case 400: return {"invalid_request_error", "bad_request"};
    case 401: return {"authentication_error", "unauthorized"};
    case 403: return {"authentication_error", "forbidden"};
    case 404: return {"invalid_request_error", "not_found"};
    case 409: return {"invalid_request_error", "conflict"};
    case 429: return {"rate_limit_error", "rate_limit_exceeded"};
    case 502: return {"server_error", "bad_gateway"};
    case 503: return {"server_error", "service_unavailable"};
    case 504: return {"server_error", "gateway_timeout"};
    default: return status < 500 ? std::pair{"invalid_request_error", "invalid_request"}
                                 : std::pair{"server_error", "internal_error"};
    }
}

std::string html_escape(std::string_view s)
{
    std::string out;
    for (char c : s) {
        switch (c) {
        case '<': out += "&lt;"; break;
        case '>': out += "&gt;"; break;
        case '&': out += "&amp;"; break;
        case '"': out += "&#34;"; break;
        case '\'': out += "&#39;"; break;
        default: out += c;
        }
    }
    return out;
}

json::array string_array(const std::vector<std::string>& v)
{
    json::array a;
    for (const auto& s : v)
        a.emplace_back(s);
    return a;
}

std::int64_t ttl_seconds(const model_slot& m)
{
    auto ms = m.p.ttl.count();
    return ms <= 0 ? 0 : (ms + 999) / 1000; // llama-swap configures whole seconds
}

void add_common(json::object& o, const completion_ids& ids)
{
    o["created"] = static_cast<std::int64_t>(std::time(nullptr)); // recomputed per chunk, as llama.cpp does
    o["id"] = ids.id;
    o["model"] = ids.model;
    o["system_fingerprint"] = system_fingerprint;
    o["object"] = "chat.completion.chunk";
}

} // namespace

typed_body swap_error_body(error_format fmt, std::string_view accept, unsigned status, std::string_view message,
                           std::string_view code)
{
    if (icontains(accept, "text/plain"))
        return {"text/plain", "llama-swap: " + std::string(message)};
    if (icontains(accept, "text/html"))
        return {"text/html",
                "<html><body><h1>llama-swap</h1><p>" + html_escape(message) + "</p></body></html>"};
    json::object o;
    if (fmt == error_format::legacy) {
        // v224-v250 sent the 429 without "src" (reference §5.2).
        if (status != 429)
            o["src"] = "llama-swap";
        o["error"] = message;
    } else {
        auto [type, derived] = type_and_code(status);
        json::object e;
        e["message"] = message;
        e["type"] = type;
        e["param"] = nullptr;
        e["code"] = code.empty() ? derived : code;
        o["src"] = "llama-swap";
        o["error"] = std::move(e);
    }
    return {"application/json", dump_json(o)};
}

std::string llama_error(unsigned code, std::string_view message, std::string_view type)
{
    json::object e;
    e["code"] = code;
    e["message"] = message;
    e["type"] = type;
    json::object o;
    o["error"] = std::move(e);
    return dump_json(o);
}

json::object chat_chunk(const completion_ids& ids, json::object delta, json::value finish)
{
    json::object choice;
    choice["finish_reason"] = std::move(finish);
    choice["index"] = 0;
    choice["delta"] = std::move(delta);
    json::object o;
    o["choices"] = json::array{std::move(choice)};
    add_common(o, ids);
    return o;
}

json::object usage_chunk(const completion_ids& ids, json::object usage, json::object timings)
{
    json::object o;
    o["choices"] = json::array();
    add_common(o, ids);
    o["usage"] = std::move(usage);
    o["timings"] = std::move(timings);
    return o;
}

json::object chat_completion(const completion_ids& ids, std::string_view content, std::string_view finish,
                             json::object usage, json::object timings)
{
    json::object message;
    message["role"] = "assistant";
    message["content"] = content;
    json::object choice;
    choice["finish_reason"] = finish;
    choice["index"] = 0;
    choice["message"] = std::move(message);
    json::object o;
    o["choices"] = json::array{std::move(choice)};
    o["created"] = static_cast<std::int64_t>(std::time(nullptr));
    o["model"] = ids.model;
    o["system_fingerprint"] = system_fingerprint;
    o["object"] = "chat.completion";
    o["usage"] = std::move(usage);
    o["id"] = ids.id;
    o["timings"] = std::move(timings);
    return o;
}

json::object usage_json(std::size_t prompt_tokens, std::size_t completion_tokens)
{
    json::object u;
    u["completion_tokens"] = completion_tokens;
    u["prompt_tokens"] = prompt_tokens;
    u["total_tokens"] = prompt_tokens + completion_tokens;
    json::object details;
    details["cached_tokens"] = 0;
    u["prompt_tokens_details"] = std::move(details);
    return u;
}

json::object timings_json(std::size_t prompt_n, double prompt_ms, std::size_t predicted_n, double predicted_ms)
{
    auto per_token = [](double ms, std::size_t n) { return n == 0 ? 0.0 : ms / static_cast<double>(n); };
    auto per_second = [](double ms, std::size_t n) {
        return ms <= 0 ? 0.0 : 1000.0 * static_cast<double>(n) / ms;
    };
    prompt_ms = std::round(prompt_ms * 1000) / 1000; // microseconds are plenty
    predicted_ms = std::round(predicted_ms * 1000) / 1000;
    json::object t;
    t["cache_n"] = 0;
    t["prompt_n"] = prompt_n;
    t["prompt_ms"] = prompt_ms;
    t["prompt_per_token_ms"] = per_token(prompt_ms, prompt_n);
    t["prompt_per_second"] = per_second(prompt_ms, prompt_n);
    t["predicted_n"] = predicted_n;
    t["predicted_ms"] = predicted_ms;
    t["predicted_per_token_ms"] = per_token(predicted_ms, predicted_n);
    t["predicted_per_second"] = per_second(predicted_ms, predicted_n);
    return t;
}

std::string sse_data(const json::value& v) { return "data: " + dump_json(v) + "\n\n"; }

std::string loading_frame(std::string_view text)
{
    json::object delta;
    delta["reasoning_content"] = text;
    json::object choice;
    choice["delta"] = std::move(delta);
    json::object o;
    o["choices"] = json::array{std::move(choice)};
    return sse_data(o);
}

std::string event_frame(std::string_view type, const json::value& data)
{
    json::object env;
    env["type"] = type;
    env["data"] = dump_json(data); // llama-swap double-encodes: data is a string holding JSON
    return "event:message\ndata:" + dump_json(env) + "\n\n";
}

json::array model_status(const std::vector<model_slot*>& sorted)
{
    json::array a;
    for (const auto* m : sorted) {
        json::object o;
        o["id"] = m->p.id;
        o["name"] = m->p.name;
        o["description"] = m->p.description;
        o["state"] = to_string(m->state.load());
        o["unlisted"] = m->p.unlisted;
        o["peerID"] = "";
        if (!m->p.aliases.empty())
            o["aliases"] = string_array(m->p.aliases);
        a.emplace_back(std::move(o));
    }
    return a;
}

json::object model_list(const std::vector<model_slot*>& sorted, std::int64_t now)
{
    json::array data;
    for (const auto* m : sorted) {
        if (m->p.unlisted)
            continue;
        json::object o;
        o["id"] = m->p.id;
        o["object"] = "model";
        o["created"] = now;
        o["owned_by"] = "llama-swap";
        if (!m->p.name.empty())
            o["name"] = m->p.name;
        if (!m->p.description.empty())
            o["description"] = m->p.description;
        if (m->p.kind == model_kind::image) {
            // What a `capabilities: {out: [image]}` block adds (reference §4.2).
            json::object arch;
            arch["input_modalities"] = json::array{"text"};
            arch["output_modalities"] = json::array{"image"};
            arch["modality"] = "text->image";
            o["architecture"] = std::move(arch);
            json::object caps;
            caps["image_generation"] = true;
            o["capabilities"] = std::move(caps);
        }
        json::object ls;
        ls["type"] = "model";
        if (!m->p.aliases.empty())
            ls["aliases"] = string_array(m->p.aliases);
        json::object meta;
        meta["llamaswap"] = std::move(ls);
        o["meta"] = std::move(meta);
        json::object status;
        status["value"] = m->state.load() == model_state::stopped ? "unloaded" : "loaded";
        o["status"] = std::move(status);
        data.emplace_back(std::move(o));
    }
    json::object o;
    o["object"] = "list";
    o["data"] = std::move(data);
    return o;
}

json::object running_list(const std::vector<model_slot*>& sorted)
{
    json::array running;
    for (const auto* m : sorted) {
        if (m->state.load() == model_state::stopped)
            continue;
        json::object o;
        o["model"] = m->p.id;
        o["state"] = to_string(m->state.load());
        o["cmd"] = upstream_cmd(*m);
        o["proxy"] = "http://localhost:" + std::to_string(m->upstream_port);
        o["ttl"] = ttl_seconds(*m);
        o["name"] = m->p.name;
        o["description"] = m->p.description;
        running.emplace_back(std::move(o));
    }
    json::object o;
    o["running"] = std::move(running);
    return o;
}

std::string upstream_cmd(const model_slot& m)
{
    auto port = std::to_string(m.upstream_port);
    switch (m.p.kind) {
    case model_kind::image: return "sd-server --listen-port " + port + " -m models/" + m.p.id + ".safetensors";
    case model_kind::embedding:
        return "llama-server --port " + port + " --embeddings -m models/" + m.p.id + ".gguf";
    case model_kind::reranker:
        return "llama-server --port " + port + " --reranking -m models/" + m.p.id + ".gguf";
    case model_kind::transcription:
        return "whisper-server --port " + port + " --inference-path /v1/audio/transcriptions -m models/" + m.p.id +
               ".bin";
    case model_kind::speech: return "tts-server --port " + port + " --model " + m.p.id;
    case model_kind::chat: break;
    }
    return "llama-server --port " + port + " -m models/" + m.p.id + ".gguf";
}

} // namespace majordomo::sim::detail

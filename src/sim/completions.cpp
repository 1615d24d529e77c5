// llama-server's POST /v1/completions (text completion), whole and streamed: the OpenAI
// text_completion shape with llama.cpp's extras (system_fingerprint, timings), errors and faults as chat.
#include "server.hpp"

#include "encoding.hpp"
#include "responses.hpp"
#include "upstream_util.hpp"

#include <ctime>

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

namespace majordomo::sim::detail {

namespace json = boost::json;

namespace {

json::object text_choice(std::size_t index, std::string_view text, json::value finish)
{
    json::object c;
    c["text"] = text;
    c["index"] = index;
    c["logprobs"] = nullptr;
    c["finish_reason"] = std::move(finish);
    return c;
}

json::object text_object(const completion_ids& ids, json::array choices)
{
    json::object o;
    o["choices"] = std::move(choices);
    o["created"] = static_cast<std::int64_t>(std::time(nullptr));
    o["id"] = ids.id;
    o["model"] = ids.model;
    o["system_fingerprint"] = system_fingerprint;
    o["object"] = "text_completion";
    return o;
}

} // namespace

asio::awaitable<bool> serve_completions(exchange& x, model_slot& m, const json::value& body)
{
    if (!llama_server(m.p.kind))
        co_return co_await sd_not_found(x, false);
    if (m.p.kind != model_kind::chat)
        co_return co_await llama_fail(x, false, 501, no_completions, "not_supported_error");
    if (!body.is_object())
        co_return co_await llama_fail(x, false, 500, bad_json, "server_error");
    const auto& req = body.get_object();
    const auto* prompt = req.if_contains("prompt");
    if (!prompt)
        co_return co_await llama_fail(x, false, 400, "\"prompt\" is required", "invalid_request_error");
    // A string, or an array of prompts (strings): one choice each.
    std::vector<std::string> prompts;
    if (prompt->is_string())
        prompts.emplace_back(prompt->get_string());
    else if (prompt->is_array() && !prompt->get_array().empty())
        for (const auto& p : prompt->get_array()) {
            if (!p.is_string()) {
                prompts.clear();
                break;
            }
            prompts.emplace_back(p.get_string());
        }
    if (prompts.empty())
        co_return co_await llama_fail(x, false, 400,
                                      "\"prompt\" must be a string, a list of tokens, a list of mixed strings & "
                                      "tokens, or a list of prompts",
                                      "invalid_request_error");

    const auto g = read_generation(req, m, {"n_predict", "max_tokens"});

    std::size_t prompt_n = 0;
    for (const auto& p : prompts)
        prompt_n += estimate_tokens(p);
    std::size_t total_n = g.n * prompts.size();
    double tps = m.p.tokens_per_second;
    double prompt_ms = 1000.0 * static_cast<double>(prompt_n) / (tps * prompt_speedup);
    auto interval = seconds(1.0 / tps);
    fault f = m.current_fault;
    completion_ids ids{"cmpl-" + x.srv.random_id(32), m.p.id};
    auto start = clock_type::now();

    if (!g.stream) {
        auto done = start + seconds(prompt_ms / 1000.0) + interval * static_cast<long>(total_n);
        auto answer = [&] {
            std::string text;
            for (std::size_t i = 0; i < g.n; ++i)
                text += g.pieces[i];
            json::array choices;
            for (std::size_t i = 0; i < prompts.size(); ++i)
                choices.push_back(text_choice(i, text, json::string(g.finish)));
            auto out = text_object(ids, std::move(choices));
            out["usage"] = usage_json(prompt_n, total_n);
            out["timings"] = timings_json(prompt_n, prompt_ms, total_n, std::max(0.0, ms_since(start) - prompt_ms));
            return llama_answer(dump_json(out));
        };
        co_return co_await serve_when_done(x, m, upstream_server::llama, done, answer);
    }

    http::response<http::empty_body> head{http::status::ok, x.req.version()};
    head.set(http::field::content_type, "text/event-stream");
    head.set(http::field::server, "llama.cpp");
    head.set("X-Accel-Buffering", "no");
    head.keep_alive(x.req.keep_alive());
    if (!co_await x.s.start_stream(head))
        co_return false;
    // Each prompt's tokens in turn: event k is token k % n of prompt k / n.
    auto first = start + seconds(prompt_ms / 1000.0);
    auto event = [&](std::size_t k) {
        return sse_data(text_object(ids, json::array{text_choice(k / g.n, g.pieces[k % g.n], nullptr)}));
    };
    auto closing = [&] {
        auto timings = timings_json(prompt_n, prompt_ms, total_n, std::max(0.0, ms_since(first)));
        std::string out;
        for (std::size_t p = 0; p < prompts.size(); ++p) {
            auto fin = text_object(ids, json::array{text_choice(p, "", json::string(g.finish))});
            if (!g.include_usage && p + 1 == prompts.size())
                fin["timings"] = timings;
            out += sse_data(fin);
        }
        if (g.include_usage) {
            auto u = text_object(ids, json::array());
            u["usage"] = usage_json(prompt_n, total_n);
            u["timings"] = std::move(timings);
            out += sse_data(u);
        }
        out += "data: [DONE]\n\n";
        return std::vector<std::string>{std::move(out)};
    };
    co_return co_await stream_generation(x, f, first, interval, total_n, event, closing);
}

} // namespace majordomo::sim::detail

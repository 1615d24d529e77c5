// llama-server's reranking (`--reranking`; wire-formats.md §2.5): POST /v1/rerank and its aliases,
// the Jina answer sorted by score and cut to top_n, or TEI's bare array when the body has `texts`.
#include "server.hpp"

#include "encoding.hpp"
#include "responses.hpp"
#include "upstream_util.hpp"

#include <algorithm>
#include <cctype>

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

namespace majordomo::sim::detail {

namespace json = boost::json;

namespace {

std::string lower(std::string_view s)
{
    std::string out(s);
    for (auto& c : out)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

std::string_view word_of(std::string_view w)
{
    auto b = w.find_first_not_of(" \t\r\n");
    return b == std::string_view::npos ? std::string_view() : w.substr(b);
}

// Deterministic and query-dependent: two points per query word that is a word of the document, minus one,
// plus a jitter from the text's hash in (-0.5, 0.5). Raw scores, so negative ones occur.
double score(std::string_view query, std::string_view doc)
{
    auto d = tokenize(lower(doc));
    double s = -1;
    for (const auto& w : tokenize(lower(query))) {
        auto word = word_of(w);
        bool found = std::any_of(d.begin(), d.end(), [&](const std::string& x) { return word_of(x) == word; });
        if (!word.empty() && found)
            s += 2;
    }
    auto h = fnv1a(doc, fnv1a(query));
    return s + static_cast<double>(h % 1000) / 1000.0 - 0.5;
}

} // namespace

asio::awaitable<bool> serve_rerank(exchange& x, model_slot& m, const json::value& body)
{
    if (!llama_server(m.p.kind))
        co_return co_await sd_not_found(x, false);
    if (m.p.kind != model_kind::reranker)
        co_return co_await llama_fail(x, false, 501,
                                      "This server does not support reranking. Start it with `--reranking`",
                                      "not_supported_error");
    if (!body.is_object())
        co_return co_await llama_fail(x, false, 500, bad_json, "server_error");
    const auto& req = body.get_object();
    const auto* query = req.if_contains("query");
    if (!query || !query->is_string())
        co_return co_await llama_fail(x, false, 400, "\"query\" must be provided and be a string",
                                      "invalid_request_error");
    bool tei = req.contains("texts");
    const auto* docs = req.if_contains(tei ? "texts" : "documents");
    std::vector<std::string> texts;
    if (docs && docs->is_array())
        for (const auto& d : docs->get_array()) {
            if (!d.is_string()) {
                texts.clear();
                break;
            }
            texts.emplace_back(d.get_string());
        }
    if (texts.empty())
        co_return co_await llama_fail(x, false, 400, "\"documents\" must be a non-empty string array",
                                      "invalid_request_error");
    std::size_t top_n = texts.size();
    if (auto n = int_field(req, "top_n"); n && *n >= 0)
        top_n = std::min<std::size_t>(top_n, static_cast<std::size_t>(*n));

    std::size_t tokens = 0;
    for (const auto& t : texts)
        tokens += estimate_tokens(query->get_string()) + estimate_tokens(t) + 2;
    auto done = clock_type::now() + seconds(static_cast<double>(tokens) / (m.p.tokens_per_second * prompt_speedup));
    auto answer = [&] {
        std::vector<std::pair<double, std::size_t>> ranked;
        for (std::size_t i = 0; i < texts.size(); ++i)
            ranked.emplace_back(score(query->get_string(), texts[i]), i);
        std::stable_sort(ranked.begin(), ranked.end(), [](auto& a, auto& b) { return a.first > b.first; });
        ranked.resize(top_n);

        json::array results;
        bool return_text = tei && bool_field(req, "return_text");
        for (auto& [s, i] : ranked) {
            json::object r;
            r["index"] = i;
            r[tei ? "score" : "relevance_score"] = s;
            if (return_text)
                r["text"] = texts[i];
            results.push_back(std::move(r));
        }
        if (tei)
            return llama_answer(dump_json(results));
        auto out = list_answer(req, m, tokens);
        out["results"] = std::move(results);
        return llama_answer(dump_json(out));
    };
    co_return co_await serve_when_done(x, m, upstream_server::llama, done, answer);
}

} // namespace majordomo::sim::detail

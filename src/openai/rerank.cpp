// POST {base}/rerank: llama-server's reranking (Jina format), TEI's bare array accepted too.
#include "openai/rerank.hpp"

#include "llm/json_helpers.hpp"
#include "openai/calls.hpp"

#include <majordomo/error.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>

namespace majordomo::openai {

namespace asio = boost::asio;
namespace json = boost::json;
using llm::detail::excerpt;
using llm::detail::field;

namespace detail {

namespace {

[[noreturn]] void bad(std::string what)
{
    throw error(make_error_code(client_errc::bad_json), "rerank: " + std::move(what));
}

} // namespace

std::string encode_rerank_request(const llm::rerank_request& req)
{
    json::object body{{"model", req.model}, {"query", req.query}};
    json::array docs;
    for (const auto& d : req.documents)
        docs.push_back(json::string(d));
    body["documents"] = std::move(docs);
    if (req.top_n)
        body["top_n"] = *req.top_n;
    for (const auto& [k, v] : req.extra)
        body[k] = v;
    return json::serialize(body);
}

llm::rerank_response decode_rerank_response(std::string_view body, std::size_t documents)
{
    boost::system::error_code ec;
    auto v = json::parse(body, ec);
    if (ec)
        llm::detail::throw_bad_json("malformed rerank answer (" + ec.message() + ")", body);
    llm::rerank_response out;
    if (v.is_array()) { // TEI: the bare array of results
        json::object o;
        o["results"] = std::move(v.get_array());
        v = std::move(o);
    }
    if (!v.is_object())
        llm::detail::throw_bad_json("rerank answer is not a JSON object", body);
    auto& o = v.get_object();
    auto* results = field(o, "results");
    if (!results && field(o, "error"))
        llm::detail::throw_in_band_error(o, body);
    if (!results)
        results = field(o, "data"); // some servers name the array data
    if (!results || !results->is_array())
        llm::detail::throw_bad_json("rerank answer has no results array", body);
    if (auto* m = field(o, "model"); m && m->is_string())
        out.model = std::string(m->get_string());
    std::vector<bool> seen(documents);
    for (const auto& row : results->get_array()) {
        if (!row.is_object())
            bad("a result is not an object: '" + excerpt(json::serialize(row), 40) + "'");
        const auto& r = row.get_object();
        llm::rerank_result res;
        auto* i = field(r, "index");
        auto n = i ? llm::detail::to_integer(*i) : std::nullopt;
        if (!n || *n < 0 || static_cast<std::uint64_t>(*n) >= documents)
            bad("a result has index " + (i ? excerpt(json::serialize(*i), 40) : std::string("(none)")) + " for " +
                std::to_string(documents) + " documents; the server answered for other documents than were sent");
        res.index = static_cast<std::size_t>(*n);
        if (seen[res.index])
            bad("two results for document " + std::to_string(res.index));
        seen[res.index] = true;
        auto* s = field(r, "relevance_score");
        if (!s)
            s = field(r, "score");
        auto score = s ? llm::detail::to_number(*s) : std::nullopt;
        if (!score)
            bad("the result for document " + std::to_string(res.index) + " has no finite score");
        res.relevance_score = *score;
        auto* d = field(r, "document");
        if (!d)
            d = field(r, "text");
        if (d && d->is_string())
            res.document = std::string(d->get_string());
        else if (d && d->is_object())
            if (auto* t = field(d->get_object(), "text"); t && t->is_string())
                res.document = std::string(t->get_string());
        out.results.push_back(std::move(res));
    }
    // Most relevant first, whatever order the server used.
    std::stable_sort(out.results.begin(), out.results.end(),
                     [](auto& a, auto& b) { return a.relevance_score > b.relevance_score; });
    if (auto* u = field(o, "usage"); u && u->is_object()) {
        if (auto* p = field(u->get_object(), "prompt_tokens"))
            out.prompt_tokens = llm::detail::to_count(*p);
        if (auto* t = field(u->get_object(), "total_tokens"))
            out.total_tokens = llm::detail::to_count(*t);
    }
    out.raw = std::move(o);
    return out;
}

} // namespace detail

asio::awaitable<llm::rerank_response> provider::async_rerank(llm::rerank_request req)
{
    if (req.model.empty())
        throw error(make_error_code(client_errc::invalid_argument), "rerank_request::model is empty");
    if (req.query.empty())
        throw error(make_error_code(client_errc::invalid_argument), "rerank_request::query is empty");
    if (req.documents.empty())
        throw error(make_error_code(client_errc::invalid_argument), "rerank_request::documents is empty");
    if (req.top_n && *req.top_n < 1)
        throw error(make_error_code(client_errc::invalid_argument), "rerank_request::top_n must be at least 1");
    auto self = impl_;
    detail::call_spec spec;
    spec.path = "/rerank";
    spec.body = detail::encode_rerank_request(req);
    spec.model = req.model;
    auto a = co_await detail::async_call(*self, std::move(spec), req.call);
    auto out = detail::decode_with(*self, req.model,
                                   [&] { return detail::decode_rerank_response(a.r.body, req.documents.size()); });
    out.call = detail::whole_timings(a);
    co_return out;
}

} // namespace majordomo::openai

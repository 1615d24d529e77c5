#include "openai/decoding.hpp"

#include "llm/json_helpers.hpp"

#include <majordomo/error.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <limits>

namespace majordomo::openai::detail {
namespace json = boost::json;
namespace {

using llm::detail::excerpt;
using llm::detail::field;

[[noreturn]] void bad(std::string what)
{
    throw error(make_error_code(client_errc::bad_json), std::move(what));
}

// The body's `data` array; bad_json naming `what` when there is none.
json::value parse_data(std::string_view body, std::string_view what)
{
    boost::system::error_code ec;
    auto v = json::parse(body, ec);
    if (ec || !v.is_object() || !v.get_object().contains("data") || !v.get_object().at("data").is_array())
        bad(std::string(what) + " is not {\"data\":[...]}: '" + excerpt(body, llm::detail::json_excerpt_limit) +
            "'");
    return v;
}

std::string str(const json::object& o, std::string_view k)
{
    auto* v = field(o, k);
    return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

} // namespace

std::vector<model_entry> decode_model_list(std::string_view body)
{
    auto v = parse_data(body, "the model list");
    std::vector<model_entry> out;
    for (auto& row : v.get_object().at("data").get_array()) {
        if (!row.is_object())
            continue;
        auto& o = row.get_object();
        model_entry m;
        m.id = str(o, "id");
        m.object = str(o, "object");
        m.owned_by = str(o, "owned_by");
        if (auto* x = field(o, "created"))
            m.created = llm::detail::to_integer(*x); // a time: out of int64 is no time
        m.raw = std::move(o);
        out.push_back(std::move(m));
    }
    return out;
}

embedding_response decode_embeddings(std::string_view body, std::size_t inputs)
{
    auto v = parse_data(body, "the embeddings answer");
    auto& o = v.get_object();
    embedding_response out;
    out.model = str(o, "model");
    out.embeddings.resize(inputs);
    std::vector<bool> seen(inputs);
    std::size_t next = 0;
    for (const auto& row : o.at("data").get_array()) {
        if (!row.is_object())
            continue;
        const auto& ro = row.get_object();
        const std::size_t position = next++;
        std::size_t index = position;
        if (auto* i = field(ro, "index")) {
            auto n = llm::detail::to_integer(*i);
            if (!n || *n < 0 || static_cast<std::uint64_t>(*n) >= inputs)
                bad("embeddings: row " + std::to_string(position) + " has index " +
                    excerpt(json::serialize(*i), 40) + " for " + std::to_string(inputs) +
                    " inputs; the server answered for other inputs than were sent");
            index = static_cast<std::size_t>(*n);
        }
        if (index >= inputs)
            bad("embeddings: more rows than the " + std::to_string(inputs) + " inputs sent");
        if (seen[index])
            bad("embeddings: two rows for input " + std::to_string(index));
        seen[index] = true;
        auto* e = field(ro, "embedding");
        if (!e || !e->is_array())
            bad("embeddings: the row for input " + std::to_string(index) +
                " has no embedding array (base64 encoding is not supported)");
        auto& vec = out.embeddings[index];
        vec.reserve(e->get_array().size());
        for (const auto& x : e->get_array()) {
            // A vector with a hole or an infinity is wrong data: no lenient reading of it.
            auto d = llm::detail::to_number(x);
            if (!d || *d > std::numeric_limits<float>::max() || *d < -std::numeric_limits<float>::max())
                bad("embeddings: element " + std::to_string(vec.size()) + " of input " + std::to_string(index) +
                    " is not a number that fits a float: '" + excerpt(json::serialize(x), 40) + "'");
            vec.push_back(static_cast<float>(*d));
        }
    }
    for (std::size_t i = 0; i < inputs; ++i)
        if (!seen[i])
            bad("embeddings: the answer holds no vector for input " + std::to_string(i) + " of " +
                std::to_string(inputs));
    if (auto* u = field(o, "usage"); u && u->is_object()) {
        if (auto* p = field(u->get_object(), "prompt_tokens"))
            out.prompt_tokens = llm::detail::to_count(*p);
        if (auto* t = field(u->get_object(), "total_tokens"))
            out.total_tokens = llm::detail::to_count(*t);
    }
    out.raw = std::move(o);
    return out;
}

} // namespace majordomo::openai::detail

// params_from_json: the model file format of `majordomo-sim --models FILE.json` (documented in
// simulator.hpp). Strict about keys so a typo fails loudly instead of silently using a default.
#include <majordomo/sim/simulator.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <cmath>
#include <stdexcept>

namespace majordomo::sim {

namespace json = boost::json;

namespace {

[[noreturn]] void fail(const std::string& what)
{
    throw std::invalid_argument("majordomo::sim config: " + what);
}

std::string get_string(const json::value& v, std::string_view key)
{
    if (!v.is_string())
        fail("'" + std::string(key) + "' must be a string");
    return std::string(v.get_string());
}

bool get_bool(const json::value& v, std::string_view key)
{
    if (!v.is_bool())
        fail("'" + std::string(key) + "' must be true or false");
    return v.get_bool();
}

double get_number(const json::value& v, std::string_view key)
{
    if (!v.is_number())
        fail("'" + std::string(key) + "' must be a number");
    return v.to_number<double>();
}

std::int64_t get_count(const json::value& v, std::string_view key)
{
    double d = get_number(v, key);
    if (d < 0 || d != std::floor(d) || d > 9.0e15)
        fail("'" + std::string(key) + "' must be a non-negative integer");
    return static_cast<std::int64_t>(d);
}

std::vector<std::string> get_strings(const json::value& v, std::string_view key)
{
    if (!v.is_array())
        fail("'" + std::string(key) + "' must be an array of strings");
    std::vector<std::string> out;
    for (const auto& e : v.get_array())
        out.push_back(get_string(e, key));
    return out;
}

fault parse_fault(const std::string& s)
{
    for (auto f : {fault::none, fault::fail_to_start, fault::cut_stream, fault::stall, fault::error_mid_stream})
        if (to_string(f) == s)
            return f;
    fail("unknown fault '" + s + "' (none, fail_to_start, cut_stream, stall, error_mid_stream)");
}

model_kind parse_kind(const std::string& s)
{
    if (s == "chat")
        return model_kind::chat;
    if (s == "image")
        return model_kind::image;
    if (s == "embedding")
        return model_kind::embedding;
    if (s == "reranker")
        return model_kind::reranker;
    if (s == "transcription")
        return model_kind::transcription;
    if (s == "speech")
        return model_kind::speech;
    fail("unknown kind '" + s + "' (chat, image, embedding, reranker, transcription, speech)");
}

model_params parse_model(const json::value& v)
{
    if (!v.is_object())
        fail("each model must be an object");
    model_params m;
    bool has_id = false;
    for (const auto& kv : v.get_object()) {
        std::string_view k = kv.key();
        const auto& e = kv.value();
        if (k == "id") {
            m.id = get_string(e, k);
            has_id = true;
        } else if (k == "aliases")
            m.aliases = get_strings(e, k);
        else if (k == "unlisted")
            m.unlisted = get_bool(e, k);
        else if (k == "name")
            m.name = get_string(e, k);
        else if (k == "description")
            m.description = get_string(e, k);
        else if (k == "kind")
            m.kind = parse_kind(get_string(e, k));
        else if (k == "load_ms")
            m.load_time = std::chrono::milliseconds(get_count(e, k));
        else if (k == "tokens_per_second")
            m.tokens_per_second = get_number(e, k);
        else if (k == "concurrency_limit")
            m.concurrency_limit = static_cast<std::size_t>(get_count(e, k));
        else if (k == "ttl")
            m.ttl = std::chrono::milliseconds(get_count(e, k) * 1000);
        else if (k == "ttl_ms")
            m.ttl = std::chrono::milliseconds(get_count(e, k));
        else if (k == "send_loading_state" || k == "sendLoadingState")
            m.send_loading_state = get_bool(e, k);
        else if (k == "reply")
            m.reply = get_string(e, k);
        else if (k == "fault")
            m.f = parse_fault(get_string(e, k));
        else if (k == "embedding_dimensions")
            m.embedding_dimensions = static_cast<std::size_t>(get_count(e, k));
        else
            fail("unknown model key '" + std::string(k) + "'");
    }
    if (!has_id || m.id.empty())
        fail("a model has no \"id\"");
    return m;
}

} // namespace

simulator_params params_from_json(std::string_view json_text)
{
    boost::system::error_code ec;
    auto root = json::parse(json_text, ec);
    if (ec)
        fail("not valid JSON: " + ec.message());
    simulator_params p;
    if (root.is_array()) {
        for (const auto& m : root.get_array())
            p.models.push_back(parse_model(m));
        return p;
    }
    if (!root.is_object())
        fail("the top level must be an object or an array of models");
    for (const auto& kv : root.get_object()) {
        std::string_view k = kv.key();
        const auto& e = kv.value();
        if (k == "models") {
            if (!e.is_array())
                fail("'models' must be an array");
            for (const auto& m : e.get_array())
                p.models.push_back(parse_model(m));
        } else if (k == "api_keys" || k == "apiKeys")
            p.api_keys = get_strings(e, k);
        else if (k == "error_format") {
            auto s = get_string(e, k);
            if (s == "current")
                p.errors = error_format::current;
            else if (s == "legacy")
                p.errors = error_format::legacy;
            else
                fail("'error_format' must be \"current\" or \"legacy\"");
        } else if (k == "exclusive")
            p.exclusive = get_bool(e, k);
        else if (k == "release") {
            auto r = get_count(e, k);
            if (r > 100000)
                fail("'release' must be a llama-swap release number such as 250");
            p.release = static_cast<int>(r);
        }
        else if (k == "address")
            p.address = get_string(e, k);
        else if (k == "port") {
            auto port = get_count(e, k);
            if (port > 65535)
                fail("'port' must be at most 65535");
            p.port = static_cast<std::uint16_t>(port);
        } else
            fail("unknown key '" + std::string(k) + "'");
    }
    return p;
}

} // namespace majordomo::sim

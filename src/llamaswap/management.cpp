#include "llm/json_helpers.hpp"

#include <majordomo/error.hpp>
#include <majordomo/llamaswap/management.hpp>

#include <boost/json/parse.hpp>

namespace majordomo::llamaswap {
namespace json = boost::json;
namespace {

[[noreturn]] void bad_shape(std::string_view what, std::string_view body)
{
    // The excerpt is cut on a UTF-8 boundary with control characters masked.
    std::string msg = "llama-swap " + std::string(what) + " has an unexpected shape: '";
    msg += llm::detail::excerpt(body, llm::detail::json_excerpt_limit);
    msg += "'; check that the base URL points at llama-swap";
    throw error(make_error_code(client_errc::bad_json), std::move(msg));
}

json::value parse(std::string_view body, std::string_view what)
{
    boost::system::error_code ec;
    auto v = json::parse(body, ec);
    if (ec)
        bad_shape(what, body);
    return v;
}

std::string str(const json::object& o, std::string_view key)
{
    auto* v = o.if_contains(key);
    if (v && v->is_string())
        return std::string(v->get_string());
    return {};
}

// An integer that fits int64, else absent (a double beyond it is never cast).
std::optional<std::int64_t> integer(const json::object& o, std::string_view key)
{
    auto* v = o.if_contains(key);
    return v ? llm::detail::to_integer(*v) : std::nullopt;
}

std::vector<std::string> strings(const json::value* v)
{
    std::vector<std::string> out;
    if (v && v->is_array())
        for (const auto& s : v->get_array())
            if (s.is_string())
                out.emplace_back(s.get_string());
    return out;
}

} // namespace

std::vector<model_info> decode_model_list(std::string_view body)
{
    auto v = parse(body, "model list");
    const json::array* rows = nullptr;
    if (v.is_object() && v.get_object().contains("data") && v.get_object().at("data").is_array())
        rows = &v.get_object().at("data").get_array();
    else if (v.is_array()) // some servers answer with the bare array
        rows = &v.get_array();
    if (!rows)
        bad_shape("model list", body);
    std::vector<model_info> out;
    out.reserve(rows->size());
    for (const auto& row : *rows) {
        if (!row.is_object())
            bad_shape("model list", body);
        const auto& o = row.get_object();
        model_info m;
        m.id = str(o, "id");
        if (m.id.empty())
            bad_shape("model list row without id", body);
        m.object = str(o, "object");
        m.owned_by = str(o, "owned_by");
        m.created = integer(o, "created");
        m.name = str(o, "name");
        m.description = str(o, "description");
        if (auto* meta = o.if_contains("meta"); meta && meta->is_object()) {
            m.meta = meta->get_object();
            if (auto* ls = m.meta.if_contains("llamaswap"); ls && ls->is_object())
                m.aliases = strings(ls->get_object().if_contains("aliases"));
        }
        if (auto* st = o.if_contains("status"); st && st->is_object())
            if (auto value = str(st->get_object(), "value"); !value.empty())
                m.status = std::move(value);
        m.raw = o;
        out.push_back(std::move(m));
    }
    return out;
}

std::vector<running_model> decode_running(std::string_view body)
{
    auto v = parse(body, "/running answer");
    if (!v.is_object() || !v.get_object().contains("running") || !v.get_object().at("running").is_array())
        bad_shape("/running answer", body);
    std::vector<running_model> out;
    for (const auto& row : v.get_object().at("running").get_array()) {
        if (!row.is_object())
            bad_shape("/running answer", body);
        const auto& o = row.get_object();
        running_model r;
        r.model = str(o, "model");
        r.state = str(o, "state");
        r.cmd = str(o, "cmd");
        r.proxy = str(o, "proxy");
        r.ttl = integer(o, "ttl");
        r.name = str(o, "name");
        r.description = str(o, "description");
        r.raw = o;
        out.push_back(std::move(r));
    }
    return out;
}

event decode_event(std::string_view sse_data)
{
    auto v = parse(sse_data, "event");
    if (!v.is_object())
        bad_shape("event", sse_data);
    const auto& o = v.get_object();
    event e;
    e.type = str(o, "type");
    if (e.type.empty())
        bad_shape("event without type", sse_data);
    if (auto* d = o.if_contains("data")) {
        // The payload is JSON encoded as a JSON string; a raw text payload stays a string.
        if (d->is_string()) {
            boost::system::error_code ec;
            auto inner = json::parse(d->get_string(), ec);
            e.data = ec ? *d : std::move(inner);
        } else {
            e.data = *d;
        }
    }
    if (e.type == "modelStatus") {
        if (!e.data.is_array())
            bad_shape("modelStatus event", sse_data);
        for (const auto& row : e.data.get_array()) {
            if (!row.is_object())
                continue;
            const auto& m = row.get_object();
            model_status s;
            s.id = str(m, "id");
            s.name = str(m, "name");
            s.description = str(m, "description");
            s.state = str(m, "state");
            if (auto* u = m.if_contains("unlisted"); u && u->is_bool())
                s.unlisted = u->get_bool();
            s.peer_id = str(m, "peerID");
            s.aliases = strings(m.if_contains("aliases"));
            s.raw = m;
            e.models.push_back(std::move(s));
        }
    }
    return e;
}

} // namespace majordomo::llamaswap

#include "llamaswap/json_reading.hpp"

#include <majordomo/error.hpp>
#include <majordomo/llamaswap/management.hpp>

#include <boost/json/parse.hpp>

namespace majordomo::llamaswap {
namespace json = boost::json;
using detail::integer;
using detail::str;

namespace {

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
    auto v = detail::parse(body, "model list", detail::check_base_url);
    const json::array* rows = nullptr;
    if (v.is_object() && v.get_object().contains("data") && v.get_object().at("data").is_array())
        rows = &v.get_object().at("data").get_array();
    else if (v.is_array()) // some servers answer with the bare array
        rows = &v.get_array();
    if (!rows)
        detail::bad_shape("model list", body, detail::check_base_url);
    std::vector<model_info> out;
    out.reserve(rows->size());
    for (const auto& row : *rows) {
        if (!row.is_object())
            detail::bad_shape("model list", body, detail::check_base_url);
        const auto& o = row.get_object();
        model_info m;
        m.id = str(o, "id");
        if (m.id.empty())
            detail::bad_shape("model list row without id", body, detail::check_base_url);
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
    auto v = detail::parse(body, "/running answer", detail::check_base_url);
    if (!v.is_object() || !v.get_object().contains("running") || !v.get_object().at("running").is_array())
        detail::bad_shape("/running answer", body, detail::check_base_url);
    std::vector<running_model> out;
    for (const auto& row : v.get_object().at("running").get_array()) {
        if (!row.is_object())
            detail::bad_shape("/running answer", body, detail::check_base_url);
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
    auto v = detail::parse(sse_data, "event", detail::check_base_url);
    if (!v.is_object())
        detail::bad_shape("event", sse_data, detail::check_base_url);
    const auto& o = v.get_object();
    event e;
    e.type = str(o, "type");
    if (e.type.empty())
        detail::bad_shape("event without type", sse_data, detail::check_base_url);
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
            detail::bad_shape("modelStatus event", sse_data, detail::check_base_url);
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

#include <majordomo/error.hpp>
#include <majordomo/llm/classify.hpp>
#include <majordomo/llm/json_codec.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

namespace majordomo::llm {
namespace json = boost::json;
namespace {

constexpr std::size_t excerpt_limit = 200;

[[noreturn]] void bad_json(std::string_view what, std::string_view bytes)
{
    std::string msg(what);
    msg += ": '";
    msg += bytes.substr(0, excerpt_limit);
    if (bytes.size() > excerpt_limit)
        msg += "...";
    msg += "'";
    throw error(make_error_code(client_errc::bad_json), std::move(msg));
}

std::string base64_encode(std::string_view in)
{
    static constexpr char table[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    out.reserve((in.size() + 2) / 3 * 4);
    std::size_t i = 0;
    for (; i + 2 < in.size(); i += 3) {
        unsigned v = (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8) |
                     static_cast<unsigned char>(in[i + 2]);
        out += table[v >> 18];
        out += table[(v >> 12) & 63];
        out += table[(v >> 6) & 63];
        out += table[v & 63];
    }
    if (i < in.size()) {
        unsigned v = static_cast<unsigned char>(in[i]) << 16;
        if (i + 1 < in.size())
            v |= static_cast<unsigned char>(in[i + 1]) << 8;
        out += table[v >> 18];
        out += table[(v >> 12) & 63];
        out += i + 1 < in.size() ? table[(v >> 6) & 63] : '=';
        out += '=';
    }
    return out;
}

json::value encode_content(const message& m)
{
    // A lone text part goes as a plain string: every server accepts that form.
    if (m.content.size() == 1 && std::holds_alternative<text_part>(m.content.front()))
        return json::string(std::get<text_part>(m.content.front()).text);
    if (m.content.empty())
        return m.tool_calls.empty() ? json::value(json::string()) : json::value(nullptr);
    json::array parts;
    for (const auto& p : m.content) {
        if (auto* t = std::get_if<text_part>(&p)) {
            parts.push_back(json::object{{"type", "text"}, {"text", t->text}});
        } else {
            const auto& img = std::get<image_part>(p);
            json::object url{{"url", img.url.empty() ? to_data_url(img) : img.url}};
            if (!img.detail.empty())
                url["detail"] = img.detail;
            parts.push_back(json::object{{"type", "image_url"}, {"image_url", std::move(url)}});
        }
    }
    return parts;
}

json::object encode_message(const message& m)
{
    json::object o;
    o["role"] = to_string(m.role);
    o["content"] = encode_content(m);
    if (!m.name.empty())
        o["name"] = m.name;
    if (!m.tool_calls.empty()) {
        json::array calls;
        for (const auto& c : m.tool_calls)
            calls.push_back(json::object{{"id", c.id},
                                         {"type", "function"},
                                         {"function", json::object{{"name", c.name}, {"arguments", c.arguments}}}});
        o["tool_calls"] = std::move(calls);
    }
    if (!m.tool_call_id.empty())
        o["tool_call_id"] = m.tool_call_id;
    if (m.reasoning_content)
        o["reasoning_content"] = *m.reasoning_content;
    return o;
}

// Lenient readers: a missing or mistyped optional field is simply absent.
const json::value* field(const json::object& o, std::string_view k)
{
    auto* v = o.if_contains(k);
    return v && !v->is_null() ? v : nullptr;
}

std::string str(const json::object& o, std::string_view k)
{
    auto* v = field(o, k);
    return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

std::optional<std::int64_t> integer(const json::object& o, std::string_view k)
{
    auto* v = field(o, k);
    if (!v)
        return std::nullopt;
    if (v->is_int64())
        return v->get_int64();
    if (v->is_uint64())
        return static_cast<std::int64_t>(v->get_uint64());
    if (v->is_double())
        return static_cast<std::int64_t>(v->get_double());
    return std::nullopt;
}

std::optional<double> number(const json::object& o, std::string_view k)
{
    auto* v = field(o, k);
    if (!v)
        return std::nullopt;
    if (v->is_double())
        return v->get_double();
    if (v->is_int64())
        return static_cast<double>(v->get_int64());
    if (v->is_uint64())
        return static_cast<double>(v->get_uint64());
    return std::nullopt;
}

const json::object* object(const json::object& o, std::string_view k)
{
    auto* v = field(o, k);
    return v && v->is_object() ? &v->get_object() : nullptr;
}

const json::array* array(const json::object& o, std::string_view k)
{
    auto* v = field(o, k);
    return v && v->is_array() ? &v->get_array() : nullptr;
}

std::optional<usage> decode_usage(const json::object& o)
{
    auto* u = object(o, "usage");
    if (!u)
        return std::nullopt;
    usage r;
    r.prompt_tokens = integer(*u, "prompt_tokens").value_or(0);
    r.completion_tokens = integer(*u, "completion_tokens").value_or(0);
    r.total_tokens = integer(*u, "total_tokens").value_or(r.prompt_tokens + r.completion_tokens);
    if (auto* d = object(*u, "prompt_tokens_details"))
        r.cached_tokens = integer(*d, "cached_tokens");
    return r;
}

std::optional<server_timings> decode_timings(const json::object& o)
{
    auto* t = object(o, "timings");
    if (!t)
        return std::nullopt;
    server_timings r;
    r.cache_n = integer(*t, "cache_n");
    r.prompt_n = integer(*t, "prompt_n");
    r.prompt_ms = number(*t, "prompt_ms");
    r.prompt_per_second = number(*t, "prompt_per_second");
    r.predicted_n = integer(*t, "predicted_n");
    r.predicted_ms = number(*t, "predicted_ms");
    r.predicted_per_second = number(*t, "predicted_per_second");
    return r;
}

// `content` may be a string, null, or (rarely) an array of text parts.
std::string text_of(const json::value* v)
{
    if (!v)
        return {};
    if (v->is_string())
        return std::string(v->get_string());
    std::string out;
    if (v->is_array())
        for (const auto& p : v->get_array())
            if (p.is_object())
                out += str(p.get_object(), "text");
    return out;
}

[[noreturn]] void throw_in_band_error(const json::object& o, std::string_view data)
{
    auto d = parse_error_body(0, data);
    int status = 500;
    if (auto* e = object(o, "error"))
        if (auto code = integer(*e, "code"); code && *code >= 400 && *code < 600)
            status = static_cast<int>(*code);
    d.http_status = status;
    throw error(make_api_error(status), std::move(d));
}

json::value parse_or_throw(std::string_view bytes, std::string_view what)
{
    boost::system::error_code ec;
    auto v = json::parse(bytes, ec);
    if (ec || !v.is_object())
        bad_json(what, bytes);
    return v;
}

} // namespace

std::string to_data_url(const image_part& img)
{
    return "data:" + (img.mime_type.empty() ? std::string("image/png") : img.mime_type) + ";base64," +
           base64_encode(img.data);
}

std::string encode_chat_request(const chat_request& req, const encode_options& opts)
{
    json::object o;
    o["model"] = req.model;
    json::array msgs;
    msgs.reserve(req.messages.size());
    for (const auto& m : req.messages)
        msgs.push_back(encode_message(m));
    o["messages"] = std::move(msgs);
    if (opts.stream) {
        o["stream"] = true;
        if (req.stream_include_usage)
            o["stream_options"] = json::object{{"include_usage", true}};
    }
    if (req.temperature)
        o["temperature"] = *req.temperature;
    if (req.top_p)
        o["top_p"] = *req.top_p;
    if (req.max_tokens)
        o[opts.legacy_max_tokens ? "max_tokens" : "max_completion_tokens"] = *req.max_tokens;
    if (!req.stop.empty()) {
        json::array s;
        for (const auto& x : req.stop)
            s.push_back(json::string(x));
        o["stop"] = std::move(s);
    }
    if (req.seed)
        o["seed"] = *req.seed;
    if (req.presence_penalty)
        o["presence_penalty"] = *req.presence_penalty;
    if (req.frequency_penalty)
        o["frequency_penalty"] = *req.frequency_penalty;
    if (req.n)
        o["n"] = *req.n;
    if (req.response_format) {
        const auto& f = *req.response_format;
        switch (f.type) {
        case response_format::kind::text: o["response_format"] = json::object{{"type", "text"}}; break;
        case response_format::kind::json_object: o["response_format"] = json::object{{"type", "json_object"}}; break;
        case response_format::kind::json_schema: {
            json::object js{{"name", f.name}, {"schema", f.schema}};
            if (f.strict)
                js["strict"] = *f.strict;
            o["response_format"] = json::object{{"type", "json_schema"}, {"json_schema", std::move(js)}};
            break;
        }
        }
    }
    if (!req.tools.empty()) {
        json::array tools;
        for (const auto& t : req.tools) {
            json::object fn{{"name", t.name}};
            if (!t.description.empty())
                fn["description"] = t.description;
            fn["parameters"] = t.parameters.empty() ? json::object{{"type", "object"}, {"properties", json::object{}}}
                                                    : t.parameters;
            tools.push_back(json::object{{"type", "function"}, {"function", std::move(fn)}});
        }
        o["tools"] = std::move(tools);
    }
    if (req.tool_choice) {
        switch (req.tool_choice->kind) {
        case tool_choice::mode::automatic: o["tool_choice"] = "auto"; break;
        case tool_choice::mode::none: o["tool_choice"] = "none"; break;
        case tool_choice::mode::required: o["tool_choice"] = "required"; break;
        case tool_choice::mode::function:
            o["tool_choice"] =
                json::object{{"type", "function"}, {"function", json::object{{"name", req.tool_choice->function}}}};
            break;
        }
    }
    if (req.parallel_tool_calls)
        o["parallel_tool_calls"] = *req.parallel_tool_calls;
    for (const auto& [k, v] : req.extra)
        o[k] = v;
    return json::serialize(o);
}

chat_response decode_chat_response(std::string_view body)
{
    auto v = parse_or_throw(body, "chat response is not a JSON object");
    auto& o = v.get_object();
    if (o.contains("error") && !o.contains("choices"))
        throw_in_band_error(o, body);
    chat_response r;
    r.id = str(o, "id");
    r.model = str(o, "model");
    r.created = integer(o, "created").value_or(0);
    if (auto* choices = array(o, "choices")) {
        for (const auto& cv : *choices) {
            if (!cv.is_object())
                continue;
            const auto& c = cv.get_object();
            choice ch;
            ch.index = static_cast<int>(integer(c, "index").value_or(static_cast<std::int64_t>(r.choices.size())));
            ch.finish_reason = str(c, "finish_reason");
            if (auto* m = object(c, "message")) {
                ch.text = text_of(field(*m, "content"));
                ch.reasoning_content = str(*m, "reasoning_content");
                if (auto* calls = array(*m, "tool_calls"))
                    for (const auto& tv : *calls) {
                        if (!tv.is_object())
                            continue;
                        const auto& t = tv.get_object();
                        tool_call call;
                        call.id = str(t, "id");
                        if (auto* fn = object(t, "function")) {
                            call.name = str(*fn, "name");
                            call.arguments = str(*fn, "arguments");
                        }
                        ch.tool_calls.push_back(std::move(call));
                    }
            }
            r.choices.push_back(std::move(ch));
        }
    }
    r.usage = decode_usage(o);
    r.timings = decode_timings(o);
    r.raw = std::move(o);
    return r;
}

chat_chunk decode_chat_chunk(std::string_view data)
{
    auto v = parse_or_throw(data, "stream chunk is not a JSON object");
    auto& o = v.get_object();
    if (o.contains("error"))
        throw_in_band_error(o, data);
    chat_chunk c;
    c.id = str(o, "id");
    c.model = str(o, "model");
    c.created = integer(o, "created").value_or(0);
    bool only_reasoning = true;
    if (auto* choices = array(o, "choices")) {
        c.choices.reserve(choices->size());
        for (const auto& cv : *choices) {
            if (!cv.is_object())
                continue;
            const auto& ch = cv.get_object();
            choice_delta d;
            d.index = static_cast<int>(integer(ch, "index").value_or(static_cast<std::int64_t>(c.choices.size())));
            if (auto* f = field(ch, "finish_reason"); f && f->is_string())
                d.finish_reason = std::string(f->get_string());
            if (auto* delta = object(ch, "delta")) {
                if (auto* r = field(*delta, "role"); r && r->is_string())
                    d.role = std::string(r->get_string());
                d.content = text_of(field(*delta, "content"));
                d.reasoning_content = str(*delta, "reasoning_content");
                if (auto* calls = array(*delta, "tool_calls"))
                    for (const auto& tv : *calls) {
                        if (!tv.is_object())
                            continue;
                        const auto& t = tv.get_object();
                        tool_call_delta td;
                        td.index = static_cast<int>(integer(t, "index").value_or(0));
                        if (auto* id = field(t, "id"); id && id->is_string())
                            td.id = std::string(id->get_string());
                        if (auto* fn = object(t, "function")) {
                            if (auto* n = field(*fn, "name"); n && n->is_string())
                                td.name = std::string(n->get_string());
                            td.arguments = str(*fn, "arguments");
                        }
                        d.tool_calls.push_back(std::move(td));
                    }
                if (!d.content.empty() || !d.tool_calls.empty() || d.role || d.finish_reason)
                    only_reasoning = false;
            } else {
                only_reasoning = false;
            }
            c.choices.push_back(std::move(d));
        }
    }
    c.usage = decode_usage(o);
    c.timings = decode_timings(o);
    // llama-swap's loading frames carry only a reasoning delta and none of id/object/created.
    c.loading = !c.choices.empty() && only_reasoning && !o.contains("id") && !o.contains("object") &&
                !o.contains("created");
    c.raw = std::move(o);
    return c;
}

} // namespace majordomo::llm

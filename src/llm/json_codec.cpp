#include <majordomo/error.hpp>
#include <majordomo/llm/chunk_decoder.hpp>
#include <majordomo/llm/json_codec.hpp>

#include "llm/json_helpers.hpp"

#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parser.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <memory>

namespace majordomo::llm {
namespace json = boost::json;
namespace {

using namespace detail;

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

const json::object* object(const json::object& o, std::string_view k)
{
    auto* v = field(o, k);
    return v && v->is_object() ? &v->get_object() : nullptr;
}

std::string str(const json::object& o, std::string_view k)
{
    auto* v = field(o, k);
    return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

// Magic numbers of the image types servers accept, for bytes given without a MIME type.
std::string_view sniff_mime(std::string_view b) noexcept
{
    if (b.substr(0, 8) == std::string_view("\x89PNG\r\n\x1a\n", 8))
        return "image/png";
    if (b.substr(0, 3) == "\xFF\xD8\xFF")
        return "image/jpeg";
    if (b.size() >= 12 && b.substr(0, 4) == "RIFF" && b.substr(8, 4) == "WEBP")
        return "image/webp";
    if (b.substr(0, 4) == "GIF8")
        return "image/gif";
    return "image/png";
}

} // namespace

std::string to_data_url(const image_part& img)
{
    std::string out = "data:";
    out += img.mime_type.empty() ? sniff_mime(img.data) : std::string_view(img.mime_type);
    out += ";base64,";
    out += base64_encode(img.data);
    return out;
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
    json::parse_options opts;
    opts.allow_invalid_utf8 = true; // lenient in: keep the answer rather than fail on one byte
    // The DOM only feeds the typed fields: it lives in a scratch arena, on the stack for
    // usual bodies, and goes in one piece; the response keeps the text as raw.
    unsigned char scratch[4096];
    json::monotonic_resource arena(scratch, sizeof scratch);
    json::parser p({}, opts);
    p.reset(json::storage_ptr(&arena));
    boost::system::error_code ec;
    const std::size_t consumed = p.write(body.data(), body.size(), ec);
    if (ec) // incomplete input is an error too: write() is given the whole text
        throw_bad_json("malformed chat response (" + ec.message() + ")", body, consumed);
    json::value v = p.release();
    if (!v.is_object())
        throw_bad_json("chat response is not a JSON object", body);
    if (auto* e = field(v.get_object(), "error"); e && !v.get_object().contains("choices"))
        throw_in_band_error(v.get_object(), body);
    chat_response r;
    r.raw.assign(body);
    const auto& o = v.get_object();
    r.id = str(o, "id");
    r.model = str(o, "model");
    if (auto* c = field(o, "created"))
        r.created = to_integer(*c).value_or(0);
    if (auto* choices = field(o, "choices"); choices && choices->is_array()) {
        for (const auto& cv : choices->get_array()) {
            if (!cv.is_object())
                continue;
            const auto& c = cv.get_object();
            choice ch;
            ch.index = static_cast<int>(r.choices.size());
            if (auto* i = field(c, "index"))
                ch.index = to_int(*i).value_or(ch.index);
            ch.finish_reason = str(c, "finish_reason");
            if (auto* m = object(c, "message")) {
                if (auto* content = field(*m, "content"))
                    append_text(ch.text, *content);
                ch.reasoning_content = str(*m, "reasoning_content");
                if (auto* calls = field(*m, "tool_calls"); calls && calls->is_array())
                    for (const auto& tv : calls->get_array()) {
                        if (!tv.is_object())
                            continue;
                        const auto& t = tv.get_object();
                        tool_call call;
                        call.id = str(t, "id");
                        if (auto* fn = object(t, "function")) {
                            call.name = str(*fn, "name");
                            if (auto* a = field(*fn, "arguments"))
                                assign_arguments(call.arguments, *a);
                        }
                        ch.tool_calls.push_back(std::move(call));
                    }
            }
            r.choices.push_back(std::move(ch));
        }
        // n > 1: keep index order, as a stream's accumulator does.
        std::stable_sort(r.choices.begin(), r.choices.end(),
                         [](const choice& a, const choice& b) { return a.index < b.index; });
    }
    if (auto* u = field(o, "usage"))
        r.usage = decode_usage(*u);
    if (auto* t = field(o, "timings"))
        r.timings = decode_timings(*t);
    return r;
}

chat_chunk decode_chat_chunk(std::string_view data)
{
    // One decoder per thread keeps its parser and buffers warm; the call runs start to
    // end on this thread, so coroutines hopping threads between calls are fine.
    thread_local chunk_decoder decoder;
    return decoder.decode(data);
}

} // namespace majordomo::llm

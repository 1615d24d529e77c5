// POST {base}/completions: text completion, whole and streamed (llama.cpp's extra fields kept in raw).
#include "openai/completions.hpp"

#include "llm/json_helpers.hpp"
#include "openai/calls.hpp"

#include <majordomo/error.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>

namespace majordomo {

namespace llm {

namespace {
const std::string empty_text;
}

const std::string& completion_response::text() const noexcept
{
    return choices.empty() ? empty_text : choices.front().text;
}

const std::string& completion_response::finish_reason() const noexcept
{
    return choices.empty() ? empty_text : choices.front().finish_reason;
}

const std::string& completion_chunk::text() const noexcept
{
    return choices.empty() ? empty_text : choices.front().text;
}

void completion_accumulator::add(const completion_chunk& c)
{
    if (r_.id.empty())
        r_.id = c.id;
    if (r_.model.empty())
        r_.model = c.model;
    for (const auto& ch : c.choices) {
        auto it = std::find_if(r_.choices.begin(), r_.choices.end(), [&](auto& x) { return x.index == ch.index; });
        if (it == r_.choices.end()) {
            auto pos = std::find_if(r_.choices.begin(), r_.choices.end(), [&](auto& x) { return x.index > ch.index; });
            it = r_.choices.insert(pos, completion_choice{ch.index, {}, {}});
        }
        it->text += ch.text;
        if (!ch.finish_reason.empty())
            it->finish_reason = ch.finish_reason;
    }
    if (c.usage)
        r_.usage = c.usage;
    if (c.timings)
        r_.timings = c.timings;
}

} // namespace llm

namespace openai {

namespace asio = boost::asio;
namespace json = boost::json;
using llm::detail::field;

namespace detail {
namespace {

std::string str(const json::object& o, std::string_view k)
{
    auto* v = field(o, k);
    return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

json::value parse_object(std::string_view text, std::string_view what)
{
    json::parse_options opts;
    opts.allow_invalid_utf8 = true; // lenient in: keep the answer rather than fail on one byte
    boost::system::error_code ec;
    auto v = json::parse(text, ec, {}, opts);
    if (ec)
        llm::detail::throw_bad_json("malformed " + std::string(what) + " (" + ec.message() + ")", text);
    if (!v.is_object())
        llm::detail::throw_bad_json(std::string(what) + " is not a JSON object", text);
    if (field(v.get_object(), "error") && !v.get_object().contains("choices"))
        llm::detail::throw_in_band_error(v.get_object(), text);
    return v;
}

// Choices in index order; a choice without a usable index takes its position.
std::vector<llm::completion_choice> choices_of(const json::object& o)
{
    std::vector<llm::completion_choice> out;
    auto* cs = field(o, "choices");
    if (!cs || !cs->is_array())
        return out;
    for (const auto& cv : cs->get_array()) {
        if (!cv.is_object())
            continue;
        const auto& c = cv.get_object();
        llm::completion_choice ch;
        ch.index = static_cast<int>(out.size());
        if (auto* i = field(c, "index"))
            ch.index = llm::detail::to_int(*i).value_or(ch.index);
        if (auto* t = field(c, "text"))
            llm::detail::append_text(ch.text, *t);
        ch.finish_reason = str(c, "finish_reason");
        out.push_back(std::move(ch));
    }
    std::stable_sort(out.begin(), out.end(), [](auto& a, auto& b) { return a.index < b.index; });
    return out;
}

} // namespace

std::string encode_completion_request(const llm::completion_request& req, bool stream)
{
    json::object body{{"model", req.model}, {"prompt", req.prompt}};
    if (req.max_tokens)
        body["max_tokens"] = *req.max_tokens;
    if (req.temperature)
        body["temperature"] = *req.temperature;
    if (req.top_p)
        body["top_p"] = *req.top_p;
    if (!req.stop.empty()) {
        json::array stop;
        for (const auto& s : req.stop)
            stop.push_back(json::string(s));
        body["stop"] = std::move(stop);
    }
    if (req.seed)
        body["seed"] = *req.seed;
    if (req.n)
        body["n"] = *req.n;
    body["stream"] = stream;
    if (stream && req.stream_include_usage)
        body["stream_options"] = json::object{{"include_usage", true}};
    for (const auto& [k, v] : req.extra)
        body[k] = v;
    return json::serialize(body);
}

llm::completion_response decode_completion_response(std::string_view body)
{
    auto v = parse_object(body, "completion response");
    auto& o = v.get_object();
    auto* cs = field(o, "choices");
    if (!cs || !cs->is_array())
        llm::detail::throw_bad_json("completion response has no choices array", body);
    llm::completion_response r;
    r.id = str(o, "id");
    r.model = str(o, "model");
    if (auto* c = field(o, "created"))
        r.created = llm::detail::to_integer(*c).value_or(0);
    r.choices = choices_of(o);
    if (auto* u = o.if_contains("usage"))
        r.usage = llm::detail::decode_usage(*u);
    if (auto* t = o.if_contains("timings"))
        r.timings = llm::detail::decode_timings(*t);
    r.raw = std::move(o);
    return r;
}

llm::completion_chunk decode_completion_chunk(std::string_view data)
{
    auto v = parse_object(data, "completion stream chunk");
    const auto& o = v.get_object();
    llm::completion_chunk c;
    c.id = str(o, "id");
    c.model = str(o, "model");
    c.choices = choices_of(o);
    if (auto* u = o.if_contains("usage"))
        c.usage = llm::detail::decode_usage(*u);
    if (auto* t = o.if_contains("timings"))
        c.timings = llm::detail::decode_timings(*t);
    c.raw = std::string(data);
    return c;
}

} // namespace detail

namespace {

void check_request(const llm::completion_request& req)
{
    if (req.model.empty())
        throw error(make_error_code(client_errc::invalid_argument), "completion_request::model is empty");
}

// The decode step of a streamed completion.
struct completion_decode {
    using chunk = llm::completion_chunk;
    static constexpr const char* what = "completion_stream::async_next";

    static void decode(std::string_view data, chunk& out) { out = detail::decode_completion_chunk(data); }
    static bool has_output(const chunk& c) noexcept
    {
        return std::any_of(c.choices.begin(), c.choices.end(), [](auto& ch) { return !ch.text.empty(); });
    }
};

using completion_source = detail::sse_source<llm::completion_stream::source, completion_decode>;

} // namespace

asio::awaitable<llm::completion_response> provider::async_complete(llm::completion_request req)
{
    auto self = impl_;
    check_request(req);
    detail::call_spec spec;
    spec.path = "/completions";
    spec.body = detail::encode_completion_request(req, false);
    spec.model = req.model;
    auto a = co_await detail::async_call(*self, std::move(spec), req.call);
    auto out = detail::decode_with(*self, req.model, [&] { return detail::decode_completion_response(a.r.body); });
    out.call = detail::whole_timings(a);
    co_return out;
}

asio::awaitable<llm::completion_stream> provider::async_complete_stream(llm::completion_request req)
{
    auto self = impl_;
    check_request(req);
    detail::call_spec spec;
    spec.path = "/completions";
    spec.body = detail::encode_completion_request(req, true);
    spec.accept = "text/event-stream";
    spec.model = req.model;
    spec.check = detail::event_stream_check;
    auto o = co_await detail::async_open(*self, std::move(spec), req.call);
    co_return llm::completion_stream(
        std::make_unique<completion_source>(std::move(o), self->params.max_event_size, self->params.name, req.model));
}

} // namespace openai
} // namespace majordomo

// POST {base}/audio/transcriptions (multipart upload) and {base}/audio/speech (audio bytes back,
// whole or pulled as they arrive).
#include "openai/audio.hpp"

#include "llm/json_helpers.hpp"
#include "openai/calls.hpp"

#include <majordomo/error.hpp>

#include <boost/asio/this_coro.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <array>
#include <cstdio>

namespace majordomo::openai {

namespace asio = boost::asio;
namespace json = boost::json;
using llm::detail::field;

namespace detail {

namespace {

bool json_format(std::string_view f) { return f == "json" || f == "verbose_json"; }

std::string number_text(double d)
{
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", d);
    return buf;
}

std::string str(const json::object& o, std::string_view k)
{
    auto* v = field(o, k);
    return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

} // namespace

std::vector<http::detail::form_part> transcription_form(const audio::transcription_request& req)
{
    const auto& f = req.response_format;
    if (!json_format(f) && f != "text" && f != "srt" && f != "vtt")
        throw error(make_error_code(client_errc::invalid_argument),
                    "transcription_request::response_format '" + llm::detail::excerpt(f, 40) +
                        "' is not json, verbose_json, text, srt or vtt");
    std::vector<http::detail::form_part> parts;
    parts.push_back({"model", req.model, {}, {}});
    if (!req.language.empty())
        parts.push_back({"language", req.language, {}, {}});
    if (!req.prompt.empty())
        parts.push_back({"prompt", req.prompt, {}, {}});
    parts.push_back({"response_format", f, {}, {}});
    if (req.temperature)
        parts.push_back({"temperature", number_text(*req.temperature), {}, {}});
    for (const auto& [k, v] : req.extra_fields)
        parts.push_back({k, v, {}, {}});
    parts.push_back({"file", req.audio, req.filename.empty() ? std::string("audio") : req.filename, req.mime_type});
    return parts;
}

audio::transcription decode_transcription(std::string_view format, std::string_view body)
{
    audio::transcription t;
    if (!json_format(format)) {
        // A server that fails in text formats still answers its error as JSON.
        if (!body.empty() && body.front() == '{') {
            boost::system::error_code ec;
            auto v = json::parse(body, ec);
            if (!ec && v.is_object() && field(v.get_object(), "error") && !v.get_object().contains("text"))
                llm::detail::throw_in_band_error(v.get_object(), body);
        }
        t.text = std::string(body);
        return t;
    }
    boost::system::error_code ec;
    auto v = json::parse(body, ec);
    if (ec)
        llm::detail::throw_bad_json("malformed transcription (" + ec.message() + ")", body);
    if (!v.is_object())
        llm::detail::throw_bad_json("transcription is not a JSON object", body);
    auto& o = v.get_object();
    auto* text = field(o, "text");
    if (!text && field(o, "error"))
        llm::detail::throw_in_band_error(o, body);
    if (!text || !text->is_string())
        llm::detail::throw_bad_json("transcription has no text", body);
    t.text = std::string(text->get_string());
    t.language = str(o, "language");
    if (t.language.empty())
        t.language = str(o, "detected_language"); // whisper.cpp
    if (auto* d = field(o, "duration"))
        t.duration = llm::detail::to_number(*d);
    if (auto* segs = field(o, "segments"); segs && segs->is_array()) {
        for (const auto& sv : segs->get_array()) {
            if (!sv.is_object())
                continue;
            const auto& so = sv.get_object();
            audio::transcription_segment s;
            s.id = static_cast<std::int64_t>(t.segments.size());
            if (auto* i = field(so, "id"))
                s.id = llm::detail::to_integer(*i).value_or(s.id);
            if (auto* x = field(so, "start"))
                s.start = llm::detail::to_number(*x).value_or(0);
            if (auto* x = field(so, "end"))
                s.end = llm::detail::to_number(*x).value_or(0);
            s.text = str(so, "text");
            s.raw = so;
            t.segments.push_back(std::move(s));
        }
    }
    t.raw = std::move(o);
    return t;
}

std::string encode_speech_request(const audio::speech_request& req)
{
    json::object body{{"model", req.model}, {"input", req.input}};
    if (!req.voice.empty())
        body["voice"] = req.voice;
    if (!req.response_format.empty())
        body["response_format"] = req.response_format;
    if (req.speed)
        body["speed"] = *req.speed;
    for (const auto& [k, v] : req.extra)
        body[k] = v;
    return json::serialize(body);
}

std::optional<std::size_t> wav_announced_size(std::string_view head)
{
    if (head.size() < 8 || head.substr(0, 4) != "RIFF")
        return std::nullopt;
    std::uint32_t n = 0;
    for (int i = 0; i < 4; ++i)
        n |= static_cast<std::uint32_t>(static_cast<unsigned char>(head[4 + i])) << (8 * i);
    // Streaming encoders that do not know the length write 0 or 0xFFFFFFFF: no promise then.
    if (n == 0 || n == 0xFFFFFFFFu)
        return std::nullopt;
    return static_cast<std::size_t>(n) + 8;
}

} // namespace detail

namespace {

void check_speech(const audio::speech_request& req)
{
    if (req.model.empty())
        throw error(make_error_code(client_errc::invalid_argument), "speech_request::model is empty");
    if (req.input.empty())
        throw error(make_error_code(client_errc::invalid_argument), "speech_request::input is empty");
}

// A 2xx speech answer must be audio: JSON or text is an error the server put in the body, or a
// server that does not speak.
bool is_audio(const http::response_stream& s)
{
    auto type = s.headers().find("content-type");
    return type.find("json") == std::string_view::npos && type.substr(0, 5) != "text/";
}

asio::awaitable<void> reject_audio(http::response_stream& s, const detail::call_context& ctx)
{
    auto type = s.headers().find("content-type");
    auto body = co_await s.async_read_all();
    if (detail::unframed_error(body))
        detail::throw_stream_error(ctx, body);
    diagnostics d;
    d.provider = std::string(ctx.provider);
    d.model = std::string(ctx.model);
    d.client_message = "expected audio, got '" + std::string(type.substr(0, 100)) + "'";
    throw error(make_error_code(client_errc::unexpected_content_type), std::move(d));
}

[[noreturn]] void throw_short_wav(std::string_view provider, std::string_view model, std::size_t got,
                                  std::size_t announced)
{
    diagnostics d;
    d.provider = std::string(provider);
    d.model = std::string(model);
    d.client_message = "the WAV body ended after " + std::to_string(got) + " of the " + std::to_string(announced) +
                       " bytes its header announced";
    throw error(make_error_code(client_errc::stream_truncated), std::move(d));
}

// Audio bytes as they arrive, under the call's phase deadlines: the first bytes are its
// first token, the gaps after them its idle time.
class speech_source final : public audio::speech_stream::source {
public:
    speech_source(detail::opened o, std::string provider, std::string model)
        : s_(std::move(o.body)), provider_(std::move(provider)), model_(std::move(model)),
          type_(s_.headers().find("content-type")), phases_(std::move(o.phases))
    {
        timings_ = llm::call_timings::from_http(s_.timings());
        timings_.start = o.start;
        timings_.attempts = o.attempts;
    }

    asio::awaitable<std::optional<std::string>> async_next() override
    {
        if (busy_)
            throw error(make_error_code(client_errc::operation_in_progress), "speech_stream::async_next");
        if (state_ == state::finished)
            co_return std::nullopt;
        if (state_ == state::failed) {
            diagnostics d;
            d.provider = provider_;
            d.model = model_;
            d.client_message = "speech_stream::async_next after the stream failed or was cancelled";
            throw error(make_error_code(client_errc::stream_closed), std::move(d));
        }
        busy_ = true;
        struct unbusy {
            bool& b;
            ~unbusy() { b = false; }
        } guard{busy_};
        try {
            auto cs = co_await asio::this_coro::cancellation_state;
            if (cs.cancelled() != asio::cancellation_type::none)
                throw error(make_error_code(asio::error::operation_aborted), "speech_stream::async_next");
            std::string buf(64 * 1024, '\0');
            const auto bound = phases_.next_chunk(received_ > 0, last_);
            auto read = s_.async_read_some(std::span<char>(buf.data(), buf.size()));
            const llm::detail::call_names names{provider_, model_};
            auto n = co_await llm::detail::async_within(std::move(read), bound, names);
            last_ = llm::call_timings::clock::now();
            timings_.first_byte = s_.timings().first_byte;
            if (n == 0) {
                if (announced_ && received_ < *announced_)
                    throw_short_wav(provider_, model_, received_, *announced_);
                state_ = state::finished;
                timings_.end = last_;
                co_return std::nullopt;
            }
            buf.resize(n);
            if (head_.size() < 8) {
                head_ += buf.substr(0, 8 - head_.size());
                if (head_.size() >= 8)
                    announced_ = detail::wav_announced_size(head_);
            }
            if (received_ == 0)
                timings_.first_token = last_;
            received_ += n;
            co_return buf;
        } catch (...) {
            state_ = state::failed;
            s_.close();
            throw;
        }
    }

    const std::string& content_type() const noexcept override { return type_; }
    const llm::call_timings& timings() const noexcept override { return timings_; }

private:
    enum class state { open, finished, failed };
    http::response_stream s_;
    std::string provider_;
    std::string model_;
    std::string type_;
    llm::detail::phase_plan phases_;
    llm::call_timings timings_;
    llm::call_timings::clock::time_point last_;
    std::string head_;
    std::optional<std::size_t> announced_;
    std::size_t received_ = 0;
    state state_ = state::open;
    bool busy_ = false;
};

detail::call_spec speech_spec(const audio::speech_request& req)
{
    detail::call_spec spec;
    spec.path = "/audio/speech";
    spec.body = detail::encode_speech_request(req);
    spec.accept = "*/*";
    spec.model = req.model;
    spec.check = {is_audio, reject_audio};
    return spec;
}

} // namespace

asio::awaitable<audio::transcription> provider::async_transcribe(audio::transcription_request req)
{
    auto self = impl_;
    if (req.model.empty())
        throw error(make_error_code(client_errc::invalid_argument), "transcription_request::model is empty");
    if (req.audio.empty())
        throw error(make_error_code(client_errc::invalid_argument), "transcription_request::audio is empty");
    auto form = http::detail::encode_multipart(detail::transcription_form(req));
    detail::call_spec spec;
    spec.path = "/audio/transcriptions";
    spec.body = std::move(form.body);
    spec.content_type = form.content_type; // a view: form outlives the call
    spec.model = req.model;
    if (req.response_format == "text" || req.response_format == "srt" || req.response_format == "vtt")
        spec.accept = "text/plain, application/json";
    auto a = co_await detail::async_call(*self, std::move(spec), req.call);
    auto out = detail::decode_with(*self, req.model,
                                   [&] { return detail::decode_transcription(req.response_format, a.r.body); });
    out.call = detail::whole_timings(a);
    co_return out;
}

asio::awaitable<audio::speech_result> provider::async_speech(audio::speech_request req)
{
    auto self = impl_;
    check_speech(req);
    auto spec = speech_spec(req);
    auto o = co_await detail::async_open(*self, std::move(spec), req.call);
    audio::speech_result out;
    out.content_type = std::string(o.body.headers().find("content-type"));
    // The body is the rest of the whole answer: bounded by total.
    auto read = o.body.async_read_all();
    const llm::detail::call_names names{self->params.name, req.model, self->base};
    out.audio = co_await llm::detail::async_within(std::move(read), o.phases.total, names);
    if (auto announced = detail::wav_announced_size(out.audio); announced && out.audio.size() < *announced)
        throw_short_wav(self->params.name, req.model, out.audio.size(), *announced);
    out.call = o.timings();
    out.call.first_token = out.call.first_byte;
    co_return out;
}

asio::awaitable<audio::speech_stream> provider::async_speech_stream(audio::speech_request req)
{
    auto self = impl_;
    check_speech(req);
    auto spec = speech_spec(req);
    auto o = co_await detail::async_open(*self, std::move(spec), req.call);
    co_return audio::speech_stream(std::make_unique<speech_source>(std::move(o), self->params.name, req.model));
}

} // namespace majordomo::openai

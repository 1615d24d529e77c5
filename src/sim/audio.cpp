// The audio upstreams: whisper.cpp's server for POST /v1/audio/transcriptions (a multipart upload;
// json, verbose_json, text, srt and vtt answers) and a text-to-speech server for POST /v1/audio/speech
// (JSON in, audio bytes streamed back). The speech WAV carries its input text in a LIST/INFO ICMT
// chunk, and the transcriber reads it back, so a round trip is checkable; other audio transcribes
// as the model's reply.
#include "server.hpp"

#include "encoding.hpp"
#include "multipart.hpp"
#include "responses.hpp"
#include "upstream_util.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

namespace majordomo::sim::detail {

namespace json = boost::json;

namespace {

constexpr std::uint32_t sample_rate = 16000;
constexpr std::size_t speech_chunk = 4096; // bytes per streamed write

void put_u32(std::string& out, std::uint32_t v)
{
    for (int i = 0; i < 4; ++i)
        out += static_cast<char>(v >> (8 * i) & 0xff);
}

void put_u16(std::string& out, std::uint16_t v)
{
    out += static_cast<char>(v & 0xff);
    out += static_cast<char>(v >> 8);
}

std::uint32_t get_u32(std::string_view s, std::size_t at)
{
    std::uint32_t v = 0;
    for (int i = 0; i < 4; ++i)
        v |= static_cast<std::uint32_t>(static_cast<unsigned char>(s[at + i])) << (8 * i);
    return v;
}

// 16-bit mono PCM: a quiet tone, 60 ms per character of input, between 0.1 s and 10 s.
std::string pcm_for(std::string_view text)
{
    std::size_t samples = std::clamp<std::size_t>(text.size() * sample_rate * 6 / 100, sample_rate / 10,
                                                  sample_rate * 10);
    std::string out;
    out.reserve(samples * 2);
    double freq = 220.0 + static_cast<double>(fnv1a(text) % 440);
    for (std::size_t i = 0; i < samples; ++i) {
        double t = static_cast<double>(i) / sample_rate;
        auto v = static_cast<std::int16_t>(3000 * std::sin(2 * 3.141592653589793 * freq * t));
        put_u16(out, static_cast<std::uint16_t>(v));
    }
    return out;
}

std::string wav_for(std::string_view text)
{
    auto pcm = pcm_for(text);
    std::string comment(text);
    comment += '\0';
    if (comment.size() % 2)
        comment += '\0';
    std::string info = "INFO";
    info += "ICMT";
    put_u32(info, static_cast<std::uint32_t>(comment.size()));
    info += comment;
    std::string body = "WAVE";
    body += "fmt ";
    put_u32(body, 16);
    put_u16(body, 1); // PCM
    put_u16(body, 1); // mono
    put_u32(body, sample_rate);
    put_u32(body, sample_rate * 2);
    put_u16(body, 2);
    put_u16(body, 16);
    body += "LIST";
    put_u32(body, static_cast<std::uint32_t>(info.size()));
    body += info;
    body += "data";
    put_u32(body, static_cast<std::uint32_t>(pcm.size()));
    body += pcm;
    std::string out = "RIFF";
    put_u32(out, static_cast<std::uint32_t>(body.size()));
    return out + body;
}

struct heard {
    std::string text;
    double duration = 0;
};

// What the audio "says": the ICMT text of a WAV made by the speech server, else the reply.
heard listen(std::string_view audio, const std::string& reply)
{
    heard h{reply, static_cast<double>(audio.size()) / (sample_rate * 2)};
    if (audio.size() < 12 || audio.substr(0, 4) != "RIFF" || audio.substr(8, 4) != "WAVE")
        return h;
    std::size_t pos = 12;
    while (pos + 8 <= audio.size()) {
        auto id = audio.substr(pos, 4);
        std::size_t size = get_u32(audio, pos + 4);
        std::size_t body = pos + 8;
        if (size > audio.size() - body)
            break;
        if (id == "data")
            h.duration = static_cast<double>(size) / (sample_rate * 2);
        if (id == "LIST" && size >= 12 && audio.substr(body, 4) == "INFO" && audio.substr(body + 4, 4) == "ICMT") {
            std::size_t n = std::min<std::size_t>(get_u32(audio, body + 8), size - 12);
            auto text = audio.substr(body + 12, n);
            h.text = std::string(text.substr(0, text.find('\0')));
        }
        pos = body + size + (size % 2);
    }
    return h;
}

std::string timestamp(double seconds, char sep)
{
    auto ms = static_cast<long long>(std::llround(seconds * 1000));
    char buf[32];
    std::snprintf(buf, sizeof buf, "%02lld:%02lld:%02lld%c%03lld", ms / 3600000, ms / 60000 % 60, ms / 1000 % 60, sep,
                  ms % 1000);
    return buf;
}

// OpenAI-style errors of the speech server.
asio::awaitable<bool> speech_fail(exchange& x, unsigned status, std::string_view message, std::string_view param)
{
    json::object e;
    e["message"] = message;
    e["type"] = "invalid_request_error";
    e["param"] = param;
    e["code"] = nullptr;
    json::object o;
    o["error"] = std::move(e);
    co_return co_await upstream_reply(x, false, static_cast<http::status>(status), "application/json",
                                      dump_json(o), false);
}

std::string_view language_name(std::string_view code)
{
    if (code.empty() || code == "en" || code == "auto")
        return "english";
    if (code == "de")
        return "german";
    if (code == "fr")
        return "french";
    return code;
}

// whisper.cpp's answer in `format` for what it heard.
upstream_answer transcript(const heard& h, const std::string& format, const std::string& language)
{
    // One segment per sentence-ish piece of up to eight words, spread over the duration.
    auto words = tokenize(h.text);
    std::vector<std::string> pieces;
    for (std::size_t i = 0; i < words.size(); i += 8) {
        std::string s;
        for (std::size_t j = i; j < std::min(words.size(), i + 8); ++j)
            s += words[j];
        pieces.push_back(std::move(s));
    }
    double per = pieces.empty() ? 0 : h.duration / static_cast<double>(pieces.size());

    if (format == "text")
        return {"text/plain; charset=utf-8", h.text + "\n", false};
    if (format == "srt" || format == "vtt") {
        bool vtt = format == "vtt";
        std::string out = vtt ? "WEBVTT\n\n" : "";
        for (std::size_t i = 0; i < pieces.size(); ++i) {
            if (!vtt)
                out += std::to_string(i + 1) + "\n";
            out += timestamp(per * static_cast<double>(i), vtt ? '.' : ',') + " --> " +
                   timestamp(per * static_cast<double>(i + 1), vtt ? '.' : ',') + "\n";
            auto first = pieces[i].find_first_not_of(' ');
            out += (first == std::string::npos ? std::string() : pieces[i].substr(first)) + "\n\n";
        }
        return {vtt ? "text/vtt; charset=utf-8" : "application/x-subrip; charset=utf-8", std::move(out), false};
    }
    json::object out;
    if (format == "verbose_json") {
        out["task"] = "transcribe";
        out["language"] = language_name(language);
        out["duration"] = h.duration;
    }
    out["text"] = h.text;
    if (format == "verbose_json") {
        json::array segs;
        for (std::size_t i = 0; i < pieces.size(); ++i) {
            json::object s;
            s["id"] = i;
            s["text"] = pieces[i];
            s["start"] = per * static_cast<double>(i);
            s["end"] = per * static_cast<double>(i + 1);
            s["temperature"] = 0.0;
            s["avg_logprob"] = -0.25;
            s["no_speech_prob"] = 0.01;
            segs.push_back(std::move(s));
        }
        out["segments"] = std::move(segs);
        out["detected_language"] = language_name(language);
    }
    return {"application/json", dump_json(out), false};
}

} // namespace

asio::awaitable<bool> serve_transcription(exchange& x, model_slot& m, const form& f)
{
    if (m.p.kind != model_kind::transcription)
        co_return co_await sd_not_found(x, false);
    const auto* file = f.find("file");
    if (!file)
        co_return co_await error_string_fail(x, 400, "no 'file' field in the request");
    std::string format = "json";
    if (const auto* rf = f.find("response_format"))
        format = rf->data;
    if (format != "json" && format != "verbose_json" && format != "text" && format != "srt" && format != "vtt")
        co_return co_await error_string_fail(x, 400, "unsupported response_format '" + format + "'");
    if (const auto* t = f.find("temperature")) {
        char* end = nullptr;
        std::strtod(t->data.c_str(), &end);
        if (t->data.empty() || *end != '\0')
            co_return co_await error_string_fail(x, 400, "invalid temperature '" + t->data + "'");
    }
    if (file->data.empty())
        co_return co_await error_string_fail(x, 400, "failed to read audio data");

    auto h = listen(file->data, m.p.reply);
    auto done = clock_type::now() + seconds(static_cast<double>(estimate_tokens(h.text)) / m.p.tokens_per_second);
    std::string language = f.find("language") ? f.find("language")->data : std::string();
    auto answer = [&] { return transcript(h, format, language); };
    co_return co_await serve_when_done(x, m, upstream_server::whisper, done, answer);
}

asio::awaitable<bool> serve_speech(exchange& x, model_slot& m, const json::value& body)
{
    if (m.p.kind != model_kind::speech)
        co_return co_await sd_not_found(x, false);
    if (!body.is_object())
        co_return co_await speech_fail(x, 400, "the body is not a JSON object", "");
    const auto& req = body.get_object();
    const auto* input = req.if_contains("input");
    if (!input || !input->is_string() || input->get_string().empty())
        co_return co_await speech_fail(x, 400, "input must be a non-empty string", "input");
    std::string format = "mp3";
    if (const auto* rf = req.if_contains("response_format"); rf && rf->is_string())
        format = std::string(rf->get_string());
    if (format != "wav" && format != "pcm")
        co_return co_await speech_fail(x, 400,
                                       "response_format '" + format + "' is not supported: this server makes wav and pcm",
                                       "response_format");
    std::string text(input->get_string());
    std::string audio = format == "wav" ? wav_for(text) : pcm_for(text);

    fault flt = m.current_fault;
    if (flt == fault::stall) {
        if (co_await x.s.pause_until(clock_type::time_point::max()) == session::outcome::gone)
            co_return false;
        co_return co_await bad_gateway(x, false);
    }
    if (flt == fault::error_mid_stream)
        co_return co_await speech_fail(x, 500, simulated_failure, "");
    // Audio is streamed as it is synthesized: chunked, one piece per 1/tokens_per_second.
    http::response<http::empty_body> head{http::status::ok, x.req.version()};
    head.set(http::field::content_type, format == "wav" ? "audio/wav" : "audio/pcm");
    head.keep_alive(x.req.keep_alive());
    if (!co_await x.s.start_stream(head))
        co_return false;
    auto interval = seconds(1.0 / m.p.tokens_per_second);
    auto next = clock_type::now();
    std::size_t stop_at = flt == fault::cut_stream ? audio.size() / 2 : audio.size();
    for (std::size_t pos = 0; pos < stop_at; pos += speech_chunk) {
        auto o = co_await x.s.pause_until(next);
        if (o == session::outcome::gone)
            co_return false;
        if (o == session::outcome::cut)
            co_return co_await end_cut(x);
        auto piece = std::string_view(audio).substr(pos, std::min(speech_chunk, stop_at - pos));
        if (!co_await x.s.write_chunk(piece))
            co_return false;
        next += interval;
    }
    bool ok = co_await x.s.end_stream();
    co_return ok && x.req.keep_alive();
}

} // namespace majordomo::sim::detail

#include <majordomo/audio/audio.hpp>
#include <majordomo/http/client.hpp>
#include <majordomo/llamaswap/provider.hpp>
#include <majordomo/openai/provider.hpp>
#include <majordomo/sim/simulator.hpp>

#include "http/multipart.hpp"
#include "openai/audio.hpp"
#include "openai/serve.hpp"
#include "sim/multipart.hpp"
#include "support/failure_of.hpp"
#include "support/printers.hpp"
#include "support/run_coro.hpp"

#include <majordomo/deadline.hpp>
#include <majordomo/llm/classify.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/test/unit_test.hpp>

namespace asio = boost::asio;
using namespace majordomo;
using namespace std::chrono_literals;
using majordomo::test::failure_of;
using majordomo::test::test_server;
using clock_type = std::chrono::steady_clock;
namespace serve = majordomo::test::serve;

namespace {

sim::simulator_params sim_params()
{
    sim::model_params tts;
    tts.id = "kokoro";
    tts.kind = sim::model_kind::speech;
    tts.load_time = 10ms;
    tts.tokens_per_second = 200; // a 4 KiB audio piece every 5 ms
    sim::model_params stt = tts;
    stt.id = "whisper";
    stt.kind = sim::model_kind::transcription;
    stt.reply = "the quick brown fox jumps over the lazy dog and runs far away from here";
    sim::simulator_params sp;
    sp.models = {tts, stt};
    return sp;
}

std::shared_ptr<majordomo::llamaswap::provider> swap_at(asio::io_context& ioc, const sim::simulator& s)
{
    majordomo::llamaswap::provider_params lp;
    lp.base_url = s.url();
    return majordomo::llamaswap::make_provider(ioc.get_executor(), lp);
}

audio::speech_request say(std::string text, std::string format = "wav")
{
    audio::speech_request r;
    r.model = "kokoro";
    r.input = std::move(text);
    r.voice = "af_heart";
    r.response_format = std::move(format);
    return r;
}

audio::transcription_request hear(std::string bytes, std::string format = "json")
{
    audio::transcription_request r;
    r.model = "whisper";
    r.audio = std::move(bytes);
    r.language = "en";
    r.response_format = std::move(format);
    r.temperature = 0.0;
    return r;
}

boost::system::error_code code_of(auto f)
{
    try {
        f();
    } catch (const majordomo::error& e) {
        return e.code();
    }
    return {};
}

const std::string pcm = std::string(4000, '\x01') + std::string(4000, '\x02');

// Answers a transcription or a speech request, as its path says.
asio::awaitable<void> answer(const test::received_request& req, test::exchange& ex)
{
    test::header_list h;
    if (req.target.find("/audio/transcriptions") != std::string::npos) {
        h.add("Content-Type", "application/json");
        co_await ex.async_respond(200, R"({"text":"fine"})", h);
        co_return;
    }
    h.add("Content-Type", "audio/pcm");
    co_await ex.async_respond(200, pcm, h, true);
}

asio::awaitable<std::string> bytes_of(audio::speech_stream& st)
{
    std::string out;
    while (auto piece = co_await st.async_next())
        out += *piece;
    co_return out;
}

} // namespace

BOOST_AUTO_TEST_SUITE(openai)
BOOST_AUTO_TEST_SUITE(audio)

BOOST_AUTO_TEST_CASE(a_429_with_retry_after_inside_a_3s_deadline_succeeds_on_the_second_attempt)
{
    asio::io_context ioc;
    test_server s(ioc.get_executor());
    auto p = serve::provider_at(ioc, s.url());
    test::run_coro(ioc, [&]() -> asio::awaitable<void> {
        // Transcription.
        serve::fail_first(s, 1, 429, "1", answer);
        auto t0 = clock_type::now();
        auto t = co_await with_deadline(p->async_transcribe(hear("RIFF....")), 3s);
        BOOST_TEST(t.text == "fine");
        BOOST_TEST(t.call.attempts == 2);
        BOOST_TEST(serve::ms_since(t0) >= 950); // Retry-After was honoured, not the 10 ms backoff
        BOOST_TEST((t.call.start <= t0 + 50ms));
        // Speech, whole.
        serve::fail_first(s, 1, 429, "1", answer);
        t0 = clock_type::now();
        auto sp = co_await with_deadline(p->async_speech(say("hi", "pcm")), 3s);
        BOOST_TEST(sp.audio == pcm);
        BOOST_TEST(sp.content_type == "audio/pcm");
        BOOST_TEST(sp.call.attempts == 2);
        BOOST_TEST(serve::ms_since(t0) >= 950);
        BOOST_TEST((sp.call.start <= t0 + 50ms));
        // Speech, streamed: retried while it opens.
        serve::fail_first(s, 1, 429, "1", answer);
        t0 = clock_type::now();
        auto st = co_await with_deadline(p->async_speech_stream(say("hi", "pcm")), 3s);
        BOOST_TEST(serve::ms_since(t0) >= 950);
        auto got = co_await with_deadline(bytes_of(st), 3s);
        BOOST_TEST(got == pcm);
        BOOST_TEST(st.timings().attempts == 2);
        BOOST_TEST((st.timings().start <= t0 + 50ms));
    }());
    BOOST_TEST(s.request_count() == 6u);
}

BOOST_AUTO_TEST_CASE(a_503_answer_is_retried_but_a_sent_post_that_broke_is_not)
{
    asio::io_context ioc;
    test_server s(ioc.get_executor());
    test_server gone(ioc.get_executor());
    serve::hang_up_after_request(gone);
    auto p = serve::provider_at(ioc, s.url());
    auto broken = serve::provider_at(ioc, gone.url());
    test::run_coro(ioc, [&]() -> asio::awaitable<void> {
        serve::fail_first(s, 1, 503, "", answer);
        auto t = co_await with_deadline(p->async_transcribe(hear("RIFF....")), 3s);
        BOOST_TEST(t.call.attempts == 2);
        serve::fail_first(s, 1, 503, "", answer);
        auto sp = co_await with_deadline(p->async_speech(say("hi", "pcm")), 3s);
        BOOST_TEST(sp.call.attempts == 2);
        serve::fail_first(s, 1, 503, "", answer);
        auto st = co_await with_deadline(p->async_speech_stream(say("hi", "pcm")), 3s);
        co_await with_deadline(bytes_of(st), 3s);
        BOOST_TEST(st.timings().attempts == 2);
        // The request's own retry_params win over the provider's.
        serve::fail_first(s, 1, 503, "", answer);
        auto hr = hear("RIFF....");
        hr.call.retry = llm::retry_params::none();
        auto f = co_await failure_of(with_deadline(p->async_transcribe(hr), 3s));
        BOOST_REQUIRE(f.has_value());
        BOOST_TEST(f->code() == make_api_error(503));
        BOOST_TEST(f->diag().attempts == 1);
        serve::fail_first(s, 1, 503, "", answer);
        auto sr = say("hi", "pcm");
        sr.call.retry = llm::retry_params::none();
        f = co_await failure_of(with_deadline(p->async_speech(sr), 3s));
        BOOST_REQUIRE(f.has_value());
        BOOST_TEST(f->code() == make_api_error(503));
        // A POST whose connection broke after it was written is not re-sent.
        auto g = co_await failure_of(with_deadline(broken->async_transcribe(hear("RIFF....")), 3s));
        BOOST_REQUIRE(g.has_value());
        BOOST_TEST((llm::classify(*g).kind == llm::error_kind::transport));
        BOOST_TEST(!g->diag().request_not_sent);
        BOOST_TEST(g->diag().attempts == 1);
        g = co_await failure_of(with_deadline(broken->async_speech(say("hi", "pcm")), 3s));
        BOOST_REQUIRE(g.has_value());
        BOOST_TEST((llm::classify(*g).kind == llm::error_kind::transport));
        BOOST_TEST(g->diag().attempts == 1);
        g = co_await failure_of(with_deadline(broken->async_speech_stream(say("hi", "pcm")), 3s));
        BOOST_REQUIRE(g.has_value());
        BOOST_TEST((llm::classify(*g).kind == llm::error_kind::transport));
        BOOST_TEST(g->diag().attempts == 1);
    }());
    BOOST_TEST(s.request_count() == 8u);
    BOOST_TEST(gone.request_count() == 3u);
}

BOOST_AUTO_TEST_CASE(phase_deadlines_bound_transcription_and_speech)
{
    asio::io_context ioc;
    test_server late(ioc.get_executor());
    late.on_request([](const test::received_request& req, test::exchange& ex) -> asio::awaitable<void> {
        co_await ex.async_pause(300ms);
        co_await answer(req, ex);
    });
    // Speech that sends its headers and then nothing, or one piece and then nothing.
    test_server silent(ioc.get_executor());
    silent.on_request([](const test::received_request&, test::exchange& ex) -> asio::awaitable<void> {
        co_await ex.async_write_raw("HTTP/1.1 200 OK\r\nContent-Type: audio/pcm\r\nTransfer-Encoding: chunked\r\n\r\n");
        co_await ex.async_stall();
    });
    test_server stuck(ioc.get_executor());
    stuck.on_request([](const test::received_request&, test::exchange& ex) -> asio::awaitable<void> {
        co_await ex.async_write_raw("HTTP/1.1 200 OK\r\nContent-Type: audio/pcm\r\nTransfer-Encoding: chunked\r\n\r\n" +
                                    serve::chunk("\x01\x02"));
        co_await ex.async_stall();
    });
    auto p = serve::provider_at(ioc, late.url());
    auto ps = serve::provider_at(ioc, silent.url());
    auto pk = serve::provider_at(ioc, stuck.url());
    test::run_coro(ioc, [&]() -> asio::awaitable<void> {
        auto hr = hear("RIFF....");
        hr.call.deadlines.first_token = 100ms;
        auto f = co_await failure_of(with_deadline(p->async_transcribe(hr), 3s));
        BOOST_REQUIRE(f.has_value());
        BOOST_TEST(f->code() == make_error_code(client_errc::first_token_deadline_exceeded));
        BOOST_TEST(f->diag().model == "whisper");
        hr.call.deadlines = {};
        hr.call.deadlines.total = 100ms;
        f = co_await failure_of(with_deadline(p->async_transcribe(hr), 3s));
        BOOST_REQUIRE(f.has_value());
        BOOST_TEST(f->code() == make_error_code(client_errc::total_deadline_exceeded));

        auto sr = say("hi", "pcm");
        sr.call.deadlines.first_token = 100ms;
        f = co_await failure_of(with_deadline(p->async_speech(sr), 3s));
        BOOST_REQUIRE(f.has_value());
        BOOST_TEST(f->code() == make_error_code(client_errc::first_token_deadline_exceeded));
        f = co_await failure_of(with_deadline(p->async_speech_stream(sr), 3s));
        BOOST_REQUIRE(f.has_value());
        BOOST_TEST(f->code() == make_error_code(client_errc::first_token_deadline_exceeded));
        // A whole answer's body is bounded by total.
        sr.call.deadlines = {};
        sr.call.deadlines.total = 200ms;
        f = co_await failure_of(with_deadline(ps->async_speech(sr), 3s));
        BOOST_REQUIRE(f.has_value());
        BOOST_TEST(f->code() == make_error_code(client_errc::total_deadline_exceeded));

        // A stream: its first bytes bounded by first_token, the gaps after them by idle.
        sr.call.deadlines = {};
        sr.call.deadlines.first_token = 200ms;
        auto st = co_await with_deadline(ps->async_speech_stream(sr), 3s);
        f = co_await failure_of(with_deadline(st.async_next(), 3s));
        BOOST_REQUIRE(f.has_value());
        BOOST_TEST(f->code() == make_error_code(client_errc::first_token_deadline_exceeded));
        auto again = co_await failure_of(st.async_next());
        BOOST_REQUIRE(again.has_value());
        BOOST_TEST(again->code() == make_error_code(client_errc::stream_closed));
        sr.call.deadlines = {};
        sr.call.deadlines.idle = 200ms;
        auto st2 = co_await with_deadline(pk->async_speech_stream(sr), 3s);
        auto piece = co_await with_deadline(st2.async_next(), 3s);
        BOOST_REQUIRE(piece.has_value());
        BOOST_TEST(*piece == "\x01\x02");
        f = co_await failure_of(with_deadline(st2.async_next(), 3s));
        BOOST_REQUIRE(f.has_value());
        BOOST_TEST(f->code() == make_error_code(client_errc::idle_deadline_exceeded));
    }());
}

BOOST_AUTO_TEST_CASE(speech_then_transcription_round_trips_through_llama_swap)
{
    asio::io_context ioc;
    sim::simulator s(ioc.get_executor(), sim_params());
    auto p = swap_at(ioc, s);
    const std::string line = "Hello from the speech server, one two three four five six seven eight nine.";
    test::run_coro(ioc, [&]() -> asio::awaitable<void> {
        auto wav = co_await p->async_speech(say(line));
        BOOST_TEST(wav.content_type == "audio/wav");
        BOOST_REQUIRE(wav.audio.size() > 44u);
        BOOST_TEST(wav.audio.substr(0, 4) == "RIFF");
        BOOST_TEST(majordomo::openai::detail::wav_announced_size(wav.audio).value_or(0) == wav.audio.size());
        BOOST_TEST((wav.call.total() > 0ns));

        auto t = co_await p->async_transcribe(hear(wav.audio));
        BOOST_TEST(t.text == line);
        BOOST_TEST(t.segments.empty());

        auto v = co_await p->async_transcribe(hear(wav.audio, "verbose_json"));
        BOOST_TEST(v.text == line);
        BOOST_TEST(v.language == "english");
        BOOST_REQUIRE(v.duration.has_value());
        BOOST_TEST(*v.duration > 1.0);
        BOOST_REQUIRE(v.segments.size() == 2u);
        BOOST_TEST(v.segments[1].id == 1);
        BOOST_TEST(v.segments[1].start > 0);
        BOOST_TEST(v.segments[0].text + v.segments[1].text == line);
        BOOST_TEST(v.raw.at("task").as_string() == "transcribe");

        auto text = co_await p->async_transcribe(hear(wav.audio, "text"));
        BOOST_TEST(text.text == line + "\n");
        BOOST_TEST(text.raw.empty());
        auto srt = co_await p->async_transcribe(hear(wav.audio, "srt"));
        BOOST_TEST(srt.text.rfind("1\n00:00:00,000 --> ", 0) == 0u);
        auto vtt = co_await p->async_transcribe(hear(wav.audio, "vtt"));
        BOOST_TEST(vtt.text.rfind("WEBVTT\n\n00:00:00.000 --> ", 0) == 0u);

        // Audio that is not the speech server's transcribes as the model's reply.
        auto other = co_await p->async_transcribe(hear(std::string(32000, '\x01')));
        BOOST_TEST(other.text == "the quick brown fox jumps over the lazy dog and runs far away from here");

        auto pcm = co_await p->async_speech(say(line, "pcm"));
        BOOST_TEST(pcm.content_type == "audio/pcm");
        BOOST_TEST(pcm.audio.size() % 2 == 0u);
        BOOST_TEST(pcm.audio.size() > 1000u);
    }());
}

BOOST_AUTO_TEST_CASE(streamed_speech_arrives_in_pieces_that_add_up)
{
    asio::io_context ioc;
    sim::simulator s(ioc.get_executor(), sim_params());
    majordomo::openai::provider_params op;
    op.base_url = s.url() + "/v1";
    auto p = majordomo::openai::make_provider(ioc.get_executor(), op);
    test::run_coro(ioc, [&]() -> asio::awaitable<void> {
        auto whole = co_await p->async_speech(say("stream me please"));
        auto st = co_await p->async_speech_stream(say("stream me please"));
        BOOST_TEST(st.content_type() == "audio/wav");
        std::string got;
        int pieces = 0;
        while (auto piece = co_await st.async_next()) {
            got += *piece;
            ++pieces;
        }
        BOOST_TEST(pieces > 1);
        BOOST_TEST(got == whole.audio);
        BOOST_TEST((st.timings().end >= st.timings().first_token));
        auto after = co_await st.async_next();
        BOOST_TEST(!after.has_value());
    }());
}

BOOST_AUTO_TEST_CASE(audio_errors_are_api_errors_and_short_audio_is_truncated)
{
    asio::io_context ioc;
    sim::simulator s(ioc.get_executor(), sim_params());
    auto p = swap_at(ioc, s);
    test::run_coro(ioc, [&]() -> asio::awaitable<void> {
        // The speech server's own 400, with its message.
        auto e = co_await failure_of(p->async_speech(say("hi", "mp3")));
        BOOST_REQUIRE(e.has_value());
        BOOST_TEST(e->code() == make_api_error(400));
        BOOST_TEST(e->diag().server_message.find("mp3") != std::string::npos);
        e = co_await failure_of(p->async_speech_stream(say("hi", "mp3")));
        BOOST_REQUIRE(e.has_value());
        BOOST_TEST(e->code() == make_api_error(400));
        // Routed by the multipart model field: an unknown model is llama-swap's 404.
        auto req = hear("RIFF....");
        req.model = "nope";
        e = co_await failure_of(p->async_transcribe(req));
        BOOST_REQUIRE(e.has_value());
        BOOST_TEST(e->code() == make_api_error(404));
        BOOST_TEST(e->diag().server_message == "no router for requested model");
        // A server of the wrong kind has no such route.
        req.model = "kokoro";
        e = co_await failure_of(p->async_transcribe(req));
        BOOST_REQUIRE(e.has_value());
        BOOST_TEST(e->code() == make_api_error(404));
        // whisper.cpp's {"error":"..."}.
        s.set_fault("whisper", sim::fault::error_mid_stream);
        e = co_await failure_of(p->async_transcribe(hear("abc")));
        BOOST_REQUIRE(e.has_value());
        BOOST_TEST(e->code() == make_api_error(500));
        BOOST_TEST(e->diag().server_message == "simulated upstream failure");

        // A WAV cut short ends cleanly on the wire: its header tells.
        s.set_fault("kokoro", sim::fault::cut_stream);
        e = co_await failure_of(p->async_speech(say("a sentence long enough to need several pieces of audio")));
        BOOST_REQUIRE(e.has_value());
        BOOST_TEST(e->code() == make_error_code(client_errc::stream_truncated));
        auto st = co_await p->async_speech_stream(say("a sentence long enough to need several pieces of audio"));
        std::optional<majordomo::error> truncated;
        for (int i = 0; i < 100 && !truncated; ++i)
            truncated = co_await failure_of(st.async_next());
        BOOST_REQUIRE(truncated.has_value());
        BOOST_TEST(truncated->code() == make_error_code(client_errc::stream_truncated));
        auto closed = co_await failure_of(st.async_next());
        BOOST_REQUIRE(closed.has_value());
        BOOST_TEST(closed->code() == make_error_code(client_errc::stream_closed));
    }());
}

BOOST_AUTO_TEST_CASE(bad_audio_input_fails_before_sending)
{
    asio::io_context ioc;
    sim::simulator s(ioc.get_executor(), sim_params());
    auto p = swap_at(ioc, s);
    test::run_coro(ioc, [&]() -> asio::awaitable<void> {
        auto inv = make_error_code(client_errc::invalid_argument);
        auto e = co_await failure_of(p->async_transcribe(hear("")));
        BOOST_REQUIRE(e.has_value());
        BOOST_TEST(e->code() == inv);
        e = co_await failure_of(p->async_transcribe(hear("abc", "xml")));
        BOOST_REQUIRE(e.has_value());
        BOOST_TEST(e->code() == inv);
        e = co_await failure_of(p->async_speech(say("")));
        BOOST_REQUIRE(e.has_value());
        BOOST_TEST(e->code() == inv);
        e = co_await failure_of(p->async_speech_stream(say("")));
        BOOST_REQUIRE(e.has_value());
        BOOST_TEST(e->code() == inv);
        BOOST_TEST(s.stats().requests == 0u);
    }());
}

// The simulator parses uploads for real: malformed ones are rejected, as llama-swap and whisper.cpp do.
BOOST_AUTO_TEST_CASE(the_simulator_rejects_malformed_uploads)
{
    asio::io_context ioc;
    sim::simulator s(ioc.get_executor(), sim_params());
    http::client c(ioc.get_executor());
    auto post = [&](std::string content_type, std::string body, std::string path = "/v1/audio/transcriptions") {
        http::request r;
        r.method = "POST";
        r.url = s.url() + path;
        r.headers.push_back({"Content-Type", std::move(content_type)});
        r.body = std::move(body);
        return c.async_request(std::move(r));
    };
    test::run_coro(ioc, [&]() -> asio::awaitable<void> {
        // No closing delimiter.
        auto r = co_await post("multipart/form-data; boundary=XX", "--XX\r\nContent-Disposition: form-data; "
                                                                 "name=\"model\"\r\n\r\nwhisper\r\n");
        BOOST_TEST(r.status == 400);
        BOOST_TEST(r.body.find("multipart") != std::string::npos);
        // No boundary at all.
        r = co_await post("multipart/form-data", "whatever");
        BOOST_TEST(r.status == 400);
        // Well formed, but without the model field: llama-swap cannot route it.
        r = co_await post("multipart/form-data; boundary=\"XX\"",
                          "--XX\r\nContent-Disposition: form-data; name=\"language\"\r\n\r\nen\r\n--XX--\r\n");
        BOOST_TEST(r.status == 404);
        BOOST_TEST(r.body.find("no model id could be identified") != std::string::npos);
        // Routed, but without a file: whisper.cpp's error.
        r = co_await post("multipart/form-data; boundary=XX",
                          "--XX\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\nwhisper\r\n--XX--\r\n");
        BOOST_TEST(r.status == 400);
        BOOST_TEST(r.body == R"({"error":"no 'file' field in the request"})");
        // Through /upstream, a malformed upload gets cpp-httplib's bare 400.
        r = co_await post("multipart/form-data; boundary=XX", "--XX\r\ngarbage", "/upstream/whisper/inference");
        BOOST_TEST(r.status == 400);
    }());
}

BOOST_AUTO_TEST_CASE(multipart_encoding_and_transcription_decoding)
{
    using namespace majordomo::http::detail;
    // A value holding a would-be boundary, quotes and line breaks in names: it still parses back.
    std::vector<form_part> parts{{"model", "whisper", {}, {}},
                                 {"we\"ird\r\n", "--majordomo-x\r\n--", {}, {}},
                                 {"file", std::string("\0\1\2\r\n--", 7), "a \"b\".wav", "audio/wav"}};
    auto body = encode_multipart(parts);
    BOOST_TEST(body.content_type.rfind("multipart/form-data; boundary=majordomo-", 0) == 0u);
    std::string why;
    auto parsed = majordomo::sim::detail::parse_multipart(body.content_type, body.body, why);
    BOOST_REQUIRE_MESSAGE(parsed.has_value(), why);
    BOOST_REQUIRE(parsed->parts.size() == 3u);
    BOOST_TEST(parsed->parts[1].name == "we%22ird%0D%0A");
    BOOST_TEST(parsed->parts[1].data == "--majordomo-x\r\n--");
    BOOST_TEST(parsed->parts[2].data == std::string("\0\1\2\r\n--", 7));
    BOOST_TEST(parsed->parts[2].filename == "a %22b%22.wav");
    BOOST_TEST(parsed->parts[2].content_type == "audio/wav");
    // A boundary found inside a part is refused, so the encoder draws another.
    BOOST_TEST(encode_multipart({{"x", "a--BB", {}, {}}}, "BB").empty());
    BOOST_TEST(!encode_multipart({{"x", "a-BB", {}, {}}}, "BB").empty());

    using majordomo::openai::detail::decode_transcription;
    auto w = decode_transcription("verbose_json",
                                  R"({"text":"hi","detected_language":"german","duration":"x","segments":[{"text":"hi","start":0,"end":1.5}],"extra":1})");
    BOOST_TEST(w.text == "hi");
    BOOST_TEST(w.language == "german");
    BOOST_TEST(!w.duration.has_value());
    BOOST_REQUIRE(w.segments.size() == 1u);
    BOOST_TEST(w.segments[0].end == 1.5);
    BOOST_TEST(w.raw.contains("extra"));
    BOOST_TEST(decode_transcription("text", "plain words\n").text == "plain words\n");
    auto bad = make_error_code(client_errc::bad_json);
    BOOST_TEST(code_of([] { decode_transcription("json", "plain words"); }) == bad);
    BOOST_TEST(code_of([] { decode_transcription("json", R"({"segments":[]})"); }) == bad);
    BOOST_TEST(code_of([] { decode_transcription("json", R"({"text":5})"); }) == bad);
    BOOST_TEST(code_of([] { decode_transcription("json", R"({"error":"failed to read audio data"})"); }) ==
               make_api_error(500));
    BOOST_TEST(code_of([] { decode_transcription("text", R"({"error":{"message":"no","code":400}})"); }) ==
               make_api_error(400));
}

BOOST_AUTO_TEST_SUITE_END()
BOOST_AUTO_TEST_SUITE_END()

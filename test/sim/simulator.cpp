// The llama-swap simulator driven over loopback with a bare Beast client, so these tests depend on
// nothing but the sim layer. Each test ends by stopping the simulator and requires the io_context to
// run out of work: stop() must end every connection, stream and timer.
#include <majordomo/sim/simulator.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/crc.hpp>
#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <exception>
#include <map>
#include <memory>
#include <ostream>
#include <string>
#include <thread>
#include <vector>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;
namespace ms = majordomo::sim;
using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

// Printers for Boost.Test messages.
namespace majordomo::sim {
inline std::ostream& operator<<(std::ostream& os, model_state v) { return os << to_string(v); }
inline std::ostream& operator<<(std::ostream& os, fault v) { return os << to_string(v); }
inline std::ostream& operator<<(std::ostream& os, model_kind v) { return os << static_cast<int>(v); }
inline std::ostream& operator<<(std::ostream& os, error_format v) { return os << static_cast<int>(v); }
} // namespace majordomo::sim

namespace {

struct reply {
    unsigned status = 0;
    std::map<std::string, std::string> headers; // lower-case names
    std::string body;

    std::string header(const std::string& name) const
    {
        auto it = headers.find(name);
        return it == headers.end() ? std::string() : it->second;
    }
};

using header_vec = std::vector<std::pair<std::string, std::string>>;

std::string lower(std::string s)
{
    for (auto& c : s)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

// One request on a fresh connection, the body read to its end (a clean chunked EOF included).
asio::awaitable<reply> fetch(std::uint16_t port, http::verb method, std::string target, std::string body,
                             header_vec headers)
{
    auto ex = co_await asio::this_coro::executor;
    beast::tcp_stream stream(ex);
    asio::ip::tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), port);
    co_await stream.async_connect(ep, asio::use_awaitable);
    http::request<http::string_body> req(method, target, 11);
    req.set(http::field::host, "127.0.0.1");
    bool has_type = false;
    for (const auto& [k, v] : headers) {
        req.set(k, v);
        has_type = has_type || lower(k) == "content-type";
    }
    if (method == http::verb::post) {
        if (!has_type)
            req.set(http::field::content_type, "application/json");
        req.body() = body;
        req.prepare_payload();
    }
    co_await http::async_write(stream, req, asio::use_awaitable);
    beast::flat_buffer buf;
    http::response_parser<http::string_body> parser;
    parser.body_limit(64 * 1024 * 1024);
    co_await http::async_read(stream, buf, parser, asio::use_awaitable);
    reply r;
    auto res = parser.release();
    r.status = res.result_int();
    for (const auto& f : res)
        r.headers[lower(std::string(f.name_string()))] = std::string(f.value());
    r.body = std::move(res.body());
    co_return r;
}

asio::awaitable<reply> get(std::uint16_t port, std::string target, header_vec headers = {})
{
    co_return co_await fetch(port, http::verb::get, std::move(target), {}, std::move(headers));
}

asio::awaitable<reply> post(std::uint16_t port, std::string target, std::string body, header_vec headers = {})
{
    co_return co_await fetch(port, http::verb::post, std::move(target), std::move(body), std::move(headers));
}

std::string chat_body(const std::string& model, bool stream, const std::string& extra = {})
{
    std::string s = R"({"model":")" + model + R"(","messages":[{"role":"user","content":"hi"}])";
    if (stream)
        s += R"(,"stream":true)";
    if (!extra.empty())
        s += "," + extra;
    return s + "}";
}

asio::awaitable<void> sleep_for(clock_type::duration d)
{
    asio::steady_timer t(co_await asio::this_coro::executor, d);
    co_await t.async_wait(asio::use_awaitable);
}

long long ms_since(clock_type::time_point t)
{
    return std::chrono::duration_cast<std::chrono::milliseconds>(clock_type::now() - t).count();
}

ms::model_params model(std::string id, std::chrono::milliseconds load = 50ms, double tps = 400)
{
    ms::model_params m;
    m.id = std::move(id);
    m.load_time = load;
    m.tokens_per_second = tps;
    m.reply = "one two three four";
    return m;
}

// Runs the test coroutine, stops the simulator when it ends, then requires the io_context to drain.
void run(asio::io_context& ioc, ms::simulator& s, asio::awaitable<void> op, int threads = 1)
{
    std::exception_ptr failure;
    std::atomic<bool> finished{false};
    asio::co_spawn(ioc, std::move(op), [&](std::exception_ptr e) {
        failure = e;
        finished = true;
        s.stop();
    });
    std::vector<std::thread> pool;
    for (int i = 1; i < threads; ++i)
        pool.emplace_back([&] { ioc.run_for(30s); });
    ioc.run_for(30s);
    for (auto& t : pool)
        t.join();
    BOOST_REQUIRE_MESSAGE(finished, "the test coroutine did not finish in time");
    BOOST_TEST(ioc.stopped(), "stop() left work behind on the io_context");
    if (failure)
        std::rethrow_exception(failure);
}

// Reads raw bytes (chunk framing included) until `needle` has been seen.
asio::awaitable<void> read_until(asio::ip::tcp::socket& sock, std::string& seen, std::string needle)
{
    std::array<char, 4096> buf{};
    while (seen.find(needle) == std::string::npos) {
        auto n = co_await sock.async_read_some(asio::buffer(buf), asio::use_awaitable);
        seen.append(buf.data(), n);
    }
}

std::vector<std::string> sse_data(const std::string& body)
{
    std::vector<std::string> out;
    std::size_t pos = 0;
    while ((pos = body.find("data: ", pos)) != std::string::npos) {
        auto end = body.find("\n\n", pos);
        out.push_back(body.substr(pos + 6, end - pos - 6));
        pos = end;
    }
    return out;
}

std::uint32_t be32(const std::string& s, std::size_t at)
{
    auto b = [&](std::size_t i) { return static_cast<std::uint32_t>(static_cast<unsigned char>(s[at + i])); };
    return b(0) << 24 | b(1) << 16 | b(2) << 8 | b(3);
}

std::string base64_decode(std::string_view in)
{
    static constexpr std::string_view a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    std::uint32_t acc = 0;
    int bits = 0;
    for (char c : in) {
        if (c == '=')
            break;
        acc = acc << 6 | static_cast<std::uint32_t>(a.find(c));
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out += static_cast<char>(acc >> bits & 0xff);
        }
    }
    return out;
}

} // namespace

BOOST_AUTO_TEST_SUITE(sim)

BOOST_AUTO_TEST_CASE(cold_load_waits_then_warm_requests_do_not)
{
    asio::io_context ioc;
    ms::simulator_params p;
    p.models.push_back(model("a", 300ms));
    ms::simulator server(ioc.get_executor(), p);
    run(ioc, server, [](ms::simulator& s) -> asio::awaitable<void> {
        auto t0 = clock_type::now();
        auto r = co_await post(s.port(), "/v1/chat/completions", chat_body("a", false));
        BOOST_TEST(r.status == 200u);
        BOOST_TEST(ms_since(t0) >= 300);
        auto t1 = clock_type::now();
        r = co_await post(s.port(), "/v1/chat/completions", chat_body("a", false));
        BOOST_TEST(r.status == 200u);
        BOOST_TEST(ms_since(t1) < 250);
        auto v = json::parse(r.body).as_object();
        BOOST_TEST(v.at("object").as_string() == "chat.completion");
        BOOST_TEST(v.at("choices").at(0).at("message").at("content").as_string() == "one two three four");
        BOOST_TEST(v.contains("timings"));
        BOOST_TEST(v.at("usage").as_object().at("completion_tokens").as_int64() == 4);
        auto st = s.stats();
        BOOST_TEST(st.loads == 1u);
        BOOST_TEST(st.models.at("a").served == 2u);
        BOOST_TEST(st.models.at("a").state == ms::model_state::ready);
    }(server));
}

BOOST_AUTO_TEST_CASE(swaps_a_b_a_and_reports_running)
{
    asio::io_context ioc;
    ms::simulator_params p;
    p.models.push_back(model("a"));
    p.models.push_back(model("b"));
    p.models.back().aliases = {"bee"};
    ms::simulator server(ioc.get_executor(), p);
    run(ioc, server, [](ms::simulator& s) -> asio::awaitable<void> {
        const std::array<std::string, 3> order = {"a", "bee", "a"};
        for (const auto& m : order) {
            auto r = co_await post(s.port(), "/v1/chat/completions", chat_body(m, false));
            BOOST_TEST(r.status == 200u);
        }
        auto st = s.stats();
        BOOST_TEST(st.swaps == 2u);
        BOOST_TEST(st.models.at("a").loads == 2u);
        BOOST_TEST(st.models.at("b").loads == 1u);
        auto running = co_await get(s.port(), "/running");
        auto rows = json::parse(running.body).as_object().at("running").as_array();
        BOOST_REQUIRE(rows.size() == 1u);
        BOOST_TEST(rows[0].as_object().at("model").as_string() == "a");
        BOOST_TEST(rows[0].as_object().at("state").as_string() == "ready");
        auto list = co_await get(s.port(), "/v1/models");
        auto data = json::parse(list.body).as_object().at("data").as_array();
        BOOST_TEST(data.size() == 2u);
        BOOST_TEST(data[0].as_object().at("status").as_object().at("value").as_string() == "loaded");
        BOOST_TEST(data[1].as_object().at("status").as_object().at("value").as_string() == "unloaded");
    }(server));
}

BOOST_AUTO_TEST_CASE(stream_framing_matches_llama_server)
{
    asio::io_context ioc;
    ms::simulator_params p;
    p.models.push_back(model("a"));
    ms::simulator server(ioc.get_executor(), p);
    run(ioc, server, [](ms::simulator& s) -> asio::awaitable<void> {
        auto r = co_await post(s.port(), "/v1/chat/completions",
                               chat_body("a", true, R"("stream_options":{"include_usage":true})"));
        BOOST_TEST(r.status == 200u);
        BOOST_TEST(r.header("content-type") == "text/event-stream");
        BOOST_TEST(r.header("transfer-encoding") == "chunked");
        BOOST_TEST(r.body.substr(0, 6) == "data: ");
        BOOST_TEST(r.body.size() >= 14u);
        BOOST_TEST(r.body.substr(r.body.size() - 14) == "data: [DONE]\n\n");
        BOOST_TEST(r.body.find('\r') == std::string::npos);
        auto events = sse_data(r.body);
        // role, 4 content deltas, finish, usage, [DONE]
        BOOST_REQUIRE(events.size() == 8u);
        auto role = json::parse(events[0]).as_object();
        auto delta = role.at("choices").as_array()[0].as_object().at("delta").as_object();
        BOOST_TEST(delta.at("role").as_string() == "assistant");
        BOOST_TEST(delta.at("content").is_null());
        std::string text;
        for (int i = 1; i <= 4; ++i)
            text += json::parse(events[i]).at("choices").at(0).at("delta").at("content").as_string();
        BOOST_TEST(text == "one two three four");
        auto fin = json::parse(events[5]).as_object();
        BOOST_TEST(fin.at("choices").at(0).at("finish_reason").as_string() == "stop");
        BOOST_TEST(!fin.contains("timings")); // timings ride on the usage chunk when there is one
        auto usage = json::parse(events[6]).as_object();
        BOOST_TEST(usage.at("choices").as_array().empty());
        BOOST_TEST(usage.at("usage").at("completion_tokens").as_int64() == 4);
        BOOST_TEST(usage.contains("timings"));
        BOOST_TEST(events[7] == "[DONE]");
        BOOST_TEST(role.at("id").as_string() == usage.at("id").as_string());

        auto limited_body = chat_body("a", true, R"("max_tokens":2)");
        auto limited = co_await post(s.port(), "/v1/chat/completions", limited_body);
        auto ev = sse_data(limited.body);
        BOOST_REQUIRE(ev.size() == 5u); // role, 2 deltas, finish (with timings), [DONE]
        BOOST_TEST(json::parse(ev[3]).at("choices").at(0).at("finish_reason").as_string() == "length");
        BOOST_TEST(json::parse(ev[3]).as_object().contains("timings"));
    }(server));
}

BOOST_AUTO_TEST_CASE(concurrency_limit_answers_429_with_retry_after)
{
    asio::io_context ioc;
    ms::simulator_params p;
    p.models.push_back(model("a", 50ms, 10)); // four tokens at 10/s: ~400 ms
    p.models.back().concurrency_limit = 1;
    ms::simulator server(ioc.get_executor(), p);
    run(ioc, server, [](ms::simulator& s) -> asio::awaitable<void> {
        auto ex = co_await asio::this_coro::executor;
        std::atomic<unsigned> first{0};
        asio::co_spawn(ex, [](ms::simulator& sm, std::atomic<unsigned>& out) -> asio::awaitable<void> {
            auto r = co_await post(sm.port(), "/v1/chat/completions", chat_body("a", false));
            out = r.status;
        }(s, first), asio::detached);
        co_await sleep_for(150ms);
        auto r = co_await post(s.port(), "/v1/chat/completions", chat_body("a", false));
        BOOST_TEST(r.status == 429u);
        BOOST_TEST(r.header("retry-after") == "1");
        auto err = json::parse(r.body).as_object();
        BOOST_TEST(err.at("src").as_string() == "llama-swap");
        BOOST_TEST(err.at("error").at("code").as_string() == "concurrency_limit");
        BOOST_TEST(err.at("error").at("type").as_string() == "rate_limit_error");
        while (first == 0)
            co_await sleep_for(20ms);
        BOOST_TEST(first == 200u);
        BOOST_TEST(s.stats().rejected == 1u);
    }(server));
}

BOOST_AUTO_TEST_CASE(api_keys_are_enforced_except_on_health)
{
    asio::io_context ioc;
    ms::simulator_params p;
    p.models.push_back(model("a"));
    p.api_keys = {"sk-1"};
    ms::simulator server(ioc.get_executor(), p);
    run(ioc, server, [](ms::simulator& s) -> asio::awaitable<void> {
        auto r = co_await get(s.port(), "/v1/models");
        BOOST_TEST(r.status == 401u);
        BOOST_TEST(r.header("www-authenticate") == "Basic realm=\"llama-swap\"");
        BOOST_TEST(json::parse(r.body).at("error").at("type").as_string() == "authentication_error");
        header_vec bearer{{"Authorization", "Bearer sk-1"}};
        auto with_bearer = co_await get(s.port(), "/v1/models", bearer);
        BOOST_TEST(with_bearer.status == 200u);
        header_vec key{{"x-api-key", "sk-1"}};
        auto with_key = co_await get(s.port(), "/running", key);
        BOOST_TEST(with_key.status == 200u);
        header_vec wrong{{"Authorization", "Bearer sk-2"}};
        auto with_wrong = co_await post(s.port(), "/v1/chat/completions", chat_body("a", false), wrong);
        BOOST_TEST(with_wrong.status == 401u);
        auto health = co_await get(s.port(), "/health");
        BOOST_TEST(health.status == 200u);
        BOOST_TEST(health.body == "OK");
        BOOST_TEST(s.stats().unauthorized == 2u);
    }(server));
}

BOOST_AUTO_TEST_CASE(unload_cuts_a_stream_without_done)
{
    asio::io_context ioc;
    ms::simulator_params p;
    p.models.push_back(model("a", 20ms, 10));
    p.models.back().reply = "w1 w2 w3 w4 w5 w6 w7 w8 w9 w10";
    ms::simulator server(ioc.get_executor(), p);
    run(ioc, server, [](ms::simulator& s) -> asio::awaitable<void> {
        auto ex = co_await asio::this_coro::executor;
        auto streamed = std::make_shared<reply>();
        asio::co_spawn(ex, [](ms::simulator& sm, std::shared_ptr<reply> out) -> asio::awaitable<void> {
            *out = co_await post(sm.port(), "/v1/chat/completions", chat_body("a", true));
        }(s, streamed), asio::detached);
        co_await sleep_for(350ms);
        auto u = co_await post(s.port(), "/api/models/unload/a", "");
        BOOST_TEST(u.status == 200u);
        BOOST_TEST(u.body == "OK");
        while (streamed->status == 0)
            co_await sleep_for(20ms);
        BOOST_TEST(streamed->status == 200u);
        BOOST_TEST(streamed->body.find("[DONE]") == std::string::npos);
        BOOST_TEST(streamed->body.find("w1") != std::string::npos);
        auto st = s.stats();
        BOOST_TEST(st.cut == 1u);
        BOOST_TEST(st.models.at("a").state == ms::model_state::stopped);
        auto all = co_await post(s.port(), "/api/models/unload", "");
        BOOST_TEST(all.body == "{\"msg\":\"ok\"}\n");
    }(server));
}

BOOST_AUTO_TEST_CASE(queued_request_fails_when_its_model_is_unloaded)
{
    asio::io_context ioc;
    ms::simulator_params p;
    p.models.push_back(model("a", 500ms));
    ms::simulator server(ioc.get_executor(), p);
    run(ioc, server, [](ms::simulator& s) -> asio::awaitable<void> {
        auto ex = co_await asio::this_coro::executor;
        auto waiting = std::make_shared<reply>();
        asio::co_spawn(ex, [](ms::simulator& sm, std::shared_ptr<reply> out) -> asio::awaitable<void> {
            *out = co_await post(sm.port(), "/v1/chat/completions", chat_body("a", false));
        }(s, waiting), asio::detached);
        co_await sleep_for(100ms);
        BOOST_TEST(s.stats().models.at("a").state == ms::model_state::starting);
        co_await get(s.port(), "/unload");
        while (waiting->status == 0)
            co_await sleep_for(20ms);
        BOOST_TEST(waiting->status == 500u);
        BOOST_TEST(json::parse(waiting->body).at("error").at("message").as_string() ==
                   "unspecific error: group: model unloaded");
    }(server));
}

BOOST_AUTO_TEST_CASE(failed_start_is_500_or_appended_to_a_loading_stream)
{
    asio::io_context ioc;
    ms::simulator_params p;
    p.models.push_back(model("bad", 100ms));
    p.models.back().f = ms::fault::fail_to_start;
    p.models.back().send_loading_state = true;
    p.errors = ms::error_format::legacy;
    ms::simulator server(ioc.get_executor(), p);
    run(ioc, server, [](ms::simulator& s) -> asio::awaitable<void> {
        auto r = co_await post(s.port(), "/v1/chat/completions", chat_body("bad", false));
        BOOST_TEST(r.status == 500u);
        BOOST_TEST(r.body ==
                   R"({"src":"llama-swap","error":"unspecific error: health check timed out after 100ms"})");
        auto ls = co_await post(s.port(), "/v1/chat/completions", chat_body("bad", true));
        BOOST_TEST(ls.status == 200u);
        BOOST_TEST(ls.header("content-type") == "text/event-stream");
        std::string banner =
            R"(data: {"choices":[{"delta":{"reasoning_content":"llama-swap loading model: bad\n"}}]})";
        BOOST_TEST(ls.body.find(banner) != std::string::npos);
        BOOST_TEST(ls.body.size() >= r.body.size());
        BOOST_TEST(ls.body.substr(ls.body.size() - r.body.size()) == r.body); // raw, unframed
        BOOST_TEST(ls.body.find("[DONE]") == std::string::npos);
        // It recovers: the next attempt loads again.
        s.set_fault("bad", ms::fault::none);
        auto ok = co_await post(s.port(), "/v1/chat/completions", chat_body("bad", false));
        BOOST_TEST(ok.status == 200u);
        BOOST_TEST(s.stats().models.at("bad").loads == 3u);
    }(server));
}

BOOST_AUTO_TEST_CASE(runtime_faults_cut_and_error_streams)
{
    asio::io_context ioc;
    ms::simulator_params p;
    p.models.push_back(model("a"));
    ms::simulator server(ioc.get_executor(), p);
    run(ioc, server, [](ms::simulator& s) -> asio::awaitable<void> {
        s.set_fault("a", ms::fault::cut_stream);
        auto cut = co_await post(s.port(), "/v1/chat/completions", chat_body("a", true));
        BOOST_TEST(cut.status == 200u);
        BOOST_TEST(cut.body.find("[DONE]") == std::string::npos);
        auto whole = co_await post(s.port(), "/v1/chat/completions", chat_body("a", false));
        BOOST_TEST(whole.status == 502u);
        BOOST_TEST(whole.body.empty());
        s.set_fault("a", ms::fault::error_mid_stream);
        auto err = co_await post(s.port(), "/v1/chat/completions", chat_body("a", true));
        auto ev = sse_data(err.body);
        BOOST_REQUIRE(!ev.empty());
        BOOST_TEST(json::parse(ev.back()).at("error").at("type").as_string() == "server_error");
        BOOST_TEST(err.body.find("[DONE]") == std::string::npos);
    }(server));
}

// Every unstreamed upstream (llama-server's chat, embeddings, completions and rerank, sd-server,
// whisper.cpp) answers in its own shape, and meets the faults the same way: a cut is Go's empty 502,
// error_mid_stream is that upstream's own 500, a stall holds the request until an unload cuts it.
BOOST_AUTO_TEST_CASE(each_upstream_answers_in_its_shape_and_meets_faults_alike)
{
    struct upstream_case {
        std::string model;
        ms::model_kind kind;
        std::string target;
        std::string body;
        std::string content_type; ///< of the request; "" for JSON
        std::string answer_type;  ///< of a 200
        bool llama;               ///< answers with llama-server's Server header
        std::string failure;      ///< the body of its 500 under error_mid_stream
        std::string failure_type;
    };
    const std::string llama_failure =
        R"({"error":{"code":500,"message":"simulated upstream failure","type":"server_error"}})";
    const std::string llama_json = "application/json; charset=utf-8";
    const std::string upload = "--XB\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\nw\r\n"
                               "--XB\r\nContent-Disposition: form-data; name=\"response_format\"\r\n\r\ntext\r\n"
                               "--XB\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.wav\"\r\n"
                               "Content-Type: audio/wav\r\n\r\nnot a wav\r\n--XB--\r\n";
    const std::vector<upstream_case> cases = {
        {"c", ms::model_kind::chat, "/v1/chat/completions", chat_body("c", false), "", llama_json, true,
         llama_failure, llama_json},
        {"c", ms::model_kind::chat, "/v1/completions", R"({"model":"c","prompt":"hi"})", "", llama_json, true,
         llama_failure, llama_json},
        {"e", ms::model_kind::embedding, "/v1/embeddings", R"({"model":"e","input":"hi"})", "", llama_json, true,
         llama_failure, llama_json},
        {"r", ms::model_kind::reranker, "/v1/rerank", R"({"model":"r","query":"q","documents":["a","b"]})", "",
         llama_json, true, llama_failure, llama_json},
        {"r", ms::model_kind::reranker, "/v1/rerank", R"({"model":"r","query":"q","texts":["a"]})", "",
         llama_json, true, llama_failure, llama_json},
        {"i", ms::model_kind::image, "/v1/images/generations", R"({"model":"i","prompt":"a fox"})", "",
         "application/json", false, R"({"error":"generate_image returned no results"})", "application/json"},
        {"w", ms::model_kind::transcription, "/v1/audio/transcriptions", upload,
         "multipart/form-data; boundary=XB", "text/plain; charset=utf-8", false,
         R"({"error":"simulated upstream failure"})", "application/json"},
    };
    asio::io_context ioc;
    ms::simulator_params p;
    for (auto [id, kind] : {std::pair{"c", ms::model_kind::chat}, std::pair{"e", ms::model_kind::embedding},
                            std::pair{"r", ms::model_kind::reranker}, std::pair{"i", ms::model_kind::image},
                            std::pair{"w", ms::model_kind::transcription}}) {
        p.models.push_back(model(id, 0ms, 2000));
        p.models.back().kind = kind;
    }
    ms::simulator server(ioc.get_executor(), p);
    run(ioc, server, [](ms::simulator& s, const std::vector<upstream_case>& table) -> asio::awaitable<void> {
        for (const auto& c : table) {
            header_vec type;
            if (!c.content_type.empty())
                type.emplace_back("Content-Type", c.content_type);
            std::string what = c.target + " " + c.body.substr(0, 40);

            s.set_fault(c.model, ms::fault::none);
            auto ok = co_await post(s.port(), c.target, c.body, type);
            BOOST_TEST(ok.status == 200u, what);
            BOOST_TEST(ok.header("content-type") == c.answer_type, what);
            BOOST_TEST((ok.header("server") == "llama.cpp") == c.llama, what);

            s.set_fault(c.model, ms::fault::cut_stream);
            auto cut = co_await post(s.port(), c.target, c.body, type);
            BOOST_TEST(cut.status == 502u, what);
            BOOST_TEST(cut.body.empty(), what);
            BOOST_TEST(cut.header("content-type").empty(), what);

            s.set_fault(c.model, ms::fault::error_mid_stream);
            auto err = co_await post(s.port(), c.target, c.body, type);
            BOOST_TEST(err.status == 500u, what);
            BOOST_TEST(err.body == c.failure, what);
            BOOST_TEST(err.header("content-type") == c.failure_type, what);
            BOOST_TEST((err.header("server") == "llama.cpp") == c.llama, what);

            s.set_fault(c.model, ms::fault::stall);
            auto ex = co_await asio::this_coro::executor;
            auto held = std::make_shared<reply>();
            asio::co_spawn(ex, [](std::uint16_t port, upstream_case uc, header_vec t,
                                  std::shared_ptr<reply> out) -> asio::awaitable<void> {
                *out = co_await post(port, uc.target, uc.body, t);
            }(s.port(), c, type, held), asio::detached);
            co_await sleep_for(100ms);
            BOOST_TEST(held->status == 0u, what);
            co_await post(s.port(), "/api/models/unload/" + c.model, "");
            while (held->status == 0)
                co_await sleep_for(10ms);
            BOOST_TEST(held->status == 502u, what);
            BOOST_TEST(held->body.empty(), what);
            s.set_fault(c.model, ms::fault::none);
        }
    }(server, cases));
}

// Streamed text completions meet the faults as chat streams do: a cut ends the body cleanly without
// [DONE] after some tokens, error_mid_stream adds llama-server's error event first.
BOOST_AUTO_TEST_CASE(streamed_completions_are_cut_and_errored_like_chat)
{
    asio::io_context ioc;
    ms::simulator_params p;
    p.models.push_back(model("a", 0ms, 2000));
    p.models.back().reply = "w1 w2 w3 w4 w5 w6";
    ms::simulator server(ioc.get_executor(), p);
    run(ioc, server, [](ms::simulator& s) -> asio::awaitable<void> {
        const std::string body = R"({"model":"a","prompt":["x","y"],"stream":true})";
        auto whole = co_await post(s.port(), "/v1/completions", body);
        BOOST_TEST(whole.status == 200u);
        BOOST_TEST(whole.header("content-type") == "text/event-stream");
        BOOST_TEST(whole.header("server") == "llama.cpp");
        auto all = sse_data(whole.body);
        BOOST_REQUIRE(all.size() == 6u * 2 + 2 + 1);
        BOOST_TEST(all.back() == "[DONE]");

        s.set_fault("a", ms::fault::cut_stream);
        auto cut = co_await post(s.port(), "/v1/completions", body);
        BOOST_TEST(cut.status == 200u);
        auto events = sse_data(cut.body);
        BOOST_TEST(events.size() == 6u); // half of the twelve tokens
        BOOST_TEST(cut.body.find("[DONE]") == std::string::npos);

        s.set_fault("a", ms::fault::error_mid_stream);
        auto err = co_await post(s.port(), "/v1/completions", body);
        BOOST_TEST(err.status == 200u);
        events = sse_data(err.body);
        BOOST_REQUIRE(events.size() == 7u);
        BOOST_TEST(events.back() ==
                   R"({"error":{"code":500,"message":"simulated upstream failure","type":"server_error"}})");
        BOOST_TEST(err.body.find("[DONE]") == std::string::npos);
    }(server));
}

BOOST_AUTO_TEST_CASE(images_are_real_pngs)
{
    asio::io_context ioc;
    ms::simulator_params p;
    p.models.push_back(model("img"));
    p.models.back().kind = ms::model_kind::image;
    ms::simulator server(ioc.get_executor(), p);
    run(ioc, server, [](ms::simulator& s) -> asio::awaitable<void> {
        auto r = co_await post(s.port(), "/v1/images/generations",
                               R"({"model":"img","prompt":"a fox","size":"20x10","n":2})");
        BOOST_TEST(r.status == 200u);
        auto v = json::parse(r.body).as_object();
        BOOST_TEST(v.at("output_format").as_string() == "png");
        auto data = v.at("data").as_array();
        BOOST_REQUIRE(data.size() == 2u);
        auto png = base64_decode(data[0].at("b64_json").as_string());
        BOOST_REQUIRE(png.size() > 8u);
        BOOST_TEST(png.substr(0, 8) == std::string("\x89PNG\r\n\x1a\n", 8));
        std::size_t pos = 8;
        std::vector<std::string> types;
        while (pos + 12 <= png.size()) {
            auto n = be32(png, pos);
            auto type = png.substr(pos + 4, 4);
            boost::crc_32_type crc;
            crc.process_bytes(png.data() + pos + 4, 4 + n);
            BOOST_TEST(crc.checksum() == be32(png, pos + 8 + n), "CRC of " << type);
            if (type == "IHDR") {
                BOOST_TEST(be32(png, pos + 8) == 20u);
                BOOST_TEST(be32(png, pos + 12) == 10u);
            }
            types.push_back(type);
            pos += 12 + n;
        }
        BOOST_TEST(pos == png.size());
        BOOST_TEST((types == std::vector<std::string>{"IHDR", "IDAT", "IEND"}));
        auto bad = co_await post(s.port(), "/v1/images/generations", R"({"model":"img"})");
        BOOST_TEST(bad.status == 400u);
        BOOST_TEST(bad.body == R"({"error":"prompt required"})");
    }(server));
}

BOOST_AUTO_TEST_CASE(embeddings_are_deterministic_unit_vectors)
{
    asio::io_context ioc;
    ms::simulator_params p;
    p.models.push_back(model("emb"));
    p.models.back().kind = ms::model_kind::embedding;
    p.models.back().embedding_dimensions = 8;
    ms::simulator server(ioc.get_executor(), p);
    run(ioc, server, [](ms::simulator& s) -> asio::awaitable<void> {
        auto a = co_await post(s.port(), "/v1/embeddings", R"({"model":"emb","input":["x","y"]})");
        auto b = co_await post(s.port(), "/v1/embeddings", R"({"model":"emb","input":"x"})");
        BOOST_TEST(a.status == 200u);
        auto va = json::parse(a.body).at("data").as_array();
        BOOST_REQUIRE(va.size() == 2u);
        auto e0 = va[0].at("embedding").as_array();
        BOOST_TEST(e0.size() == 8u);
        double norm = 0;
        for (const auto& e : e0)
            norm += e.as_double() * e.as_double();
        BOOST_TEST(std::abs(norm - 1.0) < 1e-5);
        auto single = json::parse(b.body).at("data").at(0).at("embedding");
        BOOST_TEST(json::serialize(e0) == json::serialize(single));
    }(server));
}

BOOST_AUTO_TEST_CASE(ttl_unloads_after_the_last_request)
{
    asio::io_context ioc;
    ms::simulator_params p;
    p.models.push_back(model("a"));
    p.models.back().ttl = 200ms;
    ms::simulator server(ioc.get_executor(), p);
    run(ioc, server, [](ms::simulator& s) -> asio::awaitable<void> {
        co_await post(s.port(), "/v1/chat/completions", chat_body("a", false));
        BOOST_TEST(s.stats().models.at("a").state == ms::model_state::ready);
        co_await sleep_for(400ms);
        BOOST_TEST(s.stats().models.at("a").state == ms::model_state::stopped);
    }(server));
}

BOOST_AUTO_TEST_CASE(events_stream_model_status_changes)
{
    asio::io_context ioc;
    ms::simulator_params p;
    p.models.push_back(model("a"));
    ms::simulator server(ioc.get_executor(), p);
    run(ioc, server, [](ms::simulator& s) -> asio::awaitable<void> {
        auto ex = co_await asio::this_coro::executor;
        asio::ip::tcp::socket sock(ex);
        asio::ip::tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), s.port());
        co_await sock.async_connect(ep, asio::use_awaitable);
        std::string req = "GET /api/events HTTP/1.1\r\nHost: x\r\n\r\n";
        co_await asio::async_write(sock, asio::buffer(req), asio::use_awaitable);
        std::string seen;
        co_await read_until(sock, seen, "event:message\ndata:{\"type\":\"inflight\"");
        BOOST_TEST(seen.find("X-Accel-Buffering: no") != std::string::npos);
        auto status = seen.find(R"({"type":"modelStatus")");
        BOOST_TEST(status != std::string::npos);
        BOOST_TEST(status < seen.find(R"({"type":"uiConfig")"));
        co_await post(s.port(), "/v1/chat/completions", chat_body("a", false));
        co_await read_until(sock, seen, R"(\"state\":\"ready\")");
        BOOST_TEST(seen.find(R"(\"state\":\"starting\")") != std::string::npos);
    }(server));
}

BOOST_AUTO_TEST_CASE(many_requests_on_a_multithreaded_io_context)
{
    asio::io_context ioc;
    ms::simulator_params p;
    p.models.push_back(model("a"));
    p.models.push_back(model("b"));
    ms::simulator server(ioc.get_executor(), p);
    run(ioc, server, [](ms::simulator& s) -> asio::awaitable<void> {
        auto ex = co_await asio::this_coro::executor;
        auto ok = std::make_shared<std::atomic<int>>(0);
        auto done = std::make_shared<std::atomic<int>>(0);
        for (int i = 0; i < 24; ++i) {
            std::string m = i % 3 == 0 ? "b" : "a";
            asio::co_spawn(ex, [](ms::simulator& sm, std::string name, bool stream,
                                  std::shared_ptr<std::atomic<int>> oks,
                                  std::shared_ptr<std::atomic<int>> dones) -> asio::awaitable<void> {
                auto r = co_await post(sm.port(), "/v1/chat/completions", chat_body(name, stream));
                bool good = r.status == 200u && (!stream || r.body.find("[DONE]") != std::string::npos);
                if (good)
                    ++*oks;
                ++*dones;
            }(s, m, i % 2 == 0, ok, done), asio::detached);
        }
        while (*done < 24)
            co_await sleep_for(20ms);
        BOOST_TEST(*ok == 24);
        auto st = s.stats();
        BOOST_TEST(st.served == 24u);
        BOOST_TEST(st.models.at("a").in_flight == 0u);
        BOOST_TEST(st.models.at("b").in_flight == 0u);
    }(server), 4);
}

BOOST_AUTO_TEST_CASE(go_mux_answers_and_model_errors)
{
    asio::io_context ioc;
    ms::simulator_params p;
    p.models.push_back(model("a"));
    ms::simulator server(ioc.get_executor(), p);
    run(ioc, server, [](ms::simulator& s) -> asio::awaitable<void> {
        auto nf = co_await get(s.port(), "/nope");
        BOOST_TEST(nf.status == 404u);
        BOOST_TEST(nf.body == "404 page not found\n");
        auto wrong = co_await get(s.port(), "/v1/chat/completions");
        BOOST_TEST(wrong.status == 405u);
        BOOST_TEST(wrong.header("allow") == "POST");
        auto unknown = co_await post(s.port(), "/v1/chat/completions", chat_body("zzz", false));
        BOOST_TEST(unknown.status == 404u);
        BOOST_TEST(unknown.body == R"({"src":"llama-swap","error":{"message":"no router for requested model",)"
                                   R"("type":"invalid_request_error","param":null,"code":"not_found"}})");
        header_vec text{{"Content-Type", "text/plain"}};
        auto no_model = co_await post(s.port(), "/v1/chat/completions", chat_body("a", false), text);
        BOOST_TEST(no_model.status == 404u); // JSON without a JSON content type carries no model
        header_vec plain{{"Accept", "text/plain"}};
        auto negotiated = co_await post(s.port(), "/v1/chat/completions", chat_body("zzz", false), plain);
        BOOST_TEST(negotiated.body == "llama-swap: no router for requested model");
    }(server));
}

BOOST_AUTO_TEST_CASE(params_from_json_reads_the_model_file)
{
    auto p = ms::params_from_json(R"({"models":[{"id":"q","aliases":["x"],"kind":"image","load_ms":5,
        "ttl":2,"fault":"stall","sendLoadingState":true}],
        "apiKeys":["k"],"error_format":"legacy","exclusive":false})");
    BOOST_REQUIRE(p.models.size() == 1u);
    BOOST_TEST(p.models[0].kind == ms::model_kind::image);
    BOOST_TEST(p.models[0].load_time.count() == 5);
    BOOST_TEST(p.models[0].ttl.count() == 2000);
    BOOST_TEST(p.models[0].f == ms::fault::stall);
    BOOST_TEST(p.models[0].send_loading_state);
    BOOST_TEST(p.errors == ms::error_format::legacy);
    BOOST_TEST(!p.exclusive);
    BOOST_CHECK_THROW(ms::params_from_json(R"([{"id":"q","load_time":5}])"), std::invalid_argument);
    BOOST_CHECK_THROW(ms::params_from_json(R"([{"name":"no id"}])"), std::invalid_argument);
    BOOST_CHECK_THROW(ms::params_from_json("not json"), std::invalid_argument);
    // The newer kinds and the release whose management API to serve.
    auto k = ms::params_from_json(R"({"models":[{"id":"r","kind":"reranker"},{"id":"w","kind":"transcription"},
        {"id":"t","kind":"speech"}],"release":235})");
    BOOST_REQUIRE(k.models.size() == 3u);
    BOOST_TEST(k.models[0].kind == ms::model_kind::reranker);
    BOOST_TEST(k.models[1].kind == ms::model_kind::transcription);
    BOOST_TEST(k.models[2].kind == ms::model_kind::speech);
    BOOST_TEST(k.release == 235);
    BOOST_TEST(ms::params_from_json("[]").release == 250);
    BOOST_CHECK_THROW(ms::params_from_json(R"({"release":"new"})"), std::invalid_argument);
    BOOST_CHECK_THROW(ms::params_from_json(R"([{"id":"q","kind":"tts"}])"), std::invalid_argument);
    asio::io_context ioc;
    ms::simulator_params dup;
    dup.models.push_back(model("a"));
    dup.models.push_back(model("b"));
    dup.models.back().aliases = {"a"};
    BOOST_CHECK_THROW(ms::simulator(ioc.get_executor(), dup), std::invalid_argument);
}

// The run_coro pattern stops the io_context with work pending and destroys the simulator before it
// runs again: tearing everything down must neither crash nor touch freed state.
BOOST_AUTO_TEST_CASE(abandoned_io_context_tears_down_cleanly)
{
    auto ioc = std::make_unique<asio::io_context>();
    {
        ms::simulator_params p;
        p.models.push_back(model("a", 20ms, 5));
        p.models.push_back(model("b", 20ms));
        p.models.back().ttl = 10s;
        ms::simulator server(ioc->get_executor(), p);
        auto port = server.port();
        asio::co_spawn(*ioc, post(port, "/v1/chat/completions", chat_body("a", true)), asio::detached);
        asio::co_spawn(*ioc, post(port, "/v1/chat/completions", chat_body("b", false)), asio::detached);
        asio::co_spawn(*ioc, get(port, "/api/events"), asio::detached);
        ioc->run_for(300ms);
        BOOST_TEST(server.stats().models.at("b").queued == 1u);
        ioc->stop();
    }
    ioc.reset();
}

BOOST_AUTO_TEST_SUITE_END()

#include <majordomo/deadline.hpp>
#include <majordomo/llamaswap/provider.hpp>
#include <majordomo/llm/chunk.hpp>
#include <majordomo/llm/classify.hpp>
#include <majordomo/sim/simulator.hpp>

#include "support/printers.hpp"
#include "support/run_coro.hpp"
#include "support/test_server.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/parse.hpp>
#include <boost/test/unit_test.hpp>

#include <zlib.h>

namespace asio = boost::asio;
using namespace majordomo;
using namespace std::chrono_literals;

namespace {

sim::model_params model(std::string id, std::chrono::milliseconds load, std::string reply = {})
{
    sim::model_params m;
    m.id = std::move(id);
    m.load_time = load;
    m.tokens_per_second = 2000;
    if (!reply.empty())
        m.reply = std::move(reply);
    return m;
}

std::shared_ptr<majordomo::llamaswap::provider> connect(asio::io_context& ioc, const sim::simulator& s,
                                            std::optional<std::string> token = {})
{
    majordomo::llamaswap::provider_params p;
    p.base_url = s.url() + "/";
    p.token = std::move(token);
    return majordomo::llamaswap::make_provider(ioc.get_executor(), p);
}

llm::chat_request ask()
{
    llm::chat_request r;
    r.messages = {llm::message::user("hello")};
    r.max_tokens = 200;
    return r;
}

asio::awaitable<std::pair<std::string, llm::call_timings>> stream_text(majordomo::llamaswap::provider& p, std::string id)
{
    auto s = co_await p.get_model(std::move(id))->async_chat_stream(ask());
    llm::chat_accumulator acc;
    while (auto c = co_await s.async_next())
        acc.add(*c);
    co_return std::pair{acc.result().text(), s.timings()};
}

asio::awaitable<void> sleep_for(std::chrono::milliseconds d)
{
    asio::steady_timer t(co_await asio::this_coro::executor, d);
    co_await t.async_wait(asio::use_awaitable);
}

long long ms(std::chrono::steady_clock::duration d)
{
    return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
}

} // namespace

BOOST_AUTO_TEST_SUITE(llamaswap)

BOOST_AUTO_TEST_CASE(management_against_the_simulator)
{
    asio::io_context ioc;
    sim::simulator_params sp;
    auto a = model("qwen", 50ms);
    a.aliases = {"q"};
    a.name = "Qwen";
    sp.models = {a, model("llama", 50ms)};
    sim::simulator s(ioc.get_executor(), sp);
    auto p = connect(ioc, s);
    test::run_coro(ioc, [&]() -> asio::awaitable<void> {
        bool healthy = co_await p->async_health();
        BOOST_TEST(healthy);
        auto models = co_await p->async_list_models();
        BOOST_REQUIRE(models.size() == 2u);
        auto qwen = std::find_if(models.begin(), models.end(), [](auto& m) { return m.id == "qwen"; });
        BOOST_REQUIRE(qwen != models.end());
        BOOST_TEST(qwen->name == "Qwen");
        BOOST_TEST((qwen->aliases == std::vector<std::string>{"q"}));
        BOOST_TEST(qwen->owned_by == "llama-swap");

        auto events = co_await p->async_events();
        auto [text, t] = co_await stream_text(*p, "q"); // by alias
        BOOST_TEST(!text.empty());
        auto running = co_await p->async_running();
        BOOST_REQUIRE(running.size() == 1u);
        BOOST_TEST(running[0].model == "qwen");
        BOOST_TEST(running[0].state == "ready");

        // The events stream saw qwen become ready.
        bool saw_ready = false;
        for (int i = 0; i < 20 && !saw_ready; ++i) {
            auto ev = co_await with_deadline(events.async_next(), 5s);
            BOOST_REQUIRE(ev.has_value());
            if (ev->type == "modelStatus")
                for (auto& m : ev->models)
                    saw_ready = saw_ready || (m.id == "qwen" && m.state == "ready");
        }
        BOOST_TEST(saw_ready);

        co_await p->async_unload("qwen");
        auto after = co_await p->async_running();
        BOOST_TEST(after.empty());
        co_await stream_text(*p, "llama");
        co_await p->async_unload_all();
        auto none = co_await p->async_running();
        BOOST_TEST(none.empty());
        try {
            co_await p->async_unload("no-such-model");
            BOOST_ERROR("no error");
        } catch (const majordomo::error& e) {
            BOOST_TEST(e.code() == make_api_error(404));
        }
    }());
}

// A malformed event, like any error, ends the events stream: later calls fail at once
// with stream_closed instead of reading on from a connection in an unknown state.
BOOST_AUTO_TEST_CASE(an_events_stream_that_failed_cannot_be_resumed)
{
    asio::io_context ioc;
    test::test_server server(ioc.get_executor());
    server.on_request([](const test::received_request&, test::exchange& ex) -> asio::awaitable<void> {
        co_await ex.async_write_raw("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                                    "Transfer-Encoding: chunked\r\n\r\n"
                                    "f\r\ndata: {broken\n\n\r\n");
        co_await ex.async_write_raw("2a\r\ndata: {\"type\":\"modelStatus\",\"data\":\"[]\"}\n\n\r\n");
        co_await ex.async_stall();
    });
    majordomo::llamaswap::provider_params pp;
    pp.base_url = server.url();
    majordomo::http::client http(ioc.get_executor());
    pp.http = http;
    auto p = majordomo::llamaswap::make_provider(ioc.get_executor(), pp);
    test::run_coro(ioc, [&]() -> asio::awaitable<void> {
        auto events = co_await p->async_events();
        for (int attempt = 0; attempt < 2; ++attempt) {
            try {
                co_await with_deadline(events.async_next(), 2s);
                BOOST_ERROR("a malformed event was accepted, or the stream resumed");
            } catch (const majordomo::error& e) {
                if (attempt == 0)
                    BOOST_TEST(e.code() == client_errc::bad_json, e.what());
                else
                    BOOST_TEST(e.code() == client_errc::stream_closed, e.what());
            }
        }
        BOOST_TEST(http.stats().open == 0u);
    }());
}

BOOST_AUTO_TEST_CASE(swap_waits_match_the_load_times)
{
    asio::io_context ioc;
    sim::simulator_params sp;
    sp.models = {model("a", 200ms), model("b", 350ms)};
    sim::simulator s(ioc.get_executor(), sp);
    auto p = connect(ioc, s);
    test::run_coro(ioc, [&]() -> asio::awaitable<void> {
        struct step {
            const char* id;
            long long load;
        };
        for (auto st : {step{"a", 200}, step{"b", 350}, step{"a", 200}}) {
            auto [text, t] = co_await stream_text(*p, st.id);
            auto wait = ms(t.time_to_headers());
            BOOST_TEST(wait >= st.load, st.id << " waited " << wait);
            BOOST_TEST(wait < st.load + 60, st.id << " waited " << wait);
            BOOST_TEST((t.first_token >= t.headers_received));
            BOOST_TEST(ms(t.generation()) >= 0);
        }
        // Warm: no swap wait.
        auto [text, warm] = co_await stream_text(*p, "a");
        BOOST_TEST(ms(warm.time_to_headers()) < 60);
    }());
    BOOST_TEST(s.stats().swaps == 2u);
}

BOOST_AUTO_TEST_CASE(unloading_during_a_stream_ends_it_clearly)
{
    asio::io_context ioc;
    sim::simulator_params sp;
    std::string many_words;
    for (int i = 0; i < 200; ++i)
        many_words += "word ";
    auto slow = model("slow", 10ms, many_words);
    slow.tokens_per_second = 50;
    sp.models = {slow, model("cold", 1500ms)};
    sp.exclusive = false;
    sim::simulator s(ioc.get_executor(), sp);
    auto p = connect(ioc, s);
    test::run_coro(ioc, [&]() -> asio::awaitable<void> {
        auto stream = co_await p->get_model("slow")->async_chat_stream(ask());
        auto first = co_await stream.async_next();
        BOOST_TEST(first.has_value());
        co_await p->async_unload("slow");
        try {
            while (auto c = co_await stream.async_next()) {
            }
            BOOST_ERROR("the stream ended as if complete");
        } catch (const boost::system::system_error& e) {
            BOOST_TEST((e.code() == client_errc::stream_truncated || e.code() == majordomo::http::errc::response_truncated),
                       e.what());
        }
        // A request queued while its model loads fails clearly when the model is unloaded.
        auto ex = co_await asio::this_coro::executor;
        boost::system::error_code queued;
        bool done = false;
        asio::co_spawn(ex, p->get_model("cold")->async_chat(ask()), [&](std::exception_ptr e, llm::chat_response) {
            done = true;
            try {
                if (e)
                    std::rethrow_exception(e);
            } catch (const boost::system::system_error& x) {
                queued = x.code();
            }
        });
        co_await sleep_for(200ms);
        co_await p->async_unload("cold");
        while (!done)
            co_await sleep_for(10ms);
        BOOST_TEST((queued.category() == get_api_category()), queued.message());
    }());
}

BOOST_AUTO_TEST_CASE(two_hundred_concurrent_streams_over_three_models)
{
    asio::io_context ioc;
    sim::simulator_params sp;
    sp.exclusive = false;
    sp.models = {model("m0", 50ms, "alpha beta"), model("m1", 50ms, "gamma delta"), model("m2", 50ms, "epsilon zeta")};
    const std::string replies[] = {"alpha beta", "gamma delta", "epsilon zeta"};
    sim::simulator s(ioc.get_executor(), sp);
    majordomo::llamaswap::provider_params pp;
    pp.base_url = s.url();
    pp.http_params.max_connections_per_origin = 256;
    auto p = majordomo::llamaswap::make_provider(ioc.get_executor(), pp);
    int ok = 0, bad = 0;
    test::run_coro(ioc, [&]() -> asio::awaitable<void> {
        auto ex = co_await asio::this_coro::executor;
        int pending = 200;
        for (int i = 0; i < 200; ++i)
            asio::co_spawn(ex, [&, i]() -> asio::awaitable<void> {
                auto [text, t] = co_await stream_text(*p, "m" + std::to_string(i % 3));
                (text == replies[i % 3] ? ok : bad)++;
                --pending;
            }, [&](std::exception_ptr e) {
                if (e) {
                    ++bad;
                    --pending;
                }
            });
        while (pending > 0)
            co_await sleep_for(10ms);
    }(), 120s);
    BOOST_TEST(ok == 200);
    BOOST_TEST(bad == 0);
}

BOOST_AUTO_TEST_CASE(generated_image_is_a_valid_png)
{
    asio::io_context ioc;
    sim::simulator_params sp;
    auto img = model("sd", 20ms);
    img.kind = sim::model_kind::image;
    img.tokens_per_second = 1000;
    sp.models = {img};
    sim::simulator s(ioc.get_executor(), sp);
    auto p = connect(ioc, s);
    test::run_coro(ioc, [&]() -> asio::awaitable<void> {
        imagegen::image_request req;
        req.prompt = "a lighthouse";
        req.width = 32;
        req.height = 24;
        req.seed = 7;
        req.steps = 4;
        auto r = co_await p->get_image_model("sd")->async_generate(req);
        BOOST_REQUIRE(r.images.size() == 1u);
        const auto& png = r.images[0].data;
        BOOST_TEST(r.images[0].mime_type == "image/png");
        BOOST_REQUIRE(png.size() > 33u);
        BOOST_TEST(png.compare(0, 8, "\x89PNG\r\n\x1a\n") == 0);
        auto be32 = [&](std::size_t at) {
            return (std::uint32_t(std::uint8_t(png[at])) << 24) | (std::uint32_t(std::uint8_t(png[at + 1])) << 16) |
                   (std::uint32_t(std::uint8_t(png[at + 2])) << 8) | std::uint32_t(std::uint8_t(png[at + 3]));
        };
        BOOST_TEST(png.compare(12, 4, "IHDR") == 0);
        BOOST_TEST(be32(16) == 32u);
        BOOST_TEST(be32(20) == 24u);
        std::size_t at = 8;
        std::vector<std::string> types;
        while (at + 12 <= png.size()) {
            std::uint32_t len = be32(at);
            BOOST_REQUIRE(at + 12 + len <= png.size());
            auto crc = crc32(0, reinterpret_cast<const Bytef*>(png.data() + at + 4), len + 4);
            BOOST_TEST(crc == be32(at + 8 + len), "CRC of " << png.substr(at + 4, 4));
            types.push_back(png.substr(at + 4, 4));
            at += 12 + len;
        }
        BOOST_TEST(at == png.size());
        BOOST_TEST(types.front() == "IHDR");
        BOOST_TEST(types.back() == "IEND");
        BOOST_TEST(std::count(types.begin(), types.end(), "IDAT") >= 1);
    }());
    // The native parameters went in sd.cpp's prompt tag.
}

BOOST_AUTO_TEST_CASE(auth_and_error_formats)
{
    for (auto format : {sim::error_format::current, sim::error_format::legacy}) {
        asio::io_context ioc;
        sim::simulator_params sp;
        sp.models = {model("m", 10ms)};
        sp.api_keys = {"sk-right"};
        sp.errors = format;
        sim::simulator s(ioc.get_executor(), sp);
        auto anonymous = connect(ioc, s);
        auto keyed = connect(ioc, s, "sk-right");
        test::run_coro(ioc, [&]() -> asio::awaitable<void> {
            try {
                co_await anonymous->async_running();
                BOOST_ERROR("no error");
            } catch (const majordomo::error& e) {
                BOOST_TEST(e.code() == make_api_error(401));
                BOOST_TEST(e.diag().server_message.find("unauthorized") != std::string::npos, e.what());
                BOOST_TEST(std::string(e.what()).find("sk-right") == std::string::npos);
            }
            try {
                co_await keyed->get_model("unknown")->async_chat(ask());
                BOOST_ERROR("no error");
            } catch (const majordomo::error& e) {
                BOOST_TEST(e.code() == make_api_error(404));
                BOOST_TEST(!e.diag().server_message.empty(), e.what());
                BOOST_TEST(to_string(llm::classify(e.code(), e.diag()).kind) == std::string("not_found"));
            }
            auto r = co_await keyed->get_model("m")->async_chat(ask());
            BOOST_TEST(!r.text().empty());
        }());
    }
}

// llama.cpp honours the legacy `max_tokens`; the body as the server received it carries
// that field, and never `max_completion_tokens`, whole or streamed, whichever way the
// limit was set.
BOOST_AUTO_TEST_CASE(chat_body_carries_max_tokens)
{
    asio::io_context ioc;
    test::test_server server(ioc.get_executor());
    server.on_request([](const test::received_request& req, test::exchange& ex) -> asio::awaitable<void> {
        if (req.body.find("\"stream\":true") != std::string::npos) {
            co_await ex.async_write_raw("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nContent-Length: 14\r\n\r\n"
                                        "data: [DONE]\n\n");
            co_return;
        }
        test::header_list h;
        h.add("Content-Type", "application/json");
        co_await ex.async_respond(200, R"({"choices":[{"finish_reason":"stop","index":0,"message":{"role":"assistant","content":"ok"}}],"created":1,"id":"c","model":"m","object":"chat.completion"})", h);
    });
    majordomo::llamaswap::provider_params pp;
    pp.base_url = server.url();
    auto p = majordomo::llamaswap::make_provider(ioc.get_executor(), pp);
    test::run_coro(ioc, [&]() -> asio::awaitable<void> {
        auto req = ask(); // max_tokens = 200 on the request
        auto r = co_await p->get_model("m")->async_chat(req);
        BOOST_TEST(r.text() == "ok");
        auto s = co_await p->get_model("m")->async_chat_stream(req);
        auto end = co_await s.async_next();
        BOOST_TEST(!end.has_value());
        req.max_tokens.reset(); // from the model's options instead
        llm::model_options o;
        o.max_tokens = 77;
        auto m = p->get_model("m", o);
        co_await m->async_chat(req);
    }());
    auto reqs = server.requests();
    BOOST_REQUIRE(reqs.size() == 3u);
    const std::int64_t expected[] = {200, 200, 77};
    for (std::size_t i = 0; i < reqs.size(); ++i) {
        BOOST_TEST(reqs[i].target == "/v1/chat/completions");
        auto body = boost::json::parse(reqs[i].body).as_object();
        BOOST_TEST(!body.contains("max_completion_tokens"), reqs[i].body);
        BOOST_REQUIRE(body.contains("max_tokens"));
        BOOST_TEST(body.at("max_tokens").as_int64() == expected[i]);
    }
    BOOST_TEST(reqs[1].body.find("\"stream\":true") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()

#include <majordomo/llm/chunk.hpp>
#include <majordomo/llm/classify.hpp>
#include <majordomo/openai/provider.hpp>

#include "support/printers.hpp"
#include "support/run_coro.hpp"
#include "support/test_server.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/json/parse.hpp>
#include <boost/test/unit_test.hpp>

#include <cstdio>

namespace asio = boost::asio;
namespace json = boost::json;
using namespace majordomo;
using majordomo::test::test_server;

namespace {

const std::string sse_head = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n";

std::string chunk(std::string_view bytes)
{
    char size[32];
    std::snprintf(size, sizeof size, "%zx\r\n", bytes.size());
    return std::string(size) + std::string(bytes) + "\r\n";
}

std::string delta(std::string_view text)
{
    return R"(data: {"choices":[{"finish_reason":null,"index":0,"delta":{"content":")" + std::string(text) +
           R"("}}],"created":1,"id":"chatcmpl-1","model":"qwen","object":"chat.completion.chunk"})" "\n\n";
}

const std::string role_event =
    R"(data: {"choices":[{"finish_reason":null,"index":0,"delta":{"role":"assistant","content":null}}],"created":1,"id":"chatcmpl-1","model":"qwen","object":"chat.completion.chunk"})" "\n\n";
const std::string finish_event =
    R"(data: {"choices":[{"finish_reason":"stop","index":0,"delta":{}}],"created":1,"id":"chatcmpl-1","model":"qwen","object":"chat.completion.chunk","timings":{"predicted_n":2}})" "\n\n";
const std::string done_event = "data: [DONE]\n\n";

std::shared_ptr<majordomo::openai::provider> make(asio::io_context& ioc, const test_server& s, bool legacy = false)
{
    majordomo::openai::provider_params p;
    p.name = "local";
    p.base_url = s.url() + "/v1/";
    p.api_key = "sk-test";
    p.legacy_max_tokens = legacy;
    return majordomo::openai::make_provider(ioc.get_executor(), p);
}

llm::chat_request hello()
{
    llm::chat_request r;
    r.messages = {llm::message::user("hi")};
    r.max_tokens = 16;
    return r;
}

// Serves the given SSE bytes for any POST, as llama-server frames them.
void serve_stream(test_server& s, std::vector<std::string> pieces, bool end_chunked = true)
{
    s.on_request([pieces, end_chunked](const test::received_request&, test::exchange& ex) -> asio::awaitable<void> {
        co_await ex.async_write_raw(sse_head);
        for (const auto& p : pieces)
            co_await ex.async_write_raw(chunk(p));
        if (end_chunked)
            co_await ex.async_write_raw("0\r\n\r\n");
        else
            ex.close();
    });
}

template <class F>
void expect_error(F&& f, boost::system::error_code expected, std::string_view needle = {})
{
    try {
        f();
        BOOST_ERROR("no error");
    } catch (const majordomo::error& e) {
        BOOST_TEST(e.code() == expected, e.what());
        if (!needle.empty())
            BOOST_TEST(std::string(e.what()).find(needle) != std::string::npos, e.what());
    }
}

} // namespace

BOOST_AUTO_TEST_SUITE(openai)

BOOST_AUTO_TEST_CASE(whole_chat_sends_the_request_and_decodes_the_answer)
{
    asio::io_context ioc;
    test_server server(ioc.get_executor());
    server.on_request([](const test::received_request&, test::exchange& ex) -> asio::awaitable<void> {
        test::header_list h;
        h.add("Content-Type", "application/json");
        co_await ex.async_respond(200, R"({"choices":[{"finish_reason":"stop","index":0,"message":{"role":"assistant","content":"Hello!","reasoning_content":"greet"}}],"created":5,"id":"chatcmpl-9","model":"qwen","object":"chat.completion","usage":{"completion_tokens":3,"prompt_tokens":4,"total_tokens":7},"timings":{"predicted_n":3,"predicted_per_second":50.5}})",
                                  h);
    });
    auto p = make(ioc, server, true);
    test::run_coro(ioc, [&]() -> asio::awaitable<void> {
        auto m = p->get_model("qwen");
        auto r = co_await m->async_chat(hello());
        BOOST_TEST(r.text() == "Hello!");
        BOOST_TEST(r.reasoning() == "greet");
        BOOST_TEST(r.usage->total_tokens == 7);
        BOOST_TEST(r.timings->predicted_per_second.value_or(0) == 50.5);
        BOOST_TEST(r.raw.at("object").as_string() == "chat.completion");
        BOOST_TEST((r.call.headers_received >= r.call.request_written));
        BOOST_TEST((r.call.end >= r.call.headers_received));
    }());
    auto reqs = server.requests();
    BOOST_REQUIRE(reqs.size() == 1u);
    BOOST_TEST(reqs[0].method == "POST");
    BOOST_TEST(reqs[0].target == "/v1/chat/completions");
    BOOST_TEST(reqs[0].header("authorization") == "Bearer sk-test");
    BOOST_TEST(reqs[0].header("content-type") == "application/json");
    auto body = json::parse(reqs[0].body).as_object();
    BOOST_TEST(body.at("model").as_string() == "qwen");
    BOOST_TEST(body.at("max_tokens").as_int64() == 16); // legacy switch on
    BOOST_TEST(!body.contains("stream"));
}

BOOST_AUTO_TEST_CASE(streamed_chat_equals_the_whole_response)
{
    asio::io_context ioc;
    test_server server(ioc.get_executor());
    // A keep-alive comment first, events split across chunk boundaries.
    std::string all = ":\n\n" + role_event + delta("Hel") + delta("lo") + finish_event + done_event;
    serve_stream(server, {all.substr(0, 7), all.substr(7, 100), all.substr(107)});
    auto p = make(ioc, server);
    test::run_coro(ioc, [&]() -> asio::awaitable<void> {
        auto stream = co_await p->get_model("qwen")->async_chat_stream(hello());
        llm::chat_accumulator acc;
        int n = 0;
        while (auto c = co_await stream.async_next()) {
            acc.add(*c);
            ++n;
        }
        BOOST_TEST(n == 4);
        BOOST_TEST(acc.result().text() == "Hello");
        BOOST_TEST(acc.result().finish_reason() == "stop");
        auto& t = stream.timings();
        BOOST_TEST((t.first_token >= t.headers_received));
        BOOST_TEST((t.end >= t.first_token));
        // Pulling past the end stays at the end.
        auto past_end = co_await stream.async_next(); // a local: see g++ 12 note in test_server.hpp
        BOOST_TEST(!past_end.has_value());
        // The connection went back to the pool after [DONE].
        BOOST_TEST(p->http_client().stats().idle == 1u);
    }());
    auto body = json::parse(server.requests().at(0).body).as_object();
    BOOST_TEST(body.at("stream").as_bool());
    BOOST_TEST(body.at("stream_options").at("include_usage").as_bool());
    BOOST_TEST(body.at("max_completion_tokens").as_int64() == 16);
    BOOST_TEST(server.requests().at(0).header("accept") == "text/event-stream");
}

BOOST_AUTO_TEST_CASE(stream_without_done_is_truncated)
{
    for (bool clean_end : {true, false}) {
        asio::io_context ioc;
        test_server server(ioc.get_executor());
        serve_stream(server, {role_event + delta("partial")}, clean_end);
        auto p = make(ioc, server);
        test::run_coro(ioc, [&]() -> asio::awaitable<void> {
            auto stream = co_await p->get_model("qwen")->async_chat_stream(hello());
            auto role = co_await stream.async_next();
            BOOST_TEST(role.has_value());
            auto part = co_await stream.async_next();
            BOOST_TEST(part->text() == "partial");
            try {
                co_await stream.async_next();
                BOOST_ERROR("no error");
            } catch (const boost::system::system_error& e) {
                if (clean_end)
                    BOOST_TEST(e.code() == client_errc::stream_truncated, e.what());
                else
                    BOOST_TEST(e.code() == majordomo::http::errc::response_truncated, e.what());
            }
        }());
    }
}

BOOST_AUTO_TEST_CASE(errors_inside_a_stream)
{
    struct form {
        const char* name;
        std::string bytes;
        std::string message;
    };
    const std::vector<form> forms = {
        {"data error object", role_event + R"(data: {"error":{"code":500,"message":"slot crashed","type":"server_error"}})" "\n\n",
         "slot crashed"},
        {"older error: line", role_event + R"(error: {"code":500,"message":"old style","type":"server_error"})" "\n\n",
         "old style"},
        {"llama-swap raw error after loading frames",
         R"(data: {"choices":[{"delta":{"reasoning_content":"llama-swap loading model: qwen\n"}}]})" "\n\n"
         R"({"src":"llama-swap","error":{"message":"unspecific error: upstream command exited prematurely","type":"server_error","param":null,"code":"internal_error"}})",
         "exited prematurely"},
    };
    for (const auto& f : forms) {
        asio::io_context ioc;
        test_server server(ioc.get_executor());
        serve_stream(server, {f.bytes});
        auto p = make(ioc, server);
        test::run_coro(ioc, [&]() -> asio::awaitable<void> {
            auto stream = co_await p->get_model("qwen")->async_chat_stream(hello());
            try {
                while (auto c = co_await stream.async_next())
                    BOOST_TEST(!c->has_output(), f.name); // loading frames are not output
                BOOST_ERROR(f.name << ": no error");
            } catch (const majordomo::error& e) {
                BOOST_TEST((e.code().category() == get_api_category()), f.name << ": " << e.what());
                BOOST_TEST(e.diag().server_message.find(f.message) != std::string::npos, f.name);
                BOOST_TEST(e.diag().provider == "local");
                BOOST_TEST(e.diag().model == "qwen");
            }
        }());
    }
}

BOOST_AUTO_TEST_CASE(non_2xx_answers_become_api_errors)
{
    asio::io_context ioc;
    test_server server(ioc.get_executor());
    server.on_request([](const test::received_request& req, test::exchange& ex) -> asio::awaitable<void> {
        test::header_list h;
        h.add("Content-Type", "application/json");
        if (req.body.find("busy") != std::string::npos) {
            h.add("Retry-After", "2");
            co_await ex.async_respond(429, R"({"src":"llama-swap","error":{"message":"Too many requests","type":"rate_limit_error","param":null,"code":"concurrency_limit"}})", h);
        } else if (req.body.find("legacy") != std::string::npos) {
            // llama-swap's legacy proxy before v227: text/plain and no Retry-After.
            test::header_list plain;
            plain.add("Content-Type", "text/plain; charset=utf-8");
            co_await ex.async_respond(429, "Too many requests\n", plain);
        } else {
            co_await ex.async_respond(404, R"({"src":"llama-swap","error":"no router for requested model"})", h);
        }
    });
    auto p = make(ioc, server);
    test::run_coro(ioc, [&]() -> asio::awaitable<void> {
        for (bool stream : {false, true}) {
            try {
                if (stream)
                    co_await p->get_model("nope")->async_chat_stream(hello());
                else
                    co_await p->get_model("nope")->async_chat(hello());
                BOOST_ERROR("no error");
            } catch (const majordomo::error& e) {
                BOOST_TEST(e.code() == make_api_error(404));
                BOOST_TEST(e.diag().server_message == "no router for requested model");
                BOOST_TEST(e.diag().http_status == 404);
                BOOST_TEST(to_string(llm::classify(e.code(), e.diag()).kind) == std::string("not_found"));
            }
        }
        try {
            auto r = hello();
            r.messages = {llm::message::user("busy")};
            co_await p->get_model("qwen")->async_chat(r);
            BOOST_ERROR("no error");
        } catch (const majordomo::error& e) {
            auto c = majordomo::llm::classify(e.code(), e.diag());
            BOOST_TEST(to_string(c.kind) == std::string("rate_limited"));
            BOOST_REQUIRE(c.retry_after.has_value());
            BOOST_TEST(c.retry_after->count() == 2000);
            BOOST_TEST(e.diag().error_code == "concurrency_limit");
        }
        try {
            auto r = hello();
            r.messages = {majordomo::llm::message::user("legacy")};
            co_await p->get_model("qwen")->async_chat(r);
            BOOST_ERROR("no error");
        } catch (const majordomo::error& e) {
            auto c = majordomo::llm::classify(e.code(), e.diag());
            BOOST_TEST(to_string(c.kind) == std::string("rate_limited"));
            BOOST_TEST(c.retryable);
            // No Retry-After was sent, so none is made up: the caller's backoff decides.
            BOOST_TEST(!c.retry_after.has_value());
            BOOST_TEST(e.diag().server_message == "Too many requests");
        }
    }());
}

BOOST_AUTO_TEST_CASE(blank_key_and_missing_url_fail_before_sending)
{
    asio::io_context ioc;
    test_server server(ioc.get_executor());
    majordomo::openai::provider_params blank;
    blank.base_url = server.url() + "/v1";
    blank.api_key = "  ";
    auto p = majordomo::openai::make_provider(ioc.get_executor(), blank);
    auto none = majordomo::openai::make_provider(ioc.get_executor(), majordomo::openai::provider_params{});
    test::run_coro(ioc, [&]() -> asio::awaitable<void> {
        try {
            co_await p->get_model("m")->async_chat(hello());
            BOOST_ERROR("no error");
        } catch (const majordomo::error& e) {
            BOOST_TEST(e.code() == client_errc::missing_api_key);
            BOOST_TEST(to_string(llm::classify(e.code()).kind) == std::string("authentication"));
        }
        try {
            co_await none->async_list_models();
            BOOST_ERROR("no error");
        } catch (const majordomo::error& e) {
            BOOST_TEST(e.code() == client_errc::no_base_url);
        }
    }());
    BOOST_TEST(server.request_count() == 0u);
}

BOOST_AUTO_TEST_CASE(hundred_thousand_chunks_stream_through)
{
    asio::io_context ioc;
    test_server server(ioc.get_executor());
    constexpr int total = 100000;
    server.on_request([](const test::received_request&, test::exchange& ex) -> asio::awaitable<void> {
        co_await ex.async_write_raw(sse_head);
        std::string batch;
        for (int i = 0; i < total; ++i) {
            batch += delta("t");
            if (batch.size() > 64 * 1024) {
                co_await ex.async_write_raw(chunk(batch));
                batch.clear();
            }
        }
        batch += done_event;
        co_await ex.async_write_raw(chunk(batch) + "0\r\n\r\n");
    });
    auto p = make(ioc, server);
    test::run_coro(ioc, [&]() -> asio::awaitable<void> {
        auto stream = co_await p->get_model("qwen")->async_chat_stream(hello());
        int n = 0;
        std::size_t chars = 0;
        while (auto c = co_await stream.async_next()) {
            ++n;
            chars += c->text().size();
        }
        BOOST_TEST(n == total);
        BOOST_TEST(chars == static_cast<std::size_t>(total));
    }());
}

BOOST_AUTO_TEST_CASE(list_models_and_embeddings)
{
    asio::io_context ioc;
    test_server server(ioc.get_executor());
    server.on_request([](const test::received_request& req, test::exchange& ex) -> asio::awaitable<void> {
        if (req.target == "/v1/models")
            co_await ex.async_respond(200, R"({"object":"list","data":[{"id":"a","object":"model","created":1,"owned_by":"me","extra":1},{"id":"b","object":"model"}]})");
        else
            co_await ex.async_respond(200, R"({"object":"list","model":"emb","data":[{"object":"embedding","index":1,"embedding":[0.5,1]},{"object":"embedding","index":0,"embedding":[0.25,-1]}],"usage":{"prompt_tokens":4,"total_tokens":4}})");
    });
    auto p = make(ioc, server);
    test::run_coro(ioc, [&]() -> asio::awaitable<void> {
        auto models = co_await p->async_list_models();
        BOOST_REQUIRE(models.size() == 2u);
        BOOST_TEST(models[0].id == "a");
        BOOST_TEST(models[0].owned_by == "me");
        BOOST_TEST(models[0].raw.at("extra").as_int64() == 1);
        majordomo::openai::embedding_request e;
        e.model = "emb";
        e.input = {"first", "second"};
        auto r = co_await p->async_embed(e);
        BOOST_REQUIRE(r.embeddings.size() == 2u);
        BOOST_TEST(r.embeddings[0][0] == 0.25f); // ordered by index
        BOOST_TEST(r.embeddings[1][1] == 1.0f);
        BOOST_TEST(r.prompt_tokens.value_or(0) == 4);
    }());
    auto body = json::parse(server.requests().at(1).body).as_object();
    BOOST_TEST(body.at("input").as_array().size() == 2u);
}

BOOST_AUTO_TEST_SUITE_END()

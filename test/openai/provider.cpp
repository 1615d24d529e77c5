#include <majordomo/deadline.hpp>
#include <majordomo/llm/chunk.hpp>
#include <majordomo/llm/classify.hpp>
#include <majordomo/openai/provider.hpp>

#include "openai/event_reader.hpp"
#include "support/printers.hpp"
#include "support/run_coro.hpp"
#include "support/test_server.hpp"

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/parse.hpp>
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cstdio>
#include <functional>

namespace asio = boost::asio;
namespace json = boost::json;
using namespace majordomo;
using namespace std::chrono_literals;
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

const std::string whole_answer =
    R"({"choices":[{"finish_reason":"stop","index":0,"message":{"role":"assistant","content":"fine"}}],"created":5,"id":"chatcmpl-9","model":"qwen","object":"chat.completion"})";

// Answers a whole (non-streamed) chat; true if it did.
asio::awaitable<bool> answer_whole(const test::received_request& req, test::exchange& ex)
{
    if (req.body.find("\"stream\":true") != std::string::npos)
        co_return false;
    test::header_list h;
    h.add("Content-Type", "application/json");
    co_await ex.async_respond(200, whole_answer, h);
    co_return true;
}

// Serves the given SSE bytes for any POST, as llama-server frames them. The body's
// terminating chunk goes out in one write with the last piece.
void serve_stream(test_server& s, std::vector<std::string> pieces, bool end_chunked = true)
{
    s.on_request([pieces, end_chunked](const test::received_request& req, test::exchange& ex) -> asio::awaitable<void> {
        const bool whole = co_await answer_whole(req, ex);
        if (whole)
            co_return;
        co_await ex.async_write_raw(sse_head);
        for (std::size_t i = 0; i < pieces.size(); ++i) {
            std::string bytes = chunk(pieces[i]);
            if (end_chunked && i + 1 == pieces.size())
                bytes += "0\r\n\r\n";
            co_await ex.async_write_raw(bytes);
        }
        if (!end_chunked)
            ex.close();
    });
}

// After [DONE] with the body's end in the same write, the connection is kept: try_finish
// looks at the buffered end without a read.
constexpr std::size_t idle_after_done = 1;

// Pulls until the stream fails; returns the error (none if it ended cleanly).
asio::awaitable<boost::system::error_code> drain_until_error(llm::chat_stream& stream)
{
    try {
        for (;;) {
            auto c = co_await with_deadline(stream.async_next(), 5s);
            if (!c)
                co_return boost::system::error_code{};
        }
    } catch (const boost::system::system_error& e) {
        co_return e.code();
    }
}

// The next call on a stream that failed: stream_closed at once, saying why.
asio::awaitable<void> expect_closed(llm::chat_stream& stream, std::string_view why)
{
    for (int i = 0; i < 2; ++i) {
        try {
            co_await with_deadline(stream.async_next(), 5s);
            BOOST_ERROR("no error");
        } catch (const majordomo::error& e) {
            BOOST_TEST(e.code() == client_errc::stream_closed, e.what());
            BOOST_TEST(std::string(e.what()).find(why) != std::string::npos, e.what());
            BOOST_TEST(e.diag().provider == "local");
        }
    }
}

// A connection left in the pool must serve the next request: a whole chat on the same
// client checks that no idle connection was left in an unknown state.
asio::awaitable<void> expect_pool_usable(majordomo::openai::provider& p)
{
    auto before = p.http_client().stats();
    auto r = co_await with_deadline(p.get_model("qwen")->async_chat(hello()), 5s);
    BOOST_TEST(r.text() == "fine");
    auto after = p.http_client().stats();
    if (before.idle == 1)
        BOOST_TEST(after.connections_opened == before.connections_opened); // reused
    else
        BOOST_TEST(after.connections_opened == before.connections_opened + 1);
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
        BOOST_TEST(r.raw.parse().at("object").as_string() == "chat.completion");
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
        // After [DONE] the body's end was already buffered: see idle_after_done.
        BOOST_TEST(p->http_client().stats().idle == idle_after_done);
    }());
    auto body = json::parse(server.requests().at(0).body).as_object();
    BOOST_TEST(body.at("stream").as_bool());
    BOOST_TEST(body.at("stream_options").at("include_usage").as_bool());
    BOOST_TEST(body.at("max_completion_tokens").as_int64() == 16);
    BOOST_TEST(server.requests().at(0).header("accept") == "text/event-stream");
}

// async_next_view decodes each chunk into one the stream reuses: the same chunks as
// async_next, at one address, nullptr at the end; failures close the stream the same way.
BOOST_AUTO_TEST_CASE(viewed_chunks_equal_the_returned_ones)
{
    asio::io_context ioc;
    test_server server(ioc.get_executor());
    const std::string all = role_event + delta("Hel") + delta("lo") + finish_event + done_event;
    const std::string broken = role_event + "data: {\"choices\":[{\"delta\":\n\n" + done_event;
    int served = 0;
    server.on_request([&](const test::received_request&, test::exchange& ex) -> asio::awaitable<void> {
        co_await ex.async_write_raw(sse_head);
        co_await ex.async_write_raw(chunk(++served < 3 ? all : broken) + "0\r\n\r\n");
    });
    auto p = make(ioc, server);
    test::run_coro(ioc, [&]() -> asio::awaitable<void> {
        std::vector<llm::chat_chunk> returned;
        auto a = co_await p->get_model("qwen")->async_chat_stream(hello());
        while (auto c = co_await a.async_next())
            returned.push_back(std::move(*c));

        auto b = co_await p->get_model("qwen")->async_chat_stream(hello());
        std::vector<const llm::chat_chunk*> addresses;
        llm::chat_accumulator acc;
        std::size_t i = 0;
        for (;;) {
            const llm::chat_chunk* c = co_await b.async_next_view();
            if (!c)
                break;
            addresses.push_back(c);
            BOOST_REQUIRE_LT(i, returned.size());
            BOOST_TEST(c->raw.text() == returned[i].raw.text());
            BOOST_TEST(c->text() == returned[i].text());
            BOOST_TEST(c->choices.size() == returned[i].choices.size());
            BOOST_TEST((c->choices.empty() || c->choices[0].role == returned[i].choices[0].role));
            BOOST_TEST((c->choices.empty() || c->choices[0].finish_reason == returned[i].choices[0].finish_reason));
            acc.add(*c);
            ++i;
        }
        BOOST_TEST(i == returned.size());
        BOOST_TEST(acc.result().text() == "Hello");
        BOOST_TEST((std::adjacent_find(addresses.begin(), addresses.end(), std::not_equal_to<>()) == addresses.end()));
        const llm::chat_chunk* past_end = co_await b.async_next_view();
        BOOST_TEST(past_end == nullptr);

        auto bad = co_await p->get_model("qwen")->async_chat_stream(hello());
        const llm::chat_chunk* first = co_await bad.async_next_view();
        BOOST_TEST(first != nullptr);
        boost::system::error_code ec;
        try {
            (void)co_await bad.async_next_view();
        } catch (const boost::system::system_error& e) {
            ec = e.code();
        }
        BOOST_TEST(ec == client_errc::bad_json);
        co_await expect_closed(bad, "failed with");
    }());
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
            co_await expect_closed(stream, "failed with");
            co_await expect_pool_usable(*p);
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
            co_await expect_closed(stream, "failed with");
            co_await expect_pool_usable(*p);
        }());
    }
}

// [DONE] ends the stream at once, whatever the server does after it; a connection whose
// body did not end there is closed, not pooled.
BOOST_AUTO_TEST_CASE(done_does_not_wait_for_the_end_of_the_body)
{
    struct form {
        const char* name;
        std::string last_write; // after the first events; the server then never ends the body
    };
    const std::vector<form> forms = {
        {"nothing more", chunk(done_event)},
        {"comments in the same chunk", chunk(done_event + ": keep-alive\n\n")},
        {"comments in later chunks", chunk(done_event) + chunk(": ping\n\n") + chunk(": ping\n\n")},
        {"an event after it", chunk(done_event + delta("late"))},
        {"a wrong terminating chunk", chunk(done_event) + "zz\r\n"},
    };
    for (const auto& f : forms) {
        asio::io_context ioc;
        test_server server(ioc.get_executor());
        server.on_request([&f](const test::received_request& req, test::exchange& ex) -> asio::awaitable<void> {
            const bool whole = co_await answer_whole(req, ex);
            if (whole)
                co_return;
            co_await ex.async_write_raw(sse_head + chunk(role_event + delta("Hi")));
            co_await ex.async_write_raw(f.last_write);
            co_await ex.async_stall(); // until the client closes
        });
        auto p = make(ioc, server);
        test::run_coro(ioc, [&]() -> asio::awaitable<void> {
            auto stream = co_await p->get_model("qwen")->async_chat_stream(hello());
            llm::chat_accumulator acc;
            // Bounded: before the fix the last call waited for the body's end forever.
            for (;;) {
                auto c = co_await with_deadline(stream.async_next(), 5s);
                if (!c)
                    break;
                acc.add(*c);
            }
            BOOST_TEST(acc.result().text() == "Hi", f.name);
            BOOST_TEST((stream.timings().end != llm::call_timings::clock::time_point{}), f.name);
            auto again = co_await with_deadline(stream.async_next(), 5s);
            BOOST_TEST(!again.has_value(), f.name);
            auto st = p->http_client().stats();
            BOOST_TEST(st.idle == 0u, f.name);
            BOOST_TEST(st.open == 0u, f.name);
            co_await server.async_wait_open_connections(0, 5s);
            BOOST_TEST(server.open_connections() == 0u, f.name); // the client closed it
            co_await expect_pool_usable(*p);
        }());
    }
}

// The good case: [DONE] and the body's end arrive together.
BOOST_AUTO_TEST_CASE(done_with_the_end_of_the_body_buffered)
{
    asio::io_context ioc;
    test_server server(ioc.get_executor());
    serve_stream(server, {role_event + delta("Hi") + done_event});
    auto p = make(ioc, server);
    test::run_coro(ioc, [&]() -> asio::awaitable<void> {
        for (int round = 0; round < 2; ++round) {
            auto stream = co_await p->get_model("qwen")->async_chat_stream(hello());
            auto ec = co_await drain_until_error(stream);
            BOOST_TEST(!ec, ec.message());
            BOOST_TEST(p->http_client().stats().idle == idle_after_done);
            co_await expect_pool_usable(*p);
        }
    }());
}

// Every failure closes the stream: the next call fails at once with stream_closed and
// reads nothing more, and the connection is not pooled.
BOOST_AUTO_TEST_CASE(a_failed_stream_stays_closed)
{
    struct form {
        const char* name;
        std::string bytes; // after a first chunk; followed by a good chunk and [DONE]
        boost::system::error_code expected;
    };
    const std::vector<form> forms = {
        {"event: error", "event: error\ndata: {\"error\":{\"code\":500,\"message\":\"slot crashed\"}}\n\n",
         make_api_error(500)},
        {"data error object", R"(data: {"error":{"code":500,"message":"slot crashed","type":"server_error"}})" "\n\n",
         make_api_error(500)},
        {"bad JSON", "data: {\"choices\":[{\"delta\":\n\n", client_errc::bad_json},
        {"not an object", "data: [1,2]\n\n", client_errc::bad_json},
    };
    for (const auto& f : forms) {
        asio::io_context ioc;
        test_server server(ioc.get_executor());
        serve_stream(server, {role_event + f.bytes + delta("after") + done_event});
        auto p = make(ioc, server);
        test::run_coro(ioc, [&]() -> asio::awaitable<void> {
            auto stream = co_await p->get_model("qwen")->async_chat_stream(hello());
            auto first = co_await stream.async_next();
            BOOST_TEST(first.has_value(), f.name);
            auto ec = co_await drain_until_error(stream);
            BOOST_TEST(ec == f.expected, f.name << ": " << ec.message());
            co_await expect_closed(stream, "failed with");
            BOOST_TEST(p->http_client().stats().idle == 0u, f.name);
            co_await expect_pool_usable(*p);
        }());
    }
}

// A deadline (or any cancellation) during a read closes the stream for good.
BOOST_AUTO_TEST_CASE(cancelled_during_a_read_stays_closed)
{
    asio::io_context ioc;
    test_server server(ioc.get_executor());
    server.on_request([](const test::received_request& req, test::exchange& ex) -> asio::awaitable<void> {
        const bool whole = co_await answer_whole(req, ex);
        if (whole)
            co_return;
        co_await ex.async_write_raw(sse_head + chunk(role_event));
        co_await ex.async_pause(300ms); // the client gives up meanwhile
        co_await ex.async_write_raw(chunk(delta("late") + done_event) + "0\r\n\r\n");
    });
    auto p = make(ioc, server);
    test::run_coro(ioc, [&]() -> asio::awaitable<void> {
        auto stream = co_await p->get_model("qwen")->async_chat_stream(hello());
        auto first = co_await stream.async_next();
        BOOST_TEST(first.has_value());
        try {
            co_await with_deadline(stream.async_next(), 50ms);
            BOOST_ERROR("no error");
        } catch (const majordomo::error& e) {
            BOOST_TEST(e.code() == client_errc::deadline_exceeded, e.what());
        }
        co_await expect_closed(stream, "cancelled");
        BOOST_TEST(p->http_client().stats().open == 0u);
        co_await server.async_wait_open_connections(0, 5s);
        BOOST_TEST(server.open_connections() == 0u);
        co_await expect_pool_usable(*p);
    }());
}

// A coroutine that was cancelled before it called async_next, and that turned off
// throw_if_cancelled, gets operation_aborted rather than the next chunk (which is
// already buffered), and the stream is closed.
BOOST_AUTO_TEST_CASE(cancelled_before_a_read_began_stays_closed)
{
    asio::io_context ioc;
    test_server server(ioc.get_executor());
    serve_stream(server, {role_event + delta("buffered") + delta("more") + done_event});
    auto p = make(ioc, server);
    asio::cancellation_signal sig;
    bool finished = false;
    asio::co_spawn(
        ioc,
        [&]() -> asio::awaitable<void> {
            co_await asio::this_coro::throw_if_cancelled(false);
            auto stream = co_await p->get_model("qwen")->async_chat_stream(hello());
            auto first = co_await stream.async_next();
            BOOST_TEST(first.has_value());
            // Wait here until the caller cancels.
            asio::steady_timer t(co_await asio::this_coro::executor, std::chrono::steady_clock::duration::max());
            boost::system::error_code wait_ec;
            co_await t.async_wait(asio::redirect_error(asio::use_awaitable, wait_ec));
            BOOST_TEST(wait_ec == asio::error::operation_aborted);
            try {
                auto c = co_await stream.async_next();
                BOOST_ERROR("no error; got a chunk: " << (c ? c->text() : std::string("<end>")));
            } catch (const boost::system::system_error& e) {
                BOOST_TEST(e.code() == asio::error::operation_aborted, e.what());
            }
            co_await asio::this_coro::reset_cancellation_state();
            co_await expect_closed(stream, "cancelled");
            BOOST_TEST(p->http_client().stats().open == 0u);
            co_await expect_pool_usable(*p);
            finished = true;
            ioc.stop(); // the server would keep the context busy
        },
        asio::bind_cancellation_slot(sig.slot(), asio::detached));
    asio::steady_timer t(ioc, 200ms);
    t.async_wait([&](auto) { sig.emit(asio::cancellation_type::terminal); });
    ioc.run_for(20s);
    BOOST_TEST(finished);
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

// The chat calls against what a hostile or broken server sends: each fault for a whole
// call and for a stream, on a fresh and on a reused connection. Each ends in its specific
// error (or its right answer), leaks no file descriptor, and leaves the provider serving
// the next call correctly.
#include <majordomo/deadline.hpp>
#include <majordomo/llm/chunk.hpp>
#include <majordomo/llm/classify.hpp>
#include <majordomo/openai/provider.hpp>

#include "support/printers.hpp"
#include "support/run_coro.hpp"
#include "support/fault_script.hpp"
#include "support/test_server.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/test/unit_test.hpp>

#include <cstdio>
#include <functional>

namespace asio = boost::asio;
using namespace majordomo;
using namespace std::chrono_literals;
using majordomo::test::test_server;
using kind = majordomo::llm::error_kind;

namespace {

std::string chunk(std::string_view bytes)
{
    char size[32];
    std::snprintf(size, sizeof size, "%zx\r\n", bytes.size());
    return std::string(size) + std::string(bytes) + "\r\n";
}

std::string delta(std::string_view text)
{
    return R"(data: {"choices":[{"finish_reason":null,"index":0,"delta":{"content":")" + std::string(text) +
           R"("}}],"created":1,"id":"c1","model":"m","object":"chat.completion.chunk"})" "\n\n";
}

const std::string sse_head = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n";
const std::string done = "data: [DONE]\n\n";
const std::string whole_json =
    R"({"id":"c1","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"fine"},"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}})";

std::string json_response(int status, const std::string& body, const std::string& extra = "",
                          const std::string& type = "application/json")
{
    return "HTTP/1.1 " + std::to_string(status) + " X\r\nContent-Type: " + type + "\r\n" + extra +
           "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

// The SSE body of a stream that answers "fine", cut where `cut` says.
std::string sse(const std::vector<std::string>& events, bool terminate = true)
{
    std::string out = sse_head;
    for (const auto& e : events)
        out += chunk(e);
    if (terminate)
        out += "0\r\n\r\n";
    return out;
}

using script = test::fault_script;
using test::open_fds;
using test::send;
using test::then;

struct expectation {
    std::optional<kind> k;              // none: success
    boost::system::error_code code;     // checked when set
    std::string text = "fine";          // the answer on success
    std::optional<std::chrono::milliseconds> retry_after;
};

struct fault {
    std::string name;
    script whole;
    expectation whole_expect;
    script stream;
    expectation stream_expect;
};

expectation ok() { return {}; }
expectation fails(kind k, boost::system::error_code code = {})
{
    expectation e;
    e.k = k;
    e.code = code;
    return e;
}
expectation rate_limited(std::chrono::milliseconds after)
{
    auto e = fails(kind::rate_limited);
    e.retry_after = after;
    return e;
}

std::vector<fault> faults()
{
    const boost::system::error_code deadline = make_error_code(client_errc::deadline_exceeded);
    const std::string big(20000, 'h');
    std::vector<fault> f = {
        {"stall before headers", send("", then::stall), fails(kind::deadline, deadline), send("", then::stall),
         fails(kind::deadline, deadline)},
        {"stall mid-body", send(json_response(200, whole_json).substr(0, 120), then::stall),
         fails(kind::deadline, deadline), send(sse({delta("fi")}, false), then::stall),
         fails(kind::deadline, deadline)},
        {"close before headers", send("", then::close), fails(kind::transport, http::errc::response_truncated),
         send("", then::close), fails(kind::transport, http::errc::response_truncated)},
        {"close mid-chunk", send(sse({}, false) + "40\r\n{\"id\"", then::close),
         fails(kind::transport, http::errc::response_truncated), send(sse({delta("fi")}, false) + "40\r\ndata: {", then::close),
         fails(kind::transport, http::errc::response_truncated)},
        {"reset", send("", then::reset), fails(kind::transport, asio::error::connection_reset), send("", then::reset),
         fails(kind::transport, asio::error::connection_reset)},
        {"garbage status line", send("SSH-2.0-OpenSSH_9.2\r\n\r\n", then::stall),
         fails(kind::decoding, http::errc::bad_status_line), send("SSH-2.0-OpenSSH_9.2\r\n\r\n", then::stall),
         fails(kind::decoding, http::errc::bad_status_line)},
        {"header over the limit", send("HTTP/1.1 200 OK\r\nX-Big: " + big, then::stall),
         fails(kind::decoding, http::errc::header_limit_exceeded), send("HTTP/1.1 200 OK\r\nX-Big: " + big, then::stall),
         fails(kind::decoding, http::errc::header_limit_exceeded)},
        {"endless chunk line", send(sse({}, false) + std::string(50000, '1'), then::stall),
         fails(kind::decoding, http::errc::chunk_line_limit_exceeded),
         send(sse({delta("fi")}, false) + std::string(50000, '1'), then::stall),
         fails(kind::decoding, http::errc::chunk_line_limit_exceeded)},
        {"endless trailer", send(sse({}, false) + "0\r\nX-T: " + big + big + big, then::stall),
         fails(kind::decoding, http::errc::trailer_limit_exceeded),
         send(sse({delta("fine"), done}, false) + "0\r\nX-T: " + big + big + big, then::stall),
         // [DONE] was read: the caller has the whole answer and the rest is not awaited.
         ok()},
        {"1xx before the final response", send("HTTP/1.1 100 Continue\r\n\r\n" + json_response(200, whole_json), then::keep),
         ok(), send("HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n" + sse({delta("fine"), done}), then::keep), ok()},
        {"Content-Length with Transfer-Encoding",
         send("HTTP/1.1 200 OK\r\nContent-Length: 10\r\nTransfer-Encoding: chunked\r\n\r\n", then::stall),
         fails(kind::decoding, http::errc::bad_framing),
         send("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nContent-Length: 10\r\nTransfer-Encoding: chunked\r\n\r\n",
              then::stall),
         fails(kind::decoding, http::errc::bad_framing)},
        {"extra bytes after the response", send(json_response(200, whole_json) + "HTTP/1.1 200 OK\r\n\r\nwrong", then::keep),
         ok(), send(sse({delta("fine"), done}) + "HTTP/1.1 200 OK\r\n\r\nwrong", then::keep), ok()},
        {"SSE without [DONE]", send(sse({delta("fine")}), then::keep),
         fails(kind::decoding, client_errc::bad_json), send(sse({delta("fine")}), then::keep),
         fails(kind::stream_truncated, client_errc::stream_truncated)},
        {"comments after [DONE]", send(json_response(200, whole_json), then::keep), ok(),
         send(sse({delta("fine"), done, ": keep-alive\n\n", ": more\n\n"}), then::keep), ok()},
        {"[DONE] and a body that never ends", send(json_response(200, whole_json), then::keep), ok(),
         send(sse({delta("fine"), done}, false), then::stall), ok()},
        {"error frame mid-stream",
         send(json_response(500, R"({"error":{"code":500,"message":"boom","type":"server_error"}})"), then::keep),
         fails(kind::server),
         send(sse({delta("fi"), "event: error\ndata: {\"error\":{\"code\":500,\"message\":\"boom\",\"type\":\"server_error\"}}\n\n"},
                  false),
              then::stall),
         fails(kind::server)},
        {"llama-swap unloading mid-stream", send(sse({}, false) + chunk("{\"id\":") + "0\r\n\r\n", then::keep),
         fails(kind::decoding, client_errc::bad_json), send(sse({delta("fi")}), then::keep),
         fails(kind::stream_truncated, client_errc::stream_truncated)},
        {"429 with Retry-After",
         send(json_response(429, R"({"error":{"message":"slow down","type":"rate_limit"}})", "Retry-After: 7\r\n"), then::keep),
         rate_limited(7000ms),
         send(json_response(429, R"({"error":{"message":"slow down","type":"rate_limit"}})", "Retry-After: 7\r\n"), then::keep),
         rate_limited(7000ms)},
        {"503 while loading", send(json_response(503, R"({"error":{"code":503,"message":"Loading model","type":"unavailable_error"}})"), then::keep),
         fails(kind::unavailable),
         send(json_response(503, R"({"error":{"code":503,"message":"Loading model","type":"unavailable_error"}})"), then::keep),
         fails(kind::unavailable)},
        {"HTML 502 from a proxy",
         send(json_response(502, "<html><body><h1>502 Bad Gateway</h1></body></html>", "", "text/html"), then::keep),
         fails(kind::server),
         send(json_response(502, "<html><body><h1>502 Bad Gateway</h1></body></html>", "", "text/html"), then::keep),
         fails(kind::server)},
        {"text/plain error (llama-swap)", send(json_response(404, "model not found\n", "", "text/plain"), then::keep),
         fails(kind::not_found), send(json_response(404, "model not found\n", "", "text/plain"), then::keep),
         fails(kind::not_found)},
    };
    return f;
}

llm::chat_request request(const std::string& model)
{
    llm::chat_request r;
    r.model = model;
    r.messages = {llm::message::user("hi")};
    return r;
}

asio::awaitable<std::string> call(openai::provider& p, const std::string& model, bool streamed)
{
    if (!streamed) {
        auto r = co_await p.async_chat(request(model));
        co_return r.text();
    }
    auto s = co_await p.async_chat_stream(request(model));
    std::string text;
    for (;;) {
        auto c = co_await s.async_next();
        if (!c)
            break;
        text += c->text();
    }
    co_return text;
}

void run_matrix(bool streamed, bool reused)
{
    asio::io_context ioc;
    test_server server(ioc.get_executor());
    const auto cases = faults();
    const std::string ok_stream = sse({delta("fi"), delta("ne"), done});
    std::size_t current = 0;
    server.on_request([&](const test::received_request& req, test::exchange& ex) -> asio::awaitable<void> {
        if (req.body.find("\"model\":\"ok\"") != std::string::npos) {
            // Bound to locals: g++ 12 miscompiles conditional and braced temporaries in co_await.
            const bool stream = req.body.find("\"stream\":true") != std::string::npos;
            std::string answer = stream ? ok_stream : json_response(200, whole_json);
            co_await ex.async_write_raw(answer);
            co_return;
        }
        const auto& c = cases[current];
        const script& run = streamed ? c.stream : c.whole;
        co_await run(ex);
    });
    majordomo::http::client_params hp;
    hp.header_limit = 8 * 1024;
    majordomo::http::client http(ioc.get_executor(), hp);
    openai::provider_params pp;
    pp.base_url = server.url() + "/v1";
    pp.http = http;
    auto provider = openai::make_provider(ioc.get_executor(), pp);
    const auto label = std::string(streamed ? "stream" : "whole") + (reused ? ", reused" : ", fresh");
    test::run_coro(ioc, [&]() -> asio::awaitable<void> {
        const std::size_t baseline = open_fds();
        for (current = 0; current < cases.size(); ++current) {
            const auto& c = cases[current];
            const auto& want = streamed ? c.stream_expect : c.whole_expect;
            const std::string name = c.name + " (" + label + ")";
            if (reused) {
                auto warm = co_await call(*provider, "ok", streamed);
                BOOST_TEST(warm == "fine", name);
                BOOST_TEST(http.stats().idle == 1u, name);
            }
            std::string text;
            std::optional<llm::classification> got;
            boost::system::error_code code;
            std::string what;
            try {
                text = co_await with_deadline(call(*provider, "fault", streamed), 300ms);
            } catch (const majordomo::error& e) {
                got = llm::classify(e);
                code = e.code();
                what = e.what();
            }
            if (!want.k) {
                BOOST_TEST(!got.has_value(), name << ": " << what);
                BOOST_TEST(text == want.text, name);
            } else {
                BOOST_REQUIRE_MESSAGE(got.has_value(), name << ": no error");
                BOOST_TEST(llm::to_string(got->kind) == llm::to_string(*want.k), name << ": " << what);
                if (want.code)
                    BOOST_TEST(code == want.code, name << ": " << what);
                if (want.retry_after)
                    BOOST_TEST((got->retry_after == want.retry_after), name);
            }
            BOOST_TEST(http.stats().open == http.stats().idle, name << ": a connection is held");

            auto next = co_await call(*provider, "ok", streamed);
            BOOST_TEST(next == "fine", name << ": the next call got another answer");

            http.close_idle();
            co_await server.async_wait_open_connections(0, 2s);
            BOOST_TEST(server.open_connections() == 0u, name);
            BOOST_TEST(open_fds() == baseline, name << ": file descriptors leaked");
        }
    }(), 120s);
}

} // namespace

BOOST_AUTO_TEST_SUITE(openai)
BOOST_AUTO_TEST_SUITE(fault_matrix)

BOOST_AUTO_TEST_CASE(whole_call_fresh_connection) { run_matrix(false, false); }
BOOST_AUTO_TEST_CASE(whole_call_reused_connection) { run_matrix(false, true); }
BOOST_AUTO_TEST_CASE(stream_fresh_connection) { run_matrix(true, false); }
BOOST_AUTO_TEST_CASE(stream_reused_connection) { run_matrix(true, true); }

BOOST_AUTO_TEST_SUITE_END()
BOOST_AUTO_TEST_SUITE_END()

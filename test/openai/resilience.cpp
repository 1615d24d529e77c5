// Retries inside the caller's deadline and phase deadlines, against scripted servers.
#include <majordomo/deadline.hpp>
#include <majordomo/llm/chunk.hpp>
#include <majordomo/llm/classify.hpp>
#include <majordomo/openai/provider.hpp>

#include "support/printers.hpp"
#include "support/run_coro.hpp"
#include "openai/serve.hpp"
#include "support/test_server.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <ctime>

namespace asio = boost::asio;
using namespace majordomo;
using namespace std::chrono_literals;
using majordomo::test::test_server;
using clock_type = std::chrono::steady_clock;

namespace {

using test::serve::chunk;
using test::serve::done;
using test::serve::ms_since;
using test::serve::quick;
using test::serve::sse_head;

std::string delta(std::string_view text)
{
    return chunk(R"(data: {"choices":[{"finish_reason":null,"index":0,"delta":{"content":")" + std::string(text) +
                 R"("}}],"created":1,"id":"chatcmpl-1","model":"qwen","object":"chat.completion.chunk"})" "\n\n");
}

const std::string loading_frame =
    chunk(R"(data: {"choices":[{"delta":{"reasoning_content":"llama-swap loading model: qwen\n"}}]})" "\n\n");

const std::string whole_answer =
    R"({"choices":[{"finish_reason":"stop","index":0,"message":{"role":"assistant","content":"fine"}}],"created":5,"id":"chatcmpl-9","model":"qwen","object":"chat.completion"})";

std::shared_ptr<majordomo::openai::provider> make(asio::io_context& ioc, const std::string& url,
                                                  llm::retry_params retry = quick())
{
    return test::serve::provider_at(ioc, url, std::move(retry));
}

llm::chat_request hello()
{
    llm::chat_request r;
    r.model = "qwen";
    r.messages = {llm::message::user("hi")};
    return r;
}

bool streaming(const test::received_request& req) { return req.body.find("\"stream\":true") != std::string::npos; }

asio::awaitable<void> answer(const test::received_request& req, test::exchange& ex)
{
    if (streaming(req)) {
        co_await ex.async_write_raw(sse_head + delta("fine") + done);
        co_return;
    }
    test::header_list h;
    h.add("Content-Type", "application/json");
    co_await ex.async_respond(200, whole_answer, h);
}

// Answers the first `failures` requests with `status` and `retry_after` (none when empty),
// then normally.
void fail_first(test_server& s, int failures, int status, std::string retry_after)
{
    test::serve::fail_first(s, failures, status, std::move(retry_after), answer);
}

// An IMF-fixdate `secs` seconds from now.
std::string http_date_in(int secs)
{
    std::time_t t = std::time(nullptr) + secs;
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[64];
    std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    return buf;
}

struct caught {
    boost::system::error_code code;
    diagnostics diag;
    std::string what;
    explicit operator bool() const noexcept { return code.failed(); }
};

template <class T>
asio::awaitable<caught> failure_of(asio::awaitable<T> op)
{
    caught c;
    try {
        co_await std::move(op);
    } catch (const error& e) {
        c.code = e.code();
        c.diag = e.diag();
        c.what = e.what();
    } catch (const boost::system::system_error& e) {
        c.code = e.code();
    }
    co_return c;
}

asio::awaitable<void> pull_all(llm::chat_stream& s)
{
    for (;;) {
        auto c = co_await s.async_next();
        if (!c)
            co_return;
    }
}

} // namespace

BOOST_AUTO_TEST_SUITE(openai)
BOOST_AUTO_TEST_SUITE(resilience)

BOOST_AUTO_TEST_CASE(a_429_with_retry_after_inside_a_3s_deadline_succeeds_on_the_second_attempt)
{
    asio::io_context ioc;
    test_server s(ioc.get_executor());
    fail_first(s, 1, 429, "1");
    auto p = make(ioc, s.url());
    test::run_coro(ioc, [&]() -> asio::awaitable<void> {
        const auto t0 = clock_type::now();
        auto r = co_await with_deadline(p->async_chat(hello()), 3s);
        BOOST_TEST(r.text() == "fine");
        BOOST_TEST(r.call.attempts == 2);
        BOOST_TEST(ms_since(t0) >= 950); // Retry-After was honoured, not the 10 ms backoff
        BOOST_TEST((r.call.start <= t0 + 50ms)); // start is the first attempt's
    }());
    BOOST_TEST(s.request_count() == 2u);
}

BOOST_AUTO_TEST_CASE(a_429_with_retry_after_inside_a_half_second_deadline_fails_at_once)
{
    asio::io_context ioc;
    test_server s(ioc.get_executor());
    fail_first(s, 1, 429, "1");
    auto p = make(ioc, s.url());
    test::run_coro(ioc, [&]() -> asio::awaitable<void> {
        const auto t0 = clock_type::now();
        auto f = co_await failure_of(with_deadline(p->async_chat(hello()), 500ms));
        BOOST_TEST(ms_since(t0) < 300); // not a sleep until the deadline
        BOOST_TEST(f.code == make_api_error(429));
        BOOST_REQUIRE(f.diag.retry_after.has_value());
        BOOST_TEST(f.diag.retry_after->count() == 1000);
        BOOST_TEST(f.diag.attempts == 1);
        BOOST_TEST(f.diag.client_message.find("would pass the deadline") != std::string::npos, f.diag.client_message);
        BOOST_TEST((llm::classify(f.code, f.diag).kind == llm::error_kind::rate_limited));
    }());
    BOOST_TEST(s.request_count() == 1u);
}

BOOST_AUTO_TEST_CASE(retry_after_as_an_http_date_is_honoured)
{
    asio::io_context ioc;
    test_server s(ioc.get_executor());
    fail_first(s, 1, 429, http_date_in(2));
    auto p = make(ioc, s.url());
    test::run_coro(ioc, [&]() -> asio::awaitable<void> {
        const auto t0 = clock_type::now();
        auto r = co_await with_deadline(p->async_chat(hello()), 5s);
        BOOST_TEST(r.call.attempts == 2);
        BOOST_TEST(ms_since(t0) >= 900); // at least a second is left of a date two seconds ahead
    }());
    // The same date inside a deadline shorter than the wait fails at once.
    test_server s2(ioc.get_executor());
    fail_first(s2, 1, 503, http_date_in(3));
    auto p2 = make(ioc, s2.url());
    test::run_coro(ioc, [&]() -> asio::awaitable<void> {
        auto f = co_await failure_of(with_deadline(p2->async_chat(hello()), 1s));
        BOOST_TEST(f.code == make_api_error(503));
        BOOST_TEST(f.diag.retry_after.has_value());
    }());
    BOOST_TEST(s2.request_count() == 1u);
}

BOOST_AUTO_TEST_CASE(a_503_then_a_200_succeeds_with_backoff)
{
    asio::io_context ioc;
    test_server s(ioc.get_executor());
    fail_first(s, 2, 503, "");
    auto p = make(ioc, s.url());
    test::run_coro(ioc, [&]() -> asio::awaitable<void> {
        auto r = co_await with_deadline(p->async_chat(hello()), 3s);
        BOOST_TEST(r.call.attempts == 3);
    }());
    BOOST_TEST(s.request_count() == 3u);
}

BOOST_AUTO_TEST_CASE(attempts_run_out_and_the_last_error_says_how_many)
{
    asio::io_context ioc;
    test_server s(ioc.get_executor());
    fail_first(s, 100, 502, "");
    auto p = make(ioc, s.url());
    test::run_coro(ioc, [&]() -> asio::awaitable<void> {
        auto f = co_await failure_of(with_deadline(p->async_chat(hello()), 3s));
        BOOST_TEST(f.code == make_api_error(502));
        BOOST_TEST(f.diag.attempts == 3);
        BOOST_TEST(f.what.find("attempts: 3") != std::string::npos, f.what);
    }());
    BOOST_TEST(s.request_count() == 3u);
}

BOOST_AUTO_TEST_CASE(statuses_and_kinds_not_asked_for_are_not_retried)
{
    asio::io_context ioc;
    for (int status : {400, 401, 404, 500, 504}) {
        test_server s(ioc.get_executor());
        fail_first(s, 1, status, "1");
        auto p = make(ioc, s.url());
        test::run_coro(ioc, [&]() -> asio::awaitable<void> {
            auto f = co_await failure_of(with_deadline(p->async_chat(hello()), 3s));
            BOOST_TEST(f.code == make_api_error(status));
            BOOST_TEST(f.diag.attempts == 1);
        }());
        BOOST_TEST(s.request_count() == 1u, status);
    }
}

BOOST_AUTO_TEST_CASE(per_call_retry_params_override_the_providers)
{
    asio::io_context ioc;
    test_server s(ioc.get_executor());
    fail_first(s, 1, 503, "");
    auto p = make(ioc, s.url());
    test::run_coro(ioc, [&]() -> asio::awaitable<void> {
        auto req = hello();
        req.call.retry = llm::retry_params::none();
        auto f = co_await failure_of(with_deadline(p->async_chat(req), 3s));
        BOOST_TEST(f.code == make_api_error(503));
        // And a call may retry where the provider does not.
        auto p2 = make(ioc, s.url(), llm::retry_params::none());
        fail_first(s, 1, 503, "");
        auto req2 = hello();
        req2.call.retry = quick();
        auto r = co_await with_deadline(p2->async_chat(req2), 3s);
        BOOST_TEST(r.call.attempts == 2);
    }());
}

BOOST_AUTO_TEST_CASE(a_post_whose_connection_broke_after_writing_is_not_re_sent)
{
    asio::io_context ioc;
    test_server s(ioc.get_executor());
    test::serve::hang_up_after_request(s);
    auto p = make(ioc, s.url());
    test::run_coro(ioc, [&]() -> asio::awaitable<void> {
        auto f = co_await failure_of(with_deadline(p->async_chat(hello()), 3s));
        BOOST_TEST((llm::classify(f.code, f.diag).kind == llm::error_kind::transport));
        BOOST_TEST(!f.diag.request_not_sent);
        BOOST_TEST(f.diag.attempts == 1);
        // A stream's POST neither.
        auto g = co_await failure_of(with_deadline(p->async_chat_stream(hello()), 3s));
        BOOST_TEST((llm::classify(g.code, g.diag).kind == llm::error_kind::transport));
        BOOST_TEST(g.diag.attempts == 1);
    }());
    BOOST_TEST(s.request_count() == 2u);
}

BOOST_AUTO_TEST_CASE(a_get_whose_connection_broke_is_re_sent)
{
    asio::io_context ioc;
    test_server s(ioc.get_executor());
    auto seen = std::make_shared<std::atomic<int>>(0);
    s.on_request([seen](const test::received_request&, test::exchange& ex) -> asio::awaitable<void> {
        if (seen->fetch_add(1) == 0) {
            ex.close();
            co_return;
        }
        test::header_list h;
        h.add("Content-Type", "application/json");
        co_await ex.async_respond(200, R"({"object":"list","data":[{"id":"qwen","object":"model"}]})", h);
    });
    auto p = make(ioc, s.url());
    test::run_coro(ioc, [&]() -> asio::awaitable<void> {
        auto models = co_await with_deadline(p->async_list_models(), 3s);
        BOOST_TEST(models.size() == 1u);
    }());
    BOOST_TEST(s.request_count() == 2u);
}

BOOST_AUTO_TEST_CASE(connect_failures_are_retried_and_counted)
{
    asio::io_context ioc;
    std::string url;
    {
        test_server gone(ioc.get_executor());
        url = gone.url();
    } // nothing listens there now
    auto p = make(ioc, url);
    test::run_coro(ioc, [&]() -> asio::awaitable<void> {
        auto f = co_await failure_of(with_deadline(p->async_chat(hello()), 3s));
        BOOST_TEST(f.code == boost::system::error_code(boost::asio::error::connection_refused));
        BOOST_TEST(f.diag.request_not_sent);
        BOOST_TEST(f.diag.attempts == 3);
    }());
}

BOOST_AUTO_TEST_CASE(the_caller_cancelling_during_a_wait_ends_the_call)
{
    asio::io_context ioc;
    test_server s(ioc.get_executor());
    fail_first(s, 1, 429, "5");
    auto p = make(ioc, s.url());
    test::run_coro(ioc, [&]() -> asio::awaitable<void> {
        const auto t0 = clock_type::now();
        // Nested bounds: the outer, shorter one is what the retry loop sees.
        auto inner = with_deadline(p->async_chat(hello()), 30s);
        auto f = co_await failure_of(with_deadline(std::move(inner), 1s));
        BOOST_TEST(f.code == make_api_error(429)); // failed at once: 5 s do not fit in 1 s
        BOOST_TEST(ms_since(t0) < 500);
    }());
}

BOOST_AUTO_TEST_CASE(a_stream_that_delivered_a_chunk_and_then_broke_is_not_retried)
{
    asio::io_context ioc;
    test_server s(ioc.get_executor());
    s.on_request([](const test::received_request&, test::exchange& ex) -> asio::awaitable<void> {
        co_await ex.async_write_raw(sse_head + delta("hel"));
        co_await ex.async_pause(50ms);
        ex.close();
    });
    auto p = make(ioc, s.url());
    test::run_coro(ioc, [&]() -> asio::awaitable<void> {
        auto st = co_await with_deadline(p->async_chat_stream(hello()), 3s);
        auto c = co_await with_deadline(st.async_next(), 3s);
        BOOST_REQUIRE(c.has_value());
        BOOST_TEST(c->text() == "hel");
        auto f = co_await failure_of(with_deadline(pull_all(st), 3s));
        BOOST_TEST(f.code.failed());
        BOOST_TEST(st.timings().attempts == 1);
        auto again = co_await failure_of(st.async_next());
        BOOST_TEST(again.code == client_errc::stream_closed);
    }());
    BOOST_TEST(s.request_count() == 1u);
}

BOOST_AUTO_TEST_CASE(a_stream_is_retried_while_it_opens)
{
    asio::io_context ioc;
    test_server s(ioc.get_executor());
    fail_first(s, 1, 503, "");
    auto p = make(ioc, s.url());
    test::run_coro(ioc, [&]() -> asio::awaitable<void> {
        auto st = co_await with_deadline(p->async_chat_stream(hello()), 3s);
        co_await with_deadline(pull_all(st), 3s);
        BOOST_TEST(st.timings().attempts == 2);
    }());
    BOOST_TEST(s.request_count() == 2u);
}

BOOST_AUTO_TEST_CASE(llama_swaps_409_and_a_502_are_retried_by_default)
{
    asio::io_context ioc;
    for (int status : {409, 502, 503}) {
        test_server s(ioc.get_executor());
        fail_first(s, 1, status, "");
        auto p = make(ioc, s.url());
        test::run_coro(ioc, [&]() -> asio::awaitable<void> {
            auto r = co_await with_deadline(p->async_chat(hello()), 3s);
            BOOST_TEST(r.call.attempts == 2, status);
        }());
        BOOST_TEST(s.request_count() == 2u, status);
    }
}

BOOST_AUTO_TEST_CASE(a_retry_after_beyond_max_retry_after_fails_at_once)
{
    asio::io_context ioc;
    test_server s(ioc.get_executor());
    fail_first(s, 1, 429, "120");
    auto p = make(ioc, s.url()); // max_retry_after: 60 s by default; no caller deadline here
    test::run_coro(ioc, [&]() -> asio::awaitable<void> {
        const auto t0 = clock_type::now();
        auto f = co_await failure_of(p->async_chat(hello()));
        BOOST_TEST(f.code == make_api_error(429));
        BOOST_TEST(f.diag.retry_after->count() == 120000);
        BOOST_TEST(f.diag.client_message.find("max_retry_after") != std::string::npos, f.diag.client_message);
        BOOST_TEST(ms_since(t0) < 500);
    }());
    BOOST_TEST(s.request_count() == 1u);
}

BOOST_AUTO_TEST_CASE(embeddings_are_retried_and_timed_too)
{
    asio::io_context ioc;
    test_server s(ioc.get_executor());
    auto seen = std::make_shared<std::atomic<int>>(0);
    s.on_request([seen](const test::received_request&, test::exchange& ex) -> asio::awaitable<void> {
        test::header_list h;
        h.add("Content-Type", "application/json");
        if (seen->fetch_add(1) == 0) {
            co_await ex.async_respond(503, R"({"error":{"message":"Loading model","type":"unavailable_error","code":503}})", h);
            co_return;
        }
        co_await ex.async_respond(200, R"({"object":"list","model":"e","data":[{"object":"embedding","index":0,"embedding":[0.5,1.5]}],"usage":{"prompt_tokens":1,"total_tokens":1}})", h);
    });
    auto p = make(ioc, s.url());
    test::run_coro(ioc, [&]() -> asio::awaitable<void> {
        majordomo::openai::embedding_request req;
        req.model = "e";
        req.input = {"x"};
        auto r = co_await with_deadline(p->async_embed(req), 3s);
        BOOST_TEST(r.embeddings.size() == 1u);
        BOOST_TEST(r.call.attempts == 2);
    }());
}

// ---- phase deadlines ----

using test::serve::serve_steps;
using test::serve::step;

asio::awaitable<caught> stream_with(majordomo::openai::provider& p, llm::phase_deadlines d)
{
    auto req = hello();
    req.call.deadlines = d;
    caught c;
    try {
        auto st = co_await p.async_chat_stream(std::move(req));
        co_await pull_all(st);
    } catch (const error& e) {
        c.code = e.code();
        c.diag = e.diag();
        c.what = e.what();
    }
    co_return c;
}

BOOST_AUTO_TEST_CASE(first_token_deadline_fires_alone)
{
    asio::io_context ioc;
    test_server s(ioc.get_executor());
    // Loading frames come often, but they are not tokens.
    serve_steps(s, {{50ms, loading_frame}, {50ms, loading_frame}, {50ms, loading_frame}, {50ms, loading_frame},
                    {50ms, loading_frame}, {50ms, loading_frame}, {50ms, delta("late")}, {0ms, done}});
    auto p = make(ioc, s.url());
    test::run_coro(ioc, [&]() -> asio::awaitable<void> {
        llm::phase_deadlines d;
        d.first_token = 150ms;
        d.idle = 100ms;   // does not apply before the first token
        d.total = 2s;
        const auto t0 = clock_type::now();
        auto f = co_await with_deadline(stream_with(*p, d), 3s);
        BOOST_TEST(f.code == client_errc::first_token_deadline_exceeded);
        BOOST_TEST(f.what.find("first-token deadline of 150 ms") != std::string::npos, f.what);
        BOOST_TEST(f.diag.model == "qwen");
        BOOST_TEST(ms_since(t0) < 1000);
        BOOST_TEST((llm::classify(f.code, f.diag).kind == llm::error_kind::deadline));
        // Without the first-token bound the same stream passes: loading-frame gaps are not idle gaps.
        d.first_token.reset();
        auto ok = co_await with_deadline(stream_with(*p, d), 3s);
        BOOST_TEST(!ok, ok.what);
    }());
}

BOOST_AUTO_TEST_CASE(idle_deadline_fires_alone)
{
    asio::io_context ioc;
    test_server s(ioc.get_executor());
    serve_steps(s, {{0ms, delta("a")}, {20ms, delta("b")}, {400ms, delta("c")}, {0ms, done}});
    auto p = make(ioc, s.url());
    test::run_coro(ioc, [&]() -> asio::awaitable<void> {
        llm::phase_deadlines d;
        d.first_token = 2s;
        d.idle = 150ms;
        d.total = 2s;
        auto f = co_await with_deadline(stream_with(*p, d), 3s);
        BOOST_TEST(f.code == client_errc::idle_deadline_exceeded);
        BOOST_TEST(f.what.find("idle deadline of 150 ms") != std::string::npos, f.what);
        d.idle = 1s;
        auto ok = co_await with_deadline(stream_with(*p, d), 3s);
        BOOST_TEST(!ok, ok.what);
    }());
}

BOOST_AUTO_TEST_CASE(total_deadline_fires_alone)
{
    asio::io_context ioc;
    test_server s(ioc.get_executor());
    std::vector<step> steps;
    for (int i = 0; i < 12; ++i)
        steps.push_back({50ms, delta("x")});
    steps.push_back({0ms, done});
    serve_steps(s, steps);
    auto p = make(ioc, s.url());
    test::run_coro(ioc, [&]() -> asio::awaitable<void> {
        llm::phase_deadlines d;
        d.first_token = 300ms;
        d.idle = 300ms;
        d.total = 350ms;
        auto f = co_await with_deadline(stream_with(*p, d), 3s);
        BOOST_TEST(f.code == client_errc::total_deadline_exceeded);
        d.total = 2s;
        auto ok = co_await with_deadline(stream_with(*p, d), 3s);
        BOOST_TEST(!ok, ok.what);
    }());
}

BOOST_AUTO_TEST_CASE(a_stream_after_a_phase_deadline_is_closed)
{
    asio::io_context ioc;
    test_server s(ioc.get_executor());
    serve_steps(s, {{0ms, delta("a")}, {400ms, delta("b")}, {0ms, done}});
    auto p = make(ioc, s.url());
    test::run_coro(ioc, [&]() -> asio::awaitable<void> {
        auto req = hello();
        req.call.deadlines.idle = 100ms;
        auto st = co_await with_deadline(p->async_chat_stream(std::move(req)), 3s);
        auto c = co_await st.async_next();
        BOOST_TEST(c.has_value());
        auto f = co_await failure_of(st.async_next());
        BOOST_TEST(f.code == client_errc::idle_deadline_exceeded);
        auto again = co_await failure_of(st.async_next());
        BOOST_TEST(again.code == client_errc::stream_closed);
    }());
}

BOOST_AUTO_TEST_CASE(phase_deadlines_bound_a_whole_call)
{
    asio::io_context ioc;
    test_server s(ioc.get_executor());
    s.on_request([](const test::received_request& req, test::exchange& ex) -> asio::awaitable<void> {
        co_await ex.async_pause(300ms);
        co_await answer(req, ex);
    });
    auto p = make(ioc, s.url());
    test::run_coro(ioc, [&]() -> asio::awaitable<void> {
        auto req = hello();
        req.call.deadlines.first_token = 100ms;
        auto f = co_await failure_of(with_deadline(p->async_chat(req), 3s));
        BOOST_TEST(f.code == client_errc::first_token_deadline_exceeded);
        req.call.deadlines = {};
        req.call.deadlines.total = 100ms;
        auto g = co_await failure_of(with_deadline(p->async_chat(req), 3s));
        BOOST_TEST(g.code == client_errc::total_deadline_exceeded);
        // The caller's own bound stays deadline_exceeded.
        req.call.deadlines = {};
        req.call.deadlines.total = 2s;
        auto h = co_await failure_of(with_deadline(p->async_chat(req), 100ms));
        BOOST_TEST(h.code == client_errc::deadline_exceeded);
        req.call.deadlines.first_token = 1s;
        auto r = co_await with_deadline(p->async_chat(req), 3s);
        BOOST_TEST(r.text() == "fine");
    }());
}

BOOST_AUTO_TEST_CASE(a_retry_does_not_wait_past_a_phase_deadline)
{
    asio::io_context ioc;
    test_server s(ioc.get_executor());
    fail_first(s, 1, 429, "1");
    auto p = make(ioc, s.url());
    test::run_coro(ioc, [&]() -> asio::awaitable<void> {
        auto req = hello();
        req.call.deadlines.first_token = 500ms;
        const auto t0 = clock_type::now();
        auto f = co_await failure_of(p->async_chat(req));
        BOOST_TEST(f.code == make_api_error(429)); // the 429 itself, at once
        BOOST_TEST(ms_since(t0) < 300);
    }());
}

BOOST_AUTO_TEST_SUITE_END()
BOOST_AUTO_TEST_SUITE_END()

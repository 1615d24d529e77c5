// Retries, phase deadlines and async_preload against the simulator.
#include <majordomo/deadline.hpp>
#include <majordomo/llamaswap/provider.hpp>
#include <majordomo/llm/chunk.hpp>
#include <majordomo/llm/classify.hpp>
#include <majordomo/sim/simulator.hpp>

#include "support/printers.hpp"
#include "support/run_coro.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/test/unit_test.hpp>

namespace asio = boost::asio;
using namespace majordomo;
using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

namespace {

sim::model_params model(std::string id, std::chrono::milliseconds load)
{
    sim::model_params m;
    m.id = std::move(id);
    m.load_time = load;
    m.tokens_per_second = 200;
    m.reply = "one two three four five six";
    return m;
}

std::shared_ptr<majordomo::llamaswap::provider> connect(asio::io_context& ioc, const sim::simulator& s)
{
    majordomo::llamaswap::provider_params p;
    p.base_url = s.url();
    p.retry.base_delay = 10ms;
    p.retry.max_delay = 40ms;
    return majordomo::llamaswap::make_provider(ioc.get_executor(), p);
}

llm::chat_request ask()
{
    llm::chat_request r;
    r.messages = {llm::message::user("hello")};
    r.max_tokens = 50;
    return r;
}

asio::awaitable<std::string> stream_text(llm::model& m, llm::chat_request req, llm::call_timings* timings = nullptr)
{
    auto s = co_await m.async_chat_stream(std::move(req));
    llm::chat_accumulator acc;
    for (;;) {
        auto c = co_await s.async_next();
        if (!c)
            break;
        acc.add(*c);
    }
    if (timings)
        *timings = s.timings();
    co_return acc.result().text();
}

long long ms(std::chrono::steady_clock::duration d)
{
    return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
}

} // namespace

BOOST_AUTO_TEST_SUITE(llamaswap)
BOOST_AUTO_TEST_SUITE(resilience)

BOOST_AUTO_TEST_CASE(the_concurrency_limits_429_is_retried_after_its_retry_after)
{
    asio::io_context ioc;
    sim::simulator_params sp;
    auto m = model("qwen", 0ms);
    m.concurrency_limit = 1;
    m.tokens_per_second = 20; // six words: about 300 ms, so the second call meets a full model
    sp.models = {m};
    sim::simulator s(ioc.get_executor(), sp);
    auto p = connect(ioc, s);
    auto qwen = p->get_model("qwen");
    test::run_coro(ioc, [&]() -> asio::awaitable<void> {
        auto ex = co_await asio::this_coro::executor;
        std::string first_text;
        bool first_done = false;
        asio::co_spawn(ex, with_deadline(stream_text(*qwen, ask()), 5s), [&](std::exception_ptr e, std::string r) {
            BOOST_TEST(!e);
            first_text = std::move(r);
            first_done = true;
        });
        // The second starts while the first holds the only slot: 429, Retry-After: 1, then success.
        asio::steady_timer t(ex, 50ms);
        co_await t.async_wait(asio::use_awaitable);
        llm::call_timings second_timings;
        auto second = co_await with_deadline(stream_text(*qwen, ask(), &second_timings), 3s);
        while (!first_done) {
            asio::steady_timer w(ex, 10ms);
            co_await w.async_wait(asio::use_awaitable);
        }
        BOOST_TEST(first_text == "one two three four five six");
        BOOST_TEST(second == "one two three four five six");
        BOOST_TEST(second_timings.attempts == 2);
        BOOST_TEST(ms(second_timings.time_to_first_token()) >= 950);
    }());
    BOOST_TEST(s.stats().rejected == 1u);
}

BOOST_AUTO_TEST_CASE(preload_returns_when_the_model_is_ready)
{
    asio::io_context ioc;
    sim::simulator_params sp;
    sp.models = {model("qwen", 300ms), model("org/gemma", 100ms)};
    sim::simulator s(ioc.get_executor(), sp);
    auto p = connect(ioc, s);
    test::run_coro(ioc, [&]() -> asio::awaitable<void> {
        auto r = co_await with_deadline(p->async_preload("qwen"), 5s);
        BOOST_TEST(r.model == "qwen");
        BOOST_TEST(ms(r.timings.time_to_headers()) >= 290); // the load, as the caller waited it
        BOOST_TEST(r.timings.attempts == 1);
        auto running = co_await p->async_running();
        BOOST_REQUIRE(running.size() == 1u);
        BOOST_TEST(running[0].model == "qwen");
        BOOST_TEST(running[0].state == "ready");
        // Warm: at once.
        auto warm = co_await with_deadline(p->async_preload("qwen"), 5s);
        BOOST_TEST(ms(warm.timings.time_to_headers()) < 250);
        // An id with a slash swaps the other one in.
        auto g = co_await with_deadline(p->async_preload("org/gemma"), 5s);
        BOOST_TEST(g.model == "org/gemma");
        auto now = co_await p->async_running();
        BOOST_REQUIRE(now.size() == 1u);
        BOOST_TEST(now[0].model == "org/gemma");
    }());
    BOOST_TEST(s.stats().loads == 2u);
}

BOOST_AUTO_TEST_CASE(preload_failures)
{
    asio::io_context ioc;
    sim::simulator_params sp;
    auto broken = model("broken", 50ms);
    broken.f = sim::fault::fail_to_start;
    sp.models = {model("qwen", 500ms), broken};
    sim::simulator s(ioc.get_executor(), sp);
    auto p = connect(ioc, s);
    test::run_coro(ioc, [&]() -> asio::awaitable<void> {
        try {
            co_await p->async_preload("nope");
            BOOST_FAIL("an unknown model preloaded");
        } catch (const error& e) {
            BOOST_TEST(e.code() == make_api_error(404));
            BOOST_TEST(e.diag().attempts == 1);
        }
        try {
            co_await p->async_preload("broken");
            BOOST_FAIL("a model that fails to start preloaded");
        } catch (const error& e) {
            BOOST_TEST((e.code().category() == get_api_category()));
            BOOST_TEST(e.code().value() >= 500);
        }
        try {
            co_await p->async_preload("");
            BOOST_FAIL("an empty id preloaded");
        } catch (const error& e) {
            BOOST_TEST(e.code() == client_errc::invalid_argument);
        }
        // Its total phase deadline ends a slow load with its own error.
        llm::call_params cp;
        cp.deadlines.total = 100ms;
        try {
            co_await with_deadline(p->async_preload("qwen", cp), 5s);
            BOOST_FAIL("the total deadline did not fire");
        } catch (const error& e) {
            BOOST_TEST(e.code() == client_errc::total_deadline_exceeded);
        }
    }());
}

// The README's example: a cold swap with a generous first-token deadline and a tight idle one.
BOOST_AUTO_TEST_CASE(a_cold_swap_with_a_generous_first_token_and_a_tight_idle_deadline)
{
    asio::io_context ioc;
    sim::simulator_params sp;
    auto m = model("qwen", 600ms);
    m.send_loading_state = true;
    m.tokens_per_second = 100;
    sp.models = {m};
    sim::simulator s(ioc.get_executor(), sp);
    auto p = connect(ioc, s);
    auto qwen = p->get_model("qwen");
    test::run_coro(ioc, [&]() -> asio::awaitable<void> {
        auto req = ask();
        req.call.deadlines.first_token = 5s; // a cold swap takes long
        req.call.deadlines.idle = 300ms;     // but once it talks, it must keep talking
        llm::call_timings t;
        auto text = co_await with_deadline(stream_text(*qwen, req, &t), 10s);
        BOOST_TEST(text == "one two three four five six");
        BOOST_TEST(ms(t.time_to_first_token()) >= 550);
        // An upstream that never answers trips the first-token deadline, not the idle one.
        s.set_fault("qwen", sim::fault::stall);
        req.call.deadlines.first_token = 400ms;
        const auto t0 = clock_type::now();
        try {
            co_await with_deadline(stream_text(*qwen, req), 10s);
            BOOST_FAIL("the stall went unnoticed");
        } catch (const error& e) {
            BOOST_TEST(e.code() == client_errc::first_token_deadline_exceeded);
        }
        BOOST_TEST(ms(clock_type::now() - t0) < 2000);
    }());
}

BOOST_AUTO_TEST_SUITE_END()
BOOST_AUTO_TEST_SUITE_END()

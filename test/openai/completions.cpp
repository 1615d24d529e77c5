#include <majordomo/llamaswap/provider.hpp>
#include <majordomo/llm/completion.hpp>
#include <majordomo/openai/provider.hpp>
#include <majordomo/sim/simulator.hpp>

#include "openai/completions.hpp"
#include "openai/serve.hpp"
#include "support/failure_of.hpp"
#include "support/printers.hpp"
#include "support/run_coro.hpp"

#include <majordomo/deadline.hpp>
#include <majordomo/llm/classify.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/json/parse.hpp>
#include <boost/test/unit_test.hpp>

namespace asio = boost::asio;
namespace json = boost::json;
using namespace majordomo;
using namespace std::chrono_literals;
using majordomo::test::failure_of;
using majordomo::test::test_server;
using clock_type = std::chrono::steady_clock;
namespace serve = majordomo::test::serve;

namespace {

const std::string reply = "Once upon a time there was a parser";

sim::simulator_params sim_params()
{
    sim::model_params base;
    base.id = "base";
    base.load_time = 10ms;
    base.tokens_per_second = 5000;
    base.reply = reply;
    sim::model_params embed = base;
    embed.id = "embed";
    embed.kind = sim::model_kind::embedding;
    sim::simulator_params sp;
    sp.models = {base, embed};
    return sp;
}

std::shared_ptr<majordomo::openai::provider> openai_at(asio::io_context& ioc, const sim::simulator& s)
{
    majordomo::openai::provider_params p;
    p.name = "local";
    p.base_url = s.url() + "/v1";
    return majordomo::openai::make_provider(ioc.get_executor(), p);
}

llm::completion_request prompt(std::string model = "base")
{
    llm::completion_request r;
    r.model = std::move(model);
    r.prompt = "Once upon a time";
    return r;
}

std::string completion_event(std::string_view text)
{
    return "data: {\"id\":\"cmpl-1\",\"object\":\"text_completion\",\"model\":\"base\",\"choices\":[{\"index\":0,"
           "\"text\":\"" + std::string(text) + "\",\"finish_reason\":null}]}\n\n";
}

const std::string whole_completion =
    R"({"id":"cmpl-1","object":"text_completion","model":"base","choices":[{"index":0,"text":"fine","finish_reason":"stop"}]})";

// A whole completion, or a stream of one chunk, as the request asks.
asio::awaitable<void> answer(const test::received_request& req, test::exchange& ex)
{
    if (req.body.find("\"stream\":true") != std::string::npos) {
        co_await ex.async_write_raw(serve::sse_head + serve::chunk(completion_event("fine")) + serve::done);
        co_return;
    }
    test::header_list h;
    h.add("Content-Type", "application/json");
    co_await ex.async_respond(200, whole_completion, h);
}

asio::awaitable<std::string> text_of(llm::completion_stream& st)
{
    llm::completion_accumulator acc;
    while (auto c = co_await st.async_next())
        acc.add(*c);
    co_return acc.result().text();
}

} // namespace

BOOST_AUTO_TEST_SUITE(openai)
BOOST_AUTO_TEST_SUITE(completions)

BOOST_AUTO_TEST_CASE(a_429_with_retry_after_inside_a_3s_deadline_succeeds_on_the_second_attempt)
{
    asio::io_context ioc;
    test_server s(ioc.get_executor());
    serve::fail_first(s, 1, 429, "1", answer);
    test_server s2(ioc.get_executor());
    serve::fail_first(s2, 1, 429, "1", answer);
    auto p = serve::provider_at(ioc, s.url());
    auto p2 = serve::provider_at(ioc, s2.url());
    test::run_coro(ioc, [&]() -> asio::awaitable<void> {
        auto t0 = clock_type::now();
        auto r = co_await with_deadline(p->async_complete(prompt()), 3s);
        BOOST_TEST(r.text() == "fine");
        BOOST_TEST(r.call.attempts == 2);
        BOOST_TEST(serve::ms_since(t0) >= 950); // Retry-After was honoured, not the 10 ms backoff
        BOOST_TEST((r.call.start <= t0 + 50ms)); // start is the first attempt's
        // A stream is retried while it opens.
        t0 = clock_type::now();
        auto st = co_await with_deadline(p2->async_complete_stream(prompt()), 3s);
        BOOST_TEST(serve::ms_since(t0) >= 950);
        auto text = co_await with_deadline(text_of(st), 3s);
        BOOST_TEST(text == "fine");
        BOOST_TEST(st.timings().attempts == 2);
        BOOST_TEST((st.timings().start <= t0 + 50ms));
    }());
    BOOST_TEST(s.request_count() == 2u);
    BOOST_TEST(s2.request_count() == 2u);
}

BOOST_AUTO_TEST_CASE(a_503_answer_is_retried_but_a_sent_post_that_broke_is_not)
{
    asio::io_context ioc;
    test_server s(ioc.get_executor());
    serve::fail_first(s, 1, 503, "", answer);
    test_server gone(ioc.get_executor());
    serve::hang_up_after_request(gone);
    auto p = serve::provider_at(ioc, s.url());
    auto broken = serve::provider_at(ioc, gone.url());
    test::run_coro(ioc, [&]() -> asio::awaitable<void> {
        // The server answered: nothing was acted on, so it is sent again.
        auto r = co_await with_deadline(p->async_complete(prompt()), 3s);
        BOOST_TEST(r.call.attempts == 2);
        serve::fail_first(s, 1, 503, "", answer);
        auto st = co_await with_deadline(p->async_complete_stream(prompt()), 3s);
        co_await with_deadline(text_of(st), 3s);
        BOOST_TEST(st.timings().attempts == 2);
        // The request's own retry_params win over the provider's.
        serve::fail_first(s, 1, 503, "", answer);
        auto req = prompt();
        req.call.retry = llm::retry_params::none();
        auto f = co_await failure_of(with_deadline(p->async_complete(req), 3s));
        BOOST_REQUIRE(f.has_value());
        BOOST_TEST(f->code() == make_api_error(503));
        BOOST_TEST(f->diag().attempts == 1);
        // A POST whose connection broke after it was written is not re-sent, whole or streamed.
        auto g = co_await failure_of(with_deadline(broken->async_complete(prompt()), 3s));
        BOOST_REQUIRE(g.has_value());
        BOOST_TEST((llm::classify(*g).kind == llm::error_kind::transport));
        BOOST_TEST(!g->diag().request_not_sent);
        BOOST_TEST(g->diag().attempts == 1);
        auto h = co_await failure_of(with_deadline(broken->async_complete_stream(prompt()), 3s));
        BOOST_REQUIRE(h.has_value());
        BOOST_TEST((llm::classify(*h).kind == llm::error_kind::transport));
        BOOST_TEST(h->diag().attempts == 1);
    }());
    BOOST_TEST(s.request_count() == 5u);
    BOOST_TEST(gone.request_count() == 2u);
}

BOOST_AUTO_TEST_CASE(first_token_deadline_fires_on_a_stream_that_sends_headers_and_then_nothing)
{
    asio::io_context ioc;
    test_server s(ioc.get_executor());
    serve::serve_steps(s, {}, true);
    auto p = serve::provider_at(ioc, s.url());
    test::run_coro(ioc, [&]() -> asio::awaitable<void> {
        auto req = prompt();
        req.call.deadlines.first_token = 200ms;
        req.call.deadlines.total = 2s;
        const auto t0 = clock_type::now();
        auto st = co_await with_deadline(p->async_complete_stream(req), 3s);
        auto f = co_await failure_of(with_deadline(st.async_next(), 3s));
        BOOST_REQUIRE(f.has_value());
        BOOST_TEST(f->code() == make_error_code(client_errc::first_token_deadline_exceeded));
        BOOST_TEST(std::string(f->what()).find("first-token deadline of 200 ms") != std::string::npos, f->what());
        BOOST_TEST(f->diag().model == "base");
        BOOST_TEST(serve::ms_since(t0) >= 150);
        BOOST_TEST(serve::ms_since(t0) < 1000);
        auto again = co_await failure_of(st.async_next());
        BOOST_REQUIRE(again.has_value());
        BOOST_TEST(again->code() == make_error_code(client_errc::stream_closed));
    }());
}

BOOST_AUTO_TEST_CASE(idle_and_total_deadlines_bound_a_streamed_completion)
{
    asio::io_context ioc;
    test_server idle(ioc.get_executor());
    serve::serve_steps(idle, {{0ms, serve::chunk(completion_event("a"))}, {400ms, serve::chunk(completion_event("b"))},
                              {0ms, serve::done}});
    test_server slow(ioc.get_executor());
    std::vector<serve::step> steps;
    for (int i = 0; i < 12; ++i)
        steps.push_back({50ms, serve::chunk(completion_event("x"))});
    steps.push_back({0ms, serve::done});
    serve::serve_steps(slow, steps);
    auto pi = serve::provider_at(ioc, idle.url());
    auto ps = serve::provider_at(ioc, slow.url());
    test::run_coro(ioc, [&]() -> asio::awaitable<void> {
        auto req = prompt();
        req.call.deadlines.idle = 150ms;
        auto st = co_await with_deadline(pi->async_complete_stream(req), 3s);
        auto first = co_await st.async_next();
        BOOST_REQUIRE(first.has_value());
        BOOST_TEST(first->text() == "a");
        auto f = co_await failure_of(with_deadline(st.async_next(), 3s));
        BOOST_REQUIRE(f.has_value());
        BOOST_TEST(f->code() == make_error_code(client_errc::idle_deadline_exceeded));
        // The same gap within a longer idle bound passes.
        req.call.deadlines.idle = 1s;
        auto ok = co_await with_deadline(pi->async_complete_stream(req), 3s);
        auto text = co_await with_deadline(text_of(ok), 3s);
        BOOST_TEST(text == "ab");

        auto slow_req = prompt();
        slow_req.call.deadlines.idle = 300ms;
        slow_req.call.deadlines.total = 350ms;
        auto sst = co_await with_deadline(ps->async_complete_stream(slow_req), 3s);
        auto g = co_await failure_of(with_deadline(text_of(sst), 3s));
        BOOST_REQUIRE(g.has_value());
        BOOST_TEST(g->code() == make_error_code(client_errc::total_deadline_exceeded));
    }());
}

BOOST_AUTO_TEST_CASE(phase_deadlines_bound_a_whole_completion)
{
    asio::io_context ioc;
    test_server s(ioc.get_executor());
    s.on_request([](const test::received_request& req, test::exchange& ex) -> asio::awaitable<void> {
        co_await ex.async_pause(300ms);
        co_await answer(req, ex);
    });
    auto p = serve::provider_at(ioc, s.url());
    test::run_coro(ioc, [&]() -> asio::awaitable<void> {
        auto req = prompt();
        req.call.deadlines.first_token = 100ms;
        auto f = co_await failure_of(with_deadline(p->async_complete(req), 3s));
        BOOST_REQUIRE(f.has_value());
        BOOST_TEST(f->code() == make_error_code(client_errc::first_token_deadline_exceeded));
        req.call.deadlines = {};
        req.call.deadlines.total = 100ms;
        f = co_await failure_of(with_deadline(p->async_complete(req), 3s));
        BOOST_REQUIRE(f.has_value());
        BOOST_TEST(f->code() == make_error_code(client_errc::total_deadline_exceeded));
        // The headers of a stream count as its opening: bounded by first_token too.
        req.call.deadlines = {};
        req.call.deadlines.first_token = 100ms;
        f = co_await failure_of(with_deadline(p->async_complete_stream(req), 3s));
        BOOST_REQUIRE(f.has_value());
        BOOST_TEST(f->code() == make_error_code(client_errc::first_token_deadline_exceeded));
        req.call.deadlines.first_token = 2s;
        auto r = co_await with_deadline(p->async_complete(req), 3s);
        BOOST_TEST(r.text() == "fine");
    }());
}

BOOST_AUTO_TEST_CASE(whole_completion_decodes_text_usage_timings_and_keeps_extras)
{
    asio::io_context ioc;
    sim::simulator s(ioc.get_executor(), sim_params());
    auto p = openai_at(ioc, s);
    test::run_coro(ioc, [&]() -> asio::awaitable<void> {
        auto r = co_await p->async_complete(prompt());
        BOOST_TEST(r.text() == reply);
        BOOST_TEST(r.finish_reason() == "stop");
        BOOST_TEST(r.id.rfind("cmpl-", 0) == 0u);
        BOOST_TEST(r.model == "base");
        BOOST_TEST(r.created > 0);
        BOOST_REQUIRE(r.usage.has_value());
        BOOST_TEST(r.usage->completion_tokens == 8);
        BOOST_REQUIRE(r.timings.has_value());
        BOOST_TEST(r.timings->predicted_n.value_or(0) == 8);
        // llama.cpp's extra fields stay in raw.
        BOOST_TEST(r.raw.at("object").as_string() == "text_completion");
        BOOST_TEST(r.raw.contains("system_fingerprint"));
        BOOST_TEST((r.call.total() > 0ns));

        auto req = prompt();
        req.max_tokens = 3;
        auto cut = co_await p->async_complete(req);
        BOOST_TEST(cut.text() == "Once upon a");
        BOOST_TEST(cut.finish_reason() == "length");
    }());
}

BOOST_AUTO_TEST_CASE(streamed_completion_adds_up_to_the_whole_one)
{
    asio::io_context ioc;
    sim::simulator s(ioc.get_executor(), sim_params());
    auto p = openai_at(ioc, s);
    test::run_coro(ioc, [&]() -> asio::awaitable<void> {
        auto st = co_await p->async_complete_stream(prompt());
        llm::completion_accumulator acc;
        int chunks = 0;
        while (auto c = co_await st.async_next()) {
            acc.add(*c);
            ++chunks;
            BOOST_TEST(!c->raw.empty());
        }
        BOOST_TEST(chunks > 8); // one per word, the finish chunk and the usage chunk
        BOOST_TEST(acc.result().text() == reply);
        BOOST_TEST(acc.result().finish_reason() == "stop");
        BOOST_REQUIRE(acc.result().usage.has_value());
        BOOST_TEST(acc.result().usage->completion_tokens == 8);
        BOOST_TEST(acc.result().timings.has_value());
        BOOST_TEST((st.timings().first_token > st.timings().start));
        BOOST_TEST((st.timings().end >= st.timings().first_token));
        // After the end, the stream stays at its end.
        auto again = co_await st.async_next();
        BOOST_TEST(!again.has_value());

        // Without include_usage the finish chunk carries the timings.
        auto req = prompt();
        req.stream_include_usage = false;
        auto st2 = co_await p->async_complete_stream(req);
        llm::completion_accumulator acc2;
        while (auto c = co_await st2.async_next())
            acc2.add(*c);
        BOOST_TEST(acc2.result().text() == reply);
        BOOST_TEST(!acc2.result().usage.has_value());
        BOOST_TEST(acc2.result().timings.has_value());
    }());
}

BOOST_AUTO_TEST_CASE(error_bodies_become_api_errors)
{
    asio::io_context ioc;
    sim::simulator s(ioc.get_executor(), sim_params());
    auto p = openai_at(ioc, s);
    test::run_coro(ioc, [&]() -> asio::awaitable<void> {
        // llama-server started with --embeddings: 501 with llama.cpp's envelope.
        auto e = co_await failure_of(p->async_complete(prompt("embed")));
        BOOST_REQUIRE(e.has_value());
        BOOST_TEST(e->code() == make_api_error(501));
        BOOST_TEST(e->diag().error_type == "not_supported_error");
        BOOST_TEST(e->diag().server_message.find("does not support completions") != std::string::npos);
        BOOST_TEST(e->diag().model == "embed");
        // llama-swap's own 404 for a model it does not know, whole and streamed.
        e = co_await failure_of(p->async_complete(prompt("nope")));
        BOOST_REQUIRE(e.has_value());
        BOOST_TEST(e->code() == make_api_error(404));
        BOOST_TEST(e->diag().server_message == "no router for requested model");
        e = co_await failure_of(p->async_complete_stream(prompt("nope")));
        BOOST_REQUIRE(e.has_value());
        BOOST_TEST(e->code() == make_api_error(404));

        // An error inside the stream, then a cut stream.
        s.set_fault("base", sim::fault::error_mid_stream);
        auto st = co_await p->async_complete_stream(prompt());
        std::optional<majordomo::error> in_stream;
        for (int i = 0; i < 20 && !in_stream; ++i)
            in_stream = co_await failure_of(st.async_next());
        BOOST_REQUIRE(in_stream.has_value());
        BOOST_TEST(in_stream->code() == make_api_error(500));
        BOOST_TEST(in_stream->diag().server_message == "simulated upstream failure");
        auto closed = co_await failure_of(st.async_next());
        BOOST_REQUIRE(closed.has_value());
        BOOST_TEST(closed->code() == make_error_code(client_errc::stream_closed));
        e = co_await failure_of(p->async_complete(prompt()));
        BOOST_REQUIRE(e.has_value());
        BOOST_TEST(e->code() == make_api_error(500));

        s.set_fault("base", sim::fault::cut_stream);
        auto cut = co_await p->async_complete_stream(prompt());
        std::optional<majordomo::error> truncated;
        for (int i = 0; i < 20 && !truncated; ++i)
            truncated = co_await failure_of(cut.async_next());
        BOOST_REQUIRE(truncated.has_value());
        BOOST_TEST(truncated->code() == make_error_code(client_errc::stream_truncated));
        e = co_await failure_of(p->async_complete(prompt()));
        BOOST_REQUIRE(e.has_value());
        BOOST_TEST(e->code() == make_api_error(502));
    }());
}

BOOST_AUTO_TEST_CASE(bad_input_fails_clearly)
{
    asio::io_context ioc;
    sim::simulator s(ioc.get_executor(), sim_params());
    auto p = openai_at(ioc, s);
    test::run_coro(ioc, [&]() -> asio::awaitable<void> {
        auto e = co_await failure_of(p->async_complete(prompt("")));
        BOOST_REQUIRE(e.has_value());
        BOOST_TEST(e->code() == make_error_code(client_errc::invalid_argument));
        e = co_await failure_of(p->async_complete_stream(prompt("")));
        BOOST_REQUIRE(e.has_value());
        BOOST_TEST(e->code() == make_error_code(client_errc::invalid_argument));
        // A prompt the server cannot read: its 400 says why.
        auto req = prompt();
        req.extra["prompt"] = 5;
        e = co_await failure_of(p->async_complete(req));
        BOOST_REQUIRE(e.has_value());
        BOOST_TEST(e->code() == make_api_error(400));
        BOOST_TEST(e->diag().server_message.find("\"prompt\" must be") != std::string::npos);
        req.extra.erase("prompt");
        req.extra["prompt"] = json::array{"a", "b"}; // two prompts, two choices
        auto two = co_await p->async_complete(req);
        BOOST_REQUIRE(two.choices.size() == 2u);
        BOOST_TEST(two.choices[1].index == 1);
        BOOST_TEST(two.choices[1].text == reply);
    }());
}

BOOST_AUTO_TEST_CASE(decoders_are_lenient_but_reject_wrong_shapes)
{
    using namespace majordomo::openai::detail;
    // Unknown fields, null usage, a string count and choices out of order.
    auto r = decode_completion_response(
        R"({"choices":[{"text":"b","index":1},{"text":"a","index":0,"finish_reason":null}],"usage":null,"x":1})");
    BOOST_REQUIRE(r.choices.size() == 2u);
    BOOST_TEST(r.text() == "a");
    BOOST_TEST(r.finish_reason() == "");
    BOOST_TEST(!r.usage.has_value());
    BOOST_TEST(r.raw.contains("x"));
    auto code_of = [](auto f) -> boost::system::error_code {
        try {
            f();
        } catch (const majordomo::error& e) {
            return e.code();
        }
        return {};
    };
    BOOST_TEST(code_of([] { decode_completion_response("{\"choices\":"); }) ==
               make_error_code(client_errc::bad_json));
    BOOST_TEST(code_of([] { decode_completion_response("[]"); }) == make_error_code(client_errc::bad_json));
    BOOST_TEST(code_of([] { decode_completion_response("{\"id\":\"x\"}"); }) ==
               make_error_code(client_errc::bad_json));
    BOOST_TEST(code_of([] { decode_completion_response(R"({"error":{"code":503,"message":"Loading model"}})"); }) ==
               make_api_error(503));
    BOOST_TEST(code_of([] { decode_completion_chunk("nope"); }) == make_error_code(client_errc::bad_json));
    auto c = decode_completion_chunk(R"({"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}})");
    BOOST_TEST(c.text() == "");
    BOOST_REQUIRE(c.usage.has_value());
    BOOST_TEST(c.usage->total_tokens == 5);
    // The request body: max_tokens, stream options, extras last.
    llm::completion_request req;
    req.model = "m";
    req.prompt = "p";
    req.max_tokens = 4;
    req.stop = {"\n"};
    req.extra["n_predict"] = 2;
    auto body = json::parse(encode_completion_request(req, true)).as_object();
    BOOST_TEST(body.at("max_tokens").as_int64() == 4);
    BOOST_TEST(body.at("stream").as_bool());
    BOOST_TEST(body.at("stream_options").at("include_usage").as_bool());
    BOOST_TEST(body.at("n_predict").as_int64() == 2);
    BOOST_TEST(body.at("stop").as_array().size() == 1u);
}

BOOST_AUTO_TEST_SUITE_END()
BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(llamaswap)
BOOST_AUTO_TEST_SUITE(completions)

BOOST_AUTO_TEST_CASE(completions_go_through_llama_swap_by_model)
{
    asio::io_context ioc;
    sim::simulator s(ioc.get_executor(), sim_params());
    majordomo::llamaswap::provider_params lp;
    lp.base_url = s.url();
    auto p = majordomo::llamaswap::make_provider(ioc.get_executor(), lp);
    majordomo::llamaswap::provider unconfigured(ioc.get_executor(), {});
    test::run_coro(ioc, [&]() -> asio::awaitable<void> {
        auto r = co_await p->async_complete(prompt());
        BOOST_TEST(r.text() == reply);
        auto st = co_await p->async_complete_stream(prompt());
        llm::completion_accumulator acc;
        while (auto c = co_await st.async_next())
            acc.add(*c);
        BOOST_TEST(acc.result().text() == reply);
        auto e = co_await failure_of(unconfigured.async_complete(prompt()));
        BOOST_REQUIRE(e.has_value());
        BOOST_TEST(e->code() == make_error_code(client_errc::no_base_url));
    }());
}

BOOST_AUTO_TEST_CASE(llama_swap_calls_retry_with_its_params_and_the_requests)
{
    asio::io_context ioc;
    test_server s(ioc.get_executor());
    serve::fail_first(s, 1, 503, "", answer);
    majordomo::llamaswap::provider_params lp;
    lp.base_url = s.url();
    lp.retry = serve::quick();
    auto p = majordomo::llamaswap::make_provider(ioc.get_executor(), lp);
    test::run_coro(ioc, [&]() -> asio::awaitable<void> {
        auto r = co_await with_deadline(p->async_complete(prompt()), 3s);
        BOOST_TEST(r.call.attempts == 2);
        serve::fail_first(s, 1, 503, "", answer);
        auto req = prompt();
        req.call.retry = llm::retry_params::none();
        auto f = co_await failure_of(with_deadline(p->async_complete_stream(req), 3s));
        BOOST_REQUIRE(f.has_value());
        BOOST_TEST(f->code() == make_api_error(503));
    }());
    BOOST_TEST(s.request_count() == 3u);
    BOOST_TEST(s.requests().front().target == "/v1/completions");
}

BOOST_AUTO_TEST_SUITE_END()
BOOST_AUTO_TEST_SUITE_END()

#include <majordomo/deadline.hpp>
#include <majordomo/llamaswap/provider.hpp>
#include <majordomo/llm/chunk.hpp>
#include <majordomo/openai/provider.hpp>
#include <majordomo/sim/simulator.hpp>

#include "support/failure_of.hpp"
#include "support/printers.hpp"
#include "support/run_coro.hpp"
#include "support/test_server.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/test/unit_test.hpp>

namespace asio = boost::asio;
using namespace majordomo;
using namespace std::chrono_literals;
using majordomo::test::failure_of;
namespace ls = majordomo::llamaswap;

namespace {

sim::simulator_params sim_params(int release = 250)
{
    sim::model_params q;
    q.id = "qwen";
    q.load_time = 10ms;
    q.tokens_per_second = 2000;
    q.reply = "from qwen";
    sim::model_params l = q;
    l.id = "llama";
    l.reply = "from llama";
    sim::simulator_params sp;
    sp.models = {q, l};
    sp.release = release;
    sp.profiles = {{"coding", "code models", {{"llm-code", "llama"}, {"qwen", ""}}}};
    return sp;
}

std::shared_ptr<ls::provider> swap_at(asio::io_context& ioc, const sim::simulator& s)
{
    ls::provider_params lp;
    lp.base_url = s.url();
    return ls::make_provider(ioc.get_executor(), lp);
}

llm::chat_request ask(std::string model)
{
    llm::chat_request r;
    r.model = std::move(model);
    r.messages = {llm::message::user("hi")};
    return r;
}

} // namespace

BOOST_AUTO_TEST_SUITE(llamaswap)
BOOST_AUTO_TEST_SUITE(admin)

BOOST_AUTO_TEST_CASE(version_activity_and_stats)
{
    asio::io_context ioc;
    sim::simulator s(ioc.get_executor(), sim_params());
    auto p = swap_at(ioc, s);
    test::run_coro(ioc, [&]() -> asio::awaitable<void> {
        auto v = co_await p->async_version();
        BOOST_TEST(v.version == "250");
        BOOST_TEST(v.commit == "majordomo-sim");

        co_await p->chat_provider()->async_chat(ask("qwen"));
        co_await p->chat_provider()->async_chat(ask("llama"));
        co_await p->chat_provider()->async_chat(ask("llama"));
        auto page = co_await p->async_activity();
        BOOST_TEST(!page.legacy);
        BOOST_REQUIRE(page.rows.size() == 3u);
        BOOST_TEST(page.total.value_or(0) == 3);
        BOOST_TEST(page.rows[0].model == "llama"); // newest first
        BOOST_TEST(page.rows[2].model == "qwen");
        BOOST_TEST(page.rows[2].req_path == "/v1/chat/completions");
        BOOST_TEST(page.rows[2].resp_status_code.value_or(0) == 200);
        BOOST_TEST(page.rows[2].tokens.input_tokens.has_value());

        ls::activity_query q;
        q.models = {"llama"};
        q.limit = 1;
        q.page = 2;
        q.order = "asc";
        auto one = co_await p->async_activity(q);
        BOOST_REQUIRE(one.rows.size() == 1u);
        BOOST_TEST(one.total.value_or(0) == 2);
        BOOST_TEST(one.total_pages.value_or(0) == 2);
        BOOST_TEST(one.rows[0].id == page.rows[0].id);

        // A bad filter is llama-swap's 400, named with its endpoint.
        q.limit = 0;
        auto e = co_await failure_of(p->async_activity(q));
        BOOST_REQUIRE(e.has_value());
        BOOST_TEST(e->code() == make_api_error(400));
        BOOST_TEST(e->diag().server_message == "invalid limit: 0");
        BOOST_TEST(e->diag().client_message == "GET /api/metrics/activity answered HTTP 400");

        auto stats = co_await p->async_stats();
        BOOST_TEST(stats.total_requests == 3);
        BOOST_TEST(!stats.prompt_histogram.has_value());
        auto qwen_stats = co_await p->async_stats("qwen");
        BOOST_TEST(qwen_stats.total_requests == 1);
    }());
}

BOOST_AUTO_TEST_CASE(profiles_are_listed_switched_and_route_requests)
{
    asio::io_context ioc;
    sim::simulator s(ioc.get_executor(), sim_params());
    auto p = swap_at(ioc, s);
    test::run_coro(ioc, [&]() -> asio::awaitable<void> {
        auto list = co_await p->async_profiles();
        BOOST_TEST(!list.active.has_value());
        BOOST_REQUIRE(list.profiles.size() == 1u);
        BOOST_TEST(list.profiles[0].id == "coding");
        BOOST_TEST(list.profiles[0].description == "code models");
        BOOST_REQUIRE(list.profiles[0].pins.size() == 2u);

        auto active = co_await p->async_set_profile("coding");
        BOOST_TEST(active.value_or("") == "coding");
        auto pinned = co_await p->chat_provider()->async_chat(ask("llm-code"));
        BOOST_TEST(pinned.text() == "from llama");
        // An empty pin disables the id.
        auto e = co_await failure_of(p->chat_provider()->async_chat(ask("qwen")));
        BOOST_REQUIRE(e.has_value());
        BOOST_TEST(e->code() == make_api_error(404));
        list = co_await p->async_profiles();
        BOOST_TEST(list.active.value_or("") == "coding");

        auto none = co_await p->async_set_profile(std::nullopt);
        BOOST_TEST(!none.has_value());
        auto back = co_await p->chat_provider()->async_chat(ask("qwen"));
        BOOST_TEST(back.text() == "from qwen");

        // An unknown profile is a real 404, not a missing endpoint.
        e = co_await failure_of(p->async_set_profile("nope"));
        BOOST_REQUIRE(e.has_value());
        BOOST_TEST(e->code() == make_api_error(404));
        BOOST_TEST(e->diag().server_message == "profile \"nope\" not found");
        BOOST_TEST(e->diag().client_message == "PUT /api/profiles/active answered HTTP 404");
    }());
}

BOOST_AUTO_TEST_CASE(an_in_flight_request_is_cancelled_by_its_id)
{
    asio::io_context ioc;
    auto sp = sim_params();
    sp.models[0].tokens_per_second = 20; // a stream of a few hundred milliseconds
    sp.models[0].reply = "one two three four five six seven eight nine ten eleven twelve";
    sim::simulator s(ioc.get_executor(), sp);
    auto p = swap_at(ioc, s);
    test::run_coro(ioc, [&]() -> asio::awaitable<void> {
        auto st = co_await p->chat_provider()->async_chat_stream(ask("qwen"));
        auto events = co_await p->async_events();
        std::string id;
        for (int i = 0; i < 10 && id.empty(); ++i) {
            auto ev = co_await with_deadline(events.async_next(), 5s);
            BOOST_REQUIRE(ev.has_value());
            if (ev->type == "inflight" && ev->data.as_object().at("operation").as_string() == "snapshot")
                for (const auto& r : ev->data.as_object().at("requests").as_array())
                    if (r.as_object().at("model").as_string() == "qwen")
                        id = std::string(r.as_object().at("id").as_string());
        }
        BOOST_REQUIRE(!id.empty());
        co_await p->async_cancel(id);
        // The served stream is cut: it ends without [DONE].
        std::optional<majordomo::error> end;
        for (int i = 0; i < 30 && !end; ++i)
            end = co_await failure_of(st.async_next());
        BOOST_REQUIRE(end.has_value());
        BOOST_TEST(end->code() == make_error_code(client_errc::stream_truncated));

        auto e = co_await failure_of(p->async_cancel(id)); // it is gone now
        BOOST_REQUIRE(e.has_value());
        BOOST_TEST(e->code() == make_api_error(404));
        BOOST_TEST(e->diag().server_message == "inflight request not found");
        e = co_await failure_of(p->async_cancel(""));
        BOOST_REQUIRE(e.has_value());
        BOOST_TEST(e->code() == make_error_code(client_errc::invalid_argument));
        // The activity log holds it, with its error.
        auto page = co_await p->async_activity();
        BOOST_REQUIRE(!page.rows.empty());
        BOOST_TEST(page.rows[0].error_msg == "request cancelled");
    }());
}

// Cancelled while it waits for a swap: llama-swap's handler returns without writing, so the
// caller gets an empty 200 (no chat response in it) and the queued model is never loaded.
BOOST_AUTO_TEST_CASE(a_queued_request_cancelled_gets_an_empty_answer)
{
    asio::io_context ioc;
    auto sp = sim_params();
    sp.models[0].tokens_per_second = 10; // qwen's stream keeps llama waiting for the swap
    sp.models[0].reply = "one two three four five six seven eight nine ten eleven twelve";
    sim::simulator s(ioc.get_executor(), sp);
    auto p = swap_at(ioc, s);
    test::run_coro(ioc, [&]() -> asio::awaitable<void> {
        auto st = co_await p->chat_provider()->async_chat_stream(ask("qwen"));
        std::optional<majordomo::error> queued_result;
        bool queued_done = false;
        auto queued = [&]() -> asio::awaitable<void> {
            queued_result = co_await failure_of(p->chat_provider()->async_chat(ask("llama")));
            queued_done = true;
        };
        asio::co_spawn(ioc, queued(), asio::detached);
        auto events = co_await p->async_events();
        std::string id;
        for (int i = 0; i < 20 && id.empty(); ++i) {
            auto ev = co_await with_deadline(events.async_next(), 5s);
            BOOST_REQUIRE(ev.has_value());
            if (ev->type != "inflight")
                continue;
            const auto& d = ev->data.as_object();
            if (d.at("operation").as_string() == "snapshot") {
                for (const auto& r : d.at("requests").as_array())
                    if (r.as_object().at("model").as_string() == "llama")
                        id = std::string(r.as_object().at("id").as_string());
            } else if (d.at("operation").as_string() == "upsert" &&
                       d.at("request").as_object().at("model").as_string() == "llama") {
                id = std::string(d.at("request").as_object().at("id").as_string());
            }
        }
        BOOST_REQUIRE(!id.empty());
        co_await p->async_cancel(id);
        for (int i = 0; i < 100 && !queued_done; ++i) {
            asio::steady_timer t(ioc, 10ms);
            co_await t.async_wait(asio::use_awaitable);
        }
        BOOST_REQUIRE(queued_done);
        BOOST_REQUIRE(queued_result.has_value());
        BOOST_TEST(queued_result->code() == make_error_code(client_errc::bad_json));
        BOOST_TEST(s.stats().models.at("llama").loads == 0u);
        // The stream it waited behind goes on to its end.
        llm::chat_accumulator acc;
        while (auto c = co_await st.async_next())
            acc.add(*c);
        BOOST_TEST(acc.result().text() == "one two three four five six seven eight nine ten eleven twelve");
    }());
}

BOOST_AUTO_TEST_CASE(older_releases_fail_clearly_or_fall_back)
{
    asio::io_context ioc;
    sim::simulator old(ioc.get_executor(), sim_params(235));
    sim::simulator mid(ioc.get_executor(), sim_params(244));
    auto p = swap_at(ioc, old);
    auto p244 = swap_at(ioc, mid);
    test::run_coro(ioc, [&]() -> asio::awaitable<void> {
        co_await p->chat_provider()->async_chat(ask("qwen"));
        // Before v236 the log was GET /api/metrics: read from there.
        auto page = co_await p->async_activity();
        BOOST_TEST(page.legacy);
        BOOST_REQUIRE(page.rows.size() == 1u);
        BOOST_TEST(page.rows[0].model == "qwen");
        BOOST_TEST(page.rows[0].tokens.output_tokens.has_value());
        BOOST_TEST(!page.total.has_value());

        auto e = co_await failure_of(p->async_stats());
        BOOST_REQUIRE(e.has_value());
        BOOST_TEST(e->code() == make_api_error(404));
        BOOST_TEST(e->diag().client_message.find("GET /api/metrics/stats answered HTTP 404") == 0u);
        BOOST_TEST(e->diag().client_message.find("v236") != std::string::npos);
        e = co_await failure_of(p->async_cancel("1"));
        BOOST_REQUIRE(e.has_value());
        BOOST_TEST(e->diag().client_message.find("POST /api/inflight/1/cancel") == 0u);
        e = co_await failure_of(p244->async_profiles());
        BOOST_REQUIRE(e.has_value());
        BOOST_TEST(e->code() == make_api_error(404));
        BOOST_TEST(e->diag().client_message.find("v245") != std::string::npos);
        BOOST_TEST(std::string(e->what()).find("/api/profiles") != std::string::npos);
        e = co_await failure_of(p244->async_set_profile("coding"));
        BOOST_REQUIRE(e.has_value());
        BOOST_TEST(e->diag().client_message.find("PUT /api/profiles/active") == 0u);
        // v244 has the new activity path.
        auto newer = co_await p244->async_activity();
        BOOST_TEST(!newer.legacy);
        auto v = co_await p244->async_version();
        BOOST_TEST(v.version == "244");
    }());
}

// A release that answers an endpoint it lacks with a page (a UI fallback) or plain text, never
// JSON: the error names the endpoint and says so; it is not a decode error.
BOOST_AUTO_TEST_CASE(a_non_json_answer_names_the_endpoint)
{
    asio::io_context ioc;
    test::test_server server(ioc.get_executor());
    server.on_request([](const test::received_request& r, test::exchange& x) -> asio::awaitable<void> {
        // Built ahead of the co_await (g++ 12 and braced lists, see test_server.hpp).
        test::header_list html(test::header_list::field_view{"Content-Type", "text/html"});
        test::header_list text(test::header_list::field_view{"Content-Type", "text/plain; charset=utf-8"});
        if (r.target == "/api/version") {
            co_await x.async_respond(200, "<html>llama-swap</html>", html);
        } else {
            // v174: errors as text/plain
            co_await x.async_respond(500, "something broke\n", text);
        }
    });
    ls::provider_params lp;
    lp.base_url = server.url();
    auto p = ls::make_provider(ioc.get_executor(), lp);
    ls::provider unconfigured(ioc.get_executor(), {});
    test::run_coro(ioc, [&]() -> asio::awaitable<void> {
        auto e = co_await failure_of(p->async_version());
        BOOST_REQUIRE(e.has_value());
        BOOST_TEST(e->code() == make_error_code(client_errc::unexpected_content_type));
        BOOST_TEST(e->diag().client_message.find("GET /api/version answered HTTP 200 with 'text/html'") == 0u);
        e = co_await failure_of(p->async_profiles());
        BOOST_REQUIRE(e.has_value());
        BOOST_TEST(e->code() == make_api_error(500));
        BOOST_TEST(e->diag().server_message == "something broke");
        BOOST_TEST(e->diag().client_message == "GET /api/profiles answered HTTP 500");
        e = co_await failure_of(unconfigured.async_version());
        BOOST_REQUIRE(e.has_value());
        BOOST_TEST(e->code() == make_error_code(client_errc::no_base_url));
    }());
}

// A JSON answer of the wrong shape is bad_json naming the endpoint and quoting a clean excerpt of the
// body (cut on a UTF-8 boundary, control characters masked), as the model-list decoders do.
BOOST_AUTO_TEST_CASE(a_json_answer_of_the_wrong_shape_quotes_a_clean_excerpt)
{
    std::string body = "[\"\x01" + std::string(300, 'x') + "\xE2\x82\xAC\"]";
    try {
        (void)ls::decode_version(body);
        BOOST_ERROR("accepted");
    } catch (const majordomo::error& e) {
        BOOST_TEST(e.code() == client_errc::bad_json);
        std::string what = e.what();
        BOOST_TEST(what.find("llama-swap version has an unexpected shape: '[\"?xxx") != std::string::npos, what);
        BOOST_TEST(what.find("...'") != std::string::npos, what); // cut, and marked so
        BOOST_TEST(what.find('\x01') == std::string::npos);
    }

    asio::io_context ioc;
    test::test_server server(ioc.get_executor());
    server.on_request([](const test::received_request&, test::exchange& x) -> asio::awaitable<void> {
        test::header_list json(test::header_list::field_view{"Content-Type", "application/json"});
        co_await x.async_respond(200, R"({"profiles":7})", json);
    });
    ls::provider_params lp;
    lp.base_url = server.url();
    auto p = ls::make_provider(ioc.get_executor(), lp);
    test::run_coro(ioc, [&]() -> asio::awaitable<void> {
        auto e = co_await failure_of(p->async_profiles());
        BOOST_REQUIRE(e.has_value());
        BOOST_TEST(e->code() == make_error_code(client_errc::bad_json));
        BOOST_TEST(e->diag().client_message ==
                   R"(GET /api/profiles: llama-swap profile list has an unexpected shape: '{"profiles":7}')");
        e = co_await failure_of(p->async_set_profile("a"));
        BOOST_REQUIRE(e.has_value());
        BOOST_TEST(e->code() == make_error_code(client_errc::bad_json));
        BOOST_TEST(e->diag().client_message.find("PUT /api/profiles/active: llama-swap active profile has an "
                                                 "unexpected shape") == 0u,
                   e->diag().client_message);
    }());
}

BOOST_AUTO_TEST_CASE(upstream_pass_through_whole_and_streamed)
{
    asio::io_context ioc;
    sim::simulator s(ioc.get_executor(), sim_params());
    auto p = swap_at(ioc, s);
    test::run_coro(ioc, [&]() -> asio::awaitable<void> {
        ls::upstream_request health;
        health.model = "qwen";
        health.path = "/health";
        auto r = co_await p->async_upstream(health);
        BOOST_TEST(r.status == 200);
        BOOST_TEST(r.body.find("ok") != std::string::npos);

        ls::upstream_request chat;
        chat.model = "llama";
        chat.method = "POST";
        chat.path = "/v1/chat/completions";
        chat.body = R"({"messages":[{"role":"user","content":"hi"}]})";
        auto whole = co_await p->async_upstream(chat);
        BOOST_TEST(whole.body.find("from llama") != std::string::npos);

        chat.body = R"({"messages":[{"role":"user","content":"hi"}],"stream":true})";
        auto st = co_await p->async_upstream_stream(chat);
        BOOST_TEST(st.headers().find("content-type") == "text/event-stream");
        auto text = co_await st.async_read_all();
        BOOST_TEST(text.find("data: [DONE]") != std::string::npos);

        ls::upstream_request unknown;
        unknown.model = "nope";
        auto e = co_await failure_of(p->async_upstream(unknown));
        BOOST_REQUIRE(e.has_value());
        BOOST_TEST(e->code() == make_api_error(404));
        BOOST_TEST(e->diag().server_message == "model not found");
        BOOST_TEST(e->diag().client_message == "GET /upstream/nope/ answered HTTP 404");
        e = co_await failure_of(p->async_upstream_stream(unknown));
        BOOST_REQUIRE(e.has_value());
        BOOST_TEST(e->code() == make_api_error(404));
        ls::upstream_request bad;
        bad.model = "qwen";
        bad.path = "health";
        e = co_await failure_of(p->async_upstream(bad));
        BOOST_REQUIRE(e.has_value());
        BOOST_TEST(e->code() == make_error_code(client_errc::invalid_argument));
    }());
}

BOOST_AUTO_TEST_CASE(management_decoders_read_every_generation)
{
    auto legacy = ls::decode_activity(
        R"([{"id":0,"timestamp":"2025-01-01T00:00:00Z","model":"m","cache_tokens":1,"input_tokens":2,"output_tokens":3,"prompt_per_second":4.5,"tokens_per_second":"x","duration_ms":6}])");
    BOOST_TEST(legacy.legacy);
    BOOST_REQUIRE(legacy.rows.size() == 1u);
    BOOST_TEST(legacy.rows[0].tokens.input_tokens.value_or(0) == 2);
    BOOST_TEST(legacy.rows[0].tokens.prompt_per_second.value_or(0) == 4.5);
    BOOST_TEST(!legacy.rows[0].tokens.tokens_per_second.has_value());
    BOOST_TEST(legacy.rows[0].duration_ms.value_or(0) == 6);
    auto paged = ls::decode_activity(
        R"({"data":[{"id":7,"model":"m","tokens":{"draft_acc_tokens":2},"has_capture":true,"error_msg":"x"}],"page":1,"limit":25,"total":1,"total_pages":1})");
    BOOST_TEST(!paged.legacy);
    BOOST_TEST(paged.rows[0].id == 7);
    BOOST_TEST(paged.rows[0].tokens.draft_accepted_tokens.value_or(0) == 2);
    BOOST_TEST(paged.rows[0].has_capture);
    auto v = ls::decode_version(R"({"version":174,"commit":"abc"})");
    BOOST_TEST(v.version == "174");
    auto stats = ls::decode_stats(
        R"({"total_requests":2,"prompt_histogram":{"bins":[1,2],"min":0,"max":9,"binSize":4.5,"p50":1,"p95":2,"p99":3},"gen_histogram":null})");
    BOOST_REQUIRE(stats.prompt_histogram.has_value());
    BOOST_TEST(stats.prompt_histogram->bins.size() == 2u);
    BOOST_TEST(stats.prompt_histogram->bin_size.value_or(0) == 4.5);
    BOOST_TEST(!stats.gen_histogram.has_value());
    auto profiles = ls::decode_profiles(R"({"active":"a","profiles":[{"id":"a","pins":{"x":"y","z":null}}]})");
    BOOST_TEST(profiles.active.value_or("") == "a");
    BOOST_REQUIRE(profiles.profiles[0].pins.size() == 2u);
    BOOST_TEST(profiles.profiles[0].pins[1].second == "");

    auto bad = make_error_code(client_errc::bad_json);
    auto code_of = [](auto f) -> boost::system::error_code {
        try {
            f();
        } catch (const majordomo::error& e) {
            return e.code();
        }
        return {};
    };
    BOOST_TEST(code_of([] { ls::decode_activity("{}"); }) == bad);
    BOOST_TEST(code_of([] { ls::decode_activity("[1]"); }) == bad);
    BOOST_TEST(code_of([] { ls::decode_version("{\"commit\":\"x\"}"); }) == bad);
    BOOST_TEST(code_of([] { ls::decode_stats("[]"); }) == bad);
    BOOST_TEST(code_of([] { ls::decode_profiles(R"({"profiles":{}})"); }) == bad);
    BOOST_TEST(code_of([] { ls::decode_profiles("404 page not found"); }) == bad);
}

BOOST_AUTO_TEST_SUITE_END()
BOOST_AUTO_TEST_SUITE_END()

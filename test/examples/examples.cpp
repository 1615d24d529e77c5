// The programs in examples/ run as child processes against an in-process simulator on loopback.
#include "cli/child_process.hpp"
#include "support/run_coro.hpp"

#include <majordomo/error.hpp>
#include <majordomo/http/client.hpp>
#include <majordomo/openai/provider.hpp>
#include <majordomo/sim/simulator.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/test/unit_test.hpp>

#include <sstream>
#include <thread>

namespace {

namespace asio = boost::asio;
namespace sim = majordomo::sim;
namespace llm = majordomo::llm;
using majordomo::test::background_child;
using majordomo::test::run_child;
using namespace std::chrono_literals;

const std::string reply = "A simulated answer.";

struct examples_fixture {
    asio::io_context sim_ioc;
    asio::executor_work_guard<asio::io_context::executor_type> work{sim_ioc.get_executor()};
    std::unique_ptr<sim::simulator> server;
    std::thread runner;

    examples_fixture()
    {
        sim::simulator_params p;
        auto add = [&](std::string id, std::chrono::milliseconds load, double tps, sim::model_kind kind,
                       sim::fault f = sim::fault::none, std::string text = reply) {
            sim::model_params m;
            m.id = std::move(id);
            m.load_time = load;
            m.tokens_per_second = tps;
            m.kind = kind;
            m.f = f;
            m.reply = std::move(text);
            p.models.push_back(std::move(m));
        };
        add("fast", 0ms, 1000, sim::model_kind::chat);
        add("slow", 2500ms, 1000, sim::model_kind::chat);
        add("stall", 0ms, 1000, sim::model_kind::chat, sim::fault::stall);
        add("vision", 0ms, 1000, sim::model_kind::chat);
        add("image", 0ms, 1000, sim::model_kind::image);
        std::string long_reply;
        for (int i = 0; i < 60; ++i)
            long_reply += "word ";
        add("cut", 0ms, 1000, sim::model_kind::chat, sim::fault::cut_stream);
        add("drip", 0ms, 5, sim::model_kind::chat, sim::fault::none, long_reply);
        p.exclusive = false;
        server = std::make_unique<sim::simulator>(sim_ioc.get_executor(), std::move(p));
        runner = std::thread([this] { sim_ioc.run(); });
    }
    ~examples_fixture()
    {
        server->stop();
        work.reset();
        runner.join();
        server.reset();
    }
};

std::vector<std::string> lines_of(const std::string& s)
{
    std::vector<std::string> out;
    std::istringstream in(s);
    for (std::string l; std::getline(in, l);)
        out.push_back(l);
    return out;
}

} // namespace

BOOST_AUTO_TEST_SUITE(examples)

BOOST_FIXTURE_TEST_CASE(fan_out_prints_results_as_they_finish, examples_fixture)
{
    auto r = run_child(MAJORDOMO_EXAMPLE_FAN_OUT, {server->url(), "Hello", "slow:20", "stall:1", "fast:20"});
    BOOST_TEST(r.exit_code == 1, r.out << r.err); // stall missed its deadline
    auto lines = lines_of(r.out);
    BOOST_TEST_REQUIRE(lines.size() == 3u, r.out);
    // Fastest first, whatever the order on the command line; each under its own bound.
    BOOST_TEST(lines[0].rfind("fast ok ", 0) == 0u, lines[0]);
    BOOST_TEST(lines[0].find(reply) != std::string::npos, lines[0]);
    BOOST_TEST(lines[1].rfind("stall error ", 0) == 0u, lines[1]);
    BOOST_TEST(lines[1].find("deadline") != std::string::npos, lines[1]);
    BOOST_TEST(lines[2].rfind("slow ok ", 0) == 0u, lines[2]);
}

BOOST_FIXTURE_TEST_CASE(image_to_chat_feeds_the_generated_image_to_the_chat, examples_fixture)
{
    auto r = run_child(MAJORDOMO_EXAMPLE_IMAGE_TO_CHAT, {server->url(), "image", "vision", "a red square"});
    BOOST_TEST(r.exit_code == 0, r.err);
    BOOST_TEST(r.err.rfind("image: ", 0) == 0u, r.err);
    BOOST_TEST(r.err.find("image/png") != std::string::npos, r.err);
    BOOST_TEST(r.out == reply + "\n");
    auto stats = server->stats();
    BOOST_TEST(stats.models.at("image").served == 1u);
    BOOST_TEST(stats.models.at("vision").served == 1u);
}

BOOST_FIXTURE_TEST_CASE(gateway_forwards_whole_and_streamed_chats, examples_fixture)
{
    background_child gw(MAJORDOMO_EXAMPLE_GATEWAY, {"--upstream", server->url()});
    const std::string prefix = "listening on ";
    BOOST_TEST_REQUIRE(gw.first_line().rfind(prefix, 0) == 0u, gw.first_line());
    std::string base = gw.first_line().substr(prefix.size()) + "/v1";

    asio::io_context ioc;
    majordomo::test::run_coro(ioc, [&]() -> asio::awaitable<void> {
        auto ex = co_await asio::this_coro::executor;
        majordomo::openai::provider_params pp;
        pp.base_url = base;
        pp.api_key = "unused";
        auto openai = std::make_shared<majordomo::openai::provider>(ex, pp);
        auto model = openai->get_model("fast");

        llm::chat_request whole;
        whole.messages.push_back(llm::message::user("hi"));
        auto answer = co_await model->async_chat(whole);
        BOOST_TEST(answer.text() == reply);

        // Many streams at once through the one gateway thread.
        std::vector<std::string> texts(8);
        auto one = [&](std::size_t i) -> asio::awaitable<void> {
            llm::chat_request req;
            req.messages.push_back(llm::message::user("hi"));
            auto s = co_await model->async_chat_stream(req);
            for (;;) {
                auto c = co_await s.async_next();
                if (!c)
                    break;
                texts[i] += c->text();
            }
        };
        using namespace asio::experimental::awaitable_operators;
        co_await ((one(0) && one(1) && one(2) && one(3)) && (one(4) && one(5) && one(6) && one(7)));
        for (const auto& t : texts)
            BOOST_TEST(t == reply);

        // The upstream's error status comes through.
        auto missing = openai->get_model("no-such-model");
        llm::chat_request bad;
        bad.messages.push_back(llm::message::user("hi"));
        auto fails = [&]() -> asio::awaitable<int> {
            try {
                co_await missing->async_chat(bad);
            } catch (const majordomo::error& e) {
                co_return e.code().category() == majordomo::get_api_category() ? e.code().value() : -1;
            }
            co_return 0;
        };
        int status = co_await fails();
        BOOST_TEST(status >= 400);
        BOOST_TEST(status < 500);
    }());
}

BOOST_FIXTURE_TEST_CASE(gateway_reports_bad_requests_and_upstream_cuts, examples_fixture)
{
    background_child gw(MAJORDOMO_EXAMPLE_GATEWAY, {"--upstream", server->url()});
    std::string origin = gw.first_line().substr(std::string("listening on ").size());

    asio::io_context ioc;
    majordomo::test::run_coro(ioc, [&]() -> asio::awaitable<void> {
        auto ex = co_await asio::this_coro::executor;
        majordomo::http::client http(ex);
        for (std::string body : {std::string("not json"), std::string(R"({"messages":[]})"),
                                 std::string(R"({"model":"fast","messages":[{"role":"robot","content":"x"}]})")}) {
            majordomo::http::request req;
            req.method = "POST";
            req.url = origin + "/v1/chat/completions";
            req.headers.set("Content-Type", "application/json");
            req.body = body;
            auto r = co_await http.async_request(req);
            BOOST_TEST(r.status == 400, body << ": " << r.body);
            BOOST_TEST(r.body.find("\"error\"") != std::string::npos, r.body);
        }
        majordomo::http::request missing;
        missing.url = origin + "/v1/nothing";
        auto nf = co_await http.async_request(missing);
        BOOST_TEST(nf.status == 404);

        // An upstream stream cut half-way is not relayed as a clean end: no [DONE], an error event.
        majordomo::openai::provider_params pp;
        pp.base_url = origin + "/v1";
        pp.api_key = "unused";
        auto openai = std::make_shared<majordomo::openai::provider>(ex, pp);
        llm::chat_request req;
        req.messages.push_back(llm::message::user("hi"));
        auto s = co_await openai->get_model("cut")->async_chat_stream(req);
        auto drain = [&]() -> asio::awaitable<bool> {
            try {
                for (;;) {
                    auto c = co_await s.async_next();
                    if (!c)
                        co_return false;
                }
            } catch (const majordomo::error&) {
            }
            co_return true;
        };
        bool failed = co_await drain();
        BOOST_TEST(failed);
    }());
}

BOOST_FIXTURE_TEST_CASE(gateway_client_disconnect_cancels_the_upstream_call, examples_fixture)
{
    background_child gw(MAJORDOMO_EXAMPLE_GATEWAY, {"--upstream", server->url()});
    std::string base = gw.first_line().substr(std::string("listening on ").size()) + "/v1";

    asio::io_context ioc;
    majordomo::test::run_coro(ioc, [&]() -> asio::awaitable<void> {
        auto ex = co_await asio::this_coro::executor;
        majordomo::openai::provider_params pp;
        pp.base_url = base;
        pp.api_key = "unused";
        auto openai = std::make_shared<majordomo::openai::provider>(ex, pp);
        {
            llm::chat_request req;
            req.messages.push_back(llm::message::user("hi"));
            auto s = co_await openai->get_model("drip")->async_chat_stream(req);
            std::string got;
            while (got.empty()) { // 60 words at 5 a second: 12 s if nobody hangs up
                auto c = co_await s.async_next();
                BOOST_TEST_REQUIRE(c.has_value());
                got += c->text();
            }
            BOOST_TEST(server->stats().models.at("drip").in_flight == 1u);
        } // the stream goes: its connection to the gateway closes
        asio::steady_timer t(ex);
        auto start = std::chrono::steady_clock::now();
        while (server->stats().models.at("drip").in_flight != 0 && std::chrono::steady_clock::now() - start < 5s) {
            t.expires_after(20ms);
            co_await t.async_wait(asio::use_awaitable);
        }
        BOOST_TEST(server->stats().models.at("drip").in_flight == 0u);
        BOOST_TEST((std::chrono::steady_clock::now() - start < 3s));
    }());
}

BOOST_AUTO_TEST_SUITE_END()

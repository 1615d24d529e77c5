#include <majordomo/llamaswap/provider.hpp>
#include <majordomo/llm/rerank.hpp>
#include <majordomo/openai/provider.hpp>
#include <majordomo/sim/simulator.hpp>

#include "openai/rerank.hpp"
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

sim::simulator_params sim_params()
{
    sim::model_params rr;
    rr.id = "bge-reranker";
    rr.aliases = {"rr"};
    rr.kind = sim::model_kind::reranker;
    rr.load_time = 10ms;
    rr.tokens_per_second = 5000;
    sim::model_params chat = rr;
    chat.id = "chat";
    chat.aliases = {};
    chat.kind = sim::model_kind::chat;
    sim::simulator_params sp;
    sp.models = {rr, chat};
    return sp;
}

llm::rerank_request query(std::string model = "bge-reranker")
{
    llm::rerank_request r;
    r.model = std::move(model);
    r.query = "what is a panda";
    r.documents = {"hi", "the giant panda is a bear native to China", "paris is in france", "a panda eats bamboo"};
    return r;
}

boost::system::error_code code_of(auto f)
{
    try {
        f();
    } catch (const majordomo::error& e) {
        return e.code();
    }
    return {};
}

const std::string ranked =
    R"({"model":"bge-reranker","results":[{"index":1,"relevance_score":0.9},{"index":0,"relevance_score":0.1},{"index":2,"relevance_score":0.2},{"index":3,"relevance_score":0.8}]})";

} // namespace

BOOST_AUTO_TEST_SUITE(openai)
BOOST_AUTO_TEST_SUITE(rerank)

BOOST_AUTO_TEST_CASE(a_429_with_retry_after_inside_a_3s_deadline_succeeds_on_the_second_attempt)
{
    asio::io_context ioc;
    test_server s(ioc.get_executor());
    serve::fail_first(s, 1, 429, "1", serve::respond(ranked));
    auto p = serve::provider_at(ioc, s.url());
    test::run_coro(ioc, [&]() -> asio::awaitable<void> {
        const auto t0 = clock_type::now();
        auto r = co_await with_deadline(p->async_rerank(query()), 3s);
        BOOST_REQUIRE(r.results.size() == 4u);
        BOOST_TEST(r.results[0].index == 1u);
        BOOST_TEST(r.call.attempts == 2);
        BOOST_TEST(serve::ms_since(t0) >= 950); // Retry-After was honoured, not the 10 ms backoff
        BOOST_TEST((r.call.start <= t0 + 50ms));
        BOOST_TEST((r.call.first_token >= r.call.start)); // a whole answer has its tokens with its headers
    }());
    BOOST_TEST(s.request_count() == 2u);
}

BOOST_AUTO_TEST_CASE(a_503_answer_is_retried_but_a_sent_post_that_broke_is_not)
{
    asio::io_context ioc;
    test_server s(ioc.get_executor());
    serve::fail_first(s, 1, 503, "", serve::respond(ranked));
    test_server gone(ioc.get_executor());
    serve::hang_up_after_request(gone);
    auto p = serve::provider_at(ioc, s.url());
    auto broken = serve::provider_at(ioc, gone.url());
    test::run_coro(ioc, [&]() -> asio::awaitable<void> {
        auto r = co_await with_deadline(p->async_rerank(query()), 3s);
        BOOST_TEST(r.call.attempts == 2);
        serve::fail_first(s, 1, 503, "", serve::respond(ranked));
        auto req = query();
        req.call.retry = llm::retry_params::none();
        auto f = co_await failure_of(with_deadline(p->async_rerank(req), 3s));
        BOOST_REQUIRE(f.has_value());
        BOOST_TEST(f->code() == make_api_error(503));
        BOOST_TEST(f->diag().attempts == 1);
        auto g = co_await failure_of(with_deadline(broken->async_rerank(query()), 3s));
        BOOST_REQUIRE(g.has_value());
        BOOST_TEST((llm::classify(*g).kind == llm::error_kind::transport));
        BOOST_TEST(!g->diag().request_not_sent);
        BOOST_TEST(g->diag().attempts == 1);
    }());
    BOOST_TEST(s.request_count() == 3u);
    BOOST_TEST(gone.request_count() == 1u);
}

BOOST_AUTO_TEST_CASE(phase_deadlines_bound_a_rerank)
{
    asio::io_context ioc;
    test_server s(ioc.get_executor());
    s.on_request([](const test::received_request& req, test::exchange& ex) -> asio::awaitable<void> {
        co_await ex.async_pause(300ms);
        auto respond = serve::respond(ranked);
        co_await respond(req, ex);
    });
    auto p = serve::provider_at(ioc, s.url());
    test::run_coro(ioc, [&]() -> asio::awaitable<void> {
        auto req = query();
        req.call.deadlines.first_token = 100ms;
        auto f = co_await failure_of(with_deadline(p->async_rerank(req), 3s));
        BOOST_REQUIRE(f.has_value());
        BOOST_TEST(f->code() == make_error_code(client_errc::first_token_deadline_exceeded));
        BOOST_TEST(f->diag().model == "bge-reranker");
        req.call.deadlines = {};
        req.call.deadlines.total = 100ms;
        f = co_await failure_of(with_deadline(p->async_rerank(req), 3s));
        BOOST_REQUIRE(f.has_value());
        BOOST_TEST(f->code() == make_error_code(client_errc::total_deadline_exceeded));
        // A 429 whose wait would pass a phase deadline fails at once with the 429.
        serve::fail_first(s, 1, 429, "1", serve::respond(ranked));
        req.call.deadlines = {};
        req.call.deadlines.first_token = 500ms;
        const auto t0 = clock_type::now();
        f = co_await failure_of(p->async_rerank(req));
        BOOST_REQUIRE(f.has_value());
        BOOST_TEST(f->code() == make_api_error(429));
        BOOST_TEST(serve::ms_since(t0) < 300);
    }());
}

BOOST_AUTO_TEST_CASE(rerank_scores_every_document_most_relevant_first)
{
    asio::io_context ioc;
    sim::simulator s(ioc.get_executor(), sim_params());
    majordomo::openai::provider_params op;
    op.base_url = s.url() + "/v1";
    auto p = majordomo::openai::make_provider(ioc.get_executor(), op);
    test::run_coro(ioc, [&]() -> asio::awaitable<void> {
        auto r = co_await p->async_rerank(query());
        BOOST_REQUIRE(r.results.size() == 4u);
        BOOST_TEST(r.model == "bge-reranker");
        // The panda documents first; every index once.
        BOOST_TEST((r.results[0].index == 1u || r.results[0].index == 3u));
        BOOST_TEST((r.results[1].index == 1u || r.results[1].index == 3u));
        for (std::size_t i = 1; i < r.results.size(); ++i)
            BOOST_TEST(r.results[i - 1].relevance_score >= r.results[i].relevance_score);
        BOOST_TEST(r.results.back().relevance_score < 0); // raw scores go negative
        BOOST_REQUIRE(r.prompt_tokens.has_value());
        BOOST_TEST(*r.prompt_tokens > 0);
        BOOST_TEST(r.raw.at("object").as_string() == "list");

        auto req = query("rr"); // by alias
        req.top_n = 2;
        auto top = co_await p->async_rerank(req);
        BOOST_REQUIRE(top.results.size() == 2u);
        BOOST_TEST((top.results[0] == r.results[0]));
    }());
}

BOOST_AUTO_TEST_CASE(rerank_errors_and_bad_input)
{
    asio::io_context ioc;
    sim::simulator s(ioc.get_executor(), sim_params());
    majordomo::llamaswap::provider_params lp;
    lp.base_url = s.url();
    auto p = majordomo::llamaswap::make_provider(ioc.get_executor(), lp);
    test::run_coro(ioc, [&]() -> asio::awaitable<void> {
        // Through llama-swap, which routes /v1/rerank by model.
        auto ok = co_await p->async_rerank(query());
        BOOST_TEST(ok.results.size() == 4u);
        // A chat server was not started with --reranking.
        auto e = co_await failure_of(p->async_rerank(query("chat")));
        BOOST_REQUIRE(e.has_value());
        BOOST_TEST(e->code() == make_api_error(501));
        BOOST_TEST(e->diag().server_message.find("--reranking") != std::string::npos);
        // Bad input is caught before anything is sent.
        auto req = query();
        req.documents.clear();
        e = co_await failure_of(p->async_rerank(req));
        BOOST_REQUIRE(e.has_value());
        BOOST_TEST(e->code() == make_error_code(client_errc::invalid_argument));
        req = query();
        req.query.clear();
        e = co_await failure_of(p->async_rerank(req));
        BOOST_REQUIRE(e.has_value());
        BOOST_TEST(e->code() == make_error_code(client_errc::invalid_argument));
        req = query();
        req.top_n = 0;
        e = co_await failure_of(p->async_rerank(req));
        BOOST_REQUIRE(e.has_value());
        BOOST_TEST(e->code() == make_error_code(client_errc::invalid_argument));
        // ... and what only the server checks comes back as its 400.
        req = query();
        req.extra["query"] = 7;
        e = co_await failure_of(p->async_rerank(req));
        BOOST_REQUIRE(e.has_value());
        BOOST_TEST(e->code() == make_api_error(400));
        BOOST_TEST(e->diag().server_message.find("\"query\"") != std::string::npos);
        // An upstream that dies: 502 with an empty body.
        s.set_fault("bge-reranker", sim::fault::cut_stream);
        e = co_await failure_of(p->async_rerank(query()));
        BOOST_REQUIRE(e.has_value());
        BOOST_TEST(e->code() == make_api_error(502));
    }());
}

BOOST_AUTO_TEST_CASE(rerank_decoder_accepts_jina_tei_and_cohere_shapes)
{
    using majordomo::openai::detail::decode_rerank_response;
    auto jina = decode_rerank_response(
        R"({"model":"m","results":[{"index":0,"relevance_score":-3.1},{"index":2,"relevance_score":0.98}],"usage":{"prompt_tokens":"x","total_tokens":51}})",
        3);
    BOOST_REQUIRE(jina.results.size() == 2u);
    BOOST_TEST(jina.results[0].index == 2u); // sorted by score
    BOOST_TEST(!jina.prompt_tokens.has_value());
    BOOST_TEST(jina.total_tokens.value_or(0) == 51);
    auto tei = decode_rerank_response(R"([{"index":1,"score":0.5,"text":"b"},{"index":0,"score":0.7}])", 2);
    BOOST_REQUIRE(tei.results.size() == 2u);
    BOOST_TEST(tei.results[0].index == 0u);
    BOOST_TEST(tei.results[1].document.value_or("") == "b");
    auto cohere = decode_rerank_response(R"({"results":[{"index":0,"relevance_score":1,"document":{"text":"a"}}]})", 1);
    BOOST_TEST(cohere.results[0].document.value_or("") == "a");

    auto bad = make_error_code(client_errc::bad_json);
    BOOST_TEST(code_of([] { decode_rerank_response("{", 1); }) == bad);
    BOOST_TEST(code_of([] { decode_rerank_response("{}", 1); }) == bad);
    BOOST_TEST(code_of([] { decode_rerank_response(R"({"results":[{"index":1,"relevance_score":1}]})", 1); }) == bad);
    BOOST_TEST(code_of([] { decode_rerank_response(R"({"results":[{"index":-1,"relevance_score":1}]})", 1); }) == bad);
    BOOST_TEST(code_of([] {
                   decode_rerank_response(
                       R"({"results":[{"index":0,"relevance_score":1},{"index":0,"relevance_score":2}]})", 2);
               }) == bad);
    BOOST_TEST(code_of([] { decode_rerank_response(R"({"results":[{"index":0,"relevance_score":"high"}]})", 1); }) ==
               bad);
    BOOST_TEST(code_of([] { decode_rerank_response(R"({"results":[{"index":0,"relevance_score":1e999}]})", 1); }) ==
               bad);
    BOOST_TEST(code_of([] { decode_rerank_response(R"({"error":{"code":501,"message":"no"}})", 1); }) ==
               make_api_error(501));

    llm::rerank_request req;
    req.model = "m";
    req.query = "q";
    req.documents = {"a", "b"};
    req.top_n = 1;
    auto body = json::parse(majordomo::openai::detail::encode_rerank_request(req)).as_object();
    BOOST_TEST(body.at("documents").as_array().size() == 2u);
    BOOST_TEST(body.at("top_n").as_int64() == 1);
    BOOST_TEST(body.at("query").as_string() == "q");
}

BOOST_AUTO_TEST_SUITE_END()
BOOST_AUTO_TEST_SUITE_END()

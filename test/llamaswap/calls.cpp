// llama-swap's model calls forwarded to the OpenAI delegate at {base}/v1: each reaches its own
// endpoint, and a provider built without a URL fails each one naming the request's model.
#include <majordomo/audio/audio.hpp>
#include <majordomo/llamaswap/provider.hpp>
#include <majordomo/llm/completion.hpp>
#include <majordomo/llm/rerank.hpp>

#include "support/failure_of.hpp"
#include "support/printers.hpp"
#include "support/run_coro.hpp"
#include "support/test_server.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/test/unit_test.hpp>

#include <functional>

namespace asio = boost::asio;
using namespace majordomo;
using majordomo::test::failure_of;
namespace ls = majordomo::llamaswap;

namespace {

struct forwarded {
    std::string target; ///< where the call must go; "" for the unconfigured provider only
    std::function<asio::awaitable<std::optional<error>>(ls::provider&, std::string)> call;
};

// Each call with a request for `model`, as the failure it ends in.
std::vector<forwarded> every_call()
{
    return {
        {"/v1/completions",
         [](ls::provider& p, std::string model) {
             llm::completion_request r;
             r.model = std::move(model);
             r.prompt = "once";
             return failure_of(p.async_complete(std::move(r)));
         }},
        {"/v1/completions",
         [](ls::provider& p, std::string model) {
             llm::completion_request r;
             r.model = std::move(model);
             r.prompt = "once";
             return failure_of(p.async_complete_stream(std::move(r)));
         }},
        {"/v1/rerank",
         [](ls::provider& p, std::string model) {
             llm::rerank_request r;
             r.model = std::move(model);
             r.query = "q";
             r.documents = {"d"};
             return failure_of(p.async_rerank(std::move(r)));
         }},
        {"/v1/audio/transcriptions",
         [](ls::provider& p, std::string model) {
             audio::transcription_request r;
             r.model = std::move(model);
             r.audio = "RIFF";
             return failure_of(p.async_transcribe(std::move(r)));
         }},
        {"/v1/audio/speech",
         [](ls::provider& p, std::string model) {
             audio::speech_request r;
             r.model = std::move(model);
             r.input = "hello";
             return failure_of(p.async_speech(std::move(r)));
         }},
        {"/v1/audio/speech",
         [](ls::provider& p, std::string model) {
             audio::speech_request r;
             r.model = std::move(model);
             r.input = "hello";
             return failure_of(p.async_speech_stream(std::move(r)));
         }},
    };
}

} // namespace

BOOST_AUTO_TEST_SUITE(llamaswap)
BOOST_AUTO_TEST_SUITE(calls)

BOOST_AUTO_TEST_CASE(each_call_reaches_its_own_endpoint_through_the_delegate)
{
    asio::io_context ioc;
    test::test_server server(ioc.get_executor());
    server.on_request([](const test::received_request&, test::exchange& x) -> asio::awaitable<void> {
        test::header_list json(test::header_list::field_view{"Content-Type", "application/json"});
        co_await x.async_respond(400, R"({"error":{"message":"no such thing","type":"invalid_request_error"}})", json);
    });
    ls::provider_params lp;
    lp.base_url = server.url();
    auto p = ls::make_provider(ioc.get_executor(), lp);
    auto calls = every_call();
    test::run_coro(ioc, [&]() -> asio::awaitable<void> {
        for (std::size_t i = 0; i < calls.size(); ++i) {
            auto e = co_await calls[i].call(*p, "m" + std::to_string(i));
            BOOST_REQUIRE(e.has_value());
            BOOST_TEST(e->code() == make_api_error(400), i);
            BOOST_TEST(e->diag().server_message == "no such thing", i);
            auto seen = server.requests();
            BOOST_REQUIRE(seen.size() == i + 1);
            BOOST_TEST(seen.back().method == "POST", i);
            BOOST_TEST(seen.back().target == calls[i].target, i);
            BOOST_TEST(seen.back().body.find("m" + std::to_string(i)) != std::string::npos, i);
        }
    }());
}

BOOST_AUTO_TEST_CASE(an_unconfigured_provider_fails_each_call_naming_the_model)
{
    asio::io_context ioc;
    ls::provider unconfigured(ioc.get_executor(), {});
    auto calls = every_call();
    test::run_coro(ioc, [&]() -> asio::awaitable<void> {
        for (std::size_t i = 0; i < calls.size(); ++i) {
            auto e = co_await calls[i].call(unconfigured, "m" + std::to_string(i));
            BOOST_REQUIRE(e.has_value());
            BOOST_TEST(e->code() == make_error_code(client_errc::no_base_url), i);
            BOOST_TEST(e->diag().model == "m" + std::to_string(i), i);
            BOOST_TEST(e->diag().client_message == "no base URL configured", i);
        }
    }());
}

BOOST_AUTO_TEST_SUITE_END()
BOOST_AUTO_TEST_SUITE_END()

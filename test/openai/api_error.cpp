#include <majordomo/error.hpp>
#include <majordomo/llamaswap/provider.hpp>
#include <majordomo/openai/provider.hpp>

#include "support/printers.hpp"
#include "support/run_coro.hpp"
#include "support/test_server.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/test/unit_test.hpp>

namespace asio = boost::asio;
using namespace majordomo;

BOOST_AUTO_TEST_SUITE(openai)
BOOST_AUTO_TEST_SUITE(api_errors)

BOOST_AUTO_TEST_CASE(api_errors_name_the_origin_without_userinfo_path_or_suffix)
{
    asio::io_context ioc;
    test::test_server server(ioc.get_executor());
    server.on_request([](const test::received_request&, test::exchange& ex) -> asio::awaitable<void> {
        co_await ex.async_respond(401, R"({"error":{"message":"bad key","type":"invalid_request_error"}})");
    });
    // userinfo in a base URL is neither sent nor shown; the key travels in its header only.
    const std::string with_userinfo = "http://user:S3cr3tPass@" + server.url().substr(7);
    majordomo::openai::provider_params p;
    p.name = "cloud";
    p.base_url = with_userinfo + "/v1/secret-path";
    p.api_key = "sk-S3cr3tK3y";
    auto chat = majordomo::openai::make_provider(ioc.get_executor(), p);
    majordomo::llamaswap::provider_params lp;
    lp.name = "local";
    lp.base_url = with_userinfo;
    lp.token = "S3cr3tTok";
    auto swap = majordomo::llamaswap::make_provider(ioc.get_executor(), lp);
    std::vector<std::string> whats;
    test::run_coro(ioc, [&]() -> asio::awaitable<void> {
        for (int i = 0; i < 3; ++i) {
            try {
                if (i == 0)
                    co_await chat->async_list_models();
                else if (i == 1) {
                    llm::chat_request req; // bound first: no braced temporary inside co_await (g++ 12)
                    req.model = "m";
                    co_await chat->async_chat(req);
                }
                else
                    co_await swap->async_running();
                BOOST_ERROR("no error");
            } catch (const majordomo::error& e) {
                BOOST_TEST(e.code() == make_api_error(401));
                BOOST_TEST(e.diag().origin == "http://***@" + server.url().substr(7));
                whats.push_back(e.what());
            } catch (const std::exception& e) {
                // A transport refusing the userinfo URL is fine, as long as it keeps the secret.
                whats.push_back(e.what());
            }
        }
    }());
    BOOST_REQUIRE(whats.size() == 3u);
    for (const auto& r : server.requests()) {
        BOOST_TEST(r.target.find("S3cr3tPass") == std::string::npos, r.target);
        for (const auto& h : r.headers)
            BOOST_TEST(h.value.find("S3cr3tPass") == std::string::npos, h.name);
    }
    for (const auto& what : whats) {
        BOOST_TEST(what.find("S3cr3t") == std::string::npos, what);
        BOOST_TEST(what.find("secret-path") == std::string::npos, what);
        BOOST_TEST(what.find(" [") == std::string::npos, what);
    }
    BOOST_TEST(whats[0].find("provider cloud, at http://***@127.0.0.1:") != std::string::npos, whats[0]);
    BOOST_TEST(whats[0].find("server said: bad key") != std::string::npos, whats[0]);
    BOOST_TEST(whats[0].find("check the API key") != std::string::npos, whats[0]);
}

BOOST_AUTO_TEST_SUITE_END()
BOOST_AUTO_TEST_SUITE_END()

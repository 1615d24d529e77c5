#include <majordomo/error.hpp>
#include <majordomo/llamaswap/provider.hpp>
#include <majordomo/openai/provider.hpp>
#include <majordomo/registry/registry.hpp>

#include "support/printers.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/test/unit_test.hpp>

using namespace majordomo;

BOOST_AUTO_TEST_SUITE(registry)
BOOST_AUTO_TEST_SUITE(environment)

BOOST_AUTO_TEST_CASE(llm_variables_register_providers)
{
    boost::asio::io_context ioc;
    majordomo::registry::registry reg(ioc.get_executor());
    std::string a = "LLM_LOCAL=llama-swap://tok@127.0.0.1:8080", b = "LLM_CLOUD=openai://sk@api.example.com/v1",
                c = "PATH=/usr/bin", d = "LLM_=ignored";
    char* env[] = {a.data(), b.data(), c.data(), d.data(), nullptr};
    auto added = reg.add_from_environment(env);
    BOOST_TEST(added.size() == 2u);
    auto names = reg.names();
    BOOST_TEST((names == std::vector<std::string>{"cloud", "local"}));
    auto local = std::dynamic_pointer_cast<llamaswap::provider>(reg.get("local"));
    BOOST_REQUIRE(local);
    BOOST_TEST(local->name() == "local");
    BOOST_TEST(local->chat_provider()->params().base_url == "http://127.0.0.1:8080/v1");
    BOOST_TEST(local->chat_provider()->params().legacy_max_tokens);
    BOOST_TEST(*local->chat_provider()->params().api_key == "tok");
    auto cloud = std::dynamic_pointer_cast<openai::provider>(reg.get("cloud"));
    BOOST_REQUIRE(cloud);
    BOOST_TEST(cloud->params().base_url == "https://api.example.com/v1");

    // A model reference splits at the first slash; the id may hold more.
    auto m = reg.model("local/org/qwen3-30b");
    BOOST_TEST(m->id() == "org/qwen3-30b");
    try {
        (void)reg.model("nowhere/x");
        BOOST_ERROR("found");
    } catch (const majordomo::error& e) {
        BOOST_TEST(e.code() == client_errc::unknown_provider);
    }
    BOOST_CHECK_THROW((void)reg.model("no-slash"), majordomo::error);
}

BOOST_AUTO_TEST_CASE(bad_dsn_in_the_environment_names_the_variable_not_the_secret)
{
    boost::asio::io_context ioc;
    majordomo::registry::registry reg(ioc.get_executor());
    std::string a = "LLM_BROKEN=postgres://hunter2@h:1";
    char* env[] = {a.data(), nullptr};
    try {
        reg.add_from_environment(env);
        BOOST_ERROR("accepted");
    } catch (const majordomo::error& e) {
        BOOST_TEST(e.code() == client_errc::bad_dsn);
        std::string what = e.what();
        BOOST_TEST(what.find("LLM_BROKEN") != std::string::npos, what);
        BOOST_TEST(what.find("hunter2") == std::string::npos, what);
    }
}

BOOST_AUTO_TEST_CASE(a_provider_without_url_constructs_and_fails_clearly)
{
    boost::asio::io_context ioc;
    auto p = llamaswap::make_provider(ioc.get_executor(), {});
    BOOST_TEST(p->name() == "llama-swap");
    auto m = p->get_model("qwen");
    bool failed = false;
    boost::asio::co_spawn(ioc, m->async_chat({}), [&](std::exception_ptr e, llm::chat_response) {
        try {
            std::rethrow_exception(e);
        } catch (const majordomo::error& x) {
            failed = x.code() == client_errc::no_base_url &&
                     std::string(x.what()).find("base URL") != std::string::npos;
        } catch (...) {
        }
    });
    ioc.run();
    BOOST_TEST(failed);
}

BOOST_AUTO_TEST_SUITE_END()
BOOST_AUTO_TEST_SUITE_END()

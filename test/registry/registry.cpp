#include <majordomo/error.hpp>
#include <majordomo/llamaswap/provider.hpp>
#include <majordomo/openai/provider.hpp>
#include <majordomo/registry/registry.hpp>

#include "support/printers.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/test/unit_test.hpp>

using namespace majordomo;
using majordomo::registry::environment_result;

BOOST_AUTO_TEST_SUITE(registry)
BOOST_AUTO_TEST_SUITE(environment)

BOOST_AUTO_TEST_CASE(llm_variables_register_providers)
{
    boost::asio::io_context ioc;
    majordomo::registry::registry reg(ioc.get_executor());
    std::string a = "LLM_LOCAL=llama-swap://tok@127.0.0.1:8080", b = "LLM_CLOUD=openai://sk@api.example.com/v1",
                c = "PATH=/usr/bin", d = "LLM_=ignored";
    char* env[] = {a.data(), b.data(), c.data(), d.data(), nullptr};
    auto result = reg.add_from_environment(env);
    BOOST_TEST((result.added == std::vector<std::string>{"local", "cloud"}));
    BOOST_TEST(result.skipped.empty());
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

BOOST_AUTO_TEST_CASE(other_llm_variables_are_skipped_by_name_and_the_rest_registered)
{
    boost::asio::io_context ioc;
    majordomo::registry::registry reg(ioc.get_executor());
    const std::string secret = "S3cr3tK3y";
    std::vector<std::string> vars = {
        "LLM_API_KEY=sk-" + secret,                     // another tool's key: not a DSN
        "LLM_MODEL=gpt-4o",                             // nor this
        "LLM_BASE=https://" + secret + "@h/v1",         // a URL, not a DSN scheme
        "LLM_FIRST=llama-swap://t@127.0.0.1:1",
        "LLM_BROKEN=llama-swap://" + secret + "@h:0",   // ours, malformed
        "LLM_SLASHED=openai://" + secret + "/x@h/v1",   // ours, a key holding '/'
        "LLM_EMPTY=",
        "LLM_LAST=openai+http://localhost:8000/v1",
    };
    std::vector<char*> env;
    for (auto& v : vars)
        env.push_back(v.data());
    env.push_back(nullptr);

    environment_result r;
    BOOST_REQUIRE_NO_THROW(r = reg.add_from_environment(env.data()));
    BOOST_TEST((r.added == std::vector<std::string>{"first", "slashed", "last"}));
    std::vector<std::string> skipped;
    for (const auto& k : r.skipped) {
        skipped.push_back(k.variable);
        BOOST_TEST(k.reason.find(secret) == std::string::npos, k.reason);
        BOOST_TEST(k.variable.find(secret) == std::string::npos, k.variable);
        BOOST_TEST(!k.reason.empty());
    }
    BOOST_TEST((skipped == std::vector<std::string>{"LLM_API_KEY", "LLM_MODEL", "LLM_BASE", "LLM_BROKEN", "LLM_EMPTY"}));
    BOOST_TEST(r.skipped[3].reason.find("1..65535") != std::string::npos, r.skipped[3].reason);
    auto slashed = std::dynamic_pointer_cast<openai::provider>(reg.get("slashed"));
    BOOST_REQUIRE(slashed);
    BOOST_TEST(slashed->params().base_url == "https://h/v1");
    BOOST_TEST(*slashed->params().api_key == secret + "/x");
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

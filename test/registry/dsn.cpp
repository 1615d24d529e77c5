#include <majordomo/error.hpp>
#include <majordomo/registry/dsn.hpp>

#include <boost/test/unit_test.hpp>

#include "support/printers.hpp"

using namespace majordomo;
using namespace majordomo::registry;

BOOST_AUTO_TEST_SUITE(registry)
BOOST_AUTO_TEST_SUITE(dsn_parsing)

BOOST_AUTO_TEST_CASE(llama_swap_dsn_builds_an_http_base_url)
{
    auto d = parse_dsn("llama-swap://sekrit@gpu-box:8080");
    BOOST_TEST((d.kind == provider_kind::llama_swap));
    BOOST_TEST(d.base_url == "http://gpu-box:8080");
    BOOST_REQUIRE(d.token.has_value());
    BOOST_TEST(*d.token == "sekrit");

    auto bare = parse_dsn("llama-swap://127.0.0.1:9292/");
    BOOST_TEST(bare.base_url == "http://127.0.0.1:9292");
    BOOST_TEST(!bare.token.has_value());

    BOOST_TEST(parse_dsn("llama-swap+https://h:443").base_url == "https://h:443");
    BOOST_TEST(parse_dsn("llama-swap+http://h").base_url == "http://h");
}

BOOST_AUTO_TEST_CASE(openai_dsn_builds_an_https_base_url_with_path)
{
    auto d = parse_dsn("openai://sk-abc@api.example.com/v1/");
    BOOST_TEST((d.kind == provider_kind::openai));
    BOOST_TEST(d.base_url == "https://api.example.com/v1");
    BOOST_TEST(*d.token == "sk-abc");
    BOOST_TEST(parse_dsn("openai+http://localhost:8000/v1").base_url == "http://localhost:8000/v1");
    BOOST_TEST(parse_dsn("openai+https://h/v1").base_url == "https://h/v1");
}

BOOST_AUTO_TEST_CASE(tokens_are_percent_decoded_and_round_trip)
{
    auto d = parse_dsn("llama-swap://a%2Fb%40c@h:1");
    BOOST_TEST(*d.token == "a/b@c");
    for (const char* text : {"llama-swap://a%2Fb%40c@h:1", "llama-swap://h:8080", "llama-swap+https://t@h:8443",
                             "openai://k@api.example.com/v1", "openai+http://localhost:8000/v1", "openai://h"}) {
        auto parsed = parse_dsn(text);
        auto again = parse_dsn(to_string(parsed));
        BOOST_TEST(again.base_url == parsed.base_url, text);
        BOOST_TEST((again.kind == parsed.kind), text);
        BOOST_TEST((again.token == parsed.token), text);
    }
    BOOST_TEST(to_string(parse_dsn("llama-swap://t@h:1")) == "llama-swap://t@h:1");
}

BOOST_AUTO_TEST_CASE(malformed_dsns_are_rejected_without_echoing_the_secret)
{
    const char* bad[] = {
        "",                                   // empty
        "llama-swap",                         // no scheme separator
        "postgres://topsecret@h:1",           // unknown scheme
        "llama-swap://topsecret@:8080",       // no host
        "llama-swap://topsecret@h:0",         // bad port
        "llama-swap://topsecret@h:1/v1",      // llama-swap takes no path
        "llama-swap://topsecret@h:1?x=1",     // query
        "openai://topsecret@h/v1#frag",       // fragment
        "llama-swap://@h:1",                  // empty token
        "llama-swap://topsecret@h:99999",     // port out of range
        "llama-swap://top secret@h",          // space
    };
    for (const char* text : bad) {
        try {
            (void)parse_dsn(text);
            BOOST_ERROR("accepted: " << redact_dsn(text));
        } catch (const majordomo::error& e) {
            BOOST_TEST(e.code() == client_errc::bad_dsn);
            std::string what = e.what();
            BOOST_TEST(what.find("topsecret") == std::string::npos, what);
            BOOST_TEST(what.find("top secret") == std::string::npos, what);
        }
    }
}

BOOST_AUTO_TEST_CASE(redaction)
{
    BOOST_TEST(redact_dsn("llama-swap://tok@h:1") == "llama-swap://***@h:1");
    BOOST_TEST(redact_dsn("openai://h/v1") == "openai://h/v1");
    BOOST_TEST(redact_dsn("openai://a@b@h/x@y") == "openai://***@h/x@y");
}

BOOST_AUTO_TEST_SUITE_END()
BOOST_AUTO_TEST_SUITE_END()

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

BOOST_AUTO_TEST_CASE(redaction_keeps_scheme_host_and_port_only)
{
    BOOST_TEST(redact_dsn("llama-swap://tok@h:1") == "llama-swap://***@h:1");
    BOOST_TEST(redact_dsn("llama-swap://h:1") == "llama-swap://h:1");
    BOOST_TEST(redact_dsn("openai://h/v1") == "openai://h");
    BOOST_TEST(redact_dsn("openai://a@b@h/x@y") == "openai://***@y"); // an '@' in a path is hidden with the token
    BOOST_TEST(redact_dsn("openai://key/with/slash@api.example.com/v1") == "openai://***@api.example.com");
    BOOST_TEST(redact_dsn("openai://h/v1?api_key=k") == "openai://h");
    BOOST_TEST(redact_dsn("not a dsn") == "***");
}

BOOST_AUTO_TEST_CASE(tokens_may_hold_slash_question_hash_colon_and_at)
{
    // The token runs to the last '@': never split into host and path.
    struct {
        const char* text;
        const char* token;
        const char* base;
    } cases[] = {
        {"openai://key/with/slash@host", "key/with/slash", "https://host"},
        {"openai://key/with/slash@api.example.com/v1", "key/with/slash", "https://api.example.com/v1"},
        {"openai://k?x=1@h:8443/v1", "k?x=1", "https://h:8443/v1"},
        {"openai://k#frag@h", "k#frag", "https://h"},
        {"llama-swap://a@b@h:1", "a@b", "http://h:1"},
        // Found by the dsn fuzz target: these put part of the token in the base URL.
        {"openai://tok@en@api.example.com/v1", "tok@en", "https://api.example.com/v1"},
        {"openai://ab/cd@api.example.com/v1", "ab/cd", "https://api.example.com/v1"},
        {"llama-swap://user:pass@h:1", "user:pass", "http://h:1"},
        {"llama-swap://a%2Fb%40c%25@h:1", "a/b@c%", "http://h:1"},
        {"LLAMA-SWAP://t@h:1", "t", "http://h:1"}, // schemes are case-insensitive
        {"openai://sk-proj-AbC_123-xyz.~@[::1]:8080/v1", "sk-proj-AbC_123-xyz.~", "https://[::1]:8080/v1"},
    };
    for (const auto& c : cases) {
        auto d = parse_dsn(c.text);
        BOOST_REQUIRE_MESSAGE(d.token.has_value(), c.text);
        BOOST_TEST(*d.token == c.token, c.text);
        BOOST_TEST(d.base_url == c.base, c.text);
        // Written back with every reserved byte escaped, it parses to the same.
        auto again = parse_dsn(to_string(d));
        BOOST_TEST((again.token == d.token), c.text);
        BOOST_TEST(again.base_url == d.base_url, c.text);
    }
}

BOOST_AUTO_TEST_CASE(no_malformed_dsn_shows_its_secret)
{
    // Each holds the secret where a careless parser would echo it.
    const std::string s = "S3cr3tK3y";
    const std::string bad[] = {
        s,                                         // a bare key
        s + "@h:1",                                // no scheme
        "llama-swap:" + s + "@h",                  // no "//"
        "postgres://" + s + "@h:1",                // unknown scheme
        s + "://h:1",                              // a key where the scheme goes
        "llama-swap://" + s + "@:8080",            // no host
        "llama-swap://" + s + "@h:0",              // port 0
        "llama-swap://" + s + "@h:99999",          // port out of range
        "llama-swap://" + s + "@h:8x",             // port not a number
        "llama-swap://" + s + "@h:1/v1",           // llama-swap takes no path
        "llama-swap://h:1/" + s,                   // the path itself
        "openai://k@h/v1?key=" + s,                // query
        "openai://k@h/v1#" + s,                    // fragment
        "openai://h/v1?key=" + s,                  // query without a token
        "llama-swap://" + s + "/x@h:0",            // '/' in the token, bad port
        "llama-swap://" + s + "?x@h:0",            // '?' in the token
        "llama-swap://" + s + "#x@h:0",            // '#' in the token
        "llama-swap://" + s + "%zz@h:1",           // bad %-escape
        "llama-swap://" + s + "%0a@h:1",           // decodes to a control character
        "llama-swap://top " + s + "@h",            // space
        "llama-swap://" + s + "\n@h",             // control character
        "llama-swap://" + s + "@h:1\r\n",        // trailing CRLF
        "llama-swap://user:" + s,                  // no '@': the secret reads as a port
        "llama-swap://" + s + ":pass",             // likewise
        "openai://" + s + "@h^/v1",                // bad host
        "openai://" + s + "@[::1/v1",              // bad IPv6 literal
        "openai:///" + s,                          // no host, secret as path
    };
    for (const auto& text : bad) {
        try {
            (void)parse_dsn(text);
            BOOST_ERROR("accepted: " << redact_dsn(text));
        } catch (const majordomo::error& e) {
            BOOST_TEST(e.code() == client_errc::bad_dsn);
            std::string what = e.what();
            BOOST_TEST(what.find(s) == std::string::npos, what);
            BOOST_TEST(what.find("DSN '") != std::string::npos, what);
            const auto& d = e.diag();
            for (const std::string* field : {&d.provider, &d.model, &d.server_message, &d.error_type, &d.error_code,
                                             &d.client_message, &d.origin})
                BOOST_TEST(field->find(s) == std::string::npos, *field);
        }
        BOOST_TEST(redact_dsn(text).find(s) == std::string::npos, text);
    }
}

BOOST_AUTO_TEST_CASE(messages_say_what_to_change)
{
    auto message = [](std::string_view text) {
        try {
            (void)parse_dsn(text);
        } catch (const majordomo::error& e) {
            return std::string(e.what());
        }
        return std::string("accepted");
    };
    BOOST_TEST(message("llama-swap://t%zz@h").find("%25") != std::string::npos);
    BOOST_TEST(message("llama-swap://t@h:0").find("1..65535") != std::string::npos);
    BOOST_TEST(message("llama-swap://t@h/v1").find("adds /v1 itself") != std::string::npos);
    BOOST_TEST(message("posgres://t@h").find("use llama-swap") != std::string::npos);
    BOOST_TEST(message("posgres://t@h").find("DSN 'posgres://***@h'") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
BOOST_AUTO_TEST_SUITE_END()

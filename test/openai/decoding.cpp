#include "openai/decoding.hpp"

#include <majordomo/error.hpp>
#include <majordomo/openai/provider.hpp>

#include "support/printers.hpp"
#include "support/run_coro.hpp"
#include "support/test_server.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <limits>

namespace asio = boost::asio;
using namespace majordomo;
using majordomo::openai::detail::decode_embeddings;
using majordomo::openai::detail::decode_model_list;

namespace {

std::string embeddings(std::string_view rows, std::string_view usage = R"({"prompt_tokens":4,"total_tokens":4})")
{
    return R"({"object":"list","model":"emb","data":[)" + std::string(rows) + R"(],"usage":)" + std::string(usage) + "}";
}

// The decoder's verdict on `body`: "ok", or the bad_json message. Anything else fails.
std::string verdict(const std::string& body, std::size_t inputs)
{
    try {
        (void)decode_embeddings(body, inputs);
        return "ok";
    } catch (const majordomo::error& e) {
        BOOST_TEST(e.code() == client_errc::bad_json, body);
        return e.what();
    }
}

} // namespace

BOOST_AUTO_TEST_SUITE(openai)
BOOST_AUTO_TEST_SUITE(decoding)

BOOST_AUTO_TEST_CASE(embeddings_in_input_order)
{
    auto r = decode_embeddings(
        embeddings(R"({"index":1,"embedding":[0.5,1]},{"index":0,"embedding":[0.25,-1,3e38]})"), 2);
    BOOST_TEST(r.model == "emb");
    BOOST_REQUIRE(r.embeddings.size() == 2u);
    BOOST_TEST((r.embeddings[0] == std::vector<float>{0.25f, -1.0f, 3e38f}));
    BOOST_TEST((r.embeddings[1] == std::vector<float>{0.5f, 1.0f}));
    BOOST_TEST(r.prompt_tokens.value_or(0) == 4);
    // No index: position order.
    r = decode_embeddings(embeddings(R"({"embedding":[1]},{"index":null,"embedding":[2]})"), 2);
    BOOST_TEST(r.embeddings[1].at(0) == 2.0f);
}

BOOST_AUTO_TEST_CASE(a_bad_vector_element_is_bad_json_never_a_foreign_exception)
{
    for (const char* x : {"\"0.5\"", "null", "true", "[]", "{}", "1e39", "-1e39", "1e300", "-1e300", "1e400",
                          "-1e400"}) {
        auto body = embeddings(std::string(R"({"index":0,"embedding":[0.1,)") + x + "]}");
        auto what = verdict(body, 1);
        BOOST_TEST(what.find("element 1 of input 0") != std::string::npos, x << ": " << what);
    }
    // The largest floats and integers that fit are fine.
    BOOST_TEST(verdict(embeddings(R"({"embedding":[3.4028234e38,-3.4028234e38,9223372036854775808,-1]})"), 1) == "ok");
}

BOOST_AUTO_TEST_CASE(row_indices_must_name_an_input_once)
{
    for (const char* i : {"-1", "2", "1e300", "-1e300", "9223372036854775808", "18446744073709551615", "\"0\"",
                          "true", "1e400"}) {
        auto what = verdict(embeddings(std::string(R"({"index":)") + i + R"(,"embedding":[1]},{"embedding":[2]})"), 2);
        BOOST_TEST(what.find("index") != std::string::npos, i << ": " << what);
    }
    BOOST_TEST(verdict(embeddings(R"({"index":0,"embedding":[1]},{"index":0,"embedding":[2]})"), 2).find("two rows") !=
               std::string::npos);
    BOOST_TEST(verdict(embeddings(R"({"index":0,"embedding":[1]})"), 2).find("no vector for input 1") !=
               std::string::npos);
    BOOST_TEST(verdict(embeddings(R"({"embedding":[1]},{"embedding":[2]},{"embedding":[3]})"), 2).find("more rows") !=
               std::string::npos);
    BOOST_TEST(verdict(embeddings(R"({"index":0,"embedding":"AAAA"})"), 1).find("base64") != std::string::npos);
    BOOST_TEST(verdict("<html>oops</html>", 1).find("'<html>oops</html>'") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(usage_counts_are_lenient_and_clamped)
{
    auto rows = R"({"embedding":[1]})";
    auto r = decode_embeddings(embeddings(rows, R"({"prompt_tokens":-4,"total_tokens":1e300})"), 1);
    BOOST_TEST(r.prompt_tokens.value() == 0);
    BOOST_TEST(r.total_tokens.value() == std::numeric_limits<std::int64_t>::max());
    r = decode_embeddings(embeddings(rows, R"({"prompt_tokens":"4","total_tokens":18446744073709551615})"), 1);
    BOOST_TEST(!r.prompt_tokens);
    BOOST_TEST(r.total_tokens.value() == std::numeric_limits<std::int64_t>::max());
    r = decode_embeddings(embeddings(rows, "\"none\""), 1);
    BOOST_TEST(!r.total_tokens);
}

BOOST_AUTO_TEST_CASE(model_list_created_out_of_range_is_absent)
{
    auto m = decode_model_list(
        R"({"data":[{"id":"a","created":1e300},{"id":"b","created":9223372036854775808},{"id":"c","created":"x"},{"id":"d","created":1700000000},{"id":"e","created":1.7e9}]})");
    BOOST_REQUIRE(m.size() == 5u);
    BOOST_TEST(!m[0].created);
    BOOST_TEST(!m[1].created);
    BOOST_TEST(!m[2].created);
    BOOST_TEST(m[3].created.value() == 1700000000);
    BOOST_TEST(m[4].created.value() == 1700000000);
    BOOST_CHECK_THROW((void)decode_model_list("[]"), majordomo::error);
}

BOOST_AUTO_TEST_CASE(a_bad_embedding_over_the_wire_names_provider_model_and_origin)
{
    asio::io_context ioc;
    test::test_server server(ioc.get_executor());
    server.on_request([](const test::received_request&, test::exchange& ex) -> asio::awaitable<void> {
        co_await ex.async_respond(200, R"({"data":[{"index":0,"embedding":[0.5,"x"]}]})");
    });
    majordomo::openai::provider_params p;
    p.name = "local";
    p.base_url = server.url() + "/v1";
    p.api_key = "sk-S3cr3tK3y";
    auto provider = majordomo::openai::make_provider(ioc.get_executor(), p);
    bool failed = false;
    test::run_coro(ioc, [&]() -> asio::awaitable<void> {
        majordomo::openai::embedding_request e;
        e.model = "emb";
        e.input = {"a"};
        try {
            co_await provider->async_embed(e);
        } catch (const majordomo::error& x) {
            failed = true;
            BOOST_TEST(x.code() == client_errc::bad_json);
            std::string what = x.what();
            BOOST_TEST(what.find("provider local, model emb, at " + server.url()) != std::string::npos, what);
            BOOST_TEST(what.find("/v1") == std::string::npos, what);
            BOOST_TEST(what.find("S3cr3t") == std::string::npos, what);
        }
    }());
    BOOST_TEST(failed);
}

BOOST_AUTO_TEST_SUITE_END()
BOOST_AUTO_TEST_SUITE_END()

#include <majordomo/error.hpp>
#include <majordomo/llamaswap/management.hpp>

#include "support/printers.hpp"

#include <boost/test/unit_test.hpp>

using namespace majordomo;

BOOST_AUTO_TEST_SUITE(llamaswap)
BOOST_AUTO_TEST_SUITE(management_decoding)

BOOST_AUTO_TEST_CASE(numbers_out_of_range_read_as_absent)
{
    // A double beyond int64 must never be cast (undefined), nor a uint64 wrap negative.
    auto models = majordomo::llamaswap::decode_model_list(
        R"({"data":[{"id":"a","created":1e300},{"id":"b","created":-1e300},{"id":"c","created":18446744073709551615},{"id":"d","created":1e400},{"id":"e","created":"1"},{"id":"f","created":1700000000.5}]})");
    BOOST_REQUIRE(models.size() == 6u);
    for (std::size_t i = 0; i < 5; ++i)
        BOOST_TEST(!models[i].created, models[i].id);
    BOOST_TEST(models[5].created.value() == 1700000000);

    auto running = majordomo::llamaswap::decode_running(
        R"({"running":[{"model":"a","ttl":9.3e18},{"model":"b","ttl":9223372036854775808},{"model":"c","ttl":300},{"model":"d","ttl":-1e300}]})");
    BOOST_REQUIRE(running.size() == 4u);
    BOOST_TEST(!running[0].ttl);
    BOOST_TEST(!running[1].ttl);
    BOOST_TEST(running[2].ttl.value() == 300);
    BOOST_TEST(!running[3].ttl);
}

BOOST_AUTO_TEST_CASE(bad_shapes_quote_a_clean_excerpt_and_say_what_to_check)
{
    std::string body = "<html>\x01" + std::string(300, 'x') + "\xE2\x82\xAC</html>";
    try {
        (void)majordomo::llamaswap::decode_running(body);
        BOOST_ERROR("accepted");
    } catch (const majordomo::error& e) {
        BOOST_TEST(e.code() == client_errc::bad_json);
        std::string what = e.what();
        BOOST_TEST(what.find("check that the base URL points at llama-swap") != std::string::npos, what);
        BOOST_TEST(what.find("...'") != std::string::npos, what); // cut, and marked so
        BOOST_TEST(what.find('\x01') == std::string::npos);
    }
}

BOOST_AUTO_TEST_SUITE_END()
BOOST_AUTO_TEST_SUITE_END()

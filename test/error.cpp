#include <majordomo/as_result.hpp>
#include <majordomo/error.hpp>
#include <majordomo/http/errc.hpp>

#include "support/run_coro.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/test/unit_test.hpp>

#include "support/printers.hpp"

namespace asio = boost::asio;
using namespace majordomo;

BOOST_AUTO_TEST_SUITE(error)

BOOST_AUTO_TEST_CASE(categories_are_named_by_origin)
{
    BOOST_TEST(std::string(get_client_category().name()) == "majordomo.client");
    BOOST_TEST(std::string(get_api_category().name()) == "majordomo.api");
    BOOST_TEST(std::string(majordomo::http::get_http_category().name()) == "majordomo.http");
    boost::system::error_code ec = client_errc::deadline_exceeded;
    BOOST_TEST(ec.message().find("deadline") != std::string::npos);
    BOOST_TEST(make_api_error(429).value() == 429);
    BOOST_TEST(make_api_error(429).message().find("Retry-After") != std::string::npos);
    boost::system::error_code hec = majordomo::http::errc::body_limit_exceeded;
    BOOST_TEST(hec.message().find("body_limit") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(every_client_code_has_a_message)
{
    for (int v = 1; v <= static_cast<int>(client_errc::stream_closed); ++v) {
        auto m = make_error_code(static_cast<client_errc>(v)).message();
        BOOST_TEST(m.find("unknown") == std::string::npos, "code " << v << ": " << m);
    }
    for (int v = 1; v <= static_cast<int>(majordomo::http::errc::unsupported_scheme); ++v) {
        auto m = make_error_code(static_cast<majordomo::http::errc>(v)).message();
        BOOST_TEST(m.find("unknown") == std::string::npos, "code " << v << ": " << m);
    }
}

BOOST_AUTO_TEST_CASE(error_carries_diagnostics_in_what)
{
    diagnostics d;
    d.provider = "llama-swap";
    d.model = "qwen";
    d.http_status = 404;
    d.server_message = "model not found";
    majordomo::error e(make_api_error(404), d);
    BOOST_TEST(e.code() == make_api_error(404));
    BOOST_TEST(e.diag().http_status == 404);
    std::string what = e.what();
    BOOST_TEST(what.find("llama-swap") != std::string::npos);
    BOOST_TEST(what.find("qwen") != std::string::npos);
    BOOST_TEST(what.find("model not found") != std::string::npos);
    // Still catchable as the Boost type.
    BOOST_CHECK_THROW(throw e, boost::system::system_error);
}

BOOST_AUTO_TEST_CASE(throw_error_attaches_a_source_location)
{
    try {
        throw_error(client_errc::bad_json, "decoding chunk");
        BOOST_FAIL("did not throw");
    } catch (const majordomo::error& e) {
        BOOST_TEST(e.code() == client_errc::bad_json);
        BOOST_TEST(e.code().has_location());
        BOOST_TEST(std::string(e.what()).find("decoding chunk") != std::string::npos);
    }
}

namespace {
asio::awaitable<int> answer() { co_return 42; }
asio::awaitable<int> fail_with_diag()
{
    diagnostics d;
    d.http_status = 503;
    throw majordomo::error(make_api_error(503), d);
    co_return 0;
}
asio::awaitable<void> fail_void() { throw majordomo::error(client_errc::stream_truncated); co_return; }
} // namespace

BOOST_AUTO_TEST_CASE(as_result_returns_values_and_failures)
{
    asio::io_context ioc;
    test::run_coro(ioc, []() -> asio::awaitable<void> {
        auto ok = co_await as_result(answer());
        BOOST_TEST(ok.has_value());
        BOOST_TEST(*ok == 42);

        auto bad = co_await as_result(fail_with_diag());
        BOOST_REQUIRE(bad.has_error());
        BOOST_TEST(bad.error().code == make_api_error(503));
        BOOST_TEST(bad.error().diag.http_status == 503);
        // value() rethrows the rich exception, diagnostics included.
        try {
            (void)bad.value();
            BOOST_FAIL("value() did not throw");
        } catch (const majordomo::error& e) {
            BOOST_TEST(e.diag().http_status == 503);
        }

        auto v = co_await as_result(fail_void());
        BOOST_REQUIRE(v.has_error());
        BOOST_TEST(v.error().code == client_errc::stream_truncated);
    }());
}

BOOST_AUTO_TEST_SUITE_END()

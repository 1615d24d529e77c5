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
// What system_error appends to its text: " [category:N" and, with a location, " at file:line".
void check_no_boost_suffix(const std::string& what)
{
    BOOST_TEST(what.find(" [") == std::string::npos, what);
    BOOST_TEST(what.find("majordomo.client:") == std::string::npos, what);
    BOOST_TEST(what.find("system:") == std::string::npos, what);
    BOOST_TEST(what.find(".cpp") == std::string::npos, what);
    BOOST_TEST(what.find(" at line") == std::string::npos, what);
}
} // namespace

BOOST_AUTO_TEST_CASE(what_is_for_people_without_category_or_source_location)
{
    static constexpr boost::source_location here = BOOST_CURRENT_LOCATION;
    boost::system::error_code located(make_error_code(client_errc::bad_json), &here);
    BOOST_REQUIRE(located.has_location());
    // Boost itself would append both; ours must not.
    BOOST_REQUIRE(std::string(boost::system::system_error(located, "x").what()).find(".cpp") != std::string::npos);

    check_no_boost_suffix(majordomo::error(located).what());
    check_no_boost_suffix(majordomo::error(located, "decoding the model list").what());
    diagnostics d;
    d.provider = "local";
    d.model = "qwen";
    d.client_message = "decoding the model list";
    majordomo::error e(located, d);
    std::string what = e.what();
    check_no_boost_suffix(what);
    BOOST_TEST(what == "provider local, model qwen, decoding the model list: " + located.message());
    BOOST_TEST(e.code().has_location()); // still there for those who want it

    // A transport error from another category, located too.
    boost::system::error_code refused(boost::system::errc::connection_refused, boost::system::generic_category(), &here);
    check_no_boost_suffix(majordomo::error(refused, "connecting").what());
    BOOST_TEST(std::string(majordomo::error(refused).what()) == refused.message());

    // throw_error attaches the caller's location to the code, never to the text.
    try {
        throw_error(client_errc::bad_json, "decoding chunk");
    } catch (const boost::system::system_error& x) { // caught as the Boost type: what() is virtual
        check_no_boost_suffix(x.what());
        BOOST_TEST(x.code().has_location());
    }
}

BOOST_AUTO_TEST_CASE(origin_is_shown_without_userinfo_or_path)
{
    diagnostics d;
    d.provider = "cloud";
    d.origin = "https://user:S3cr3tPass@api.example.com:8443/v1?key=S3cr3tQuery";
    majordomo::error e(make_api_error(401), d);
    std::string what = e.what();
    BOOST_TEST(what.find("at https://***@api.example.com:8443") != std::string::npos, what);
    BOOST_TEST(what.find("S3cr3t") == std::string::npos, what);
    BOOST_TEST(e.diag().origin.find("S3cr3t") == std::string::npos, e.diag().origin);
    BOOST_TEST(e.diag().origin == "https://***@api.example.com:8443");
}

BOOST_AUTO_TEST_CASE(redact_url_keeps_scheme_host_and_port_only)
{
    BOOST_TEST(redact_url("http://127.0.0.1:8080/v1/chat") == "http://127.0.0.1:8080");
    BOOST_TEST(redact_url("https://api.example.com") == "https://api.example.com");
    BOOST_TEST(redact_url("https://[::1]:443/x") == "https://[::1]:443");
    BOOST_TEST(redact_url("openai+https://k@h/v1") == "openai+https://***@h");
    BOOST_TEST(redact_url("") == "***");
    // Every form below hides the secret; the userinfo ends at the last '@'.
    const char* secret = "S3cr3tK3y";
    for (std::string url : {
             "https://S3cr3tK3y@h",
             "https://user:S3cr3tK3y@h:1/p",
             "https://S3cr3tK3y/with/slash@h",
             "https://S3cr3tK3y?q@h",
             "https://S3cr3tK3y#f@h",
             "https://a@S3cr3tK3y@h",
             "https://h/path?api_key=S3cr3tK3y",
             "https://h/#S3cr3tK3y",
             "https://h/S3cr3tK3y",
             "https://user:S3cr3tK3y",        // no '@': "S3cr3tK3y" reads as a port
             "https://S3cr3tK3y:pass",        // likewise
             "https://h:S3cr3tK3y",
             "S3cr3tK3y",
             "S3cr3tK3y@h",
             "S3cr3tK3y://h",
             "sk-S3cr3tK3y://h",
             "https://S3cr3tK3y :1",
             "https://S3cr3tK3y\n@h",
             "https://[S3cr3tK3y]:1",
         }) {
        auto r = redact_url(url);
        BOOST_TEST(r.find(secret) == std::string::npos, url << " -> " << r);
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

// classify() on every kind (wire-formats.md §4.4, §7.5).
#include <majordomo/http/errc.hpp>
#include <majordomo/llm/classify.hpp>

#include <boost/asio/error.hpp>
#include <boost/test/unit_test.hpp>

#include "printers.hpp"

#include <set>
#include <stdexcept>
#include <string>

using namespace majordomo;
using namespace majordomo::llm;
using namespace std::chrono_literals;

namespace {

// Stand-ins for categories of layers this one must not link: classify() knows them by name.
class named_category final : public boost::system::error_category {
public:
    explicit named_category(const char* n) : name_(n) {}
    const char* name() const noexcept override { return name_; }
    std::string message(int) const override { return name_; }

private:
    const char* name_;
};

const named_category sse_cat("majordomo.sse");
const named_category ssl_cat("asio.ssl");
const named_category ssl_stream_cat("asio.ssl.stream");
const named_category unknown_cat("somebody.else");

diagnostics typed(std::string type, std::string code = {}, std::string message = {})
{
    diagnostics d;
    d.error_type = std::move(type);
    d.error_code = std::move(code);
    d.server_message = std::move(message);
    return d;
}

struct expect {
    error_kind kind;
    bool retryable;
};

void check(const boost::system::error_code& ec, const diagnostics& d, expect e)
{
    auto c = classify(ec, d);
    BOOST_TEST_CONTEXT(ec.category().name() << ':' << ec.value() << " type=" << d.error_type)
    {
        BOOST_TEST(std::string(to_string(c.kind)) == to_string(e.kind));
        BOOST_TEST(c.retryable == e.retryable);
    }
}

void check(const boost::system::error_code& ec, expect e) { check(ec, {}, e); }

} // namespace

BOOST_AUTO_TEST_SUITE(llm)
BOOST_AUTO_TEST_SUITE(classification)

using k = error_kind;

BOOST_AUTO_TEST_CASE(cancelled_and_deadline)
{
    check(boost::asio::error::operation_aborted, {k::cancelled, false});
    check(make_error_code(boost::system::errc::operation_canceled), {k::cancelled, false});
    check(client_errc::deadline_exceeded, {k::deadline, true});
}

BOOST_AUTO_TEST_CASE(transport_failures)
{
    check(boost::asio::error::connection_refused, {k::transport, true});
    check(boost::asio::error::connection_reset, {k::transport, true});
    check(boost::asio::error::broken_pipe, {k::transport, true});
    check(boost::asio::error::host_unreachable, {k::transport, true});
    check(boost::asio::error::timed_out, {k::transport, true});
    check(boost::asio::error::eof, {k::transport, true});              // misc category
    check(boost::asio::error::host_not_found_try_again, {k::transport, true}); // netdb category
    check(make_error_code(http::errc::response_truncated), {k::transport, true});
    check({1, ssl_stream_cat}, {k::transport, true});  // peer left without close_notify
    check({337047686, ssl_cat}, {k::transport, false}); // certificate verify failed: fails again
}

BOOST_AUTO_TEST_CASE(authentication_permission_not_found)
{
    check(make_api_error(401), {k::authentication, false});
    check(client_errc::missing_api_key, {k::authentication, false});
    check(make_api_error(403), {k::permission, false});
    check(make_api_error(404), {k::not_found, false});
}

BOOST_AUTO_TEST_CASE(rate_limited_with_and_without_retry_after)
{
    diagnostics d = typed("rate_limit_error", "concurrency_limit");
    d.retry_after = 1000ms;
    auto c = classify(make_api_error(429), d);
    BOOST_TEST(c.kind == k::rate_limited);
    BOOST_TEST(c.retryable);
    BOOST_TEST(c.retry_after.value() == 1000ms);
    auto bare = classify(make_api_error(429));
    BOOST_TEST(bare.kind == k::rate_limited);
    BOOST_TEST(!bare.retry_after.has_value()); // the caller's backoff decides
}

BOOST_AUTO_TEST_CASE(bad_requests_are_permanent)
{
    check(make_api_error(400), typed("invalid_request_error"), {k::bad_request, false});
    check(make_api_error(413), {k::bad_request, false});
    check(make_api_error(422), {k::bad_request, false});
    check(make_api_error(501), typed("not_supported_error"), {k::bad_request, false});
    // llama.cpp answers malformed JSON and validation runtime_errors with 500.
    check(make_api_error(500), typed("invalid_request_error"), {k::bad_request, false});
    check(make_api_error(500),
          typed("server_error", "500", "[json.exception.parse_error.101] parse error at line 1, column 2"),
          {k::bad_request, false});
    check(make_api_error(500), typed("server_error", "500", "Unknown reasoning format: foo"), {k::bad_request, false});
}

BOOST_AUTO_TEST_CASE(context_length_is_permanent)
{
    diagnostics d = typed("exceed_context_size_error", "400");
    d.n_prompt_tokens = 9000;
    d.n_ctx = 8192;
    check(make_api_error(400), d, {k::context_length, false});
    check(make_api_error(400), typed("invalid_request_error", "context_length_exceeded"), {k::context_length, false});
}

BOOST_AUTO_TEST_CASE(server_errors_are_retryable)
{
    check(make_api_error(500), typed("server_error", "500", "llama_decode failed"), {k::server, true});
    check(make_api_error(500), {k::server, true});
    check(make_api_error(502), {k::server, true});
    check(make_api_error(504), {k::server, true});
    check(make_api_error(408), {k::server, true});
    diagnostics d;
    d.retry_after = 3s;
    BOOST_TEST(classify(make_api_error(502), d).retry_after.value() == 3000ms);
}

BOOST_AUTO_TEST_CASE(unavailable_while_loading)
{
    check(make_api_error(503), typed("unavailable_error", "503", "Loading model"), {k::unavailable, true});
    check(make_api_error(503), {k::unavailable, true});
    check(make_api_error(409), {k::unavailable, true}); // llama-swap: not loaded, path ignored
    check(client_errc::model_unloaded, {k::unavailable, true});
}

BOOST_AUTO_TEST_CASE(stream_truncated_is_retryable_before_output)
{
    check(client_errc::stream_truncated, {k::stream_truncated, true});
}

BOOST_AUTO_TEST_CASE(decoding_failures)
{
    check(client_errc::bad_json, {k::decoding, false});
    check(client_errc::unexpected_content_type, {k::decoding, false});
    check(client_errc::bad_image, {k::decoding, false});
    check(make_error_code(http::errc::bad_chunk), {k::decoding, false});
    check(make_error_code(http::errc::bad_status_line), {k::decoding, false});
    check(make_error_code(http::errc::body_limit_exceeded), {k::decoding, false});
    check({1, sse_cat}, {k::decoding, false});
}

BOOST_AUTO_TEST_CASE(other_is_misuse_and_configuration)
{
    check(client_errc::bad_dsn, {k::other, false});
    check(client_errc::no_base_url, {k::other, false});
    check(client_errc::invalid_argument, {k::other, false});
    check(client_errc::operation_in_progress, {k::other, false});
    check(client_errc::unknown_provider, {k::other, false});
    check(make_error_code(http::errc::bad_url), {k::other, false});
    check(make_error_code(http::errc::unsupported_scheme), {k::other, false});
    check(make_error_code(http::errc::bad_request_field), {k::other, false});
    check({}, {k::other, false});
    check({5, unknown_cat}, {k::other, false});
    check(make_api_error(302), {k::other, false});
}

BOOST_AUTO_TEST_CASE(from_exceptions)
{
    diagnostics d = typed("rate_limit_error");
    d.retry_after = 2s;
    const majordomo::error e(make_api_error(429), d);
    BOOST_TEST(classify(e).kind == k::rate_limited);
    BOOST_TEST(classify(e).retry_after.value() == 2000ms);
    auto ep = std::make_exception_ptr(e);
    BOOST_TEST(classify(ep).kind == k::rate_limited);
    BOOST_TEST(classify(ep).retry_after.value() == 2000ms);
    auto ctx = std::make_exception_ptr(majordomo::error(make_api_error(400), typed("exceed_context_size_error")));
    BOOST_TEST(classify(ctx).kind == k::context_length);
    auto sys = std::make_exception_ptr(boost::system::system_error(boost::asio::error::connection_reset));
    BOOST_TEST(classify(sys).kind == k::transport);
    BOOST_TEST(classify(sys).retryable);
    BOOST_TEST(classify(std::make_exception_ptr(std::runtime_error("x"))).kind == k::other);
    BOOST_TEST(classify(std::exception_ptr{}).kind == k::other);
}

BOOST_AUTO_TEST_CASE(every_kind_has_its_own_name)
{
    std::set<std::string> names;
    for (int i = 0; i <= static_cast<int>(k::other); ++i)
        names.insert(to_string(static_cast<k>(i)));
    BOOST_TEST(names.size() == static_cast<std::size_t>(k::other) + 1);
    BOOST_TEST(std::string(to_string(k::context_length)) == "context_length");
}

BOOST_AUTO_TEST_SUITE_END() // classification
BOOST_AUTO_TEST_SUITE_END() // llm

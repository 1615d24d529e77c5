#include <majordomo/llm/classify.hpp>
#include <majordomo/llm/retry.hpp>

#include <boost/test/unit_test.hpp>

#include <algorithm>

using namespace majordomo;
using namespace std::chrono_literals;
namespace ml = majordomo::llm;

BOOST_AUTO_TEST_SUITE(llm)
BOOST_AUTO_TEST_SUITE(retry)

BOOST_AUTO_TEST_CASE(backoff_is_full_jitter_under_a_doubling_ceiling)
{
    ml::retry_params p;
    p.base_delay = 100ms;
    p.max_delay = 1000ms;
    BOOST_TEST(ml::backoff_delay(p, 1, 0.0).count() == 0);
    BOOST_TEST(ml::backoff_delay(p, 1, 0.5).count() == 50);
    BOOST_TEST(ml::backoff_delay(p, 2, 0.5).count() == 100);
    BOOST_TEST(ml::backoff_delay(p, 3, 0.5).count() == 200);
    BOOST_TEST(ml::backoff_delay(p, 4, 0.999).count() == 799);
    BOOST_TEST(ml::backoff_delay(p, 5, 0.5).count() == 500); // capped at max_delay
    BOOST_TEST(ml::backoff_delay(p, 1000, 0.5).count() == 500); // no overflow
    BOOST_TEST(ml::backoff_delay(p, 2, 7.0).count() == 200); // a draw out of range is clamped
}

BOOST_AUTO_TEST_CASE(defaults_retry_what_the_issue_names)
{
    ml::retry_params p;
    BOOST_TEST(p.max_attempts > 1);
    auto has = [&](ml::error_kind k) { return std::find(p.kinds.begin(), p.kinds.end(), k) != p.kinds.end(); };
    BOOST_TEST(has(ml::error_kind::transport));
    BOOST_TEST(has(ml::error_kind::rate_limited));
    BOOST_TEST(has(ml::error_kind::unavailable)); // 503, llama-swap's 409
    BOOST_TEST(!has(ml::error_kind::server));     // 500 and 504 are not, 502 is by status
    BOOST_TEST(!has(ml::error_kind::deadline));
    BOOST_TEST((std::find(p.statuses.begin(), p.statuses.end(), 502) != p.statuses.end()));
    BOOST_TEST(ml::retry_params::none().max_attempts == 1);
}

BOOST_AUTO_TEST_CASE(phase_deadline_errors_are_their_own_codes)
{
    for (auto e : {client_errc::first_token_deadline_exceeded, client_errc::idle_deadline_exceeded,
                   client_errc::total_deadline_exceeded}) {
        auto ec = make_error_code(e);
        BOOST_TEST(ec != make_error_code(client_errc::deadline_exceeded));
        BOOST_TEST((ml::classify(ec).kind == ml::error_kind::deadline));
        BOOST_TEST(ec.message().find("deadline") != std::string::npos);
    }
}

BOOST_AUTO_TEST_SUITE_END()
BOOST_AUTO_TEST_SUITE_END()

#include <majordomo/deadline.hpp>

#include "support/run_coro.hpp"

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/test/unit_test.hpp>

#include "support/printers.hpp"

namespace asio = boost::asio;
using namespace majordomo;
using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

namespace {
asio::awaitable<int> sleep_then(std::chrono::milliseconds d, int v)
{
    asio::steady_timer t(co_await asio::this_coro::executor, d);
    co_await t.async_wait(asio::use_awaitable);
    co_return v;
}
asio::awaitable<int> fail_after(std::chrono::milliseconds d)
{
    co_await sleep_then(d, 0);
    throw majordomo::error(client_errc::bad_json);
}
// A type without a default constructor must pass through.
struct no_default {
    explicit no_default(int x) : v(x) {}
    int v;
};
asio::awaitable<no_default> make_no_default() { co_return no_default(7); }
asio::awaitable<void> sleep_void(std::chrono::milliseconds d) { co_await sleep_then(d, 0); }
} // namespace

BOOST_AUTO_TEST_SUITE(deadline)

BOOST_AUTO_TEST_CASE(fast_success_returns_its_value)
{
    asio::io_context ioc;
    test::run_coro(ioc, []() -> asio::awaitable<void> {
        auto t0 = clock_type::now();
        int v = co_await with_deadline(sleep_then(10ms, 5), 2s);
        BOOST_TEST(v == 5);
        BOOST_TEST(test::ms_between(t0, clock_type::now()) < 1000);
        auto nd = co_await with_deadline(make_no_default(), 1s);
        BOOST_TEST(nd.v == 7);
    }());
}

BOOST_AUTO_TEST_CASE(fast_failure_is_reported_at_once_as_itself)
{
    asio::io_context ioc;
    test::run_coro(ioc, []() -> asio::awaitable<void> {
        auto t0 = clock_type::now();
        try {
            co_await with_deadline(fail_after(10ms), 3s);
            BOOST_FAIL("no exception");
        } catch (const majordomo::error& e) {
            BOOST_TEST(e.code() == client_errc::bad_json);
        }
        // `op || timer` would have waited the full 3 s here.
        BOOST_TEST(test::ms_between(t0, clock_type::now()) < 1500);
    }());
}

BOOST_AUTO_TEST_CASE(slow_operation_gives_deadline_exceeded)
{
    asio::io_context ioc;
    test::run_coro(ioc, []() -> asio::awaitable<void> {
        auto t0 = clock_type::now();
        try {
            co_await with_deadline(sleep_then(5s, 1), 100ms);
            BOOST_FAIL("no exception");
        } catch (const majordomo::error& e) {
            BOOST_TEST(e.code() == client_errc::deadline_exceeded);
            BOOST_TEST(std::string(e.what()).find("100 ms") != std::string::npos);
        }
        auto elapsed = test::ms_between(t0, clock_type::now());
        BOOST_TEST(elapsed >= 100);
        BOOST_TEST(elapsed < 4000);
        try {
            co_await with_deadline(sleep_void(5s), 50ms);
            BOOST_FAIL("no exception");
        } catch (const majordomo::error& e) {
            BOOST_TEST(e.code() == client_errc::deadline_exceeded);
        }
    }());
}

BOOST_AUTO_TEST_CASE(callers_cancellation_stays_operation_aborted)
{
    asio::io_context ioc;
    asio::cancellation_signal sig;
    boost::system::error_code seen;
    bool finished = false;
    asio::co_spawn(
        ioc,
        [&]() -> asio::awaitable<void> {
            try {
                co_await with_deadline(sleep_then(5s, 1), 3s);
            } catch (const boost::system::system_error& e) {
                seen = e.code();
            }
            finished = true;
        },
        asio::bind_cancellation_slot(sig.slot(), asio::detached));
    asio::steady_timer t(ioc, 50ms);
    t.async_wait([&](auto) { sig.emit(asio::cancellation_type::terminal); });
    ioc.run_for(10s);
    BOOST_TEST(finished);
    BOOST_TEST(seen == asio::error::operation_aborted);
}

BOOST_AUTO_TEST_SUITE_END()

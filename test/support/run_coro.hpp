// Runs a test coroutine on an io_context, bounded so a broken test fails instead of hanging.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <exception>

namespace majordomo::test {

inline void run_coro(boost::asio::io_context& ioc, boost::asio::awaitable<void> op,
                     std::chrono::steady_clock::duration bound = std::chrono::seconds(60))
{
    std::exception_ptr failure;
    bool finished = false;
    boost::asio::co_spawn(ioc, std::move(op), [&](std::exception_ptr e) {
        failure = e;
        finished = true;
        ioc.stop(); // servers on the same context would keep it busy
    });
    ioc.run_for(bound);
    ioc.restart();
    BOOST_REQUIRE_MESSAGE(finished, "the test coroutine did not finish in time");
    if (failure)
        std::rethrow_exception(failure);
}

/// Milliseconds between two time points, for readable assertions.
inline long long ms_between(std::chrono::steady_clock::time_point a, std::chrono::steady_clock::time_point b)
{
    return std::chrono::duration_cast<std::chrono::milliseconds>(b - a).count();
}

} // namespace majordomo::test

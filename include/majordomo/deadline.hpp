// with_deadline: bounds any awaitable by a cancellation deadline (DESIGN.md rule 2).
// On Boost >= 1.86 this becomes a thin wrapper over asio::cancel_after; keep the name.
#pragma once

#include <majordomo/error.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>
#include <exception>
#include <optional>

namespace majordomo {

namespace detail {
[[noreturn]] void throw_deadline_exceeded(std::chrono::steady_clock::duration d);

// Built on a parallel group with wait_for_one, not `op || timer`: on 1.81 `||` waits for
// the timer when the op fails fast and then reports the failure as a timeout.
// The operand yields optional<T> so that T need not be default-constructible.
template <class T>
boost::asio::awaitable<std::optional<T>> race_deadline(boost::asio::awaitable<std::optional<T>> op,
                                                       std::chrono::steady_clock::duration d)
{
    namespace asio = boost::asio;
    auto ex = co_await asio::this_coro::executor;
    asio::steady_timer timer(ex, d);
    auto [order, op_error, value, timer_ec] =
        co_await asio::experimental::make_parallel_group(
            asio::co_spawn(ex, std::move(op), asio::deferred), timer.async_wait(asio::deferred))
            .async_wait(asio::experimental::wait_for_one(), asio::use_awaitable);
    if (op_error) {
        // Only a timer that really expired first is a deadline; the caller's own
        // cancellation also aborts the timer and stays operation_aborted.
        if (order[0] == 1 && !timer_ec)
            throw_deadline_exceeded(d);
        std::rethrow_exception(op_error);
    }
    co_return std::move(value);
}
} // namespace detail

/// Runs `op`, cancelling it (terminal) if it has not finished after `d`.
/// @par Errors  client_errc::deadline_exceeded when the deadline fired; whatever `op`
///   threw otherwise, at once; operation_aborted when the caller cancelled.
/// @par Cancellation  Terminal cancellation of the caller reaches `op`.
template <class T>
boost::asio::awaitable<T> with_deadline(boost::asio::awaitable<T> op, std::chrono::steady_clock::duration d)
{
    auto wrapped = [](boost::asio::awaitable<T> o) -> boost::asio::awaitable<std::optional<T>> {
        co_return std::optional<T>(co_await std::move(o));
    };
    co_return std::move(*co_await detail::race_deadline<T>(wrapped(std::move(op)), d));
}

inline boost::asio::awaitable<void> with_deadline(boost::asio::awaitable<void> op,
                                                  std::chrono::steady_clock::duration d)
{
    auto wrapped = [](boost::asio::awaitable<void> o) -> boost::asio::awaitable<std::optional<bool>> {
        co_await std::move(o);
        co_return true;
    };
    co_await detail::race_deadline<bool>(wrapped(std::move(op)), d);
}

} // namespace majordomo

// The non-throwing adapter (DESIGN.md rule 1): one wrapper instead of a doubled API.
#pragma once

#include <majordomo/error.hpp>

#include <boost/asio/awaitable.hpp>

namespace majordomo {

/// Awaits `op` and returns its value or the failure it threw, instead of throwing.
/// Cancellation of the awaiting coroutine still ends `op` (it becomes a failure).
template <class T>
boost::asio::awaitable<result<T>> as_result(boost::asio::awaitable<T> op)
{
    try {
        co_return co_await std::move(op);
    } catch (...) {
        co_return current_failure();
    }
}

inline boost::asio::awaitable<result<void>> as_result(boost::asio::awaitable<void> op)
{
    try {
        co_await std::move(op);
        co_return result<void>{};
    } catch (...) {
        co_return current_failure();
    }
}

} // namespace majordomo

// Awaits an operation expected to fail and returns its majordomo::error (nullopt when it succeeded).
#pragma once

#include <majordomo/error.hpp>

#include <boost/asio/awaitable.hpp>

#include <optional>

namespace majordomo::test {

template <class T>
boost::asio::awaitable<std::optional<majordomo::error>> failure_of(boost::asio::awaitable<T> op)
{
    try {
        co_await std::move(op);
    } catch (const majordomo::error& e) {
        co_return e;
    }
    co_return std::nullopt;
}

} // namespace majordomo::test

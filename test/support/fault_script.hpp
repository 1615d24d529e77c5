// Byte-scripted server faults for the fault matrices, and the descriptor count they check.
#pragma once

#include "support/test_server.hpp"

#include <boost/asio/awaitable.hpp>

#include <filesystem>
#include <functional>
#include <string>

namespace majordomo::test {

/// Open file descriptors of this process: a leak shows as a count that does not come back.
inline std::size_t open_fds()
{
    std::size_t n = 0;
    for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator("/proc/self/fd"))
        ++n;
    return n;
}

/// What a fault does with one request.
using fault_script = std::function<boost::asio::awaitable<void>(exchange&)>;

/// After the bytes: close, stall (until the client gives up), reset (RST), or keep the
/// connection for the next request.
enum class then { close, stall, reset, keep };

/// Writes `bytes` as they are, then does `after`.
inline fault_script send(std::string bytes, then after)
{
    return [bytes = std::move(bytes), after](exchange& ex) -> boost::asio::awaitable<void> {
        if (!bytes.empty())
            co_await ex.async_write_raw(bytes);
        switch (after) {
        case then::close: ex.close(); break;
        case then::reset: ex.reset(); break;
        case then::stall: co_await ex.async_stall(); break;
        case then::keep: break;
        }
    };
}

} // namespace majordomo::test

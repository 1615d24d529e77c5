// The retry loop and phase-deadline timers behind every provider call (include/majordomo/llm/retry.hpp).
#pragma once

#include <majordomo/deadline.hpp>
#include <majordomo/error.hpp>
#include <majordomo/http/client.hpp>
#include <majordomo/llm/retry.hpp>

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <functional>
#include <optional>
#include <string_view>

namespace majordomo::llm::detail {

using clock = std::chrono::steady_clock;

/// One phase deadline: when it expires, and what it reports.
struct phase_bound {
    client_errc code;
    clock::duration limit; ///< as configured, for the message
    clock::time_point at;
};

/// The earlier of two bounds; either may be missing.
std::optional<phase_bound> earliest(const std::optional<phase_bound>& a, const std::optional<phase_bound>& b) noexcept;

/// The phase deadlines of one call, fixed at its start.
struct phase_plan {
    std::optional<phase_bound> first_token;
    std::optional<phase_bound> total;
    std::optional<clock::duration> idle;

    phase_plan() = default;
    phase_plan(const phase_deadlines& d, clock::time_point start);

    /// Until the first token: first_token or total, whichever comes first.
    std::optional<phase_bound> opening() const noexcept { return earliest(first_token, total); }
    /// Waiting for a stream's next chunk: before the first token as opening(); after it,
    /// idle counted from the last chunk `last`, or total.
    std::optional<phase_bound> next_chunk(bool token_seen, clock::time_point last) const noexcept;
    /// When a retry must have started by, as far as the phases go.
    std::optional<clock::time_point> retry_bound() const noexcept;
};

/// What an expired phase's error names.
struct call_names {
    std::string_view provider;
    std::string_view model;
    std::string_view origin = {};
};

[[noreturn]] void throw_phase_expired(const phase_bound& b, const call_names& n);

/// Runs `op`, cancelling it when `b` expires (with b's own error); without `b`, as is.
template <class T>
boost::asio::awaitable<T> async_within(boost::asio::awaitable<T> op, std::optional<phase_bound> b, call_names n)
{
    if (!b) {
        auto v = co_await std::move(op);
        co_return v;
    }
    if (clock::now() >= b->at)
        throw_phase_expired(*b, n);
    auto wrapped = [](boost::asio::awaitable<T> o) -> boost::asio::awaitable<std::optional<T>> {
        auto v = co_await std::move(o);
        co_return std::optional<T>(std::move(v));
    };
    std::optional<T> r;
    bool expired = false;
    try {
        r = co_await majordomo::detail::run_until<T>(wrapped(std::move(op)), b->code, b->limit, b->at);
    } catch (const error& e) {
        if (e.code() != b->code)
            throw;
        expired = true;
    }
    if (expired)
        throw_phase_expired(*b, n);
    co_return std::move(*r);
}

/// Sends `r` and reads the whole response: the headers bounded by plan.opening(), the
/// body by plan.total; without phase deadlines, one http::client::async_request.
boost::asio::awaitable<http::response> async_request(http::client& client, http::request r, const phase_plan& plan,
                                                     call_names n);

/// One call to retry.
struct retry_call {
    const retry_params* params = nullptr;
    std::string_view method;                 ///< for the safe-retry rule
    std::optional<clock::time_point> bound;  ///< the phase deadlines' (the caller's with_deadline is read from the executor)
};

/// Awaits `attempt()` until it succeeds or its failure is not retried (retry_params);
/// returns the attempts made. The failure thrown is the last one, with
/// diagnostics::attempts set and, when a wait would pass a deadline, a note saying so.
/// @par Cancellation  Terminal, also while waiting between attempts.
boost::asio::awaitable<int> async_retry(retry_call c, std::function<boost::asio::awaitable<void>()> attempt);

} // namespace majordomo::llm::detail

// with_deadline: bounds any awaitable by a cancellation deadline (DESIGN.md rule 2).
// On Boost >= 1.86 this becomes a thin wrapper over asio::cancel_after; keep the name.
#pragma once

#include <majordomo/error.hpp>

#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/prefer.hpp>
#include <boost/asio/query.hpp>
#include <boost/asio/require.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>
#include <exception>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>

namespace majordomo {

namespace detail {
using deadline_clock = std::chrono::steady_clock;

[[noreturn]] void throw_deadline_exceeded(deadline_clock::duration d);
/// Throws `code` (deadline_exceeded or a phase deadline) saying the bound `d` passed.
[[noreturn]] void throw_expired(client_errc code, deadline_clock::duration d);

// The executor an operation bounded by with_deadline runs on: the call's strand, plus the
// time it will be cancelled, so that code inside (a retry loop) can read how long it has
// left (deadline_of). Asio's cancellation carries no time, and a thread-local would not
// follow the coroutine across threads; an executor does. Queries, requirements and
// preferences go to the wrapped executor and keep the deadline.
template <class Executor>
class deadline_executor {
public:
    deadline_executor(Executor ex, deadline_clock::time_point at) noexcept : ex_(std::move(ex)), at_(at) {}

    deadline_clock::time_point deadline() const noexcept { return at_; }
    const Executor& inner() const noexcept { return ex_; }

    template <class Property>
        requires boost::asio::can_query<const Executor&, Property>::value
    decltype(auto) query(const Property& p) const
        noexcept(boost::asio::is_nothrow_query<const Executor&, Property>::value)
    {
        return boost::asio::query(ex_, p);
    }

    template <class Property>
        requires boost::asio::can_require<const Executor&, Property>::value
    auto require(const Property& p) const
    {
        using inner_t = std::decay_t<decltype(boost::asio::require(ex_, p))>;
        return deadline_executor<inner_t>(boost::asio::require(ex_, p), at_);
    }

    template <class Property>
        requires boost::asio::can_prefer<const Executor&, Property>::value
    auto prefer(const Property& p) const
    {
        using inner_t = std::decay_t<decltype(boost::asio::prefer(ex_, p))>;
        return deadline_executor<inner_t>(boost::asio::prefer(ex_, p), at_);
    }

    template <class F>
    void execute(F&& f) const
    {
        ex_.execute(std::forward<F>(f));
    }

    friend bool operator==(const deadline_executor& a, const deadline_executor& b) noexcept
    {
        return a.ex_ == b.ex_ && a.at_ == b.at_;
    }
    friend bool operator!=(const deadline_executor& a, const deadline_executor& b) noexcept { return !(a == b); }

private:
    Executor ex_;
    deadline_clock::time_point at_;
};

using call_strand = boost::asio::strand<boost::asio::any_io_executor>;
using bounded_executor = deadline_executor<call_strand>;

// Built on a parallel group with wait_for_one, not `op || timer`: on 1.81 `||` waits for
// the timer when the op fails fast and then reports the failure as a timeout.
// Runs on a strand made for this one call (the op is spawned onto it, the timer lives on
// it): the group's handlers, and the cancellation signals it emits to its operands, then
// never run on two threads at once, even when the caller's io_context runs on several
// threads and the caller uses no strand.
// The operand yields optional<T> so that T need not be default-constructible.
template <class T>
boost::asio::awaitable<std::optional<T>> race_deadline(boost::asio::awaitable<std::optional<T>> op, client_errc code,
                                                       deadline_clock::duration d, deadline_clock::time_point at)
{
    namespace asio = boost::asio;
    auto ex = co_await asio::this_coro::executor; // the call's strand
    asio::steady_timer timer(ex, at);
    auto [order, op_error, value, timer_ec] =
        co_await asio::experimental::make_parallel_group(
            asio::co_spawn(ex, std::move(op), asio::deferred), timer.async_wait(asio::deferred))
            .async_wait(asio::experimental::wait_for_one(), asio::use_awaitable);
    if (op_error) {
        // Only a timer that really expired first is a deadline; the caller's own
        // cancellation also aborts the timer and stays operation_aborted.
        if (order[0] == 1 && !timer_ec)
            throw_expired(code, d);
        std::rethrow_exception(op_error);
    }
    co_return std::move(value);
}

// One with_deadline call, shared by the caller's side and the strand's side.
struct deadline_call {
    deadline_call(const boost::asio::any_io_executor& caller, deadline_clock::time_point at)
        : strand(boost::asio::make_strand(caller)), executor(strand, at)
    {
    }
    call_strand strand;
    bounded_executor executor; // the strand, carrying the deadline
    boost::asio::cancellation_signal signal; // emitted on the strand only
    bool finished = false;                   // touched on the strand only
};

// Sits in the caller's cancellation slot and carries an emit over to the strand. It holds
// the call alive: the emit may reach the strand after the call finished.
struct forward_cancellation {
    std::shared_ptr<deadline_call> call;
    void operator()(boost::asio::cancellation_type_t type) const
    {
        boost::asio::dispatch(call->strand, [c = call, type] {
            if (!c->finished)
                c->signal.emit(type);
        });
    }
};

/// The deadline `ex` carries, if it runs an operation bounded by with_deadline.
inline std::optional<deadline_clock::time_point> deadline_of(const boost::asio::any_io_executor& ex) noexcept
{
    if (const auto* b = ex.target<bounded_executor>())
        return b->deadline();
    return std::nullopt;
}

template <class T>
struct initiate_deadline {
    template <class Handler>
    void operator()(Handler handler, boost::asio::awaitable<std::optional<T>> op, client_errc code,
                    deadline_clock::duration d, deadline_clock::time_point at) const
    {
        namespace asio = boost::asio;
        auto slot = asio::get_associated_cancellation_slot(handler);
        auto from = asio::get_associated_executor(handler);
        // A bound nested in another keeps the earlier of the two.
        auto outer = deadline_of(from);
        auto call = std::make_shared<deadline_call>(from, outer && *outer < at ? *outer : at);
        auto done = [call, h = std::move(handler)](std::exception_ptr e, std::optional<T> v) mutable {
            call->finished = true;
            // Resume the caller on its own executor, not inside the strand.
            auto caller = asio::get_associated_executor(h);
            asio::dispatch(caller, [h = std::move(h), e, v = std::move(v)]() mutable { std::move(h)(e, std::move(v)); });
        };
        asio::co_spawn(call->executor, race_deadline<T>(std::move(op), code, d, at),
                       asio::bind_cancellation_slot(call->signal.slot(), std::move(done)));
        if (slot.is_connected())
            slot.template emplace<forward_cancellation>(call);
    }
};

// Runs `op` until `at`; then cancels it and throws `code` naming the bound `d`.
template <class T>
boost::asio::awaitable<std::optional<T>> run_until(boost::asio::awaitable<std::optional<T>> op, client_errc code,
                                                   deadline_clock::duration d, deadline_clock::time_point at)
{
    namespace asio = boost::asio;
    auto r = co_await asio::async_initiate<const asio::use_awaitable_t<>&, void(std::exception_ptr, std::optional<T>)>(
        initiate_deadline<T>{}, asio::use_awaitable, std::move(op), code, d, at);
    co_return r;
}

template <class T>
boost::asio::awaitable<std::optional<T>> run_with_deadline(boost::asio::awaitable<std::optional<T>> op,
                                                           deadline_clock::duration d)
{
    auto at = deadline_clock::now() + d;
    auto r = co_await run_until<T>(std::move(op), client_errc::deadline_exceeded, d, at);
    co_return r;
}
} // namespace detail

/// The time at which the innermost with_deadline around the code running on `ex` (get it
/// with `co_await this_coro::executor`) cancels it, or nullopt outside any. A retry loop
/// reads it so as never to sleep past its caller's deadline. Work spawned onto another
/// executor does not carry it.
inline std::optional<std::chrono::steady_clock::time_point> deadline_of(const boost::asio::any_io_executor& ex) noexcept
{
    return detail::deadline_of(ex);
}

/// Runs `op`, cancelling it (terminal) if it has not finished after `d`.
/// @par Errors  client_errc::deadline_exceeded when the deadline fired; whatever `op`
///   threw otherwise, at once; operation_aborted when the caller cancelled.
/// @par Cancellation  Terminal cancellation of the caller reaches `op`.
/// @par Thread safety  `op` runs on a strand of the caller's executor made for this call, so
///   a caller without a strand may use it on an io_context run by many threads.
/// @par Deadline  That executor carries the expiry (the earlier one when bounds nest):
///   `deadline_of(co_await this_coro::executor)` inside `op` reads it; retries use it.
template <class T>
boost::asio::awaitable<T> with_deadline(boost::asio::awaitable<T> op, std::chrono::steady_clock::duration d)
{
    auto wrapped = [](boost::asio::awaitable<T> o) -> boost::asio::awaitable<std::optional<T>> {
        co_return std::optional<T>(co_await std::move(o));
    };
    co_return std::move(*co_await detail::run_with_deadline<T>(wrapped(std::move(op)), d));
}

inline boost::asio::awaitable<void> with_deadline(boost::asio::awaitable<void> op,
                                                  std::chrono::steady_clock::duration d)
{
    auto wrapped = [](boost::asio::awaitable<void> o) -> boost::asio::awaitable<std::optional<bool>> {
        co_await std::move(o);
        co_return true;
    };
    co_await detail::run_with_deadline<bool>(wrapped(std::move(op)), d);
}

} // namespace majordomo

#include "llm/retry.hpp"

#include <majordomo/llm/classify.hpp>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <random>
#include <string>

namespace majordomo::llm {

std::chrono::milliseconds backoff_delay(const retry_params& p, int retry, double u) noexcept
{
    using ms = std::chrono::milliseconds;
    const auto cap = std::max(p.max_delay, ms::zero());
    auto ceiling = std::max(p.base_delay, ms::zero());
    for (int i = 1; i < retry && ceiling < cap; ++i)
        ceiling *= 2;
    ceiling = std::min(ceiling, cap);
    u = std::clamp(u, 0.0, 1.0);
    return ms(static_cast<ms::rep>(static_cast<double>(ceiling.count()) * u));
}

namespace detail {

namespace asio = boost::asio;

std::optional<phase_bound> earliest(const std::optional<phase_bound>& a, const std::optional<phase_bound>& b) noexcept
{
    if (!a)
        return b;
    if (!b)
        return a;
    return b->at < a->at ? b : a;
}

phase_plan::phase_plan(const phase_deadlines& d, clock::time_point start) : idle(d.idle)
{
    if (d.first_token)
        first_token = phase_bound{client_errc::first_token_deadline_exceeded, *d.first_token, start + *d.first_token};
    if (d.total)
        total = phase_bound{client_errc::total_deadline_exceeded, *d.total, start + *d.total};
}

std::optional<phase_bound> phase_plan::next_chunk(bool token_seen, clock::time_point last) const noexcept
{
    if (!token_seen)
        return opening();
    std::optional<phase_bound> gap;
    if (idle)
        gap = phase_bound{client_errc::idle_deadline_exceeded, *idle, last + *idle};
    return earliest(gap, total);
}

std::optional<clock::time_point> phase_plan::retry_bound() const noexcept
{
    auto b = opening();
    if (!b)
        return std::nullopt;
    return b->at;
}

void throw_phase_expired(const phase_bound& b, const call_names& n)
{
    diagnostics d;
    d.provider = std::string(n.provider);
    d.model = std::string(n.model);
    d.origin = std::string(n.origin);
    const char* phase = b.code == client_errc::first_token_deadline_exceeded ? "first-token"
                        : b.code == client_errc::idle_deadline_exceeded      ? "idle"
                                                                              : "total";
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(b.limit).count();
    d.client_message = std::string(phase) + " deadline of " + std::to_string(ms) + " ms exceeded";
    throw error(make_error_code(b.code), std::move(d));
}

asio::awaitable<http::response> async_request(http::client& client, http::request r, const phase_plan& plan,
                                              call_names n)
{
    if (!plan.first_token && !plan.total) {
        auto whole = co_await client.async_request(std::move(r));
        co_return whole;
    }
    auto open = client.async_open(std::move(r));
    auto s = co_await async_within(std::move(open), plan.opening(), n);
    auto read = s.async_read_all();
    auto body = co_await async_within(std::move(read), plan.total, n);
    http::response out;
    out.status = s.status();
    out.headers = s.headers();
    out.body = std::move(body);
    out.timings = s.timings();
    co_return out;
}

namespace {

bool is_idempotent(std::string_view method) noexcept
{
    return method == "GET" || method == "HEAD" || method == "OPTIONS";
}

std::string ms_text(clock::duration d)
{
    return std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(d).count()) + " ms";
}

// Rethrows the last failure; a majordomo::error gains the attempts made and `note`.
[[noreturn]] void throw_final(const std::exception_ptr& failure, int attempts, const std::string& note = {})
{
    try {
        std::rethrow_exception(failure);
    } catch (const error& e) {
        auto d = e.diag();
        d.attempts = attempts;
        if (!note.empty())
            d.client_message += d.client_message.empty() ? note : "; " + note;
        throw error(e.code(), std::move(d));
    }
}

double uniform() noexcept
{
    thread_local std::minstd_rand gen{std::random_device{}()};
    return std::uniform_real_distribution<double>(0.0, 1.0)(gen);
}

// Whether the failure is one retry_params asks to retry and one that is safe to send again.
bool wanted(const retry_params& p, std::string_view method, const std::exception_ptr& failure,
            const classification& cls)
{
    if (!cls.retryable)
        return false;
    int status = 0;
    bool not_sent = false;
    try {
        std::rethrow_exception(failure);
    } catch (const error& e) {
        if (e.code().category() == get_api_category())
            status = e.code().value();
        not_sent = e.diag().request_not_sent;
    } catch (...) {
        return false;
    }
    const bool asked = std::find(p.kinds.begin(), p.kinds.end(), cls.kind) != p.kinds.end() ||
                       (status != 0 && std::find(p.statuses.begin(), p.statuses.end(), status) != p.statuses.end());
    // The server answered with a status, or never got the request, or the method may be
    // received twice: otherwise it may have acted on it (docs/decisions/0004).
    const bool safe = status != 0 || not_sent || is_idempotent(method);
    return asked && safe;
}

} // namespace

asio::awaitable<int> async_retry(retry_call c, std::function<asio::awaitable<void>()> attempt)
{
    const retry_params none = retry_params::none();
    const retry_params& p = c.params ? *c.params : none;
    const int max_attempts = std::max(1, p.max_attempts);
    for (int n = 1;; ++n) {
        std::exception_ptr failure;
        try {
            co_await attempt();
            co_return n;
        } catch (...) {
            failure = std::current_exception();
        }
        if (n >= max_attempts)
            throw_final(failure, n);
        const auto cls = classify(failure);
        if (!wanted(p, c.method, failure, cls))
            throw_final(failure, n);
        clock::duration wait = backoff_delay(p, n, uniform());
        if (cls.retry_after) {
            if (*cls.retry_after > p.max_retry_after)
                throw_final(failure, n,
                            "not retried: Retry-After " + ms_text(*cls.retry_after) +
                                " is longer than retry_params::max_retry_after");
            wait = *cls.retry_after;
        }
        auto ex = co_await asio::this_coro::executor;
        auto bound = c.bound;
        if (auto caller = deadline_of(ex); caller && (!bound || *caller < *bound))
            bound = caller;
        const auto now = clock::now();
        if (bound && now + wait >= *bound)
            throw_final(failure, n,
                        "not retried: waiting " + ms_text(wait) + " would pass the deadline (" +
                            ms_text(std::max(*bound - now, clock::duration::zero())) + " left)");
        asio::steady_timer timer(ex, wait);
        co_await timer.async_wait(asio::use_awaitable);
    }
}

} // namespace detail
} // namespace majordomo::llm

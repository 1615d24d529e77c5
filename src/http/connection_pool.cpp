#include "http/connection_pool.hpp"

#include <majordomo/error.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>

#include <algorithm>

namespace majordomo::http::detail {

namespace asio = boost::asio;

// A request waiting for a slot. The channel is buffered, so a hand-over made before
// the waiter suspends is not lost; it is thread-safe, so any thread may hand over.
struct connection_pool::waiter {
    explicit waiter(asio::any_io_executor ex) : ready(std::move(ex), 1) {}
    asio::experimental::concurrent_channel<void(boost::system::error_code)> ready;
    std::unique_ptr<connection> granted; // guarded by the pool mutex
    bool served = false;                 // guarded by the pool mutex
};

struct connection_pool::origin_state {
    std::size_t slots = 0; // connections open or being opened, idle ones included
    std::deque<std::unique_ptr<connection>> idle;
    std::deque<std::shared_ptr<waiter>> waiters;
};

connection_pool::connection_pool(std::size_t max_per_origin) : max_per_origin_(std::max<std::size_t>(1, max_per_origin)) {}

asio::awaitable<lease> connection_pool::async_acquire(const origin& o)
{
    std::shared_ptr<origin_state> st;
    std::shared_ptr<waiter> w;
    {
        std::lock_guard lock(mutex_);
        auto& slot = origins_[o.key];
        if (!slot)
            slot = std::make_shared<origin_state>();
        st = slot;
        // Most recently used first: the least likely to have been closed by the server.
        // One that expired, was closed by the server or holds unasked-for bytes is
        // dropped here, before any request is written to it.
        const auto now = std::chrono::steady_clock::now();
        while (!st->idle.empty()) {
            auto c = std::move(st->idle.back());
            st->idle.pop_back();
            if (now < c->idle_expiry && c->quiet())
                co_return lease(shared_from_this(), st, std::move(c));
            --st->slots;
        }
        if (st->slots < max_per_origin_) {
            ++st->slots;
            co_return lease(shared_from_this(), st, nullptr);
        }
        w = std::make_shared<waiter>(co_await asio::this_coro::executor);
        st->waiters.push_back(w);
    }

    auto [ec] = co_await w->ready.async_receive(asio::as_tuple(asio::use_awaitable));
    std::unique_lock lock(mutex_);
    if (w->served) {
        auto granted = std::move(w->granted);
        lock.unlock();
        lease l(shared_from_this(), st, std::move(granted));
        if (ec) {
            l.release_reusable(); // cancelled after the hand-over: pass it on
            throw error(asio::error::operation_aborted, "waiting for a free connection to " + o.key);
        }
        co_return l;
    }
    std::erase(st->waiters, w);
    lock.unlock();
    // The channel reports its own "cancelled" code; callers expect the usual one.
    throw error(asio::error::operation_aborted, "waiting for a free connection to " + o.key);
}

bool connection_pool::hand_over(origin_state& st, std::unique_ptr<connection>& c, std::shared_ptr<waiter>& to)
{
    if (st.waiters.empty())
        return false;
    to = std::move(st.waiters.front());
    st.waiters.pop_front();
    to->granted = std::move(c);
    to->served = true;
    return true;
}

void connection_pool::release(const std::shared_ptr<void>& state, std::unique_ptr<connection> c, bool reusable) noexcept
{
    auto& st = *static_cast<origin_state*>(state.get());
    if (c && (!reusable || !c->is_open()))
        c.reset(); // closes it
    if (c)
        c->reused = true; // whoever takes it next, a waiter or the idle list
    std::shared_ptr<waiter> to;
    std::deque<std::unique_ptr<connection>> expired; // closed outside the lock
    {
        std::lock_guard lock(mutex_);
        if (!hand_over(st, c, to)) {
            if (c)
                st.idle.push_back(std::move(c));
            else
                --st.slots;
        }
        // The oldest idle connections sit at the front; drop those past their expiry.
        const auto now = std::chrono::steady_clock::now();
        while (!st.idle.empty() && st.idle.front()->idle_expiry <= now) {
            expired.push_back(std::move(st.idle.front()));
            st.idle.pop_front();
            --st.slots;
        }
    }
    // Outside the lock: a receiver could otherwise be resumed while we hold it.
    if (to)
        to->ready.try_send(boost::system::error_code{});
}

pool_stats connection_pool::stats() const
{
    pool_stats s;
    s.connections_opened = counters_->opened.load(std::memory_order_relaxed);
    s.open = counters_->open.load(std::memory_order_relaxed);
    std::lock_guard lock(mutex_);
    for (const auto& [key, st] : origins_) {
        s.idle += st->idle.size();
        s.waiting += st->waiters.size();
    }
    return s;
}

void connection_pool::close_idle()
{
    std::deque<std::unique_ptr<connection>> closing; // closed after the lock is released
    std::lock_guard lock(mutex_);
    for (auto& [key, st] : origins_) {
        st->slots -= st->idle.size();
        for (auto& c : st->idle)
            closing.push_back(std::move(c));
        st->idle.clear();
    }
}

void lease::release(bool reusable) noexcept
{
    if (!pool_)
        return;
    auto pool = std::move(pool_);
    auto state = std::move(state_);
    pool->release(state, std::move(conn_), reusable);
}

} // namespace majordomo::http::detail

// Keep-alive connections per origin, with a cap on connections per origin.
#pragma once

#include "http/connection.hpp"

#include <majordomo/http/client.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

namespace majordomo::http::detail {

class connection_pool;

/// The right to one connection of an origin: either a pooled connection or an empty
/// slot to fill with a new one. Dropping a lease closes its connection and frees the
/// slot; only release_reusable() puts the connection back for reuse.
class lease {
public:
    lease() = default;
    lease(lease&& other) noexcept { swap(other); }
    lease& operator=(lease&& other) noexcept
    {
        lease tmp(std::move(other));
        swap(tmp);
        return *this;
    }
    ~lease() { release(false); }

    /// The connection, or nullptr when the caller must open one (set_connection).
    connection* get() const noexcept { return conn_.get(); }
    void set_connection(std::unique_ptr<connection> c) noexcept { conn_ = std::move(c); }
    /// Closes the connection but keeps the slot (for the retry on a stale connection).
    void drop_connection() noexcept { conn_.reset(); }

    /// Hands the connection back for reuse.
    void release_reusable() noexcept { release(true); }
    /// Closes the connection and frees the slot.
    void release_closed() noexcept { release(false); }

private:
    friend class connection_pool;
    lease(std::shared_ptr<connection_pool> pool, std::shared_ptr<void> state, std::unique_ptr<connection> c)
        : pool_(std::move(pool)), state_(std::move(state)), conn_(std::move(c))
    {
    }
    void release(bool reusable) noexcept;
    void swap(lease& o) noexcept
    {
        pool_.swap(o.pool_);
        state_.swap(o.state_);
        conn_.swap(o.conn_);
    }

    std::shared_ptr<connection_pool> pool_;
    std::shared_ptr<void> state_;
    std::unique_ptr<connection> conn_;
};

class connection_pool : public std::enable_shared_from_this<connection_pool> {
public:
    explicit connection_pool(std::size_t max_per_origin);

    /// Waits for an idle connection or a free slot of `o`.
    /// @par Cancellation  Terminal, partial and total while waiting: nothing is taken.
    boost::asio::awaitable<lease> async_acquire(const origin& o);

    pool_stats stats() const;
    void close_idle();
    const std::shared_ptr<connection_counters>& counters() const noexcept { return counters_; }

private:
    friend class lease;
    struct waiter;
    struct origin_state;
    void release(const std::shared_ptr<void>& state, std::unique_ptr<connection> c, bool reusable) noexcept;
    // Gives a freed connection or slot to the next waiter; false if nobody waits.
    bool hand_over(origin_state& st, std::unique_ptr<connection>& c, std::shared_ptr<waiter>& to);

    std::size_t max_per_origin_;
    std::shared_ptr<connection_counters> counters_ = std::make_shared<connection_counters>();
    mutable std::mutex mutex_;
    std::unordered_map<std::string, std::shared_ptr<origin_state>> origins_;
};

} // namespace majordomo::http::detail

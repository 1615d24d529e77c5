// llamaswap::router: one provider over several llama-swap hosts. Each call goes where its model is
// loaded, else where it is loading, else where loading it disturbs the least; hosts are tracked
// live from /api/events (docs/decisions/0008-router.md).
#pragma once

#include <majordomo/imagegen/image_model.hpp>
#include <majordomo/llamaswap/provider.hpp>
#include <majordomo/llm/provider.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/system/error_code.hpp>

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace majordomo::llamaswap {

/// Errors of the router itself (the hosts' own errors pass through unchanged).
enum class router_errc {
    no_host_for_model = 1, ///< no host lists the model
    no_host_available,     ///< every host that lists the model is down or failed to connect
};

const boost::system::error_category& get_router_category() noexcept;

inline boost::system::error_code make_error_code(router_errc e) noexcept
{
    return {static_cast<int>(e), get_router_category()};
}

struct router_params {
    std::string name = "llama-swap-router";
    /// One per host: base_url, token, name (shown in state() and errors; defaults to the
    /// redacted URL when left at "llama-swap"), HTTP settings.
    std::vector<provider_params> hosts;
    /// Wait before reconnecting to a host that failed; doubles per failure up to max_backoff.
    std::chrono::milliseconds backoff{250};
    std::chrono::milliseconds max_backoff{10'000};
    /// How often GET /running (and /v1/models) is polled on a host that does not serve /api/events.
    std::chrono::milliseconds poll_interval{1'000};
    /// How fast the router forgets how often each model is called. When a load must evict a
    /// model, it evicts the least called one.
    std::chrono::milliseconds demand_half_life{60'000};
};

/// One model as the router sees it on one host.
struct router_model_state {
    std::string id;
    std::vector<std::string> aliases;
    std::string state;         ///< "stopped", "starting", "ready", "stopping"; "" while unknown
    std::size_t in_flight = 0; ///< this router's calls to it on this host
};

/// One host, for a dashboard. Holds no secret: the URL is redacted (scheme://host:port).
struct router_host_state {
    std::string name;
    std::string url;
    bool up = false;
    std::string tracking;   ///< "connecting", "events", "polling", "down"
    std::string last_error; ///< the last failure seen on this host ("" if none)
    std::vector<router_model_state> models; ///< the models it lists, by id
    std::size_t in_flight = 0; ///< this router's calls on this host now
    std::size_t calls = 0;     ///< calls routed here in all
    std::size_t failovers = 0; ///< calls that could not connect here and moved to another host
};

struct router_state {
    std::vector<router_host_state> hosts;

    /// Names of the hosts where `model` (an id or alias) is ready.
    std::vector<std::string> loaded_on(std::string_view model) const;
};

/** @brief An llm::provider and imagegen::image_provider over several llama-swap hosts.
 *
 *  Routing per call: a host where the model is ready; else one where it is loading; else the
 *  host that can load it with the fewest calls in flight, preferring one with nothing running, then
 *  one whose running models have no calls in flight. A model is never sent to a host that does not
 *  list it. A host that fails to connect is marked down (retried after a doubling backoff) and the
 *  call moves on to the next best host; a request the host may have acted on is never re-sent.
 *  Calls made before every host was reached once wait for that (bound them with with_deadline).
 *
 *  @par Object lifetimes  The destructor calls stop(). Model handles keep working after it, on
 *    the last states seen.
 *  @par Thread safety  Safe from many coroutines at once, on one or many threads.
 */
class router : public llm::provider, public imagegen::image_provider {
public:
    router(boost::asio::any_io_executor ex, router_params params);
    router(const router&) = delete;
    router& operator=(const router&) = delete;
    ~router() override;

    const std::string& name() const noexcept override;

    std::shared_ptr<llm::model> get_model(std::string id, llm::model_options options = {}) override;
    std::shared_ptr<imagegen::image_model> get_image_model(std::string id) override;

    /// A snapshot of hosts, models, what is loaded where, calls in flight and last errors.
    router_state state() const;

    /// Ends the background tracking of every host (it stops on the executor soon after).
    /// Idempotent.
    void stop();

    struct impl;

private:
    std::shared_ptr<impl> impl_;
};

inline std::shared_ptr<router> make_router(boost::asio::any_io_executor ex, router_params params)
{
    return std::make_shared<router>(std::move(ex), std::move(params));
}

} // namespace majordomo::llamaswap

template <>
struct boost::system::is_error_code_enum<majordomo::llamaswap::router_errc> : std::true_type {};

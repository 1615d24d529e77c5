#include "llamaswap/failover.hpp"

#include <majordomo/error.hpp>
#include <majordomo/http/errc.hpp>
#include <majordomo/llamaswap/router.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <map>
#include <mutex>
#include <optional>
#include <tuple>
#include <utility>

namespace majordomo::llamaswap {

namespace asio = boost::asio;
using clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

namespace {

class router_category final : public boost::system::error_category {
public:
    const char* name() const noexcept override { return "majordomo.llamaswap.router"; }
    std::string message(int v) const override
    {
        switch (static_cast<router_errc>(v)) {
        case router_errc::no_host_for_model:
            return "no host lists this model; check the model id and the hosts' llama-swap configurations";
        case router_errc::no_host_available:
            return "every host that lists this model is down; the router retries them with backoff "
                   "(its state() shows each host's last error)";
        }
        return "unknown router error";
    }
};

bool is_active(std::string_view state) { return state == "ready" || state == "starting"; }

} // namespace

namespace detail {

bool never_sent(const error& e) noexcept { return e.diag().request_not_sent; }

bool lost_after_sending(const error& e) noexcept
{
    namespace ae = asio::error;
    const auto ec = e.code();
    if (e.diag().http_status != 0 || e.diag().request_not_sent)
        return false;
    // Beside a reset or a close: a peer that vanished, found by keep-alive or an ICMP error.
    return ec == ae::connection_reset || ec == ae::eof || ec == ae::connection_aborted || ec == ae::broken_pipe ||
           ec == http::errc::response_truncated || ec == ae::timed_out || ec == ae::host_unreachable ||
           ec == ae::network_unreachable || ec == ae::network_down;
}

} // namespace detail

namespace {

// llama-swap before /api/events, or a proxy that does not pass it: poll instead.
bool events_not_served(const error& e)
{
    const auto ec = e.code();
    if (ec.category() != get_api_category())
        return false;
    return ec.value() == 404 || ec.value() == 405 || ec.value() == 501;
}

std::string describe(const std::exception_ptr& p)
{
    try {
        std::rethrow_exception(p);
    } catch (const std::exception& e) {
        return e.what();
    } catch (...) {
        return "unknown failure";
    }
}

// Waits `d`; throws when cancelled (calls waiting for discovery).
asio::awaitable<void> nap(clock::duration d)
{
    asio::steady_timer t(co_await asio::this_coro::executor, d);
    co_await t.async_wait(asio::use_awaitable);
}

// Waits `d`; a cancellation just ends the wait (the follower then sees `stopped`).
asio::awaitable<void> quiet_nap(clock::duration d)
{
    asio::steady_timer t(co_await asio::this_coro::executor, d);
    auto [ec] = co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
    (void)ec;
}

struct model_entry {
    std::string state; // "" while unknown
    std::vector<std::string> aliases;
    std::size_t in_flight = 0;
};

using model_map = std::map<std::string, model_entry, std::less<>>;

struct host {
    explicit host(asio::any_io_executor ex) : strand(asio::make_strand(ex)) {}

    std::string name;
    std::string url; // redacted
    std::shared_ptr<provider> p;
    // Guarded by router::impl::mutex.
    bool up = false;
    bool contacted = false; // the tracker finished its first attempt
    std::string tracking = "connecting";
    std::string last_error;
    clock::time_point retry_at{};
    model_map models;
    std::size_t in_flight = 0, calls = 0, failovers = 0;
    clock::time_point last_routed{};
    // The tracker runs on `strand`; `signal` is emitted there only.
    asio::strand<asio::any_io_executor> strand;
    asio::cancellation_signal signal;
};

// The entry for an id or an alias.
std::pair<const std::string*, model_entry*> find_model(model_map& models, std::string_view id)
{
    if (auto it = models.find(id); it != models.end())
        return {&it->first, &it->second};
    for (auto& [key, e] : models)
        if (std::find(e.aliases.begin(), e.aliases.end(), id) != e.aliases.end())
            return {&key, &e};
    return {nullptr, nullptr};
}

} // namespace

const boost::system::error_category& get_router_category() noexcept
{
    static const router_category cat;
    return cat;
}

std::vector<std::string> router_state::loaded_on(std::string_view model) const
{
    std::vector<std::string> out;
    for (const auto& h : hosts)
        for (const auto& m : h.models)
            if (m.state == "ready" &&
                (m.id == model || std::find(m.aliases.begin(), m.aliases.end(), model) != m.aliases.end()))
                out.push_back(h.name);
    return out;
}

struct router::impl : std::enable_shared_from_this<impl> {
    impl(asio::any_io_executor e, router_params p) : params(std::move(p)), ex(std::move(e))
    {
        for (auto& hp : params.hosts) {
            auto h = std::make_unique<host>(ex);
            h->url = redact_url(hp.base_url);
            if (hp.name.empty() || hp.name == provider_params{}.name)
                hp.name = h->url;
            h->name = hp.name;
            h->p = make_provider(ex, hp);
            hosts.push_back(std::move(h));
        }
    }

    void start()
    {
        for (std::size_t i = 0; i < hosts.size(); ++i)
            asio::co_spawn(hosts[i]->strand, follow(shared_from_this(), i),
                           asio::bind_cancellation_slot(hosts[i]->signal.slot(), asio::detached));
    }

    void stop()
    {
        if (stopped.exchange(true))
            return;
        for (auto& h : hosts)
            asio::dispatch(h->strand, [self = shared_from_this(), h = h.get()] {
                h->signal.emit(asio::cancellation_type::terminal);
            });
    }

    // ---- routing ----

    struct pick {
        std::size_t host;
        std::string key; // the model's id on that host
        std::shared_ptr<llamaswap::provider> p; // (plain `provider` names router's base here)
    };

    // The best host for `model` among those not tried yet, booked as in flight; nullopt while
    // some host has not been reached yet. Throws when no host can take the call.
    std::optional<pick> try_pick(std::string_view model, const std::vector<bool>& tried)
    {
        std::lock_guard lock(mutex);
        const auto now = clock::now();
        // Demand for the model(s) a load would evict: keep the popular ones loaded.
        using rank = std::tuple<int, std::size_t, int, double, clock::time_point>;
        std::optional<rank> best_rank;
        std::size_t best = 0;
        bool listed = false, waiting = false;
        for (std::size_t i = 0; i < hosts.size(); ++i) {
            auto& h = *hosts[i];
            if (!h.contacted && !stopped)
                waiting = true;
            auto [key, e] = find_model(h.models, model);
            if (!e)
                continue;
            listed = true;
            if (tried[i] || (!h.up && now < h.retry_at))
                continue;
            bool occupied = false, busy = false;
            double evicted = 0;
            for (auto& [k, o] : h.models)
                if (&o != e && is_active(o.state)) {
                    occupied = true;
                    evicted += demand_of(k, now);
                    busy = busy || o.in_flight > 0;
                }
            int tier = e->state == "ready" ? 0 : e->state == "starting" ? 1 : busy ? 3 : 2;
            // A host due for a retry is a probe, tried only when nothing better is up, unless its
            // tracker still hears from it (a call's failure may have been that call's alone).
            if (!h.up && h.tracking != "events" && h.tracking != "polling")
                tier += 4;
            rank r{tier, h.in_flight, occupied ? 1 : 0, evicted, h.last_routed};
            if (!best_rank || r < *best_rank) {
                best_rank = r;
                best = i;
            }
        }
        if (best_rank) {
            auto& h = *hosts[best];
            auto [key, e] = find_model(h.models, model);
            ++h.in_flight;
            ++h.calls;
            ++e->in_flight;
            h.last_routed = now;
            note_demand(*key, now);
            if (!is_active(e->state)) {
                // What llama-swap is about to do (one model per swap group by default): seen at
                // once by the calls that follow, corrected by the next modelStatus event.
                e->state = "starting";
                for (auto& [k, o] : h.models)
                    if (&o != e && is_active(o.state))
                        o.state = "stopping";
            }
            return pick{best, *key, h.p};
        }
        if (waiting)
            return std::nullopt;
        diagnostics d;
        d.provider = params.name;
        d.model = std::string(model);
        if (!listed) {
            d.client_message = "none of the " + std::to_string(hosts.size()) + " hosts lists model '" +
                               std::string(model) + "'";
            for (const auto& h : hosts)
                if (!h->up && h->models.empty())
                    d.client_message += "; " + h->name + " has listed nothing yet (" +
                                        (h->last_error.empty() ? std::string("down") : h->last_error) + ")";
            throw error(make_error_code(router_errc::no_host_for_model), std::move(d));
        }
        d.client_message = "no host that lists model '" + std::string(model) + "' can be reached now:";
        for (std::size_t i = 0; i < hosts.size(); ++i) {
            auto& h = *hosts[i];
            if (find_model(h.models, model).second)
                d.client_message += " " + h.name + (h.last_error.empty() ? std::string(" (down)")
                                                                          : " (" + h.last_error + ")");
        }
        throw error(make_error_code(router_errc::no_host_available), std::move(d));
    }

    // Calls per model, decaying with a half-life of params.demand_half_life. Under `mutex`.
    void note_demand(std::string_view model, clock::time_point now)
    {
        auto it = demand.find(model);
        if (it == demand.end())
            it = demand.emplace(std::string(model), std::pair<double, clock::time_point>{0.0, now}).first;
        it->second.first = decayed(it->second, now) + 1;
        it->second.second = now;
    }

    double demand_of(std::string_view model, clock::time_point now) const
    {
        auto it = demand.find(model);
        return it == demand.end() ? 0.0 : decayed(it->second, now);
    }

    double decayed(const std::pair<double, clock::time_point>& d, clock::time_point now) const
    {
        const double half = std::chrono::duration<double>(params.demand_half_life).count();
        const double age = std::chrono::duration<double>(now - d.second).count();
        return half > 0 ? d.first * std::exp2(-age / half) : d.first;
    }

    void finish(std::size_t i, const std::string& key)
    {
        std::lock_guard lock(mutex);
        auto& h = *hosts[i];
        if (h.in_flight > 0)
            --h.in_flight;
        if (auto it = h.models.find(key); it != h.models.end() && it->second.in_flight > 0)
            --it->second.in_flight;
    }

    void call_succeeded(std::size_t i)
    {
        std::lock_guard lock(mutex);
        hosts[i]->up = true;
    }

    // Marks the host down when the call never reached it or its connection died; true when the
    // call may move on to another host.
    bool call_failed(std::size_t i, const error& e)
    {
        const bool move_on = detail::never_sent(e);
        if (!move_on && !detail::lost_after_sending(e))
            return false;
        std::lock_guard lock(mutex);
        auto& h = *hosts[i];
        h.up = false;
        h.last_error = e.what();
        h.retry_at = clock::now() + params.backoff;
        if (move_on)
            ++h.failovers;
        return move_on;
    }

    // ---- tracking ----

    void tracked(std::size_t i, const char* how)
    {
        std::lock_guard lock(mutex);
        auto& h = *hosts[i];
        h.up = true;
        h.tracking = how;
    }

    // The event stream ended (a reload, a restart, a dead host): the states seen last stay
    // until the reconnect's first modelStatus replaces them, or its failure clears them.
    void lost(std::size_t i, std::string why)
    {
        std::lock_guard lock(mutex);
        auto& h = *hosts[i];
        h.tracking = "connecting";
        h.last_error = std::move(why);
    }

    void tracker_failed(std::size_t i, std::string why, clock::duration backoff)
    {
        std::lock_guard lock(mutex);
        auto& h = *hosts[i];
        h.up = false;
        h.contacted = true;
        h.tracking = "down";
        h.last_error = std::move(why);
        h.retry_at = clock::now() + backoff;
        for (auto& [k, e] : h.models)
            e.state.clear();
    }

    // Replaces the host's models with `next`, keeping the calls in flight.
    void replace_models(std::size_t i, model_map next)
    {
        std::lock_guard lock(mutex);
        auto& h = *hosts[i];
        bool pending = false;
        for (auto& [k, e] : next)
            if (auto it = h.models.find(k); it != h.models.end()) {
                e.in_flight = it->second.in_flight;
                // Calls of ours wait for a model the host has not started yet (the status was
                // sent before they arrived): it is as good as starting.
                if (e.in_flight > 0 && (e.state == "stopped" || e.state.empty())) {
                    e.state = "starting";
                    pending = true;
                }
            }
        if (pending)
            for (auto& [k, e] : next)
                if (e.state == "ready" && e.in_flight == 0)
                    e.state = "stopping"; // what that start will evict (one model per swap group)
        h.models = std::move(next);
        h.contacted = true;
    }

    void apply_status(std::size_t i, const std::vector<model_status>& models)
    {
        model_map next;
        for (const auto& m : models) {
            if (!m.peer_id.empty())
                continue; // served by a peer of that host, not by the host
            auto& e = next[m.id];
            e.state = m.state.empty() ? "stopped" : m.state;
            e.aliases = m.aliases;
        }
        replace_models(i, std::move(next));
    }

    void apply_polled(std::size_t i, const std::vector<model_info>& listed, const std::vector<running_model>& running)
    {
        model_map next;
        for (const auto& m : listed) {
            auto& e = next[m.id];
            e.state = "stopped";
            e.aliases = m.aliases;
        }
        for (const auto& r : running)
            next[r.model].state = r.state.empty() ? "ready" : r.state;
        replace_models(i, std::move(next));
    }

    // Polls a host without /api/events; returns the failure that ended it, or null after a
    // while so that the caller tries /api/events again (the host may have been upgraded).
    static asio::awaitable<std::exception_ptr> poll(std::shared_ptr<impl> self, std::size_t i, clock::duration& backoff)
    {
        auto& h = *self->hosts[i];
        for (int n = 0; n < 60 && !self->stopped; ++n) {
            std::exception_ptr failure;
            try {
                auto listed = co_await h.p->async_list_models();
                auto running = co_await h.p->async_running();
                self->apply_polled(i, listed, running);
                self->tracked(i, "polling");
                backoff = self->params.backoff;
            } catch (...) {
                failure = std::current_exception();
            }
            if (failure)
                co_return failure;
            co_await quiet_nap(self->params.poll_interval);
        }
        co_return nullptr;
    }

    // One host's tracker: follows /api/events, reconnecting with backoff; polls /running
    // where events are not served. Ends when the router stops.
    static asio::awaitable<void> follow(std::shared_ptr<impl> self, std::size_t i)
    {
        auto& h = *self->hosts[i];
        clock::duration backoff = self->params.backoff;
        while (!self->stopped) {
            std::exception_ptr failure;
            bool polling = false;
            try {
                auto events = co_await h.p->async_events();
                backoff = self->params.backoff;
                for (;;) {
                    auto ev = co_await events.async_next();
                    if (!ev)
                        break;
                    if (ev->type == "modelStatus") {
                        // Up once its models are known: llama-swap sends them right after connecting.
                        self->apply_status(i, ev->models);
                        self->tracked(i, "events");
                    }
                }
                self->lost(i, "llama-swap closed its event stream; reconnecting");
            } catch (const error& e) {
                polling = events_not_served(e);
                if (!polling)
                    failure = std::current_exception();
            } catch (...) {
                failure = std::current_exception();
            }
            if (self->stopped)
                break;
            if (polling)
                failure = co_await poll(self, i, backoff);
            if (self->stopped)
                break;
            if (failure) {
                self->tracker_failed(i, describe(failure), backoff);
                co_await quiet_nap(backoff);
                backoff = std::min<clock::duration>(backoff * 2, self->params.max_backoff);
            } else {
                co_await quiet_nap(self->params.backoff);
            }
        }
    }

    router_params params;
    asio::any_io_executor ex;
    mutable std::mutex mutex;
    std::vector<std::unique_ptr<host>> hosts;
    std::map<std::string, std::pair<double, clock::time_point>, std::less<>> demand; // by model as called
    std::atomic<bool> stopped{false};
};

namespace {

using impl_ptr = std::shared_ptr<router::impl>;

// One routed call counted in flight on its host and model until released.
class ticket {
public:
    ticket(impl_ptr r, std::size_t host, std::string key) : r_(std::move(r)), host_(host), key_(std::move(key)) {}
    ticket(ticket&& o) noexcept : r_(std::move(o.r_)), host_(o.host_), key_(std::move(o.key_)) {}
    ticket& operator=(ticket&&) = delete;
    ~ticket() { release(); }

    void release() noexcept
    {
        if (r_) {
            r_->finish(host_, key_);
            r_.reset();
        }
    }

private:
    impl_ptr r_;
    std::size_t host_;
    std::string key_;
};

// Picks a host, runs `attempt` there, and moves on to the next best host when the call never
// reached it. The ticket keeps the call counted for as long as the result is in use.
template <class T, class Attempt>
asio::awaitable<std::pair<T, ticket>> route(impl_ptr self, std::string model, Attempt attempt)
{
    std::vector<bool> tried(self->hosts.size(), false);
    for (;;) {
        auto pick = self->try_pick(model, tried);
        if (!pick) {
            co_await nap(10ms); // a host not reached yet may list the model
            continue;
        }
        ticket t(self, pick->host, pick->key);
        std::exception_ptr failure;
        bool move_on = false;
        try {
            T value = co_await attempt(pick->p);
            self->call_succeeded(pick->host);
            co_return std::pair<T, ticket>(std::move(value), std::move(t));
        } catch (const error& e) {
            move_on = self->call_failed(pick->host, e);
            failure = std::current_exception();
        } catch (...) {
            failure = std::current_exception();
        }
        if (!move_on)
            std::rethrow_exception(failure);
        tried[pick->host] = true;
    }
}

asio::awaitable<llm::chat_response> chat_once(std::shared_ptr<provider> p, std::string id, llm::model_options o,
                                              llm::chat_request req)
{
    auto m = p->get_model(std::move(id), o);
    auto r = co_await m->async_chat(std::move(req));
    co_return r;
}

asio::awaitable<llm::chat_stream> stream_once(std::shared_ptr<provider> p, std::string id, llm::model_options o,
                                              llm::chat_request req)
{
    auto m = p->get_model(std::move(id), o);
    auto s = co_await m->async_chat_stream(std::move(req));
    co_return s;
}

asio::awaitable<imagegen::image_result> image_once(std::shared_ptr<provider> p, std::string id,
                                                   imagegen::image_request req)
{
    auto m = p->get_image_model(std::move(id));
    auto r = co_await m->async_generate(std::move(req));
    co_return r;
}

// A stream counted in flight on its host until it ends, fails or is dropped.
class routed_source final : public llm::chat_stream::source {
public:
    routed_source(llm::chat_stream s, ticket t) : inner_(std::move(s)), ticket_(std::move(t)) {}

    asio::awaitable<std::optional<llm::chat_chunk>> async_next() override
    {
        std::optional<llm::chat_chunk> c;
        try {
            c = co_await inner_.async_next();
        } catch (...) {
            ticket_.release();
            throw;
        }
        if (!c)
            ticket_.release();
        co_return c;
    }

    const llm::call_timings& timings() const noexcept override { return inner_.timings(); }

private:
    llm::chat_stream inner_;
    ticket ticket_;
};

class routed_model final : public llm::model {
public:
    routed_model(impl_ptr r, std::string id, llm::model_options o) : r_(std::move(r)), id_(std::move(id)), o_(o) {}

    const std::string& id() const noexcept override { return id_; }

    asio::awaitable<llm::chat_response> async_chat(llm::chat_request req) override
    {
        return chat(r_, id_, o_, std::move(req));
    }

    asio::awaitable<llm::chat_stream> async_chat_stream(llm::chat_request req) override
    {
        return stream(r_, id_, o_, std::move(req));
    }

private:
    static asio::awaitable<llm::chat_response> chat(impl_ptr r, std::string id, llm::model_options o,
                                                    llm::chat_request req)
    {
        if (req.model.empty())
            req.model = id;
        auto attempt = [&](std::shared_ptr<provider> p) { return chat_once(std::move(p), id, o, req); };
        auto res = co_await route<llm::chat_response>(r, req.model, attempt);
        co_return std::move(res.first);
    }

    static asio::awaitable<llm::chat_stream> stream(impl_ptr r, std::string id, llm::model_options o,
                                                    llm::chat_request req)
    {
        if (req.model.empty())
            req.model = id;
        auto attempt = [&](std::shared_ptr<provider> p) { return stream_once(std::move(p), id, o, req); };
        auto res = co_await route<llm::chat_stream>(r, req.model, attempt);
        auto src = std::make_unique<routed_source>(std::move(res.first), std::move(res.second));
        co_return llm::chat_stream(std::move(src));
    }

    impl_ptr r_;
    std::string id_;
    llm::model_options o_;
};

class routed_image_model final : public imagegen::image_model {
public:
    routed_image_model(impl_ptr r, std::string id) : r_(std::move(r)), id_(std::move(id)) {}

    const std::string& id() const noexcept override { return id_; }

    asio::awaitable<imagegen::image_result> async_generate(imagegen::image_request req) override
    {
        return generate(r_, id_, std::move(req));
    }

private:
    static asio::awaitable<imagegen::image_result> generate(impl_ptr r, std::string id, imagegen::image_request req)
    {
        if (req.model.empty())
            req.model = id;
        auto attempt = [&](std::shared_ptr<provider> p) { return image_once(std::move(p), id, req); };
        auto res = co_await route<imagegen::image_result>(r, req.model, attempt);
        co_return std::move(res.first);
    }

    impl_ptr r_;
    std::string id_;
};

} // namespace

router::router(asio::any_io_executor ex, router_params params)
    : impl_(std::make_shared<impl>(std::move(ex), std::move(params)))
{
    impl_->start();
}

router::~router() { impl_->stop(); }

const std::string& router::name() const noexcept { return impl_->params.name; }

std::shared_ptr<llm::model> router::get_model(std::string id, llm::model_options options)
{
    return std::make_shared<routed_model>(impl_, std::move(id), options);
}

std::shared_ptr<imagegen::image_model> router::get_image_model(std::string id)
{
    return std::make_shared<routed_image_model>(impl_, std::move(id));
}

void router::stop() { impl_->stop(); }

router_state router::state() const
{
    router_state out;
    std::lock_guard lock(impl_->mutex);
    for (const auto& h : impl_->hosts) {
        router_host_state s;
        s.name = h->name;
        s.url = h->url;
        s.up = h->up;
        s.tracking = h->tracking;
        s.last_error = h->last_error;
        s.in_flight = h->in_flight;
        s.calls = h->calls;
        s.failovers = h->failovers;
        for (const auto& [id, e] : h->models)
            s.models.push_back({id, e.aliases, e.state, e.in_flight});
        out.hosts.push_back(std::move(s));
    }
    return out;
}

} // namespace majordomo::llamaswap

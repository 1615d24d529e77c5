// The listener, the model slots and llama-swap's swap scheduler (reference §3.5, §3.7), plus the
// public simulator class.
#include "server.hpp"

#include "encoding.hpp"
#include "responses.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <exception>
#include <stdexcept>

namespace majordomo::sim {

std::string_view to_string(fault f) noexcept
{
    switch (f) {
    case fault::none: return "none";
    case fault::fail_to_start: return "fail_to_start";
    case fault::cut_stream: return "cut_stream";
    case fault::stall: return "stall";
    case fault::error_mid_stream: return "error_mid_stream";
    }
    return "none";
}

std::string_view to_string(model_state s) noexcept
{
    switch (s) {
    case model_state::stopped: return "stopped";
    case model_state::starting: return "starting";
    case model_state::ready: return "ready";
    case model_state::stopping: return "stopping";
    }
    return "stopped";
}

namespace detail {

namespace json = boost::json;
using namespace std::chrono_literals;

namespace {

constexpr std::size_t max_log_bytes = 100 * 1024; // llama-swap's ring buffer holds 100 KiB
constexpr std::size_t max_queued_events = 1024;   // per-subscriber buffer; overflow is dropped

// A coroutine of the simulator must never take the process down; report and carry on.
void report(const std::exception_ptr& e)
{
    if (!e)
        return;
    try {
        std::rethrow_exception(e);
    } catch (const std::exception& ex) {
        std::fprintf(stderr, "majordomo-sim: %s\n", ex.what());
    } catch (...) {
        std::fprintf(stderr, "majordomo-sim: unknown exception\n");
    }
}

// Built outside co_return: g++ 12 mishandles braced aggregates holding a std::string in coroutine
// return and co_await expressions.
admission failed_admission(unsigned status, std::string message)
{
    admission a;
    a.r = admission::result::failed;
    a.status = status;
    a.message = std::move(message);
    return a;
}
admission admitted()
{
    admission a;
    a.r = admission::result::admitted;
    return a;
}
admission gone_admission() { return admission(); }

void trim_front(std::string& log)
{
    if (log.size() > max_log_bytes)
        log.erase(0, log.size() - max_log_bytes);
}

} // namespace

model_slot::model_slot(const strand_type& ex, model_params mp, std::uint16_t port)
    : p(std::move(mp)), upstream_port(port), current_fault(p.f), load_timer(ex), ttl_timer(ex)
{
}

server::server(asio::any_io_executor ex, simulator_params p)
    : strand_(asio::make_strand(std::move(ex))), acceptor_(strand_), params_(std::move(p)),
      rng_(std::random_device{}())
{
    for (const auto& mp : params_.models) {
        if (mp.id.empty())
            throw std::invalid_argument("majordomo::sim: a model has an empty id");
        if (!(mp.tokens_per_second > 0) || !std::isfinite(mp.tokens_per_second))
            throw std::invalid_argument("majordomo::sim: model '" + mp.id + "' needs tokens_per_second > 0");
        if (mp.load_time.count() < 0 || mp.ttl.count() < 0)
            throw std::invalid_argument("majordomo::sim: model '" + mp.id + "' has a negative duration");
        models_.push_back(std::make_unique<model_slot>(strand_, mp, 0));
    }
    for (const auto& m : models_) {
        auto add = [&](const std::string& name) {
            if (name.empty())
                throw std::invalid_argument("majordomo::sim: model '" + m->p.id + "' has an empty alias");
            // llama-swap rejects duplicate ids and aliases at config load.
            if (!names_.emplace(name, m.get()).second)
                throw std::invalid_argument("majordomo::sim: '" + name + "' names more than one model");
        };
        add(m->p.id);
        for (const auto& a : m->p.aliases)
            add(a);
        sorted_.push_back(m.get());
    }
    std::sort(sorted_.begin(), sorted_.end(), [](auto* a, auto* b) { return a->p.id < b->p.id; });
    std::uint16_t port = 5800; // ${PORT} comes from startPort in sorted-id order
    for (auto* m : sorted_)
        m->upstream_port = port++;
    for (const auto& k : params_.api_keys)
        if (k.empty() || k.find(' ') != std::string::npos)
            throw std::invalid_argument("majordomo::sim: API keys must be non-empty and contain no spaces");
}

void server::listen()
{
    boost::system::error_code ec;
    auto addr = asio::ip::make_address(params_.address, ec);
    if (ec)
        throw std::invalid_argument("majordomo::sim: bad listen address '" + params_.address + "'");
    tcp::endpoint ep(addr, params_.port);
    acceptor_.open(ep.protocol());
    acceptor_.set_option(asio::socket_base::reuse_address(true));
    acceptor_.bind(ep);
    acceptor_.listen();
    port_ = acceptor_.local_endpoint().port();
    log("llama-swap listening on " + params_.address + ":" + std::to_string(port_));
}

void server::start() { asio::co_spawn(strand_, accept_loop(shared_from_this()), report); }

asio::awaitable<void> server::accept_loop(std::shared_ptr<server> self)
{
    for (;;) {
        tcp::socket sock(self->strand_);
        auto [ec] = co_await self->acceptor_.async_accept(sock, asio::as_tuple(asio::use_awaitable));
        if (self->stopped_ || ec == asio::error::operation_aborted)
            co_return;
        if (ec) { // e.g. out of descriptors: back off instead of spinning
            asio::steady_timer pause(self->strand_, 10ms);
            co_await pause.async_wait(asio::as_tuple(asio::use_awaitable));
            continue;
        }
        boost::system::error_code ignored;
        sock.set_option(tcp::no_delay(true), ignored);
        auto s = std::make_shared<session>(self, std::move(sock));
        asio::co_spawn(self->strand_, session::run(std::move(s)), report);
    }
}

void server::stop()
{
    if (stopped_)
        return;
    stopped_ = true;
    boost::system::error_code ignored;
    acceptor_.close(ignored);
    for (auto* s : std::list<session*>(sessions_))
        s->abort();
    for (auto& m : models_) {
        m->load_timer.cancel();
        m->ttl_timer.cancel();
        ++m->generation;
        m->serving.clear();
        m->in_flight = 0;
        m->state = model_state::stopped;
    }
}

model_slot* server::find(std::string_view id_or_alias) const
{
    auto it = names_.find(id_or_alias);
    return it == names_.end() ? nullptr : it->second;
}

// ---- scheduler --------------------------------------------------------------------------------------

asio::awaitable<admission> server::acquire(session& s, model_slot& m, loading_stream* ls)
{
    waiter w;
    w.s = &s;
    w.m = &m;
    auto self_it = waiters_.insert(waiters_.end(), &w);
    ++m.queued;
    // Leaving the queue always unlinks the waiter; only a normal return notifies the others. A frame
    // destroyed while suspended (an io_context torn down under us) must not touch timers.
    struct leave_queue {
        server& srv;
        std::list<waiter*>::iterator it;
        model_slot& m;
        bool normal = false;
        ~leave_queue()
        {
            srv.waiters_.erase(it);
            --m.queued;
            if (normal && !srv.stopped_)
                srv.notify_waiters(); // a departure can unblock the FIFO rule in decide()
        }
    } leave{*this, self_it, m};
    auto done = [&leave](admission a) {
        leave.normal = true;
        return a;
    };

    auto next_tick = clock_type::now() + 750ms; // the loading stream's '.' cadence
    for (;;) {
        if (stopped_)
            co_return done(failed_admission(500, "unspecific error: group is shutting down"));
        if (w.failed)
            co_return done(failed_admission(w.status, w.message));
        if (s.gone())
            co_return done(gone_admission());
        if (s.cancelled) // cancelled from the UI while queued: an empty 200
            co_return done(failed_admission(200, {}));
        if (decide(m, self_it) == step::admit) {
            admit(s, m);
            co_return done(admitted());
        }
        if (w.failed) // decide() may have failed us synchronously
            continue;
        auto deadline = clock_type::time_point::max();
        if (ls) {
            if (m.state == model_state::stopped) {
                bool ok = co_await ls->queue_position(queue_position(self_it));
                if (!ok)
                    co_return done(gone_admission());
            }
            deadline = next_tick;
        }
        auto r = co_await s.wait_until(deadline);
        if (r == session::wake::gone)
            co_return done(gone_admission());
        if (ls && clock_type::now() >= next_tick) {
            next_tick += 750ms;
            if (!co_await ls->tick())
                co_return done(gone_admission());
        }
    }
}

// §3.5: ready → serve now; the same model starting → join; otherwise swap once nothing else is
// starting and the running model has drained (running requests are never killed by a swap).
server::step server::decide(model_slot& m, std::list<waiter*>::iterator self)
{
    switch (m.state.load()) {
    case model_state::ready: return step::admit;
    case model_state::starting:
    case model_state::stopping: return step::wait;
    case model_state::stopped: break;
    }
    if (params_.exclusive) {
        // FIFO: a request needing a swap does not overtake an earlier one that needs a swap too.
        for (auto it = waiters_.begin(); it != self; ++it)
            if ((*it)->m != &m && (*it)->m->state != model_state::ready && !(*it)->failed)
                return step::wait;
        for (auto& o : models_)
            if (o.get() != &m && o->state == model_state::starting)
                return step::wait;
        for (auto& o : models_)
            if (o.get() != &m && o->state != model_state::stopped && o->in_flight > 0)
                return step::wait;
        bool evicted = false;
        for (auto& o : models_) {
            if (o.get() != &m && o->state != model_state::stopped) {
                stop_model(*o, false, "swapped out for " + m.p.id);
                evicted = true;
            }
        }
        if (evicted)
            ++swaps;
    }
    start_load(m);
    return step::wait;
}

void server::admit(session& s, model_slot& m)
{
    ++m.in_flight;
    s.ticket_model = &m;
    s.ticket_generation = m.generation;
    s.ticket_it = m.serving.insert(m.serving.end(), &s);
    s.cut = false;
    // TTL counts from the end of the last request (issue #25): an admitted request disarms it.
    ++m.ttl_arm;
    m.ttl_timer.cancel();
}

void server::release(session& s)
{
    auto* m = s.ticket_model;
    if (!m)
        return;
    s.ticket_model = nullptr;
    ++m->served;
    ++served;
    if (m->generation != s.ticket_generation) // cut by an unload: already out of the counts
        return;
    m->serving.erase(s.ticket_it);
    if (--m->in_flight == 0) {
        arm_ttl(*m);
        notify_waiters(); // a swap may have been waiting for this drain
    }
}

void server::start_load(model_slot& m)
{
    ++m.loads;
    ++loads;
    set_state(m, model_state::starting);
    log("Starting model " + m.p.id + ": " + upstream_cmd(m));
    upstream_log_ += "srv  load_model: loading model '" + m.p.id + "'\n";
    trim_front(upstream_log_);
    asio::co_spawn(strand_, load(shared_from_this(), &m, m.generation), report);
}

asio::awaitable<void> server::load(std::shared_ptr<server> self, model_slot* m, std::uint64_t gen)
{
    m->load_timer.expires_after(m->p.load_time);
    auto [ec] = co_await m->load_timer.async_wait(asio::as_tuple(asio::use_awaitable));
    if (ec || self->stopped_ || m->generation != gen || m->state != model_state::starting)
        co_return; // unloaded or stopped while loading
    if (m->current_fault == fault::fail_to_start) {
        // The current code answers 500 and recovers on the next request (reference §5.2, §10).
        ++m->generation;
        ++m->unloads;
        self->set_state(*m, model_state::stopped);
        std::string msg = "unspecific error: health check timed out after " + go_duration(m->p.load_time);
        self->log("Model " + m->p.id + " failed to start: " + msg);
        self->fail_waiters(*m, 500, msg);
        self->notify_waiters();
        co_return;
    }
    self->set_state(*m, model_state::ready);
    self->log("Model " + m->p.id + " is ready");
    self->upstream_log_ +=
        "main: server is listening on http://127.0.0.1:" + std::to_string(m->upstream_port) + "\n";
    trim_front(self->upstream_log_);
    self->arm_ttl(*m);
    self->notify_waiters();
}

// Unloading never waits for in-flight requests: their upstream dies under them (§3.7).
void server::stop_model(model_slot& m, bool fail, std::string_view why)
{
    if (m.state == model_state::stopped)
        return;
    set_state(m, model_state::stopping);
    ++m.generation;
    ++m.unloads;
    for (auto* s : m.serving) {
        s->cut = true;
        s->notify();
        ++cut;
    }
    m.serving.clear();
    m.in_flight = 0;
    m.load_timer.cancel();
    ++m.ttl_arm;
    m.ttl_timer.cancel();
    if (fail)
        fail_waiters(m, 500, "unspecific error: group: model unloaded");
    set_state(m, model_state::stopped);
    log("Stopped model " + m.p.id + " (" + std::string(why) + ")");
    notify_waiters();
}

void server::unload(model_slot& m) { stop_model(m, true, "unload requested"); }

void server::unload_all()
{
    for (auto* m : sorted_)
        stop_model(*m, true, "unload requested");
}

void server::fail_waiters(model_slot& m, unsigned status, const std::string& message)
{
    for (auto* w : waiters_) {
        if (w->m == &m && !w->failed) {
            w->failed = true;
            w->status = status;
            w->message = message;
            w->s->notify();
        }
    }
}

void server::set_state(model_slot& m, model_state st)
{
    m.state = st;
    broadcast(event_frame("modelStatus", model_status(sorted_)));
}

void server::arm_ttl(model_slot& m)
{
    if (m.p.ttl.count() <= 0 || m.state != model_state::ready || m.in_flight > 0 || stopped_)
        return;
    m.ttl_timer.expires_after(m.p.ttl);
    asio::co_spawn(strand_, ttl_wait(shared_from_this(), &m, ++m.ttl_arm), report);
}

asio::awaitable<void> server::ttl_wait(std::shared_ptr<server> self, model_slot* m, std::uint64_t arm)
{
    auto [ec] = co_await m->ttl_timer.async_wait(asio::as_tuple(asio::use_awaitable));
    if (ec || self->stopped_ || arm != m->ttl_arm)
        co_return;
    if (m->state == model_state::ready && m->in_flight == 0)
        self->stop_model(*m, true, "ttl expired");
}

void server::notify_waiters()
{
    for (auto* w : waiters_)
        w->s->notify();
}

std::size_t server::queue_position(std::list<waiter*>::iterator self) const
{
    std::size_t n = 1;
    for (auto it = waiters_.begin(); it != self; ++it)
        if ((*it)->m->state != model_state::ready)
            ++n;
    return n;
}

// ---- connections and events -------------------------------------------------------------------------

void server::add_session(session* s) { sessions_.push_back(s); }
void server::remove_session(session* s) { sessions_.remove(s); }
void server::subscribe(session* s) { subscribers_.push_back(s); }
void server::unsubscribe(session* s) { subscribers_.remove(s); }

void server::broadcast(const std::string& frame)
{
    for (auto* s : subscribers_) {
        if (s->events.size() < max_queued_events)
            s->events.push_back(frame);
        s->notify();
    }
}

// On connect llama-swap sends, in order: proxy logs, upstream logs, modelStatus, uiConfig,
// profileChanged and an inflight snapshot (reference §2.5).
std::vector<std::string> server::initial_events() const
{
    std::vector<std::string> out;
    json::object proxy;
    proxy["source"] = "proxy";
    proxy["data"] = proxy_log_;
    out.push_back(event_frame("logData", proxy));
    json::object upstream;
    upstream["source"] = "upstream";
    upstream["data"] = upstream_log_;
    out.push_back(event_frame("logData", upstream));
    out.push_back(event_frame("modelStatus", model_status(sorted_)));
    json::object activity;
    activity["session_id"] = json::array{"X-Session-ID", "X-Litellm-Session-Id"};
    json::object ui;
    ui["activity"] = std::move(activity);
    out.push_back(event_frame("uiConfig", ui));
    out.push_back(event_frame("profileChanged", active_profile()));
    out.push_back(event_frame("inflight", inflight_snapshot()));
    return out;
}

void server::log(std::string_view line)
{
    std::string text = "[INFO] " + std::string(line) + "\n";
    proxy_log_ += text;
    trim_front(proxy_log_);
    json::object o;
    o["source"] = "proxy";
    o["data"] = text;
    broadcast(event_frame("logData", o));
}

std::string server::random_id(std::size_t n)
{
    static constexpr std::string_view alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    std::string out;
    for (std::size_t i = 0; i < n; ++i)
        out += alnum[rng_() % alnum.size()];
    return out;
}

} // namespace detail

// ---- public class -------------------------------------------------------------------------------------

struct simulator::impl {
    executor_type ex;
    std::shared_ptr<detail::server> srv;
};

simulator::simulator(executor_type ex, simulator_params params) : impl_(std::make_shared<impl>())
{
    impl_->ex = ex;
    impl_->srv = std::make_shared<detail::server>(std::move(ex), std::move(params));
    impl_->srv->listen();
    impl_->srv->start();
}

simulator::~simulator() { stop(); }

simulator::executor_type simulator::get_executor() const noexcept { return impl_->ex; }

std::uint16_t simulator::port() const noexcept { return impl_->srv->port(); }

std::string simulator::url() const
{
    const auto& host = impl_->srv->params().address;
    bool v6 = host.find(':') != std::string::npos;
    return "http://" + (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port());
}

void simulator::set_fault(std::string_view model, fault f)
{
    auto* m = impl_->srv->find(model); // the name table is immutable after construction
    if (!m)
        throw std::invalid_argument("majordomo::sim::set_fault: unknown model '" + std::string(model) + "'");
    m->current_fault = f;
}

simulator_stats simulator::stats() const
{
    const auto& s = *impl_->srv;
    simulator_stats out;
    out.requests = s.requests;
    out.swaps = s.swaps;
    out.loads = s.loads;
    out.served = s.served;
    out.rejected = s.rejected;
    out.unauthorized = s.unauthorized;
    out.cut = s.cut;
    for (const auto& m : s.models()) {
        model_stats ms;
        ms.state = m->state;
        ms.loads = m->loads;
        ms.unloads = m->unloads;
        ms.served = m->served;
        ms.in_flight = m->in_flight;
        ms.queued = m->queued;
        out.models.emplace(m->p.id, ms);
    }
    return out;
}

void simulator::stop()
{
    if (!impl_)
        return;
    auto srv = impl_->srv;
    boost::asio::post(srv->strand(), [srv] { srv->stop(); });
}

} // namespace majordomo::sim

// swapbench's multi-host scenario (included by swapbench.cpp): N simulated llama-swap hosts, a
// workload over M > N models with skewed popularity, the same request sequence routed three ways
// (llamaswap::router, round-robin, random) on fresh hosts each time, one host killed half-way.
// Reports swaps caused, p50/p99 time to first token and errors, side by side.
#pragma once

#include <majordomo/deadline.hpp>
#include <majordomo/llamaswap/provider.hpp>
#include <majordomo/llamaswap/router.hpp>
#include <majordomo/sim/simulator.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <memory>
#include <random>
#include <string>
#include <vector>

namespace multihost {

namespace asio = boost::asio;
namespace md = majordomo;

struct options {
    int hosts = 3;
    int models = 6;
    int requests = 300;
    int clients = 6;          // concurrent callers
    int load_ms = 150;        // cold load per model
    double tokens_per_second = 2000;
    int max_tokens = 16;
    double skew = 1.2;        // Zipf exponent of model popularity
    unsigned seed = 42;
    bool kill = true;         // stop the last host after half the requests started
    std::chrono::seconds deadline{30};
};

struct result {
    std::string policy;
    std::size_t requests = 0, errors = 0, swaps = 0, loads = 0;
    std::size_t failovers = 0; // router: calls that could not connect to a host and moved on
    std::vector<double> ttft_ms; // successful calls only
    double seconds = 0;
    std::string first_error;
};

inline double percentile(std::vector<double> v, double p)
{
    if (v.empty())
        return 0;
    std::sort(v.begin(), v.end());
    auto i = static_cast<std::size_t>(std::ceil(p * static_cast<double>(v.size())));
    return v[std::min(v.size() - 1, i == 0 ? 0 : i - 1)];
}

inline std::string model_name(int i) { return "model-" + std::to_string(i); }

// The request sequence: model indices drawn from a Zipf distribution, the same for every policy.
inline std::vector<int> workload(const options& o)
{
    std::vector<double> w;
    for (int k = 0; k < o.models; ++k)
        w.push_back(1.0 / std::pow(k + 1, o.skew));
    std::mt19937 rng(o.seed);
    std::discrete_distribution<int> pick(w.begin(), w.end());
    std::vector<int> seq;
    for (int i = 0; i < o.requests; ++i)
        seq.push_back(pick(rng));
    return seq;
}

enum class policy { router, round_robin, random };

inline const char* to_string(policy p)
{
    return p == policy::router ? "router" : p == policy::round_robin ? "round-robin" : "random";
}

inline result run(policy pol, const options& o, const std::vector<int>& seq)
{
    asio::io_context ioc(1);
    std::vector<std::unique_ptr<md::sim::simulator>> sims;
    for (int h = 0; h < o.hosts; ++h) {
        md::sim::simulator_params sp;
        for (int m = 0; m < o.models; ++m) {
            md::sim::model_params mp;
            mp.id = model_name(m);
            mp.load_time = std::chrono::milliseconds(o.load_ms);
            mp.tokens_per_second = o.tokens_per_second;
            sp.models.push_back(mp);
        }
        sims.push_back(std::make_unique<md::sim::simulator>(ioc.get_executor(), sp));
    }
    std::vector<std::shared_ptr<md::llamaswap::provider>> direct;
    md::llamaswap::router_params rp;
    for (int h = 0; h < o.hosts; ++h) {
        md::llamaswap::provider_params pp;
        pp.base_url = sims[h]->url();
        pp.name = "host-" + std::to_string(h);
        rp.hosts.push_back(pp);
        direct.push_back(md::llamaswap::make_provider(ioc.get_executor(), pp));
    }
    rp.backoff = std::chrono::milliseconds(100);
    rp.max_backoff = std::chrono::milliseconds(1000);
    std::shared_ptr<md::llamaswap::router> router;
    if (pol == policy::router)
        router = md::llamaswap::make_router(ioc.get_executor(), rp);

    result out;
    out.policy = to_string(pol);
    std::size_t next = 0;
    int running = o.clients;
    bool killed = false;
    std::mt19937 rng(o.seed + 1);
    const auto start = std::chrono::steady_clock::now();

    auto client = [&]() -> asio::awaitable<void> {
        for (;;) {
            if (next >= seq.size())
                break;
            const std::size_t i = next++;
            if (o.kill && !killed && i >= seq.size() / 2) {
                killed = true;
                sims.back()->stop();
            }
            std::shared_ptr<md::llm::model> m;
            const auto id = model_name(seq[i]);
            if (pol == policy::router)
                m = router->get_model(id);
            else if (pol == policy::round_robin)
                m = direct[i % direct.size()]->get_model(id);
            else
                m = direct[std::uniform_int_distribution<std::size_t>(0, direct.size() - 1)(rng)]->get_model(id);
            md::llm::chat_request req;
            req.messages = {md::llm::message::user("Say something about routing.")};
            req.max_tokens = o.max_tokens;
            ++out.requests;
            try {
                auto body = [&]() -> asio::awaitable<double> {
                    auto st = co_await m->async_chat_stream(req);
                    while (auto c = co_await st.async_next())
                        (void)c;
                    co_return std::chrono::duration<double, std::milli>(st.timings().time_to_first_token()).count();
                };
                double ttft = co_await md::with_deadline(body(), o.deadline);
                out.ttft_ms.push_back(ttft);
            } catch (const std::exception& e) {
                if (out.errors++ == 0)
                    out.first_error = e.what();
            }
        }
        if (--running == 0) {
            out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
            if (router) {
                for (const auto& h : router->state().hosts)
                    out.failovers += h.failovers;
                router->stop();
            }
            for (auto& s : sims)
                s->stop();
        }
    };
    // Let the router learn the hosts first, as a long-running one would have.
    asio::co_spawn(ioc, [&]() -> asio::awaitable<void> {
        if (router) {
            for (int tries = 0; tries < 200; ++tries) {
                auto st = router->state();
                if (std::all_of(st.hosts.begin(), st.hosts.end(), [](const auto& h) { return h.tracking == "events"; }))
                    break;
                asio::steady_timer t(co_await asio::this_coro::executor, std::chrono::milliseconds(10));
                co_await t.async_wait(asio::use_awaitable);
            }
        }
        for (int c = 0; c < o.clients; ++c)
            asio::co_spawn(ioc, client(), asio::detached);
    }, asio::detached);
    ioc.run();
    for (auto& s : sims) {
        auto st = s->stats();
        out.swaps += st.swaps;
        out.loads += st.loads;
    }
    return out;
}

inline std::vector<result> run_all(const options& o)
{
    auto seq = workload(o);
    std::vector<result> out;
    for (auto p : {policy::router, policy::round_robin, policy::random})
        out.push_back(run(p, o, seq));
    return out;
}

inline void print(std::FILE* out, const options& o, const std::vector<result>& all)
{
    std::fprintf(out, "\nmulti-host: %d hosts, %d models (Zipf %.1f), %d requests from %d clients, load %d ms%s\n",
                o.hosts, o.models, o.skew, o.requests, o.clients, o.load_ms,
                o.kill ? ", last host killed half-way" : "");
    std::fprintf(out, "%-12s %5s %6s %6s %6s %9s | %10s %10s | %7s\n", "policy", "n", "errors", "swaps", "loads",
                "failovers", "ttft p50", "ttft p99", "seconds");
    for (const auto& r : all)
        std::fprintf(out, "%-12s %5zu %6zu %6zu %6zu %9zu | %7.1f ms %7.1f ms | %7.2f\n", r.policy.c_str(), r.requests,
                    r.errors, r.swaps, r.loads, r.failovers, percentile(r.ttft_ms, 0.5), percentile(r.ttft_ms, 0.99),
                    r.seconds);
    const auto& router = all.at(0);
    for (std::size_t i = 1; i < all.size(); ++i) {
        const auto& x = all[i];
        const double p99r = percentile(router.ttft_ms, 0.99), p99x = percentile(x.ttft_ms, 0.99);
        char fewer[32] = "none with the router";
        if (router.swaps)
            std::snprintf(fewer, sizeof fewer, "%.1fx fewer",
                          static_cast<double>(x.swaps) / static_cast<double>(router.swaps));
        std::fprintf(out, "router vs %-11s swaps %zu vs %zu (%s), ttft p99 %.1f vs %.1f ms (%.1fx lower), errors %zu vs %zu\n",
                    x.policy.c_str(), router.swaps, x.swaps, fewer, p99r, p99x, p99r > 0 ? p99x / p99r : 0.0,
                    router.errors, x.errors);
    }
    for (const auto& r : all)
        if (r.errors)
            std::fprintf(out, "first error with %s: %s\n", r.policy.c_str(), r.first_error.c_str());
}

} // namespace multihost

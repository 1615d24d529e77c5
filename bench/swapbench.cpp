// majordomo-swapbench: how long llama-swap model swaps take, as a client sees them.
//
// Against the embedded llama-swap simulator (default: three models whose cold load is
// scaled down to a few hundred milliseconds), or a real llama-swap with --url.
// Scenarios: cold start per model, warm repeats, A/B ping-pong swaps, a burst of
// concurrent requests arriving during a swap, and whole (non-streamed) responses.
// For each: count, min/p50/p90/p99/max of time to headers, time to first token and total
// time, tokens per second and errors; as a table, --json, --csv and an SVG chart.
// Then, with the embedded simulator, a multi-host scenario (multihost.hpp): llamaswap::router
// vs round-robin vs random over three simulated hosts, one killed half-way.

#include <majordomo/deadline.hpp>
#include <majordomo/llamaswap/provider.hpp>
#include <majordomo/llm/chunk.hpp>
#include <majordomo/sim/simulator.hpp>

#include "multihost.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <boost/json/value_from.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <unistd.h>

namespace asio = boost::asio;
namespace json = boost::json;
using namespace majordomo;
using namespace std::chrono_literals;

namespace {

struct options {
    std::string url; // empty: embedded simulator
    std::optional<std::string> token;
    std::string ca_file;
    bool insecure = false;
    std::vector<std::string> models; // real llama-swap: at least two chat models
    int load_ms = 300;
    double tokens_per_second = 400;
    int max_tokens = 24;
    int repeats = 8;
    int burst = 16;
    std::chrono::seconds deadline{600};
    std::string json_path; // "-" for stdout
    std::string csv_path;  // likewise
    std::string svg_path = "swapbench.svg";
    bool quiet = false;
    int multi = 1; // 0: single-host scenarios only, 1: both, 2: multi-host only
    multihost::options mh;
};

struct sample {
    double headers_ms = 0, first_token_ms = 0, total_ms = 0;
    long tokens = 0;
    double generation_ms = 0;
    bool ok = false;
    std::string error;
};

struct scenario {
    std::string name;
    std::string description;
    std::vector<sample> samples;
};

double ms(std::chrono::steady_clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

void usage()
{
    std::puts(
        "usage: majordomo-swapbench [options]\n"
        "  --url URL            a real llama-swap (default: the embedded simulator)\n"
        "  --token T            llama-swap API key\n"
        "  --ca-file F          trust this CA for https\n"
        "  --insecure           do not verify TLS (unsafe)\n"
        "  --models a,b[,c]     chat models to swap between (needed with --url)\n"
        "  --load-ms N          simulator: cold load time per model (default 300)\n"
        "  --tokens-per-second  simulator: generation rate (default 400)\n"
        "  --max-tokens N       tokens per request (default 24)\n"
        "  --repeats N          requests per warm / ping-pong scenario (default 8)\n"
        "  --burst N            concurrent requests during a swap (default 16)\n"
        "  --deadline S         per-request deadline in seconds (default 600)\n"
        "  --json FILE|-        write one JSON document with a `scenarios` array\n"
        "  --csv FILE|-         write one row per scenario\n"
        "  --svg FILE|-         latency chart (default swapbench.svg)\n"
        "  (with a document on stdout, -, the tables go to stderr)\n"
        "  --quiet              no progress display\n"
        "multi-host scenario (embedded simulators only; router vs round-robin vs random):\n"
        "  --multi-host-only    run only the multi-host scenario\n"
        "  --no-multi-host      skip it\n"
        "  --hosts N            simulated hosts (default 3)\n"
        "  --host-models M      models, M > N (default 6)\n"
        "  --host-requests R    requests per policy (default 300)\n"
        "  --clients C          concurrent callers (default 6)\n"
        "  --host-load-ms N     cold load per model (default 150)\n"
        "  --no-kill            do not kill a host half-way");
}

std::vector<std::string> split(const std::string& s)
{
    std::vector<std::string> out;
    std::stringstream ss(s);
    for (std::string part; std::getline(ss, part, ',');)
        if (!part.empty())
            out.push_back(part);
    return out;
}

class runner {
public:
    runner(llamaswap::provider& p, const options& o) : p_(p), o_(o) {}

    // One request, streamed or whole; failures are recorded, not thrown.
    // `counted` is false for the priming requests that set up a scenario.
    asio::awaitable<sample> one(const std::string& model, bool stream, bool counted = true)
    {
        sample s;
        llm::chat_request req;
        req.messages = {llm::message::user("Say something about model swapping.")};
        req.max_tokens = o_.max_tokens;
        auto m = p_.get_model(model);
        try {
            llm::call_timings t;
            if (stream) {
                auto body = [&]() -> asio::awaitable<llm::call_timings> {
                    auto st = co_await m->async_chat_stream(req);
                    while (auto c = co_await st.async_next())
                        if (c->has_output())
                            ++s.tokens;
                    co_return st.timings();
                };
                t = co_await with_deadline(body(), o_.deadline);
            } else {
                auto r = co_await with_deadline(m->async_chat(req), o_.deadline);
                s.tokens = r.usage ? static_cast<long>(r.usage->completion_tokens) : 0;
                t = r.call;
            }
            s.headers_ms = ms(t.time_to_headers());
            s.first_token_ms = ms(t.time_to_first_token());
            s.total_ms = ms(t.total());
            // A whole response's tokens all arrive at once: rate them over the whole call.
            s.generation_ms = stream ? ms(t.generation()) : s.total_ms;
            s.ok = true;
        } catch (const std::exception& e) {
            s.error = e.what();
        }
        if (counted)
            tick();
        co_return s;
    }

    // `o.repeats` requests one after another: even ones to `even`, odd ones to `odd`
    // (the same model for warm repeats, two for ping-pong). `prime` loads `even` first.
    asio::awaitable<scenario> sequence(scenario sc, const std::string& even, const std::string& odd, bool stream,
                                       bool prime)
    {
        if (prime)
            co_await one(even, stream, false);
        begin(sc.name, o_.repeats);
        for (int i = 0; i < o_.repeats; ++i) {
            auto s = co_await one(i % 2 ? odd : even, stream);
            sc.samples.push_back(std::move(s));
        }
        co_return sc;
    }

    void begin(const std::string& name, int total)
    {
        current_ = name;
        done_ = 0;
        total_ = total;
        tick(false);
    }

private:
    void tick(bool count = true)
    {
        if (count)
            ++done_;
        if (o_.quiet)
            return;
        // A live counter on a terminal; one line per scenario otherwise.
        if (isatty(2))
            std::fprintf(stderr, "\r  %-20s %3d/%-3d", current_.c_str(), done_, total_);
        if (done_ == total_)
            std::fprintf(stderr, isatty(2) ? "\n" : "  %-20s %3d/%-3d done\n", current_.c_str(), done_, total_);
        std::fflush(stderr);
    }

    llamaswap::provider& p_;
    const options& o_;
    std::string current_;
    int done_ = 0, total_ = 0;
};

asio::awaitable<std::vector<scenario>> run_all(llamaswap::provider& p, const options& o)
{
    runner r(p, o);
    std::vector<scenario> out;
    const auto& models = o.models;
    const std::string a = models.at(0), b = models.at(1);

    // Cold start: everything unloaded first, then one streamed request per model.
    {
        scenario sc{"cold_start", "first request per model, all unloaded first", {}};
        r.begin(sc.name, static_cast<int>(models.size()));
        for (const auto& m : models) {
            co_await p.async_unload_all();
            sc.samples.push_back(co_await r.one(m, true));
        }
        out.push_back(std::move(sc));
    }
    // Warm: the model is loaded; no swap wait should show. Ping-pong: every request swaps.
    // (Scenarios are locals, not braced arguments of co_await: g++ 12 miscompiles those.)
    scenario warm{"warm_repeat", "repeated streamed requests to a loaded model", {}};
    auto warm_done = co_await r.sequence(std::move(warm), a, a, true, true);
    out.push_back(std::move(warm_done));
    scenario ping{"ping_pong", "A/B/A/B streamed, each request swaps", {}};
    auto ping_done = co_await r.sequence(std::move(ping), b, a, true, false);
    out.push_back(std::move(ping_done));
    // Burst: many concurrent requests for B arrive while A is loaded; one swap serves them.
    {
        scenario sc{"burst_during_swap", "concurrent streamed requests for a model being swapped in", {}};
        co_await r.one(a, true, false);
        r.begin(sc.name, o.burst);
        auto ex = co_await asio::this_coro::executor;
        int pending = o.burst;
        asio::steady_timer done(ex, std::chrono::steady_clock::time_point::max());
        for (int i = 0; i < o.burst; ++i)
            asio::co_spawn(ex, [&]() -> asio::awaitable<void> {
                sc.samples.push_back(co_await r.one(b, true));
                if (--pending == 0)
                    done.cancel();
            }, asio::detached);
        auto [ec] = co_await done.async_wait(asio::as_tuple(asio::use_awaitable));
        (void)ec;
        out.push_back(std::move(sc));
    }
    // Whole responses, warm and swapping.
    scenario whole{"whole_warm", "non-streamed requests to a loaded model", {}};
    auto whole_done = co_await r.sequence(std::move(whole), a, a, false, true);
    out.push_back(std::move(whole_done));
    scenario whole_ping{"whole_ping_pong", "non-streamed A/B, each request swaps", {}};
    auto whole_ping_done = co_await r.sequence(std::move(whole_ping), b, a, false, false);
    out.push_back(std::move(whole_ping_done));
    co_return out;
}

struct stats {
    double min = 0, p50 = 0, p90 = 0, p99 = 0, max = 0;
};

stats summarize(std::vector<double> v)
{
    stats s;
    if (v.empty())
        return s;
    std::sort(v.begin(), v.end());
    auto pct = [&](double p) {
        std::size_t i = static_cast<std::size_t>(std::ceil(p * static_cast<double>(v.size()))) ;
        return v[std::min(v.size() - 1, i == 0 ? 0 : i - 1)];
    };
    s.min = v.front();
    s.p50 = pct(0.50);
    s.p90 = pct(0.90);
    s.p99 = pct(0.99);
    s.max = v.back();
    return s;
}

template <class F>
std::vector<double> column(const scenario& sc, F f)
{
    std::vector<double> v;
    for (const auto& s : sc.samples)
        if (s.ok)
            v.push_back(f(s));
    return v;
}

struct summary {
    std::size_t count = 0, errors = 0;
    stats headers, first_token, total;
    double tokens_per_second = 0;
};

summary summarize(const scenario& sc)
{
    summary s;
    s.count = sc.samples.size();
    double tokens = 0, gen_ms = 0;
    for (const auto& x : sc.samples) {
        if (!x.ok) {
            ++s.errors;
            continue;
        }
        tokens += static_cast<double>(x.tokens);
        gen_ms += x.generation_ms;
    }
    s.headers = summarize(column(sc, [](const sample& x) { return x.headers_ms; }));
    s.first_token = summarize(column(sc, [](const sample& x) { return x.first_token_ms; }));
    s.total = summarize(column(sc, [](const sample& x) { return x.total_ms; }));
    s.tokens_per_second = gen_ms > 0 ? tokens / (gen_ms / 1000.0) : 0;
    return s;
}

void print_table(std::FILE* out, const std::vector<scenario>& all)
{
    std::fprintf(out, "\n%-18s %5s %4s | %-34s | %-34s | %-34s | %8s\n", "scenario", "n", "err",
                "time to headers ms (min/p50/p90/p99/max)", "time to first token ms", "total ms", "tok/s");
    for (const auto& sc : all) {
        auto s = summarize(sc);
        auto fmt = [](const stats& x) {
            char b[64];
            std::snprintf(b, sizeof b, "%6.1f %6.1f %6.1f %6.1f %6.1f", x.min, x.p50, x.p90, x.p99, x.max);
            return std::string(b);
        };
        std::fprintf(out, "%-18s %5zu %4zu | %-34s | %-34s | %-34s | %8.1f\n", sc.name.c_str(), s.count, s.errors,
                    fmt(s.headers).c_str(), fmt(s.first_token).c_str(), fmt(s.total).c_str(), s.tokens_per_second);
    }
    for (const auto& sc : all)
        for (const auto& x : sc.samples)
            if (!x.ok) {
                std::fprintf(out, "first error in %s: %s\n", sc.name.c_str(), x.error.c_str());
                break;
            }
}

json::object to_json(const stats& s)
{
    return {{"min", s.min}, {"p50", s.p50}, {"p90", s.p90}, {"p99", s.p99}, {"max", s.max}};
}

std::string json_document(const std::vector<scenario>& all, const options& o)
{
    json::array arr;
    for (const auto& sc : all) {
        auto s = summarize(sc);
        json::array samples;
        for (const auto& x : sc.samples)
            samples.push_back(json::object{{"ok", x.ok},
                                           {"headers_ms", x.headers_ms},
                                           {"first_token_ms", x.first_token_ms},
                                           {"total_ms", x.total_ms},
                                           {"tokens", x.tokens}});
        arr.push_back(json::object{{"name", sc.name},
                                   {"description", sc.description},
                                   {"count", s.count},
                                   {"errors", s.errors},
                                   {"time_to_headers_ms", to_json(s.headers)},
                                   {"time_to_first_token_ms", to_json(s.first_token)},
                                   {"total_ms", to_json(s.total)},
                                   {"tokens_per_second", s.tokens_per_second},
                                   {"samples", std::move(samples)}});
    }
    json::object doc{{"target", o.url.empty() ? std::string("embedded simulator") : o.url},
                     {"models", json::value_from(o.models)},
                     {"scenarios", std::move(arr)}};
    if (o.url.empty())
        doc["simulated_load_ms"] = o.load_ms;
    return json::serialize(doc);
}

std::string csv_document(const std::vector<scenario>& all)
{
    std::ostringstream os;
    os << "scenario,count,errors";
    for (const char* m : {"headers", "first_token", "total"})
        for (const char* p : {"min", "p50", "p90", "p99", "max"})
            os << ',' << m << '_' << p << "_ms";
    os << ",tokens_per_second\n";
    for (const auto& sc : all) {
        auto s = summarize(sc);
        os << sc.name << ',' << s.count << ',' << s.errors;
        for (const auto* x : {&s.headers, &s.first_token, &s.total})
            os << ',' << x->min << ',' << x->p50 << ',' << x->p90 << ',' << x->p99 << ',' << x->max;
        os << ',' << s.tokens_per_second << '\n';
    }
    return os.str();
}

// A strip chart: one row per scenario, each request's time to first token as a dot,
// the p50 as a bar, the min..max range as a line.
std::string svg_document(const std::vector<scenario>& all)
{
    double top = 1;
    for (const auto& sc : all)
        for (const auto& x : sc.samples)
            if (x.ok)
                top = std::max(top, x.first_token_ms);
    top *= 1.05;
    const int left = 170, width = 640, row = 36, head = 40;
    const int height = head + row * static_cast<int>(all.size()) + 40;
    std::ostringstream os;
    os << "<svg xmlns='http://www.w3.org/2000/svg' width='" << left + width + 30 << "' height='" << height
       << "' font-family='sans-serif' font-size='12'>\n"
       << "<rect width='100%' height='100%' fill='white'/>\n"
       << "<text x='" << left << "' y='20' font-size='14'>time to first token (ms) per request, by scenario</text>\n";
    auto xpos = [&](double v) { return left + static_cast<int>(v / top * width); };
    for (int t = 0; t <= 4; ++t) {
        double v = top * t / 4;
        os << "<line x1='" << xpos(v) << "' y1='" << head - 5 << "' x2='" << xpos(v) << "' y2='" << height - 30
           << "' stroke='#ddd'/>\n<text x='" << xpos(v) << "' y='" << height - 12 << "' text-anchor='middle'>"
           << static_cast<int>(v) << "</text>\n";
    }
    for (std::size_t i = 0; i < all.size(); ++i) {
        const auto& sc = all[i];
        int y = head + row * static_cast<int>(i) + row / 2;
        auto s = summarize(sc);
        os << "<text x='" << left - 8 << "' y='" << y + 4 << "' text-anchor='end'>" << sc.name << "</text>\n";
        if (s.count == s.errors)
            continue;
        os << "<line x1='" << xpos(s.first_token.min) << "' y1='" << y << "' x2='" << xpos(s.first_token.max)
           << "' y2='" << y << "' stroke='#888'/>\n";
        for (const auto& x : sc.samples)
            if (x.ok)
                os << "<circle cx='" << xpos(x.first_token_ms) << "' cy='" << y << "' r='3' fill='#3366cc' "
                   << "fill-opacity='0.6'/>\n";
        os << "<line x1='" << xpos(s.first_token.p50) << "' y1='" << y - 10 << "' x2='" << xpos(s.first_token.p50)
           << "' y2='" << y + 10 << "' stroke='#cc3333' stroke-width='2'/>\n";
    }
    os << "</svg>\n";
    return os.str();
}

void write_file(const std::string& path, const std::string& text)
{
    if (path == "-") {
        std::cout << text << '\n';
        return;
    }
    std::ofstream f(path);
    f << text;
    if (!f)
        throw std::runtime_error("cannot write " + path);
}

} // namespace

int main(int argc, char** argv)
{
    options o;
    for (int i = 1; i < argc; ++i) {
        std::string k = argv[i];
        auto next = [&]() -> std::string {
            if (i + 1 >= argc)
                throw std::invalid_argument(k + " needs a value");
            return argv[++i];
        };
        try {
            if (k == "--help" || k == "-h") {
                usage();
                return 0;
            } else if (k == "--url")
                o.url = next();
            else if (k == "--token")
                o.token = next();
            else if (k == "--ca-file")
                o.ca_file = next();
            else if (k == "--insecure")
                o.insecure = true;
            else if (k == "--models")
                o.models = split(next());
            else if (k == "--load-ms")
                o.load_ms = std::stoi(next());
            else if (k == "--tokens-per-second")
                o.tokens_per_second = std::stod(next());
            else if (k == "--max-tokens")
                o.max_tokens = std::stoi(next());
            else if (k == "--repeats")
                o.repeats = std::stoi(next());
            else if (k == "--burst")
                o.burst = std::stoi(next());
            else if (k == "--deadline")
                o.deadline = std::chrono::seconds(std::stoi(next()));
            else if (k == "--json")
                o.json_path = next();
            else if (k == "--csv")
                o.csv_path = next();
            else if (k == "--svg")
                o.svg_path = next();
            else if (k == "--quiet")
                o.quiet = true;
            else if (k == "--multi-host-only")
                o.multi = 2;
            else if (k == "--no-multi-host")
                o.multi = 0;
            else if (k == "--hosts")
                o.mh.hosts = std::stoi(next());
            else if (k == "--host-models")
                o.mh.models = std::stoi(next());
            else if (k == "--host-requests")
                o.mh.requests = std::stoi(next());
            else if (k == "--clients")
                o.mh.clients = std::stoi(next());
            else if (k == "--host-load-ms")
                o.mh.load_ms = std::stoi(next());
            else if (k == "--no-kill")
                o.mh.kill = false;
            else
                throw std::invalid_argument("unknown option " + k);
        } catch (const std::exception& e) {
            std::fprintf(stderr, "majordomo-swapbench: %s (see --help)\n", e.what());
            return 2;
        }
    }

    // A document written to stdout stands alone there: the tables go to stderr.
    const bool document_on_stdout = o.json_path == "-" || o.csv_path == "-" || o.svg_path == "-";
    std::FILE* report = document_on_stdout ? stderr : stdout;

    if (o.url.empty() && o.multi == 2) {
        if (o.mh.hosts < 2 || o.mh.models <= o.mh.hosts || o.mh.clients < 1 || o.mh.requests < 1) {
            std::fprintf(stderr, "majordomo-swapbench: the multi-host scenario needs --hosts >= 2 and --host-models > --hosts\n");
            return 2;
        }
        auto all = multihost::run_all(o.mh);
        multihost::print(report, o.mh, all);
        return all.at(0).ttft_ms.empty() ? 1 : 0;
    }

    asio::io_context ioc(1);
    std::optional<sim::simulator> simulator;
    if (o.url.empty()) {
        sim::simulator_params sp;
        const char* names[] = {"qwen-7b", "llama-8b", "gemma-4b"};
        for (int i = 0; i < 3; ++i) {
            sim::model_params m;
            m.id = names[i];
            m.load_time = std::chrono::milliseconds(o.load_ms + 50 * i);
            m.tokens_per_second = o.tokens_per_second;
            sp.models.push_back(m);
        }
        simulator.emplace(ioc.get_executor(), sp);
        o.url = simulator->url();
        if (o.models.empty())
            o.models = {names[0], names[1], names[2]};
    }
    if (o.models.size() < 2) {
        std::fprintf(stderr, "majordomo-swapbench: --models needs at least two chat models\n");
        return 2;
    }
    llamaswap::provider_params pp;
    pp.base_url = o.url;
    pp.token = o.token;
    pp.http_params.tls.ca_file = o.ca_file;
    pp.http_params.tls.unsafe_disable_verification = o.insecure;
    llamaswap::provider provider(ioc.get_executor(), pp);

    if (!o.quiet)
        std::fprintf(stderr, "swap benchmark against %s (%s), models %s\n", o.url.c_str(),
                     simulator ? "embedded llama-swap simulator" : "llama-swap", [&] {
                         std::string s;
                         for (const auto& m : o.models)
                             s += (s.empty() ? "" : ",") + m;
                         return s;
                     }().c_str());
    std::vector<scenario> results;
    std::exception_ptr failure;
    asio::co_spawn(ioc, run_all(provider, o), [&](std::exception_ptr e, std::vector<scenario> r) {
        failure = e;
        results = std::move(r);
        if (simulator)
            simulator->stop();
        ioc.stop();
    });
    ioc.run();
    if (failure) {
        try {
            std::rethrow_exception(failure);
        } catch (const std::exception& e) {
            std::fprintf(stderr, "majordomo-swapbench: %s\n", e.what());
            return 1;
        }
    }
    print_table(report, results);
    try {
        if (!o.json_path.empty())
            write_file(o.json_path, json_document(results, o));
        if (!o.csv_path.empty())
            write_file(o.csv_path, csv_document(results));
        if (!o.svg_path.empty()) {
            write_file(o.svg_path, svg_document(results));
            std::fprintf(report, "chart: %s\n", o.svg_path.c_str());
        }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "majordomo-swapbench: %s\n", e.what());
        return 1;
    }
    std::size_t errors = 0;
    for (const auto& sc : results)
        errors += summarize(sc).errors;
    // The multi-host run kills a host on purpose: its errors are figures, not a failure.
    if (simulator && o.multi == 1 && o.mh.hosts >= 2 && o.mh.models > o.mh.hosts) {
        auto all = multihost::run_all(o.mh);
        multihost::print(report, o.mh, all);
        if (all.at(0).ttft_ms.empty())
            return 1;
    }
    return errors ? 1 : 0;
}

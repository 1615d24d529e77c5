// A fault soak: 10,000 concurrent streams for a bounded time over an io_context run by four
// threads, against the llama-swap simulator with faults in about 10% of the calls (stalls cut
// by deadlines, early closes, errors mid-stream, 429s). Every call must end with its data or
// the error its fault calls for; file descriptors and resident memory go back to where they
// started. Not a timed test: a program that prints what happened and exits non-zero when
// anything is unaccounted for.
//
//   majordomo-soak [--streams N] [--seconds S] [--threads T]
//
// The simulator runs in a child process so that each side stays within the file limit.
#include "bench_support.hpp"

#include <majordomo/deadline.hpp>
#include <majordomo/http/client.hpp>
#include <majordomo/llamaswap/provider.hpp>
#include <majordomo/llm/chunk.hpp>
#include <majordomo/llm/classify.hpp>
#include <majordomo/sim/simulator.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include <malloc.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <map>
#include <mutex>
#include <thread>

namespace asio = boost::asio;
using namespace majordomo;
using namespace std::chrono_literals;

namespace {

std::size_t open_fds()
{
    std::size_t n = 0;
    for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator("/proc/self/fd"))
        ++n;
    return n;
}

// Models and the share of calls each gets, out of 1000: 90% plain, 10% faulty.
struct model_mix {
    const char* id;
    int per_mille;
    llm::error_kind expected;        // what a failed call of this model must be
    std::chrono::milliseconds bound; // the caller's deadline: generous, except to cut stalls
};
const model_mix mix[] = {
    {"plain", 900, llm::error_kind::other, 60s}, // never fails
    {"stall", 25, llm::error_kind::deadline, 2s},
    {"cut", 25, llm::error_kind::stream_truncated, 60s},
    {"error", 25, llm::error_kind::server, 60s},
    {"busy", 25, llm::error_kind::rate_limited, 60s},
};

sim::simulator_params sim_params()
{
    sim::simulator_params p;
    p.exclusive = false;
    for (const auto& m : mix) {
        sim::model_params mp;
        mp.id = m.id;
        mp.load_time = 50ms;
        mp.tokens_per_second = 10; // a stream lasts about a second and overlaps thousands of others
        mp.reply = "a soak reply of ten words that stays open a while";
        if (std::string_view(m.id) == "stall")
            mp.f = sim::fault::stall;
        else if (std::string_view(m.id) == "cut")
            mp.f = sim::fault::cut_stream;
        else if (std::string_view(m.id) == "error")
            mp.f = sim::fault::error_mid_stream;
        else if (std::string_view(m.id) == "busy")
            mp.concurrency_limit = 20;
        p.models.push_back(mp);
    }
    return p;
}

// Runs the simulator in a child process; returns its pid and port.
std::pair<pid_t, std::uint16_t> start_simulator()
{
    int fds[2];
    if (pipe(fds) != 0)
        throw std::runtime_error("pipe failed");
    const pid_t pid = fork();
    if (pid < 0)
        throw std::runtime_error("fork failed");
    if (pid == 0) {
        close(fds[0]);
        bench::raise_file_limit();
        asio::io_context ioc;
        sim::simulator s(ioc.get_executor(), sim_params());
        const std::uint16_t port = s.port();
        if (write(fds[1], &port, sizeof port) != sizeof port)
            _exit(3);
        close(fds[1]);
        asio::signal_set stop(ioc, SIGTERM);
        stop.async_wait([&](boost::system::error_code, int) {
            s.stop();
            ioc.stop();
        });
        ioc.run();
        _exit(0);
    }
    close(fds[1]);
    std::uint16_t port = 0;
    if (read(fds[0], &port, sizeof port) != sizeof port)
        throw std::runtime_error("the simulator did not start");
    close(fds[0]);
    return {pid, port};
}

class tally {
public:
    void add(const std::string& model, const std::string& outcome, bool accounted)
    {
        std::lock_guard lock(mutex_);
        ++counts_[{model, outcome}];
        if (!accounted)
            ++unaccounted_;
    }
    std::map<std::pair<std::string, std::string>, std::size_t> counts() const
    {
        std::lock_guard lock(mutex_);
        return counts_;
    }
    std::size_t unaccounted() const
    {
        std::lock_guard lock(mutex_);
        return unaccounted_;
    }

private:
    mutable std::mutex mutex_;
    std::map<std::pair<std::string, std::string>, std::size_t> counts_;
    std::size_t unaccounted_ = 0;
};

asio::awaitable<std::size_t> one_stream(std::shared_ptr<llm::model> m)
{
    llm::chat_request req;
    req.messages = {llm::message::user("soak")};
    auto s = co_await m->async_chat_stream(req);
    std::size_t chars = 0;
    for (;;) {
        auto c = co_await s.async_next();
        if (!c)
            break;
        chars += c->text().size();
    }
    co_return chars;
}

} // namespace

int main(int argc, char** argv)
{
    bench::options opts(argc, argv, {{"streams", "10000"}, {"seconds", "20"}, {"threads", "4"}});
    const auto streams = static_cast<std::size_t>(opts.num("streams"));
    const double seconds = opts.real("seconds");
    const int threads = static_cast<int>(opts.num("threads"));
    bench::raise_file_limit();

    auto [sim_pid, port] = start_simulator();
    const std::size_t fds_before = open_fds();
    malloc_trim(0);
    const std::size_t rss_before = bench::rss_bytes();

    std::atomic<std::size_t> started{0}, in_flight{0}, peak_fds{fds_before}, peak_rss{rss_before};
    tally t;
    {
        asio::io_context ioc(threads);
        http::client_params hp;
        hp.max_connections_per_origin = streams + 16;
        http::client http(ioc.get_executor(), hp);
        llamaswap::provider_params pp;
        pp.base_url = "http://127.0.0.1:" + std::to_string(port);
        pp.http = http;
        auto swap = llamaswap::make_provider(ioc.get_executor(), pp);
        std::map<std::string, std::shared_ptr<llm::model>> models;
        for (const auto& m : mix)
            models[m.id] = swap->get_model(m.id);

        const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
        std::atomic<std::size_t> seq{0};
        // Starts one call and, when it ends, another while time remains: `streams` stay in flight.
        std::function<void()> launch = [&] {
            if (std::chrono::steady_clock::now() >= end)
                return;
            const std::size_t n = seq++;
            const int slot = static_cast<int>((n * 7919) % 1000);
            const model_mix* pick = &mix[0];
            for (int acc = 0; const auto& m : mix) {
                acc += m.per_mille;
                if (slot < acc) {
                    pick = &m;
                    break;
                }
            }
            ++started;
            ++in_flight;
            asio::co_spawn(ioc.get_executor(), with_deadline(one_stream(models[pick->id]), pick->bound),
                           [&, pick](std::exception_ptr e, std::size_t chars) {
                               if (!e) {
                                   t.add(pick->id, chars > 0 ? "completed with data" : "completed empty", chars > 0);
                               } else {
                                   auto c = llm::classify(e);
                                   const bool expected = c.kind == pick->expected;
                                   t.add(pick->id, std::string("failed: ") + llm::to_string(c.kind), expected);
                               }
                               --in_flight;
                               launch();
                           });
        };
        std::vector<std::thread> pool;
        auto guard = asio::make_work_guard(ioc);
        for (int i = 0; i < threads; ++i)
            pool.emplace_back([&] { ioc.run(); });
        for (std::size_t i = 0; i < streams; ++i)
            asio::post(ioc, launch);
        while (std::chrono::steady_clock::now() < end || in_flight > 0) {
            std::this_thread::sleep_for(100ms);
            peak_fds = std::max<std::size_t>(peak_fds, open_fds());
            peak_rss = std::max<std::size_t>(peak_rss, bench::rss_bytes());
        }
        http.close_idle();
        guard.reset();
        for (auto& th : pool)
            th.join();
    }
    malloc_trim(0);
    const std::size_t fds_after = open_fds();
    const std::size_t rss_after = bench::rss_bytes();
    kill(sim_pid, SIGTERM);
    waitpid(sim_pid, nullptr, 0);

    std::size_t total = 0;
    std::printf("soak: %zu streams in flight, %.0f s, %d threads\n", streams, seconds, threads);
    std::printf("%-8s %-32s %10s\n", "model", "outcome", "calls");
    for (const auto& [key, n] : t.counts()) {
        std::printf("%-8s %-32s %10zu\n", key.first.c_str(), key.second.c_str(), n);
        total += n;
    }
    std::printf("calls started %zu, ended %zu, unaccounted for %zu\n", started.load(), total, t.unaccounted());
    std::printf("file descriptors: before %zu, peak %zu, after %zu\n", fds_before, peak_fds.load(), fds_after);
    std::printf("resident memory: before %.1f MiB, peak %.1f MiB, after %.1f MiB\n", rss_before / 1048576.0,
                peak_rss.load() / 1048576.0, rss_after / 1048576.0);
    const bool ok = total == started && t.unaccounted() == 0 && fds_after == fds_before;
    std::printf("%s\n", ok ? "soak: everything accounted for" : "soak: FAILED");
    return ok ? 0 : 1;
}

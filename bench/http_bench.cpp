// Whole-response requests at a fixed concurrency on one io_context thread, majordomo's
// http::client side by side with a minimal hand-written Beast client (the floor of
// overhead). Run against any server; bench/run_http_bench.sh starts nginx and wrk.
//
//   majordomo-httpbench --url http://127.0.0.1:8089/chat.json [--concurrency 64] [--seconds 5]
//
// Prints requests per second and client CPU per request for each client and their ratio.
// Exits non-zero if a response is wrong, so the figure cannot come from failures.

#include <majordomo/http/client.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/url/parse.hpp>

#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>

namespace asio = boost::asio;
namespace bh = boost::beast::http;
using namespace std::chrono_literals;

namespace {

struct options {
    std::string url = "http://127.0.0.1:8089/chat.json";
    int concurrency = 64;
    double seconds = 5;
    std::string only; // "beast" or "majordomo": run one side only (for profiling)
};

double cpu_seconds()
{
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
           static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

struct result {
    std::size_t requests = 0;
    std::size_t errors = 0;
    double wall = 0;
    double cpu = 0;
};

struct run_state {
    std::size_t requests = 0;
    std::size_t errors = 0;
    std::size_t body_bytes = 0;
    std::chrono::steady_clock::time_point stop_at;
};

asio::awaitable<void> majordomo_worker(majordomo::http::client& c, const options& o, run_state& st)
{
    while (std::chrono::steady_clock::now() < st.stop_at) {
        majordomo::http::request r;
        r.url = o.url;
        try {
            auto resp = co_await c.async_request(std::move(r));
            if (resp.status != 200 || (st.body_bytes && resp.body.size() != st.body_bytes))
                ++st.errors;
            st.body_bytes = resp.body.size();
            ++st.requests;
        } catch (const std::exception& e) {
            std::fprintf(stderr, "majordomo: %s\n", e.what());
            ++st.errors;
        }
    }
}

// The floor: one keep-alive connection per worker, no pool, no URL parsing per request.
asio::awaitable<void> beast_worker(const options& o, run_state& st)
{
    auto ex = co_await asio::this_coro::executor;
    auto u = boost::urls::parse_uri(o.url).value();
    asio::ip::tcp::socket sock(ex);
    co_await sock.async_connect({asio::ip::make_address(u.host_address()), u.port_number()}, asio::use_awaitable);
    sock.set_option(asio::ip::tcp::no_delay(true));
    boost::beast::flat_buffer buf;
    bh::request<bh::empty_body> req(bh::verb::get, std::string(u.encoded_target()), 11);
    req.set(bh::field::host, std::string(u.encoded_host_and_port()));
    while (std::chrono::steady_clock::now() < st.stop_at) {
        co_await bh::async_write(sock, req, asio::use_awaitable);
        bh::response<bh::string_body> resp;
        co_await bh::async_read(sock, buf, resp, asio::use_awaitable);
        if (resp.result_int() != 200 || (st.body_bytes && resp.body().size() != st.body_bytes))
            ++st.errors;
        st.body_bytes = resp.body().size();
        ++st.requests;
    }
}

template <class Spawn>
result run(const options& o, Spawn spawn)
{
    asio::io_context ioc(1);
    run_state st;
    st.stop_at = std::chrono::steady_clock::now() + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                                        std::chrono::duration<double>(o.seconds));
    const double cpu0 = cpu_seconds();
    const auto t0 = std::chrono::steady_clock::now();
    auto keep = spawn(ioc, st); // destroyed before ioc
    ioc.run();
    result r;
    r.wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    r.cpu = cpu_seconds() - cpu0;
    r.requests = st.requests;
    r.errors = st.errors;
    return r;
}

void print(const char* name, const result& r)
{
    std::printf("%-10s %10.0f req/s  %8.2f us CPU/req  %zu requests  %zu errors\n", name, r.requests / r.wall,
                r.cpu * 1e6 / static_cast<double>(std::max<std::size_t>(1, r.requests)), r.requests, r.errors);
}

} // namespace

int main(int argc, char** argv)
{
    options o;
    for (int i = 1; i + 1 < argc; i += 2) {
        std::string k = argv[i];
        if (k == "--url")
            o.url = argv[i + 1];
        else if (k == "--concurrency")
            o.concurrency = std::stoi(argv[i + 1]);
        else if (k == "--only")
            o.only = argv[i + 1];
        else if (k == "--seconds")
            o.seconds = std::stod(argv[i + 1]);
        else {
            std::fprintf(stderr, "unknown option %s\n", k.c_str());
            return 2;
        }
    }
    std::printf("%d concurrent requests on one thread, %.1f s each, %s\n", o.concurrency, o.seconds, o.url.c_str());

    const bool run_beast = o.only.empty() || o.only == "beast";
    const bool run_mine = o.only.empty() || o.only == "majordomo";
    result beast, mine;
    if (run_beast)
        beast = run(o, [&](asio::io_context& ioc, run_state& st) {
        for (int i = 0; i < o.concurrency; ++i)
            asio::co_spawn(ioc, beast_worker(o, st), asio::detached);
        return std::shared_ptr<void>();
    });
    if (run_beast)
        print("beast", beast);
    if (run_mine)
        mine = run(o, [&](asio::io_context& ioc, run_state& st) {
        majordomo::http::client_params p;
        p.max_connections_per_origin = static_cast<std::size_t>(o.concurrency);
        auto client = std::make_shared<majordomo::http::client>(ioc.get_executor(), p);
        for (int i = 0; i < o.concurrency; ++i)
            asio::co_spawn(ioc, majordomo_worker(*client, o, st), asio::detached);
        return client;
    });
    if (run_mine)
        print("majordomo", mine);
    if (!run_beast || !run_mine)
        return (mine.errors || beast.errors || !(mine.requests + beast.requests)) ? 1 : 0;
    std::printf("ratio majordomo/beast: %.3f requests per second, %.3f CPU per request\n",
                (mine.requests / mine.wall) / (beast.requests / beast.wall),
                (mine.cpu / static_cast<double>(mine.requests)) / (beast.cpu / static_cast<double>(beast.requests)));
    return (mine.errors || beast.errors || !mine.requests || !beast.requests) ? 1 : 0;
}

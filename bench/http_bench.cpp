// Whole-response chat requests at a fixed concurrency on one io_context thread:
// a minimal hand-written Beast client (the floor of overhead), majordomo's
// http::client, and openai::provider::async_chat (request encoding and response
// decoding included), side by side against the same server. bench/run.sh starts
// nginx serving the canned response, and runs wrk and the Node SDK beside this.
//
//   majordomo-httpbench --url http://127.0.0.1:8089/whole/v1 [--concurrency 64] [--seconds 5]
//                       [--only beast|http|chat]
//
// Prints requests per second and client CPU per request for each, and the ratios.
// Exits non-zero if a response is wrong, so a figure cannot come from failures.

#include "bench_support.hpp"

#include <majordomo/http/client.hpp>
#include <majordomo/openai/provider.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/url/parse.hpp>

#include <chrono>
#include <cstdio>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <string>

namespace asio = boost::asio;
namespace bh = boost::beast::http;
namespace llm = majordomo::llm;
using clock_type = std::chrono::steady_clock;

namespace {

struct run_state {
    std::string url;  // POST target
    std::string body; // the request body
    std::size_t requests = 0;
    std::size_t errors = 0;
    std::size_t expected_body = 0; // bytes of the canned response
    clock_type::time_point stop_at;

    void count(int status, std::size_t body_size)
    {
        if (status != 200 || body_size != expected_body) {
            if (!errors++)
                std::fprintf(stderr, "status %d, %zu body bytes; expected 200 and %zu\n", status, body_size,
                             expected_body);
        }
        ++requests;
    }
    void fail(const char* who, const std::exception& e)
    {
        if (!errors++)
            std::fprintf(stderr, "%s: %s\n", who, e.what());
    }
};

// The floor: one keep-alive connection per worker, no pool, no URL parsing per request.
asio::awaitable<void> beast_worker(run_state& st)
{
    auto ex = co_await asio::this_coro::executor;
    auto u = boost::urls::parse_uri(st.url).value();
    asio::ip::tcp::socket sock(ex);
    co_await sock.async_connect({asio::ip::make_address(u.host_address()), u.port_number()}, asio::use_awaitable);
    sock.set_option(asio::ip::tcp::no_delay(true));
    boost::beast::flat_buffer buf;
    bh::request<bh::string_body> req(bh::verb::post, std::string(u.encoded_target()), 11);
    req.set(bh::field::host, std::string(u.encoded_host_and_port()));
    req.set(bh::field::content_type, "application/json");
    req.body() = st.body;
    req.prepare_payload();
    while (clock_type::now() < st.stop_at) {
        co_await bh::async_write(sock, req, asio::use_awaitable);
        bh::response<bh::string_body> resp;
        co_await bh::async_read(sock, buf, resp, asio::use_awaitable);
        st.count(resp.result_int(), resp.body().size());
    }
}

asio::awaitable<void> http_worker(majordomo::http::client& c, run_state& st)
{
    while (clock_type::now() < st.stop_at) {
        majordomo::http::request r;
        r.method = "POST";
        r.url = st.url;
        r.headers.set("Content-Type", "application/json");
        r.body = st.body;
        try {
            auto resp = co_await c.async_request(std::move(r));
            st.count(resp.status, resp.body.size());
        } catch (const std::exception& e) {
            st.fail("http", e);
        }
    }
}

asio::awaitable<void> chat_worker(majordomo::openai::provider& p, run_state& st)
{
    while (clock_type::now() < st.stop_at) {
        llm::chat_request r;
        r.model = "bench-model";
        r.messages.emplace_back(llm::role::user, "Say hello.");
        try {
            auto resp = co_await p.async_chat(std::move(r));
            // The decoded text stands in for the body: it must be the canned one.
            st.count(200, resp.text() == bench::canned_content ? st.expected_body : 0);
        } catch (const std::exception& e) {
            st.fail("chat", e);
        }
    }
}

struct result {
    std::size_t requests = 0;
    std::size_t errors = 0;
    double wall = 0;
    double cpu = 0;
    double rate() const { return static_cast<double>(requests) / wall; }
    double cpu_us() const { return cpu * 1e6 / static_cast<double>(std::max<std::size_t>(1, requests)); }
};

// Runs `spawn` (which starts the workers) on a fresh one-thread io_context.
result run(const bench::options& o, const std::function<std::shared_ptr<void>(asio::io_context&, run_state&)>& spawn)
{
    asio::io_context ioc(1);
    run_state st;
    st.url = o.str("url") + "/chat/completions";
    st.body = bench::canned_request(false);
    st.expected_body = bench::canned_response().size();
    st.stop_at = clock_type::now() +
                 std::chrono::duration_cast<clock_type::duration>(std::chrono::duration<double>(o.real("seconds")));
    const double cpu0 = bench::cpu_seconds();
    const auto t0 = clock_type::now();
    auto keep = spawn(ioc, st); // destroyed before ioc
    ioc.run();
    result r;
    r.wall = std::chrono::duration<double>(clock_type::now() - t0).count();
    r.cpu = bench::cpu_seconds() - cpu0;
    r.requests = st.requests;
    r.errors = st.errors;
    return r;
}

void print(const char* name, const result& r)
{
    std::printf("%-16s %9.0f req/s  %7.2f us CPU/req  %zu requests  %zu errors\n", name, r.rate(), r.cpu_us(),
                r.requests, r.errors);
}

} // namespace

int main(int argc, char** argv)
{
    bench::options o(argc, argv,
                     {{"url", "http://127.0.0.1:8089/whole/v1"}, {"concurrency", "64"}, {"seconds", "5"}, {"only", ""}});
    const auto conc = static_cast<std::size_t>(o.num("concurrency"));
    std::printf("%zu concurrent whole-response requests on one thread, %.1f s each, %s/chat/completions\n", conc,
                o.real("seconds"), o.str("url").c_str());
    const auto& only = o.str("only");
    std::map<std::string, result> results;
    auto want = [&](const char* n) { return only.empty() || only == n; };

    if (want("beast")) {
        results["beast"] = run(o, [&](asio::io_context& ioc, run_state& st) {
            for (std::size_t i = 0; i < conc; ++i)
                asio::co_spawn(ioc, beast_worker(st), asio::detached);
            return std::shared_ptr<void>();
        });
        print("beast (floor)", results["beast"]);
    }
    if (want("http")) {
        results["http"] = run(o, [&](asio::io_context& ioc, run_state& st) {
            majordomo::http::client_params p;
            p.max_connections_per_origin = conc;
            auto client = std::make_shared<majordomo::http::client>(ioc.get_executor(), p);
            for (std::size_t i = 0; i < conc; ++i)
                asio::co_spawn(ioc, http_worker(*client, st), asio::detached);
            return client;
        });
        print("majordomo http", results["http"]);
    }
    if (want("chat")) {
        results["chat"] = run(o, [&](asio::io_context& ioc, run_state& st) {
            majordomo::openai::provider_params pp;
            pp.base_url = o.str("url");
            pp.api_key = "no-key";
            pp.http_params.max_connections_per_origin = conc;
            auto p = majordomo::openai::make_provider(ioc.get_executor(), std::move(pp));
            for (std::size_t i = 0; i < conc; ++i)
                asio::co_spawn(ioc, chat_worker(*p, st), asio::detached);
            return p;
        });
        print("majordomo chat", results["chat"]);
    }
    bool ok = !results.empty();
    for (const auto& [name, r] : results)
        ok = ok && r.requests && !r.errors;
    if (results.count("beast"))
        for (const char* n : {"http", "chat"})
            if (results.count(n))
                std::printf("ratio majordomo %s / beast: %.3f of the requests per second, %.3f x the CPU per "
                            "request\n",
                            n, results[n].rate() / results["beast"].rate(),
                            results[n].cpu_us() / results["beast"].cpu_us());
    return ok ? 0 : 1;
}

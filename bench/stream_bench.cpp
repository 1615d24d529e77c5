// Streamed chat responses through openai::provider from a server on loopback
// (bench/run.sh starts nginx with the canned 1,000-chunk stream).
//
//   majordomo-streambench --write-fixtures DIR [--chunks 1000]
//       writes DIR/whole/v1/chat/completions and DIR/stream/v1/chat/completions
//   majordomo-streambench --url http://127.0.0.1:8089/stream/v1 [--concurrency 8] [--seconds 5]
//       client CPU microseconds per chunk
//   majordomo-streambench --url ... --streams 10000
//       10,000 streams in flight at once on one thread: resident memory per stream
//   majordomo-streambench --url ... --only floor|majordomo|both (default both)
//       the floor: a minimal hand-written client on the same stream, run first, then
//       majordomo; with both, the ratio of CPU per chunk
//
// Every stream must deliver exactly the canned chunks and text, or the bench exits
// non-zero: a figure never comes from failures.

#include "alloc_count.hpp"
#include "bench_support.hpp"

#include <majordomo/llm/chunk.hpp>
#include <majordomo/openai/provider.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parser.hpp>
#include <boost/url/parse.hpp>

#include <chrono>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <fstream>
#include <string>

namespace asio = boost::asio;
namespace bh = boost::beast::http;
namespace llm = majordomo::llm;
using clock_type = std::chrono::steady_clock;

namespace {

struct tally {
    std::size_t streams = 0;
    std::size_t chunks = 0;
    std::size_t bad = 0; // wrong chunk count or text, or an exception
    std::size_t expected_chunks = 0;
    std::size_t expected_text = 0;
};

llm::chat_request make_request()
{
    llm::chat_request r;
    r.model = "bench-model";
    r.messages.emplace_back(llm::role::user, "Say hello.");
    r.stream_include_usage = false;
    return r;
}

// Reads one opened stream to its end and checks it against the fixture.
asio::awaitable<void> drain(llm::chat_stream s, std::size_t chunks, std::size_t text, tally& t)
{
    for (;;) {
        const llm::chat_chunk* c = co_await s.async_next_view(); // the steady path: no allocation per chunk
        if (!c)
            break;
        ++chunks;
        text += c->text().size();
    }
    t.chunks += chunks;
    ++t.streams;
    if (chunks != t.expected_chunks || text != t.expected_text) {
        if (!t.bad++)
            std::fprintf(stderr, "a stream gave %zu chunks and %zu bytes of text, not %zu and %zu\n", chunks, text,
                         t.expected_chunks, t.expected_text);
    }
}

asio::awaitable<void> throughput_worker(majordomo::openai::provider& p, clock_type::time_point stop_at, tally& t)
{
    while (clock_type::now() < stop_at) {
        try {
            auto s = co_await p.async_chat_stream(make_request());
            co_await drain(std::move(s), 0, 0, t);
        } catch (const std::exception& e) {
            if (!t.bad++)
                std::fprintf(stderr, "stream failed: %s\n", e.what());
        }
    }
}

// The floor: what a hand-written client spends on the same stream. Beast for the response
// head and body, one keep-alive connection per worker, a plain SSE line split, one JSON
// parser reused on a stack-backed arena, and choices[0].delta.content touched per chunk.
asio::awaitable<void> floor_worker(std::string url, clock_type::time_point stop_at, tally& t)
{
    auto ex = co_await asio::this_coro::executor;
    url += "/chat/completions";
    auto u = boost::urls::parse_uri(url).value();
    asio::ip::tcp::socket sock(ex);
    co_await sock.async_connect({asio::ip::make_address(u.host_address()), u.port_number()}, asio::use_awaitable);
    sock.set_option(asio::ip::tcp::no_delay(true));
    bh::request<bh::string_body> req(bh::verb::post, std::string(u.encoded_target()), 11);
    req.set(bh::field::host, std::string(u.encoded_host_and_port()));
    req.set(bh::field::content_type, "application/json");
    req.set(bh::field::accept, "text/event-stream");
    req.body() = bench::canned_request(true);
    req.prepare_payload();
    boost::beast::flat_buffer buf;
    unsigned char arena_bytes[8192];
    boost::json::monotonic_resource arena(arena_bytes, sizeof arena_bytes);
    boost::json::parser json;
    std::string line; // an event line cut by a read
    char body[4096];
    while (clock_type::now() < stop_at) {
        co_await bh::async_write(sock, req, asio::use_awaitable);
        bh::response_parser<bh::buffer_body> p;
        p.body_limit(boost::none);
        co_await bh::async_read_header(sock, buf, p, asio::use_awaitable);
        std::size_t chunks = 0, text = 0;
        bool done = false;
        auto on_line = [&](std::string_view l) {
            if (!l.starts_with("data: "))
                return;
            l.remove_prefix(6);
            if (l == "[DONE]") {
                done = true;
                return;
            }
            arena.release();
            json.reset(boost::json::storage_ptr(&arena));
            json.write(l.data(), l.size());
            const auto v = json.release();
            ++chunks;
            if (const auto* c = v.as_object().at("choices").as_array().at(0).as_object().at("delta").as_object().if_contains("content");
                c && c->is_string())
                text += c->get_string().size();
        };
        while (!p.is_done()) {
            p.get().body().data = body;
            p.get().body().size = sizeof body;
            auto [ec, n] = co_await bh::async_read(sock, buf, p, asio::as_tuple(asio::use_awaitable));
            if (ec && ec != bh::error::need_buffer)
                throw boost::system::system_error(ec);
            std::string_view got(body, sizeof body - p.get().body().size);
            for (std::size_t nl; (nl = got.find('\n')) != std::string_view::npos; got.remove_prefix(nl + 1)) {
                if (line.empty()) {
                    on_line(got.substr(0, nl));
                } else {
                    line.append(got.substr(0, nl));
                    on_line(line);
                    line.clear();
                }
            }
            line.append(got);
        }
        t.chunks += chunks;
        ++t.streams;
        if (!done || chunks != t.expected_chunks || text != t.expected_text) {
            if (!t.bad++)
                std::fprintf(stderr, "a floor stream gave %zu chunks and %zu bytes of text, not %zu and %zu\n",
                             chunks, text, t.expected_chunks, t.expected_text);
        }
    }
}

// Every stream waits here, after its first chunk, until all are in flight.
struct hold {
    asio::steady_timer gate;
    std::size_t total = 0;
    std::size_t in_flight = 0;
    std::size_t rss = 0; // resident bytes with every stream in flight
    clock_type::time_point all_in_flight;

    // Returns true for the last stream in, which opens the gate instead of waiting.
    bool arrive()
    {
        if (++in_flight < total)
            return false;
        rss = bench::rss_bytes();
        all_in_flight = clock_type::now();
        gate.cancel();
        return true;
    }
};

asio::awaitable<void> held_stream(majordomo::openai::provider& p, hold& h, tally& t)
{
    try {
        auto s = co_await p.async_chat_stream(make_request());
        const llm::chat_chunk* first = co_await s.async_next_view(); // as drain() reads, into the stream's chunk
        const std::size_t chunks = first ? 1 : 0;
        const std::size_t text = first ? first->text().size() : 0;
        if (!h.arrive())
            co_await h.gate.async_wait(asio::as_tuple(asio::use_awaitable));
        co_await drain(std::move(s), chunks, text, t);
    } catch (const std::exception& e) {
        if (!t.bad++)
            std::fprintf(stderr, "stream failed: %s\n", e.what());
        h.arrive();
    }
}

std::shared_ptr<majordomo::openai::provider> make_provider(asio::io_context& ioc, const std::string& url,
                                                           std::size_t connections)
{
    majordomo::openai::provider_params pp;
    pp.base_url = url;
    pp.api_key = "no-key";
    pp.legacy_max_tokens = true;
    pp.http_params.max_connections_per_origin = connections;
    return majordomo::openai::make_provider(ioc.get_executor(), std::move(pp));
}

int write_fixtures(const std::string& dir, std::size_t chunks)
{
    namespace fs = std::filesystem;
    auto put = [&](const std::string& rel, const std::string& body) {
        fs::path p = fs::path(dir) / rel;
        fs::create_directories(p.parent_path());
        std::ofstream(p, std::ios::binary) << body;
    };
    put("whole/v1/chat/completions", bench::canned_response());
    put("stream/v1/chat/completions", bench::canned_stream(chunks));
    std::printf("fixtures in %s: a whole chat response and a %zu-chunk stream\n", dir.c_str(), chunks);
    return 0;
}

} // namespace

int main(int argc, char** argv)
{
    bench::options o(argc, argv,
                     {{"url", "http://127.0.0.1:8089/stream/v1"},
                      {"chunks", "1000"},
                      {"concurrency", "8"},
                      {"seconds", "5"},
                      {"streams", "0"},
                      {"only", "both"},
                      {"write-fixtures", ""}});
    const auto chunks = static_cast<std::size_t>(o.num("chunks"));
    if (!o.str("write-fixtures").empty())
        return write_fixtures(o.str("write-fixtures"), chunks);

    tally t;
    // The canned stream's last event has no choices text; the role chunk has none either.
    t.expected_chunks = chunks;
    t.expected_text = bench::canned_stream_text_size(chunks);
    const auto held = static_cast<std::size_t>(o.num("streams"));

    if (held == 0) {
        const auto conc = static_cast<std::size_t>(o.num("concurrency"));
        const std::string only = o.str("only");
        // Runs `spawn` on one thread for --seconds; returns CPU microseconds per chunk.
        auto measure = [&](const char* name, auto spawn) {
            tally r = t;
            asio::io_context ioc(1);
            const auto stop_at = clock_type::now() + std::chrono::duration_cast<clock_type::duration>(
                                                          std::chrono::duration<double>(o.real("seconds")));
            const double cpu0 = bench::cpu_seconds();
            const std::size_t a0 = bench::allocations.load();
            const auto t0 = clock_type::now();
            const std::shared_ptr<void> keep = spawn(ioc, stop_at, r); // dies before ioc
            ioc.run();
            const double cpu = bench::cpu_seconds() - cpu0;
            const double allocs = static_cast<double>(bench::allocations.load() - a0) /
                                  static_cast<double>(std::max<std::size_t>(r.chunks, 1));
            const double wall = std::chrono::duration<double>(clock_type::now() - t0).count();
            const double us = cpu * 1e6 / static_cast<double>(std::max<std::size_t>(r.chunks, 1));
            std::printf("%-17s %zu streams of %zu chunks, %zu concurrent: %.0f chunks/s, %.3f us CPU per chunk, "
                        "%.2f allocations per chunk, %zu bad\n",
                        name, r.streams, chunks, conc, static_cast<double>(r.chunks) / wall, us, allocs, r.bad);
            return r.bad || !r.streams ? -1.0 : us;
        };
        double floor_us = 0, ours_us = 0;
        if (only != "majordomo")
            floor_us = measure("floor stream", [&](asio::io_context& ioc, clock_type::time_point stop_at, tally& r) {
                for (std::size_t i = 0; i < conc; ++i)
                    asio::co_spawn(ioc, floor_worker(o.str("url"), stop_at, r), [&r](std::exception_ptr e) {
                        try {
                            if (e)
                                std::rethrow_exception(e);
                        } catch (const std::exception& x) {
                            if (!r.bad++)
                                std::fprintf(stderr, "a floor worker failed: %s\n", x.what());
                        }
                    });
                return std::shared_ptr<void>();
            });
        if (only != "floor")
            ours_us = measure("majordomo stream", [&](asio::io_context& ioc, clock_type::time_point stop_at, tally& r) {
                auto p = make_provider(ioc, o.str("url"), conc);
                for (std::size_t i = 0; i < conc; ++i)
                    asio::co_spawn(ioc, throughput_worker(*p, stop_at, r), asio::detached);
                return std::shared_ptr<void>(p);
            });
        if (floor_us < 0 || ours_us < 0)
            return 1;
        if (floor_us > 0 && ours_us > 0)
            std::printf("ratio majordomo / floor: %.2f x the CPU per chunk\n", ours_us / floor_us);
        return 0;
    }

    bench::raise_file_limit();
    asio::io_context ioc(1);
    auto p = make_provider(ioc, o.str("url"), held);
    hold h{asio::steady_timer(ioc, clock_type::time_point::max()), held, 0, 0, {}};
    const std::size_t rss0 = bench::rss_bytes();
    const auto t0 = clock_type::now();
    for (std::size_t i = 0; i < held; ++i)
        asio::co_spawn(ioc, held_stream(*p, h, t), asio::detached);
    ioc.run();
    const auto t1 = clock_type::now();
    auto secs = [](clock_type::duration d) { return std::chrono::duration<double>(d).count(); };
    const double per = (static_cast<double>(h.rss) - static_cast<double>(rss0)) / static_cast<double>(held);
    std::printf("majordomo held    %zu streams in flight on one thread: %zu completed, %zu bad; all in flight "
                "after %.1f s, drained in %.1f s; resident %.1f MiB before, %.1f MiB in flight: %.1f KiB per "
                "stream\n",
                held, t.streams, t.bad, secs(h.all_in_flight - t0), secs(t1 - h.all_in_flight),
                static_cast<double>(rss0) / 1048576.0, static_cast<double>(h.rss) / 1048576.0, per / 1024.0);
    return t.bad || t.streams != held ? 1 : 0;
}

// The HTTP response reader (http::detail::response_reader): status line, interim responses,
// headers, framing, chunked bodies, trailers and every limit, fed from memory through an
// Asio read stream that hands the bytes over in pieces. Invariants:
//  - every error is an http::errc, whatever the bytes (the stream itself only ends);
//  - the outcome (status, body bytes, idle age, or failure) is the same whether the bytes
//    come all at once or in pieces of sizes the input picks;
//  - a final status is never 1xx; a HEAD response has no body; a body never exceeds the limit;
//  - try_finish() says the body ended only when reading it would give no byte and no error;
//  - the idle age is at most the maximum, and zero for HTTP/1.0.
//
// Input: a config byte (header limit, body limit, HEAD, read size, most bytes per read), a
// split byte, the response. Bodies are read by copying and in place (async_read_view).
#include "check.hpp"

#include "http/response_reader.hpp"
#include "support/memory_stream.hpp"

#include <majordomo/http/errc.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <array>
#include <cstdint>
#include <exception>
#include <string>
#include <string_view>

namespace {

namespace asio = boost::asio;
using majordomo::http::detail::reader_limits;
using majordomo::http::detail::response_reader;
using majordomo::test::memory_stream;
using std::chrono::seconds;

constexpr std::string_view name = "http_response";

// Piece sizes from a seed: 1 to seed bytes each.
memory_stream::piece_sizes pieces(unsigned seed)
{
    if (seed == 0)
        return nullptr;
    return [seed, state = 1u]() mutable {
        state = state * 1103515245u + 12345u;
        return std::size_t(1 + (state >> 16) % seed);
    };
}

struct config {
    reader_limits limits;
    std::size_t read_size = 4096;
};

struct outcome {
    boost::system::error_code ec;
    int status = 0;
    std::string body;
    bool done = false;
    std::chrono::steady_clock::duration idle{};
    bool operator==(const outcome&) const = default;
};

constexpr auto max_idle = seconds(15);

// Reads the response to its end (or, with `finish_early`, only tries to finish it after the
// head); `finished` receives what try_finish said.
asio::awaitable<outcome> read(memory_stream& stream, const config& cfg, bool finish_early, bool& finished, bool views)
{
    outcome o;
    boost::beast::flat_buffer buffer(cfg.limits.header_limit);
    response_reader r(cfg.limits);
    o.ec = co_await r.async_read_head(stream, buffer);
    o.ec = majordomo::http::detail::map_read_error(o.ec);
    if (!o.ec)
        o.ec = r.check_framing();
    if (o.ec)
        co_return o;
    o.status = r.parser().get().result_int();
    o.idle = r.idle_age(max_idle);
    if (finish_early) {
        finished = r.try_finish(buffer);
        o.done = finished;
        co_return o;
    }
    if (views) { // in place: the pieces must add up to what copying reads
        for (;;) {
            auto [ec, piece] = co_await r.async_read_view(stream, buffer);
            if (ec)
                o.ec = ec;
            if (ec || piece.empty())
                break;
            o.body.append(piece);
        }
        o.done = r.is_done();
        co_return o;
    }
    std::string out(cfg.read_size, '\0');
    while (!r.is_done()) {
        auto [ec, n] = co_await r.async_read_some(stream, buffer, out);
        o.body.append(out, 0, n);
        if (ec) {
            o.ec = ec;
            break;
        }
    }
    o.done = r.is_done();
    co_return o;
}

outcome run(std::string_view response, const config& cfg, unsigned seed, bool finish_early, bool& finished,
            bool views = false)
{
    asio::io_context ioc;
    memory_stream stream(ioc.get_executor(), response, pieces(seed));
    outcome result;
    std::exception_ptr failure;
    asio::co_spawn(ioc, read(stream, cfg, finish_early, finished, views), [&](std::exception_ptr e, outcome o) {
        failure = e;
        result = std::move(o);
    });
    ioc.run();
    if (failure) {
        try {
            std::rethrow_exception(failure);
        } catch (...) {
            fuzz::foreign_exception(name, response);
        }
    }
    return result;
}

[[noreturn]] void fail(const std::string& what, std::string_view input) { fuzz::fail(name, what, input); }

std::string describe(const outcome& o)
{
    return "status " + std::to_string(o.status) + ", " + std::to_string(o.body.size()) + " body bytes, error '" +
           o.ec.message() + "', done " + std::to_string(o.done);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    if (size < 2)
        return 0;
    static constexpr std::array<std::size_t, 4> header_limits{64 * 1024, 256, 1024, 40};
    static constexpr std::array<std::size_t, 4> read_sizes{4096, 1, 7, 64};
    config cfg;
    cfg.limits.header_limit = header_limits[data[0] & 3];
    if (data[0] & 4)
        cfg.limits.body_limit = 100;
    cfg.limits.head_only = (data[0] & 8) != 0;
    cfg.read_size = read_sizes[(data[0] >> 4) & 3];
    static constexpr std::array<std::size_t, 4> max_read_sizes{8192, 512, 1024, 64};
    cfg.limits.max_read_size = max_read_sizes[(data[0] >> 6) & 3];
    const unsigned seed = 1 + data[1] % 32;
    const std::string_view response(reinterpret_cast<const char*>(data) + 2, size - 2);

    bool unused = false;
    const auto whole = run(response, cfg, 0, false, unused);
    const auto split = run(response, cfg, seed, false, unused);
    // Both failing may fail differently: before the head's end arrives Beast only looks
    // for that end, so a malformed line read in pieces shows as a truncated response.
    if (whole.ec.failed() != split.ec.failed() || (!whole.ec && !(whole == split)))
        fail("read whole: " + describe(whole) + "; in pieces: " + describe(split), response);
    const auto viewed = run(response, cfg, seed, false, unused, true);
    if (whole.ec.failed() != viewed.ec.failed() || (!whole.ec && !(whole == viewed)))
        fail("read whole: " + describe(whole) + "; in place, in pieces: " + describe(viewed), response);

    const auto& e = whole.ec;
    if (e && &e.category() != &majordomo::http::get_http_category())
        fail("an error outside http::errc: " + e.message(), response);
    if (!e && whole.status / 100 == 1)
        fail("an interim status returned as the final one", response);
    if (!e && !whole.done)
        fail("no error, and the body did not end", response);
    if (cfg.limits.head_only && !whole.body.empty())
        fail("a body after HEAD", response);
    if (cfg.limits.body_limit && whole.body.size() > *cfg.limits.body_limit)
        fail("a body over the limit", response);
    if (whole.idle > max_idle || whole.idle < decltype(whole.idle)::zero())
        fail("an idle age beyond the maximum", response);

    bool finished = false;
    const auto early = run(response, cfg, 0, true, finished);
    if (finished && (e || !whole.body.empty()))
        fail("try_finish said the body ended, reading it gave " + describe(whole), response);
    (void)early;
    return 0;
}

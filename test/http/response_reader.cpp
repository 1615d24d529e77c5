// The response reader over bytes in memory, cut into every piece size: limits hold to the
// byte however the bytes arrive, and what is read does not depend on the cuts.
#include "http/response_reader.hpp"

#include "support/memory_stream.hpp"

#include <majordomo/http/errc.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/test/unit_test.hpp>

#include <cstdio>
#include <cstring>
#include <vector>
#include <string>

namespace asio = boost::asio;
namespace bh = boost::beast::http;
using majordomo::http::errc;
using majordomo::http::detail::map_read_error;
using majordomo::http::detail::reader_limits;
using reader_type = majordomo::http::detail::response_reader;
using majordomo::test::memory_stream;

namespace {

struct result {
    boost::system::error_code ec; // mapped to http::errc
    int status = 0;
    std::string body;
    std::size_t fields = 0; // of the final head
};

// Reads `bytes` to the response's end, `piece` bytes per read (0: all that fits).
result read(std::string_view bytes, reader_limits limits, std::size_t piece, std::size_t read_size = 4096)
{
    asio::io_context ioc;
    memory_stream::piece_sizes sizes;
    if (piece)
        sizes = [piece] { return piece; };
    memory_stream stream(ioc.get_executor(), bytes, sizes);
    result r;
    asio::co_spawn(
        ioc,
        [&]() -> asio::awaitable<void> {
            boost::beast::flat_buffer buffer(limits.header_limit);
            reader_type reader(limits);
            auto ec = co_await reader.async_read_head(stream, buffer);
            r.ec = map_read_error(ec);
            if (!r.ec)
                r.ec = reader.check_framing();
            if (r.ec)
                co_return;
            const auto& msg = reader.parser().get();
            r.status = msg.result_int();
            r.fields = static_cast<std::size_t>(std::distance(msg.begin(), msg.end()));
            std::string out(read_size, '\0');
            while (!reader.is_done()) {
                auto [bec, n] = co_await reader.async_read_some(stream, buffer, out);
                r.body.append(out, 0, n);
                if (bec) {
                    r.ec = bec;
                    co_return;
                }
            }
        },
        [](std::exception_ptr e) {
            if (e)
                std::rethrow_exception(e);
        });
    ioc.run();
    return r;
}

// A status line and fields up to exactly `size` bytes of head, blank line included.
std::string head_of_size(std::size_t size, std::string_view rest = "Content-Length: 2\r\n")
{
    std::string h = "HTTP/1.1 200 OK\r\n";
    h += rest;
    const std::size_t fixed = h.size() + std::string_view("X-Pad: \r\n\r\n").size();
    BOOST_REQUIRE(size >= fixed);
    h += "X-Pad: " + std::string(size - fixed, 'p') + "\r\n\r\n";
    BOOST_REQUIRE_EQUAL(h.size(), size);
    return h;
}

reader_limits limits_of(std::size_t header_limit)
{
    reader_limits l;
    l.header_limit = header_limit;
    return l;
}

struct view_result {
    boost::system::error_code ec;
    std::string body;
    bool done = false;        // the reader said the body ended
    std::size_t left = 0;     // bytes the stream still held
    std::size_t capacity = 0; // the read buffer's largest capacity
};

// Reads `bytes` through async_read_view to the body's end, the buffer starting at 1 KiB.
view_result read_views(const std::string& bytes, memory_stream::piece_sizes sizes,
                       reader_limits limits = limits_of(1024))
{
    asio::io_context ioc;
    memory_stream stream(ioc.get_executor(), bytes, std::move(sizes));
    view_result r;
    asio::co_spawn(
        ioc,
        [&]() -> asio::awaitable<void> {
            boost::beast::flat_buffer buffer(limits.header_limit);
            buffer.reserve(1024);
            reader_type reader(limits);
            r.ec = co_await reader.async_read_head(stream, buffer);
            while (!r.ec) {
                auto [ec, piece] = co_await reader.async_read_view(stream, buffer);
                r.ec = ec;
                r.capacity = std::max(r.capacity, buffer.capacity());
                if (piece.empty())
                    break;
                r.body += piece;
            }
            r.done = !r.ec && reader.is_done();
        },
        asio::detached);
    ioc.run();
    r.left = stream.remaining();
    return r;
}

} // namespace

BOOST_AUTO_TEST_SUITE(http)
BOOST_AUTO_TEST_SUITE(response_reader)

BOOST_AUTO_TEST_CASE(the_header_limit_is_exact_in_every_piece_size)
{
    const std::size_t limit = 200;
    for (std::size_t piece = 0; piece <= 64; ++piece) {
        const auto at = read(head_of_size(limit) + "ok", limits_of(limit), piece);
        BOOST_TEST(!at.ec, "a head of exactly the limit, pieces of " << piece << ": " << at.ec.message());
        BOOST_TEST(at.body == "ok");
        const auto over = read(head_of_size(limit + 1) + "ok", limits_of(limit), piece);
        BOOST_TEST(over.ec == errc::header_limit_exceeded, "one byte over, pieces of " << piece << ": " << over.ec.message());
    }
}

// Beast bounds each parse step, not the head: fields whose pieces end just past a line
// were parsed and kept without end. The reader counts the head itself.
BOOST_AUTO_TEST_CASE(fields_cut_after_each_line_cannot_grow_the_head)
{
    std::string bytes = "HTTP/1.1 200 OK\r\nX";
    std::vector<std::size_t> cuts;
    for (int i = 0; i < 5000; ++i) {
        char field[32];
        std::snprintf(field, sizeof field, "-%04d: v\r\nX", i);
        bytes += field;
        cuts.push_back(std::strlen(field));
    }
    bytes += "-end: v\r\nContent-Length: 2\r\n\r\nok";
    asio::io_context ioc;
    std::size_t next = 0;
    cuts.front() += std::string_view("HTTP/1.1 200 OK\r\nX").size();
    memory_stream stream(ioc.get_executor(), bytes, [&] { return next < cuts.size() ? cuts[next++] : 64; });
    boost::system::error_code ec;
    std::size_t fields = 0;
    asio::co_spawn(
        ioc,
        [&]() -> asio::awaitable<void> {
            boost::beast::flat_buffer buffer(4096);
            reader_type reader(limits_of(4096));
            ec = co_await reader.async_read_head(stream, buffer);
            const auto& msg = reader.parser().get();
            fields = static_cast<std::size_t>(std::distance(msg.begin(), msg.end()));
        },
        asio::detached);
    ioc.run();
    BOOST_TEST(map_read_error(ec) == errc::header_limit_exceeded, ec.message());
    BOOST_TEST(fields < 4096 / 10, "fields kept: " << fields);
    BOOST_TEST(stream.remaining() > bytes.size() / 2, "read on after the limit");
}

BOOST_AUTO_TEST_CASE(interim_heads_share_the_budget)
{
    const std::string interim = "HTTP/1.1 100 Continue\r\n\r\n"; // 25 bytes
    for (std::size_t piece : {0, 1, 3, 7, 25, 26}) {
        const auto fits = read(interim + interim + head_of_size(100) + "ok", limits_of(150), piece);
        BOOST_TEST(!fits.ec, "pieces of " << piece << ": " << fits.ec.message());
        BOOST_TEST(fits.status == 200);
        const auto over = read(interim + interim + head_of_size(101) + "ok", limits_of(150), piece);
        BOOST_TEST(over.ec == errc::header_limit_exceeded, "pieces of " << piece << ": " << over.ec.message());
    }
}

BOOST_AUTO_TEST_CASE(an_upgrade_nobody_asked_for_is_refused)
{
    for (std::size_t piece : {0, 1, 5}) {
        const auto r = read("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n",
                            limits_of(1024), piece);
        BOOST_TEST(r.ec == errc::unexpected_upgrade);
    }
}

BOOST_AUTO_TEST_CASE(an_end_before_any_byte_tells_a_stale_connection_from_a_truncated_head)
{
    asio::io_context ioc;
    for (std::string_view bytes : {std::string_view(""), std::string_view("HTTP/1.1 200")}) {
        memory_stream stream(ioc.get_executor(), bytes);
        boost::system::error_code ec;
        bool received = false;
        asio::co_spawn(
            ioc,
            [&]() -> asio::awaitable<void> {
                boost::beast::flat_buffer buffer(1024);
                reader_type reader(limits_of(1024));
                ec = co_await reader.async_read_head(stream, buffer);
                received = reader.received();
            },
            asio::detached);
        ioc.run();
        ioc.restart();
        // The client retries an idempotent request only on end_of_stream with nothing received.
        BOOST_TEST((ec == bh::error::end_of_stream) == bytes.empty(), ec.message());
        BOOST_TEST(received == !bytes.empty());
        BOOST_TEST(map_read_error(ec) == errc::response_truncated);
    }
}

BOOST_AUTO_TEST_CASE(chunked_bodies_read_the_same_in_every_piece_and_read_size)
{
    const std::string response = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                                 "5;ext=\"a b\"\r\nhello\r\n1\r\n \r\nA\r\n0123456789\r\n0;last\r\nX-T: 1\r\n\r\n";
    for (std::size_t piece = 0; piece <= response.size(); ++piece)
        for (std::size_t read_size : {1, 2, 5, 4096}) {
            const auto r = read(response, limits_of(1024), piece, read_size);
            BOOST_TEST(!r.ec, "pieces of " << piece << ", reads of " << read_size << ": " << r.ec.message());
            BOOST_TEST(r.body == "hello 0123456789", "pieces of " << piece << ", reads of " << read_size);
        }
}

BOOST_AUTO_TEST_CASE(body_phase_overflows_are_told_apart_in_every_piece_size)
{
    const std::string head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
    const std::string long_line = head + "5;" + std::string(300, 'x') + "\r\nhello\r\n0\r\n\r\n";
    const std::string long_trailer = head + "5\r\nhello\r\n0\r\nX-T: " + std::string(300, 'y') + "\r\n\r\n";
    for (std::size_t piece : {0, 1, 2, 3, 7, 64, 255, 256, 257}) {
        BOOST_TEST(read(long_line, limits_of(256), piece).ec == errc::chunk_line_limit_exceeded, piece);
        BOOST_TEST(read(long_trailer, limits_of(256), piece).ec == errc::trailer_limit_exceeded, piece);
    }
}

BOOST_AUTO_TEST_CASE(try_finish_is_true_only_for_an_end_already_buffered)
{
    struct sample {
        std::string bytes;
        bool finished;
    };
    const std::string chunked = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
    const sample samples[] = {
        {chunked + "0\r\n\r\n", true},
        {chunked + "0\r\nX-T: 1\r\n\r\n", true},
        {chunked + "0\r\n", false},          // the trailer's end not here yet
        {chunked + "1\r\na\r\n0\r\n\r\n", false}, // a body byte nobody read
        {"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", true},
        {"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n", false},
        {"HTTP/1.0 200 OK\r\n\r\n", false}, // ends at EOF: needs another read
    };
    for (const auto& s : samples) {
        asio::io_context ioc;
        memory_stream stream(ioc.get_executor(), s.bytes);
        bool finished = !s.finished;
        asio::co_spawn(
            ioc,
            [&]() -> asio::awaitable<void> {
                boost::beast::flat_buffer buffer(1024);
                reader_type reader(limits_of(1024));
                auto ec = co_await reader.async_read_head(stream, buffer);
                BOOST_TEST(!ec, ec.message());
                finished = reader.is_done() || reader.try_finish(buffer);
            },
            asio::detached);
        ioc.run();
        BOOST_TEST(finished == s.finished, s.bytes);
    }
}

// Beast asserts (debug builds) when a last chunk's line was parsed alone and the next
// parse is offered fewer than 5 bytes: the reader holds them back until 5 are buffered.
// Found by the http_response fuzz target.
BOOST_AUTO_TEST_CASE(a_last_chunk_arriving_a_byte_at_a_time_after_its_line)
{
    const std::string head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
    const struct {
        std::string body;    // the chunked body
        std::size_t whole;   // how much of it arrives in one piece, after the head
        std::string decoded;
    } cases[] = {
        {"0\r\n\r\n", 3, ""},
        {"0\r\nX-T: 1\r\n\r\n", 3, ""},
        {"5\r\nhello\r\n0\r\n\r\n", 13, "hello"},
        {"5\r\nhello\r\n0\r\n\r\n", 11, "hello"},
        {"5\r\nhello\r\n000;x=1\r\n\r\n", 17, "hello"},
    };
    for (const auto& c : cases) {
        bool first = true;
        const auto r = read_views(head + c.body, [&] {
            const std::size_t n = first ? head.size() + c.whole : 1;
            first = false;
            return n;
        });
        BOOST_TEST(!r.ec, c.body << ": " << r.ec.message());
        BOOST_TEST(r.done, c.body);
        BOOST_TEST(r.body == c.decoded, c.body);
        BOOST_TEST(r.left == 0u, c.body);
    }
}

// Views hand out the body where it lies, in the read buffer: whatever the cuts and the
// framing, they add up to the body, each one valid until the next read.
BOOST_AUTO_TEST_CASE(views_add_up_to_the_body_in_every_piece_size_and_framing)
{
    std::string payload;
    for (int i = 0; i < 300; ++i)
        payload += static_cast<char>('a' + i % 26);
    std::string chunked;
    for (std::size_t at = 0; at < payload.size(); at += 37) {
        const auto part = payload.substr(at, 37);
        char line[16];
        std::snprintf(line, sizeof line, "%zx\r\n", part.size());
        chunked += line + part + "\r\n";
    }
    chunked += "0\r\n\r\n";
    const std::string responses[] = {
        "HTTP/1.1 200 OK\r\nContent-Length: 300\r\n\r\n" + payload,
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked,
        "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n" + payload, // to EOF
    };
    for (const auto& response : responses)
        for (std::size_t piece = 0; piece <= 64; ++piece) {
            memory_stream::piece_sizes sizes;
            if (piece)
                sizes = [piece] { return piece; };
            const auto r = read_views(response, sizes);
            BOOST_TEST(!r.ec, "pieces of " << piece << ": " << r.ec.message());
            BOOST_TEST(r.done);
            BOOST_TEST(r.body == payload, "pieces of " << piece << ", " << response.substr(0, 50));
        }
}

// The read buffer is sized to the stream: it doubles while reads fill it, up to
// max_read_size, and a stream that trickles keeps the size it began with.
BOOST_AUTO_TEST_CASE(the_read_buffer_grows_only_while_reads_fill_it)
{
    const std::string body(64 * 1024, 'x');
    const std::string response = "HTTP/1.1 200 OK\r\nContent-Length: 65536\r\n\r\n" + body;
    reader_limits limits = limits_of(64 * 1024);
    limits.max_read_size = 8 * 1024;
    for (std::size_t piece : {0, 100, 600}) {
        memory_stream::piece_sizes sizes;
        if (piece)
            sizes = [piece] { return piece; };
        const auto r = read_views(response, sizes, limits);
        BOOST_TEST(!r.ec);
        BOOST_TEST(r.body.size() == body.size());
        if (piece == 0)
            BOOST_TEST(r.capacity == 8u * 1024, "a flood grows the buffer to max_read_size, no further: " << r.capacity);
        else
            BOOST_TEST(r.capacity == 1024u, "pieces of " << piece << " leave the buffer as it began: " << r.capacity);
    }
}

BOOST_AUTO_TEST_SUITE_END()
BOOST_AUTO_TEST_SUITE_END()

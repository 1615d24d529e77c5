// What a hostile or broken server can send, byte by byte: each fault for a whole call and
// for a stream, on a fresh and on a reused connection. Each must end in its specific
// error (or its right answer), leak no file descriptor, and leave the client serving
// the next request correctly.
#include <majordomo/deadline.hpp>
#include <majordomo/http/client.hpp>

#include "support/printers.hpp"
#include "support/run_coro.hpp"
#include "support/fault_script.hpp"
#include "support/test_server.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/test/unit_test.hpp>

#include <cstdio>
#include <functional>

namespace asio = boost::asio;
using namespace majordomo;
using namespace std::chrono_literals;
using majordomo::test::test_server;
using herr = majordomo::http::errc;

namespace {

using script = test::fault_script;
using test::open_fds;
using test::send;
using test::then;

struct fault {
    std::string name;
    script run;
    boost::system::error_code expected; // none: the call succeeds with `body`
    std::string body;
    std::string method = "GET";
};

std::string big(std::size_t n, char c) { return std::string(n, c); }

// A status line and n fields of 32 bytes each, without the blank line.
std::string fields_head(int n)
{
    std::string s = "HTTP/1.1 200 OK\r\n";
    for (int i = 0; i < n; ++i) {
        char field[40];
        std::snprintf(field, sizeof field, "X-%04d: 0123456789012345678901\r\n", i);
        s += field;
    }
    return s;
}

const std::string chunked_head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";

std::vector<fault> faults()
{
    using ec = boost::system::error_code;
    const ec deadline = make_error_code(client_errc::deadline_exceeded);
    std::vector<fault> f = {
        {"stall before headers", send("", then::stall), deadline, ""},
        {"stall mid-body", send("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial", then::stall), deadline, ""},
        {"close before headers", send("", then::close), herr::response_truncated, ""},
        {"close mid-headers", send("HTTP/1.1 200 OK\r\nContent-Le", then::close), herr::response_truncated, ""},
        {"close mid-chunk", send(chunked_head + "10\r\nabc", then::close), herr::response_truncated, ""},
        {"reset before headers", send("", then::reset), asio::error::connection_reset, ""},
        {"garbage status line", send("SSH-2.0-OpenSSH_9.2\r\n\r\n", then::stall), herr::bad_status_line, ""},
        {"binary garbage", send(std::string("\x16\x03\x01\x00\x05\x00\x00\r\n\r\n", 11), then::stall),
         herr::bad_status_line, ""},
        {"header over the limit", send("HTTP/1.1 200 OK\r\nX-Big: " + big(20000, 'h'), then::stall),
         herr::header_limit_exceeded, ""},
        // Beast bounds each parse step, not the whole head: many short fields in one
        // write passed an 8 KiB limit before the reader counted the head itself.
        {"many short fields over the limit", send(fields_head(300) + "Content-Length: 2\r\n\r\nok", then::keep),
         herr::header_limit_exceeded, ""},
        {"many short fields under the limit", send(fields_head(250) + "Content-Length: 2\r\n\r\nok", then::keep),
         {}, "ok"},
        {"endless status line", send("HTTP/1.1 200 " + big(20000, 'r'), then::stall), herr::header_limit_exceeded,
         ""},
        {"endless chunk-size line", send(chunked_head + big(50000, '1'), then::stall),
         herr::chunk_line_limit_exceeded, ""},
        {"endless chunk extension", send(chunked_head + "5;name=" + big(50000, 'x'), then::stall),
         herr::chunk_line_limit_exceeded, ""},
        {"endless last-chunk extension", send(chunked_head + "0;name=" + big(50000, 'x'), then::stall),
         herr::chunk_line_limit_exceeded, ""},
        {"endless trailer", send(chunked_head + "5\r\nhello\r\n0\r\nX-T: " + big(50000, 'y'), then::stall),
         herr::trailer_limit_exceeded, ""},
        {"endless trailer fields",
         send(chunked_head + "5\r\nhello\r\n0\r\n" + [] {
             std::string s;
             for (int i = 0; i < 5000; ++i)
                 s += "X-" + std::to_string(i) + ": v\r\n";
             return s;
         }(), then::stall),
         herr::trailer_limit_exceeded, ""},
        {"endless interim responses", send([] {
             std::string s;
             for (int i = 0; i < 2000; ++i)
                 s += "HTTP/1.1 102 Processing\r\n\r\n";
             return s;
         }(), then::stall),
         herr::header_limit_exceeded, ""},
        {"1xx before the final response",
         send("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 102 Processing\r\n\r\n"
              "HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\n"
              "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfinal",
              then::keep),
         {}, "final"},
        {"101 without an upgrade request",
         send("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n", then::stall),
         herr::unexpected_upgrade, ""},
        {"Content-Length then Transfer-Encoding",
         send("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
              then::stall),
         herr::bad_framing, ""},
        {"Transfer-Encoding then Content-Length",
         send("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
              then::stall),
         herr::bad_framing, ""},
        {"gzip transfer coding with Content-Length",
         send("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nContent-Length: 5\r\n\r\nhello", then::stall),
         herr::bad_framing, ""},
        {"unknown transfer coding", send("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nhello", then::close),
         herr::bad_framing, ""},
        {"negative Content-Length", send("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", then::stall),
         herr::bad_framing, ""},
        {"overflowing Content-Length",
         send("HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\n", then::stall), herr::bad_framing,
         ""},
        {"conflicting Content-Lengths",
         send("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!", then::stall),
         herr::bad_framing, ""},
        {"bytes after a complete response",
         send("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nwrong",
              then::keep),
         {}, "ok"},
        {"Connection: close", send("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 3\r\n\r\nbye", then::keep),
         {}, "bye"},
        {"HTTP/1.0 read to EOF", send("HTTP/1.0 200 OK\r\n\r\nuntil the end", then::close), {}, "until the end"},
        {"HTTP/1.0 keep-alive is not pooled",
         send("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 3\r\n\r\nold", then::keep), {}, "old"},
        {"204 with a Content-Length has no body",
         send("HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n", then::keep), {}, ""},
        {"304 has no body", send("HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n", then::keep), {}, ""},
    };
    fault head{"HEAD has no body", send("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n", then::keep), {}, ""};
    head.method = "HEAD";
    f.push_back(std::move(head));
    // A POST the server read and then dropped: never sent twice, so the error stands.
    fault post{"POST answered by a close", send("", then::close), herr::response_truncated, ""};
    post.method = "POST";
    f.push_back(std::move(post));
    return f;
}

enum class call_kind { whole, stream };

// One call to /fault: the whole response, or a stream opened and read to its end.
asio::awaitable<std::string> call(majordomo::http::client& c, const std::string& url, const std::string& method,
                                  call_kind kind)
{
    majordomo::http::request req;
    req.method = method;
    req.url = url;
    if (method == "POST")
        req.body = "{\"n\":1}";
    if (kind == call_kind::whole) {
        auto r = co_await c.async_request(std::move(req));
        co_return r.body;
    }
    auto s = co_await c.async_open(std::move(req));
    std::string body;
    char buf[3]; // small reads: the framing is crossed at every offset
    for (;;) {
        const std::size_t n = co_await s.async_read_some(buf);
        if (n == 0)
            break;
        body.append(buf, n);
    }
    co_return body;
}

asio::awaitable<boost::system::error_code> outcome(majordomo::http::client& c, const std::string& url,
                                                   const std::string& method, call_kind kind, std::string& body)
{
    try {
        auto b = co_await with_deadline(call(c, url, method, kind), 300ms);
        body = std::move(b);
        co_return boost::system::error_code{};
    } catch (const boost::system::system_error& e) {
        co_return e.code();
    }
}

void run_matrix(call_kind kind, bool reused)
{
    asio::io_context ioc;
    test_server server(ioc.get_executor());
    const auto cases = faults();
    std::size_t current = 0;
    server.on_request([&](const test::received_request& req, test::exchange& ex) -> asio::awaitable<void> {
        if (req.target == "/ok") {
            co_await ex.async_respond(200, "ok " + std::to_string(req.body.size()));
            co_return;
        }
        co_await cases[current].run(ex);
    });
    majordomo::http::client_params p;
    p.header_limit = 8 * 1024;
    p.body_limit = 1024 * 1024;
    majordomo::http::client client(ioc.get_executor(), p);
    const auto label = std::string(kind == call_kind::whole ? "whole" : "stream") + (reused ? ", reused" : ", fresh");
    test::run_coro(ioc, [&]() -> asio::awaitable<void> {
        const std::size_t baseline = open_fds();
        for (current = 0; current < cases.size(); ++current) {
            const auto& c = cases[current];
            const std::string name = c.name + " (" + label + ")";
            if (reused) {
                majordomo::http::request first;
                first.url = server.url() + "/ok";
                auto warm = co_await client.async_request(first);
                BOOST_TEST(warm.body == "ok 0", name);
                BOOST_TEST(client.stats().idle == 1u, name);
            }
            const auto before = server.request_count();
            std::string body;
            const auto got = co_await outcome(client, server.url() + "/fault", c.method, kind, body);
            BOOST_TEST(got == c.expected, name << ": got " << got.message());
            if (!c.expected)
                BOOST_TEST(body == c.body, name);
            if (c.method == "POST")
                BOOST_TEST(server.request_count() - before == 1u, name << ": the POST was sent again");
            BOOST_TEST(client.stats().open == client.stats().idle, name << ": a connection is held");

            // The next request is answered correctly, whatever the fault left behind.
            majordomo::http::request next;
            next.method = "POST";
            next.url = server.url() + "/ok";
            next.body = "next";
            auto r = co_await client.async_request(next);
            BOOST_TEST(r.status == 200, name);
            BOOST_TEST(r.body == "ok 4", name << ": the next request got another answer");

            client.close_idle();
            co_await server.async_wait_open_connections(0, 2s);
            BOOST_TEST(server.open_connections() == 0u, name);
            BOOST_TEST(open_fds() == baseline, name << ": file descriptors leaked");
        }
    }(), 120s);
}

} // namespace

BOOST_AUTO_TEST_SUITE(http)
BOOST_AUTO_TEST_SUITE(fault_matrix)

BOOST_AUTO_TEST_CASE(whole_call_fresh_connection) { run_matrix(call_kind::whole, false); }
BOOST_AUTO_TEST_CASE(whole_call_reused_connection) { run_matrix(call_kind::whole, true); }
BOOST_AUTO_TEST_CASE(stream_fresh_connection) { run_matrix(call_kind::stream, false); }
BOOST_AUTO_TEST_CASE(stream_reused_connection) { run_matrix(call_kind::stream, true); }

BOOST_AUTO_TEST_SUITE_END()
BOOST_AUTO_TEST_SUITE_END()

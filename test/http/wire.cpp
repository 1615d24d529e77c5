// Regression tests for the wire-hardening defects: URLs and TLS host checks, safe
// retries, pool hand-over, idle expiry, and what a finished or closed stream leaves behind.
#include <majordomo/deadline.hpp>
#include <majordomo/http/client.hpp>

#include "support/printers.hpp"
#include "support/run_coro.hpp"
#include "support/test_ca.hpp"
#include "support/test_server.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/test/unit_test.hpp>

namespace asio = boost::asio;
using namespace majordomo;
using namespace std::chrono_literals;
using majordomo::test::test_server;
using herr = majordomo::http::errc;

namespace {

majordomo::http::request make(std::string method, std::string url, std::string body = {})
{
    majordomo::http::request r;
    r.method = std::move(method);
    r.url = std::move(url);
    r.body = std::move(body);
    return r;
}

asio::awaitable<void> sleep_for(std::chrono::milliseconds d)
{
    asio::steady_timer t(co_await asio::this_coro::executor, d);
    co_await t.async_wait(asio::use_awaitable);
}

asio::awaitable<boost::system::error_code> error_of(majordomo::http::client& c, majordomo::http::request r,
                                                    std::string* what = nullptr)
{
    try {
        co_await with_deadline(c.async_request(std::move(r)), 5s);
    } catch (const boost::system::system_error& e) {
        if (what)
            *what = e.what();
        co_return e.code();
    }
    co_return boost::system::error_code{};
}

void serve_ok(test_server& s)
{
    s.on_request([](const test::received_request& req, test::exchange& ex) -> asio::awaitable<void> {
        co_await ex.async_respond(200, "ok " + req.method + " " + req.body);
    });
}

} // namespace

BOOST_AUTO_TEST_SUITE(http)
BOOST_AUTO_TEST_SUITE(wire)

// A host that would read differently in C strings, or a port that wraps, is refused
// before anything is resolved or sent; the URL (and its userinfo) is never echoed.
BOOST_AUTO_TEST_CASE(hosts_and_ports_that_cannot_be_connected_to_are_bad_urls)
{
    asio::io_context ioc;
    majordomo::http::client client(ioc.get_executor());
    const std::vector<std::string> bad = {
        "https://localhost%00.good.test/",
        "https://user:s3cret@localhost%00.good.test/",
        "http://good.test%0a.evil/",
        "http://good%20test/",
        "http://good.test%2fevil/",
        "http://h:99999/",
        "http://h:65536/",
        "http://h:0/",
        "http://h:/",
        "http://user:s3cret@h:/x",
        "http://[v1.fe]/",
        "http:///nohost",
        "not a url",
        "http://user:s3cret@/x",
    };
    test::run_coro(ioc, [&]() -> asio::awaitable<void> {
        for (const auto& url : bad) {
            std::string what;
            auto ec = co_await error_of(client, make("GET", url), &what);
            BOOST_TEST(ec == herr::bad_url, url << ": " << ec.message());
            BOOST_TEST(what.find("s3cret") == std::string::npos, what);
            BOOST_TEST(what.find("evil") == std::string::npos, what);
        }
    }());
    BOOST_TEST(client.stats().connections_opened == 0u);
}

BOOST_AUTO_TEST_CASE(ports_at_the_edges_are_accepted)
{
    asio::io_context ioc;
    test_server server(ioc.get_executor());
    serve_ok(server);
    majordomo::http::client client(ioc.get_executor());
    test::run_coro(ioc, [&]() -> asio::awaitable<void> {
        // A leading zero is still the same port.
        auto r = co_await client.async_request(make("GET", "http://127.0.0.1:0" + std::to_string(server.port()) + "/"));
        BOOST_TEST(r.body == "ok GET ");
        // No port at all means 80: refused here, but not a bad URL.
        auto ec = co_await error_of(client, make("GET", "http://127.0.0.1/"));
        BOOST_TEST(ec != herr::bad_url);
    }());
    auto reqs = server.requests();
    BOOST_REQUIRE(reqs.size() == 1u);
    BOOST_TEST(reqs[0].header("Host") == "127.0.0.1:" + std::to_string(server.port()));
}

BOOST_AUTO_TEST_CASE(ipv6_literals_connect_and_pass_the_tls_ip_check)
{
    asio::io_context ioc;
    test::test_ca ca({"localhost"}, {"127.0.0.1", "::1"});
    test::test_ca v4_only({"localhost"}, {"127.0.0.1"});
    test_server plain(ioc.get_executor(), nullptr, "::1");
    test_server tls(ioc.get_executor(), &ca, "::1");
    test_server wrong(ioc.get_executor(), &v4_only, "::1");
    serve_ok(plain);
    serve_ok(tls);
    serve_ok(wrong);
    majordomo::http::client_params p;
    p.tls.ca_file = ca.ca_file();
    majordomo::http::client client(ioc.get_executor(), p);
    majordomo::http::client_params q;
    q.tls.ca_file = v4_only.ca_file();
    majordomo::http::client trusting_v4(ioc.get_executor(), q);
    test::run_coro(ioc, [&]() -> asio::awaitable<void> {
        BOOST_TEST(plain.url().starts_with("http://[::1]:"));
        auto r = co_await client.async_request(make("GET", plain.url() + "/x"));
        BOOST_TEST(r.body == "ok GET ");
        auto t = co_await client.async_request(make("GET", tls.url() + "/x"));
        BOOST_TEST(t.body == "ok GET ");
        // A certificate without the IPv6 address in its IP SANs is refused.
        std::string what;
        auto ec = co_await error_of(trusting_v4, make("GET", wrong.url() + "/x"), &what);
        BOOST_TEST(!!ec);
        BOOST_TEST(what.find("mismatch") != std::string::npos, what);
    }());
    auto reqs = plain.requests();
    BOOST_REQUIRE(reqs.size() == 1u);
    BOOST_TEST(reqs[0].header("Host") == "[::1]:" + std::to_string(plain.port()));
}

// The server reads the POST, acts on it, and closes without answering: sending it again
// would do the work twice. A GET in the same spot is retried once on a fresh connection.
BOOST_AUTO_TEST_CASE(a_post_the_server_may_have_read_is_never_sent_twice)
{
    for (const std::string method : {"POST", "PUT", "PATCH", "DELETE", "GET", "HEAD", "OPTIONS"}) {
        asio::io_context ioc;
        test_server server(ioc.get_executor());
        int acted = 0;
        server.on_request([&](const test::received_request& req, test::exchange& ex) -> asio::awaitable<void> {
            if (req.target == "/warm") {
                co_await ex.async_respond(200, "warm");
                co_return;
            }
            if (++acted == 1) {
                ex.close(); // worked, then dropped the connection without a word
                co_return;
            }
            co_await ex.async_respond(200, "second");
        });
        majordomo::http::client client(ioc.get_executor());
        const bool idempotent = method == "GET" || method == "HEAD" || method == "OPTIONS";
        test::run_coro(ioc, [&]() -> asio::awaitable<void> {
            co_await client.async_request(make("GET", server.url() + "/warm"));
            auto ec = co_await error_of(client, make(method, server.url() + "/work", "charge card"));
            if (idempotent) {
                BOOST_TEST(!ec, method << ": " << ec.message());
            } else {
                BOOST_TEST(ec == herr::response_truncated, method << ": " << ec.message());
            }
        }());
        BOOST_TEST(acted == (idempotent ? 2 : 1), method);
    }
}

// The same on a fresh connection: nothing is ever re-sent there.
BOOST_AUTO_TEST_CASE(nothing_is_retried_on_a_fresh_connection)
{
    asio::io_context ioc;
    test_server server(ioc.get_executor());
    int seen = 0;
    server.on_request([&](const test::received_request&, test::exchange& ex) -> asio::awaitable<void> {
        ++seen;
        ex.close();
        co_return;
    });
    majordomo::http::client client(ioc.get_executor());
    test::run_coro(ioc, [&]() -> asio::awaitable<void> {
        auto ec = co_await error_of(client, make("GET", server.url() + "/x"));
        BOOST_TEST(ec == herr::response_truncated);
    }());
    BOOST_TEST(seen == 1);
}

// A server that closed an idle connection is noticed before the request is written, so
// even a POST goes out once, on a fresh connection.
BOOST_AUTO_TEST_CASE(an_idle_connection_closed_by_the_server_is_not_written_to)
{
    asio::io_context ioc;
    test_server server(ioc.get_executor());
    serve_ok(server);
    majordomo::http::client client(ioc.get_executor());
    test::run_coro(ioc, [&]() -> asio::awaitable<void> {
        co_await client.async_request(make("GET", server.url() + "/a"));
        server.close_idle_keepalive();
        co_await sleep_for(50ms); // the FIN reaches the client's socket
        auto r = co_await client.async_request(make("POST", server.url() + "/b", "once"));
        BOOST_TEST(r.body == "ok POST once");
        BOOST_TEST(!r.timings.reused_connection);
    }());
    BOOST_TEST(client.stats().connections_opened == 2u);
    BOOST_TEST(server.request_count() == 2u);
}

// Bytes that arrive on an idle connection (a late second response, garbage) make it
// unusable: the next request goes out on a fresh connection and gets its own answer.
BOOST_AUTO_TEST_CASE(bytes_arriving_on_an_idle_connection_retire_it)
{
    asio::io_context ioc;
    test_server server(ioc.get_executor());
    server.on_request([&](const test::received_request& req, test::exchange& ex) -> asio::awaitable<void> {
        if (req.target == "/first") {
            co_await ex.async_respond(200, "first");
            co_await ex.async_pause(20ms);
            co_await ex.async_write_raw("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nstale");
            co_return;
        }
        co_await ex.async_respond(200, "fresh");
    });
    majordomo::http::client client(ioc.get_executor());
    test::run_coro(ioc, [&]() -> asio::awaitable<void> {
        auto a = co_await client.async_request(make("GET", server.url() + "/first"));
        BOOST_TEST(a.body == "first");
        co_await sleep_for(100ms);
        auto b = co_await client.async_request(make("GET", server.url() + "/second"));
        BOOST_TEST(b.body == "fresh");
        BOOST_TEST(!b.timings.reused_connection);
    }());
    BOOST_TEST(client.stats().connections_opened == 2u);
}

// A connection handed straight to a waiting request is a reused one: its timings say
// so, and the stale-connection rules apply to it.
BOOST_AUTO_TEST_CASE(a_connection_handed_to_a_waiter_counts_as_reused)
{
    asio::io_context ioc;
    test_server server(ioc.get_executor());
    server.on_request([](const test::received_request&, test::exchange& ex) -> asio::awaitable<void> {
        co_await ex.async_pause(20ms);
        co_await ex.async_respond(200, "x");
    });
    majordomo::http::client_params p;
    p.max_connections_per_origin = 1;
    majordomo::http::client client(ioc.get_executor(), p);
    std::vector<bool> reused;
    test::run_coro(ioc, [&]() -> asio::awaitable<void> {
        auto ex = co_await asio::this_coro::executor;
        int done = 0;
        for (int i = 0; i < 3; ++i)
            asio::co_spawn(ex, [&]() -> asio::awaitable<void> {
                auto r = co_await client.async_request(make("GET", server.url() + "/"));
                reused.push_back(r.timings.reused_connection);
                ++done;
            }, asio::detached);
        while (done < 3)
            co_await sleep_for(5ms);
        BOOST_TEST(client.stats().idle == 1u);
    }());
    BOOST_TEST(client.stats().connections_opened == 1u);
    BOOST_REQUIRE(reused.size() == 3u);
    BOOST_TEST(std::count(reused.begin(), reused.end(), true) == 2);
}

// Idle connections expire: after max_idle_age, or a second before the server's own
// Keep-Alive timeout; a timeout of a second or less means no reuse at all.
BOOST_AUTO_TEST_CASE(idle_connections_expire)
{
    asio::io_context ioc;
    test_server server(ioc.get_executor());
    server.on_request([](const test::received_request& req, test::exchange& ex) -> asio::awaitable<void> {
        if (req.target == "/ka1")
            co_await ex.async_respond(200, "x", {{"Keep-Alive", "timeout=1, max=100"}});
        else if (req.target == "/ka30")
            co_await ex.async_respond(200, "x", {{"Keep-Alive", "max=5, Timeout=30"}});
        else
            co_await ex.async_respond(200, "x");
    });
    majordomo::http::client_params p;
    p.max_idle_age = 150ms;
    majordomo::http::client client(ioc.get_executor(), p);
    test::run_coro(ioc, [&]() -> asio::awaitable<void> {
        co_await client.async_request(make("GET", server.url() + "/plain"));
        auto quick = co_await client.async_request(make("GET", server.url() + "/plain"));
        BOOST_TEST(quick.timings.reused_connection); // within its age
        co_await sleep_for(300ms);
        auto late = co_await client.async_request(make("GET", server.url() + "/plain"));
        BOOST_TEST(!late.timings.reused_connection); // past max_idle_age
        BOOST_TEST(client.stats().idle == 1u);

        co_await client.async_request(make("GET", server.url() + "/ka1"));
        BOOST_TEST(client.stats().idle == 0u); // timeout=1 leaves no safe idle time
        BOOST_TEST(client.stats().open == 0u);

        co_await client.async_request(make("GET", server.url() + "/ka30"));
        auto hinted = co_await client.async_request(make("GET", server.url() + "/plain"));
        BOOST_TEST(hinted.timings.reused_connection); // the hint never lengthens max_idle_age
    }());
    BOOST_TEST(client.stats().connections_opened == 3u);
}

// Planted-defect guards: behaviour that is right but was unguarded.
BOOST_AUTO_TEST_CASE(a_connection_close_reply_leaves_no_idle_connection)
{
    asio::io_context ioc;
    test_server server(ioc.get_executor());
    server.on_request([](const test::received_request&, test::exchange& ex) -> asio::awaitable<void> {
        co_await ex.async_respond(200, "bye", {{"Connection", "close"}});
        ex.set_keep_alive(true); // the client must close, not the server
    });
    majordomo::http::client client(ioc.get_executor());
    test::run_coro(ioc, [&]() -> asio::awaitable<void> {
        auto r = co_await client.async_request(make("GET", server.url() + "/"));
        BOOST_TEST(r.body == "bye");
        BOOST_TEST(client.stats().idle == 0u);
        BOOST_TEST(client.stats().open == 0u);
        auto s = co_await client.async_open(make("GET", server.url() + "/"));
        char buf[16];
        std::size_t n = co_await s.async_read_some(buf);
        BOOST_TEST(n == 3u);
        n = co_await s.async_read_some(buf);
        BOOST_TEST(n == 0u);
        BOOST_TEST(client.stats().idle == 0u);
        BOOST_TEST(client.stats().open == 0u);
    }());
}

BOOST_AUTO_TEST_CASE(closing_a_half_read_stream_leaves_nothing_open_and_it_cannot_be_read_again)
{
    asio::io_context ioc;
    test_server server(ioc.get_executor());
    server.on_request([](const test::received_request&, test::exchange& ex) -> asio::awaitable<void> {
        co_await ex.async_respond(200, std::string(50000, 'b'));
    });
    majordomo::http::client client(ioc.get_executor());
    test::run_coro(ioc, [&]() -> asio::awaitable<void> {
        auto s = co_await client.async_open(make("GET", server.url() + "/"));
        char buf[100];
        std::size_t n = co_await s.async_read_some(buf);
        BOOST_TEST(n > 0u);
        s.close();
        BOOST_TEST(client.stats().idle == 0u);
        BOOST_TEST(client.stats().open == 0u);
        try {
            co_await s.async_read_some(buf);
            BOOST_ERROR("a closed stream was read");
        } catch (const majordomo::error& e) {
            BOOST_TEST(e.code() == herr::stream_closed);
        }
        co_await server.async_wait_open_connections(0, 2s);
        BOOST_TEST(server.open_connections() == 0u);
    }());
}

// try_finish keeps the connection only when the rest of the body is already buffered.
BOOST_AUTO_TEST_CASE(try_finish_keeps_only_a_connection_whose_body_is_complete)
{
    asio::io_context ioc;
    test_server server(ioc.get_executor());
    server.on_request([](const test::received_request& req, test::exchange& ex) -> asio::awaitable<void> {
        if (req.target == "/whole") {
            co_await ex.async_write_raw("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\ndone\r\n0\r\n\r\n");
        } else {
            co_await ex.async_write_raw("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\ndone\r\n");
            co_await ex.async_stall(); // the last chunk never comes
        }
    });
    majordomo::http::client client(ioc.get_executor());
    test::run_coro(ioc, [&]() -> asio::awaitable<void> {
        for (const std::string target : {"/whole", "/partial"}) {
            auto s = co_await client.async_open(make("GET", server.url() + target));
            char buf[4];
            std::size_t n = co_await s.async_read_some(buf);
            BOOST_TEST(n == 4u);
            co_await sleep_for(20ms); // the whole of what was sent is in the client's buffer
            const bool finished = s.try_finish();
            BOOST_TEST(finished == (target == "/whole"), target);
            BOOST_TEST(client.stats().idle == (target == "/whole" ? 1u : 0u), target);
            BOOST_TEST(client.stats().open == client.stats().idle, target);
        }
    }());
}

BOOST_AUTO_TEST_SUITE_END()
BOOST_AUTO_TEST_SUITE_END()

#include <majordomo/deadline.hpp>
#include <majordomo/http/client.hpp>

#include "support/printers.hpp"
#include "support/run_coro.hpp"
#include "support/test_ca.hpp"
#include "support/test_server.hpp"

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <thread>

namespace asio = boost::asio;
using namespace majordomo;
using namespace std::chrono_literals;
using majordomo::test::test_server;
using clock_type = std::chrono::steady_clock;

namespace {

majordomo::http::request get(const std::string& url)
{
    majordomo::http::request r;
    r.url = url;
    return r;
}

// Runs `op` and cancels it (terminal) after `after`; returns the error it ended with.
asio::awaitable<boost::system::error_code> cancel_after(asio::awaitable<void> op, std::chrono::milliseconds after)
{
    auto ex = co_await asio::this_coro::executor;
    asio::cancellation_signal sig;
    boost::system::error_code result;
    bool done = false;
    asio::co_spawn(ex, std::move(op), asio::bind_cancellation_slot(sig.slot(), [&](std::exception_ptr e) {
                       done = true;
                       if (!e)
                           return;
                       try {
                           std::rethrow_exception(e);
                       } catch (const boost::system::system_error& se) {
                           result = se.code();
                       }
                   }));
    asio::steady_timer t(ex, after);
    co_await t.async_wait(asio::use_awaitable);
    sig.emit(asio::cancellation_type::terminal);
    while (!done) {
        t.expires_after(5ms);
        co_await t.async_wait(asio::use_awaitable);
    }
    co_return result;
}

asio::awaitable<void> sleep_for(std::chrono::milliseconds d)
{
    asio::steady_timer t(co_await asio::this_coro::executor, d);
    co_await t.async_wait(asio::use_awaitable);
}

// A normal request after a failure: the client must still work.
asio::awaitable<void> expect_ok(majordomo::http::client& c, test_server& s)
{
    auto r = co_await c.async_request(get(s.url() + "/ok"));
    BOOST_TEST(r.status == 200);
}

// The server answers /ok with "ok"; anything else is up to the test.
void serve_ok(test_server& s, test_server::handler other = {})
{
    s.on_request([other](const test::received_request& req, test::exchange& ex) -> asio::awaitable<void> {
        if (req.target == "/ok" || !other) {
            co_await ex.async_respond(200, "ok");
            co_return;
        }
        co_await other(req, ex);
    });
}

template <class Code>
void require_error(const std::exception_ptr& e, Code expected)
{
    BOOST_REQUIRE(e);
    try {
        std::rethrow_exception(e);
    } catch (const boost::system::system_error& se) {
        BOOST_TEST(se.code() == expected, se.what());
    }
}

} // namespace

BOOST_AUTO_TEST_SUITE(http)

BOOST_AUTO_TEST_SUITE(keep_alive)

BOOST_AUTO_TEST_CASE(fifty_sequential_requests_use_one_connection)
{
    asio::io_context ioc;
    test_server server(ioc.get_executor());
    server.on_request([](const test::received_request& req, test::exchange& ex) -> asio::awaitable<void> {
        co_await ex.async_respond(200, "echo " + req.target);
    });
    majordomo::http::client client(ioc.get_executor());
    test::run_coro(ioc, [&]() -> asio::awaitable<void> {
        for (int i = 0; i < 50; ++i) {
            auto r = co_await client.async_request(get(server.url() + "/n/" + std::to_string(i)));
            BOOST_TEST(r.status == 200);
            BOOST_TEST(r.body == "echo /n/" + std::to_string(i));
            BOOST_TEST(r.timings.reused_connection == (i > 0));
        }
    }());
    BOOST_TEST(server.accepted_connections() == 1u);
    BOOST_TEST(client.stats().connections_opened == 1u);
    BOOST_TEST(client.stats().idle == 1u);
}

// A body read in place lies in the connection's buffer: the connection goes back to the
// pool only at the call after the last piece (or when the stream goes), so no other request
// can overwrite the piece the caller still holds.
BOOST_AUTO_TEST_CASE(a_body_read_in_place_keeps_its_connection_until_the_next_call)
{
    asio::io_context ioc;
    test_server server(ioc.get_executor());
    server.on_request([](const test::received_request& req, test::exchange& ex) -> asio::awaitable<void> {
        std::string body(2000, req.target == "/a" ? 'a' : 'b');
        co_await ex.async_respond(200, std::move(body));
    });
    majordomo::http::client_params cp;
    cp.max_connections_per_origin = 1;
    majordomo::http::client client(ioc.get_executor(), cp);
    test::run_coro(ioc, [&]() -> asio::awaitable<void> {
        auto ex = co_await asio::this_coro::executor;
        bool b_done = false;
        {
            auto s = co_await client.async_open(get(server.url() + "/a"));
            std::size_t got = 0;
            std::string_view last;
            while (got < 2000) {
                last = co_await s.async_read_some_view();
                BOOST_REQUIRE(!last.empty());
                got += last.size();
            }
            asio::co_spawn(
                ex,
                [&]() -> asio::awaitable<void> {
                    auto r = co_await client.async_request(get(server.url() + "/b"));
                    BOOST_TEST(r.body == std::string(2000, 'b'));
                    b_done = true;
                },
                asio::detached);
            co_await sleep_for(50ms);
            BOOST_TEST(!b_done, "another request took the connection under a held piece");
            BOOST_TEST(last.find_first_not_of('a') == std::string_view::npos, "the held piece was overwritten");
            auto end = co_await s.async_read_some_view();
            BOOST_TEST(end.empty());
            BOOST_TEST(s.done());
        }
        while (!b_done)
            co_await sleep_for(5ms);
        // A stream that goes right after its last piece gives its connection back too.
        {
            auto s = co_await client.async_open(get(server.url() + "/a"));
            std::size_t got = 0;
            while (got < 2000) {
                auto piece = co_await s.async_read_some_view();
                BOOST_REQUIRE(!piece.empty());
                got += piece.size();
            }
        }
        auto r = co_await client.async_request(get(server.url() + "/b"));
        BOOST_TEST(r.timings.reused_connection);
    }());
    BOOST_TEST(server.accepted_connections() == 1u);
    BOOST_TEST(client.stats().connections_opened == 1u);
}

BOOST_AUTO_TEST_CASE(hundred_concurrent_requests_respect_the_per_origin_cap)
{
    asio::io_context ioc;
    test_server server(ioc.get_executor());
    int in_flight = 0, max_in_flight = 0;
    server.on_request([&](const test::received_request&, test::exchange& ex) -> asio::awaitable<void> {
        max_in_flight = std::max(max_in_flight, ++in_flight);
        co_await ex.async_pause(5ms);
        --in_flight;
        co_await ex.async_respond(200, "x");
    });
    majordomo::http::client_params p;
    p.max_connections_per_origin = 4;
    majordomo::http::client client(ioc.get_executor(), p);
    int completed = 0;
    std::size_t max_waiting = 0;
    test::run_coro(ioc, [&]() -> asio::awaitable<void> {
        auto ex = co_await asio::this_coro::executor;
        for (int i = 0; i < 100; ++i)
            asio::co_spawn(ex, [&]() -> asio::awaitable<void> {
                auto r = co_await client.async_request(get(server.url() + "/"));
                BOOST_TEST(r.body == "x");
                ++completed;
            }, asio::detached);
        while (completed < 100) {
            max_waiting = std::max(max_waiting, client.stats().waiting);
            co_await sleep_for(2ms);
        }
    }());
    BOOST_TEST(completed == 100);
    BOOST_TEST(max_in_flight <= 4);
    BOOST_TEST(max_in_flight >= 2);
    BOOST_TEST(server.accepted_connections() <= 4u);
    BOOST_TEST(max_waiting > 0u);
    BOOST_TEST(client.stats().waiting == 0u);
}

BOOST_AUTO_TEST_CASE(server_closed_idle_connection_is_retried_once)
{
    asio::io_context ioc;
    test_server server(ioc.get_executor());
    serve_ok(server);
    majordomo::http::client client(ioc.get_executor());
    test::run_coro(ioc, [&]() -> asio::awaitable<void> {
        co_await expect_ok(client, server);
        server.close_idle_keepalive();
        co_await sleep_for(50ms); // let the FIN reach the client's socket
        // Whole and streamed requests both recover; a POST body is sent again intact.
        majordomo::http::request post = get(server.url() + "/ok");
        post.method = "POST";
        post.body = "payload";
        auto r = co_await client.async_request(post);
        BOOST_TEST(r.status == 200);
        BOOST_TEST(!r.timings.reused_connection);
    }());
    BOOST_TEST(client.stats().connections_opened == 2u);
    auto reqs = server.requests();
    BOOST_REQUIRE(reqs.size() == 2u);
    BOOST_TEST(reqs[1].body == "payload");
}

BOOST_AUTO_TEST_CASE(abandoned_response_closes_its_connection)
{
    asio::io_context ioc;
    test_server server(ioc.get_executor());
    serve_ok(server, [](const test::received_request&, test::exchange& ex) -> asio::awaitable<void> {
        co_await ex.async_respond(200, std::string(100000, 'b'));
    });
    majordomo::http::client client(ioc.get_executor());
    test::run_coro(ioc, [&]() -> asio::awaitable<void> {
        {
            auto s = co_await client.async_open(get(server.url() + "/big"));
            char buf[100];
            // Bound to a local: g++ 12 miscompiles co_await inside a condition.
            std::size_t n = co_await s.async_read_some(buf);
            BOOST_TEST(n > 0u);
        } // dropped mid-body
        BOOST_TEST(client.stats().open == 0u);
        co_await server.async_wait_open_connections(0, 2s);
        BOOST_TEST(server.open_connections() == 0u);
        co_await expect_ok(client, server);
    }());
    BOOST_TEST(client.stats().connections_opened == 2u);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(bodies)

BOOST_AUTO_TEST_CASE(content_length_and_chunked_bodies)
{
    asio::io_context ioc;
    test_server server(ioc.get_executor());
    const std::string big(300000, 'z');
    server.on_request([&](const test::received_request& req, test::exchange& ex) -> asio::awaitable<void> {
        // Built outside the co_await: g++ 12 miscompiles conditional and braced
        // temporaries in a co_await's arguments.
        test::header_list extra;
        extra.add("X-Test", "yes");
        const bool chunked = req.target == "/chunked";
        std::string body = chunked ? big : "plain";
        co_await ex.async_respond(201, std::move(body), extra, chunked);
    });
    majordomo::http::client client(ioc.get_executor());
    test::run_coro(ioc, [&]() -> asio::awaitable<void> {
        auto a = co_await client.async_request(get(server.url() + "/plain"));
        BOOST_TEST(a.status == 201);
        BOOST_TEST(a.body == "plain");
        BOOST_TEST(a.headers.find("x-test") == "yes");
        auto b = co_await client.async_request(get(server.url() + "/chunked"));
        BOOST_TEST(b.body.size() == big.size());
        BOOST_TEST((b.body == big));
        // Streamed, in small pieces; the timings are in order.
        auto s = co_await client.async_open(get(server.url() + "/chunked"));
        std::string got;
        char buf[777];
        while (std::size_t n = co_await s.async_read_some(buf))
            got.append(buf, n);
        BOOST_TEST((got == big));
        BOOST_TEST(s.done());
        auto& t = s.timings();
        BOOST_TEST((t.start <= t.connected && t.connected <= t.request_written &&
                    t.request_written <= t.headers_received && t.headers_received <= t.first_byte &&
                    t.first_byte <= t.end));
        BOOST_TEST(t.reused_connection);
    }());
    BOOST_TEST(server.accepted_connections() == 1u);
}

BOOST_AUTO_TEST_CASE(request_carries_method_headers_and_body)
{
    asio::io_context ioc;
    test_server server(ioc.get_executor());
    serve_ok(server);
    majordomo::http::client client(ioc.get_executor());
    test::run_coro(ioc, [&]() -> asio::awaitable<void> {
        majordomo::http::request r = get(server.url() + "/ok?x=1");
        r.method = "PATCH";
        r.headers.set("Authorization", "Bearer t");
        r.body = "{\"a\":1}";
        co_await client.async_request(r);
    }());
    auto reqs = server.requests();
    BOOST_REQUIRE(reqs.size() == 1u);
    BOOST_TEST(reqs[0].method == "PATCH");
    BOOST_TEST(reqs[0].target == "/ok?x=1");
    BOOST_TEST(reqs[0].body == "{\"a\":1}");
    BOOST_TEST(reqs[0].header("authorization") == "Bearer t");
    BOOST_TEST(reqs[0].header("host") == "127.0.0.1:" + std::to_string(server.port()));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(deadlines)

BOOST_AUTO_TEST_CASE(stall_before_headers_hits_the_deadline_and_closes)
{
    asio::io_context ioc;
    test_server server(ioc.get_executor());
    serve_ok(server, [](const test::received_request&, test::exchange& ex) -> asio::awaitable<void> {
        co_await ex.async_pause(10s);
        co_await ex.async_respond(200, "late");
    });
    majordomo::http::client client(ioc.get_executor());
    test::run_coro(ioc, [&]() -> asio::awaitable<void> {
        auto t0 = clock_type::now();
        try {
            co_await with_deadline(client.async_request(get(server.url() + "/stall")), 300ms);
            BOOST_FAIL("no deadline");
        } catch (const majordomo::error& e) {
            BOOST_TEST(e.code() == client_errc::deadline_exceeded);
        }
        auto elapsed = test::ms_between(t0, clock_type::now());
        BOOST_TEST(elapsed >= 300);
        BOOST_TEST(elapsed < 1500);
        BOOST_TEST(client.stats().open == 0u);
        co_await server.async_wait_open_connections(0, 2s);
        BOOST_TEST(server.open_connections() == 0u);
        co_await expect_ok(client, server);
    }());
}

BOOST_AUTO_TEST_CASE(no_socket_timeout_a_three_second_stall_succeeds)
{
    asio::io_context ioc;
    test_server server(ioc.get_executor());
    serve_ok(server, [](const test::received_request&, test::exchange& ex) -> asio::awaitable<void> {
        co_await ex.async_pause(3s);
        co_await ex.async_respond(200, "patience");
    });
    majordomo::http::client client(ioc.get_executor());
    test::run_coro(ioc, [&]() -> asio::awaitable<void> {
        auto r = co_await client.async_request(get(server.url() + "/slow"));
        BOOST_TEST(r.body == "patience");
        BOOST_TEST(test::ms_between(r.timings.start, r.timings.headers_received) >= 3000);
    }());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(cancellation)

BOOST_AUTO_TEST_CASE(cancel_while_connecting)
{
    // The TLS handshake is part of connecting; this server never answers it.
    asio::io_context ioc;
    test::test_ca ca;
    test_server server(ioc.get_executor());
    server.on_connection([](test::raw_connection& c) -> asio::awaitable<void> { co_await c.async_stall(); });
    majordomo::http::client_params p;
    p.tls.ca_file = ca.ca_file();
    majordomo::http::client client(ioc.get_executor(), p);
    test::run_coro(ioc, [&]() -> asio::awaitable<void> {
        std::string url = "https://127.0.0.1:" + std::to_string(server.port()) + "/";
        auto ec = co_await cancel_after([&]() -> asio::awaitable<void> { co_await client.async_request(get(url)); }(),
                                        100ms);
        BOOST_TEST(ec == asio::error::operation_aborted);
        BOOST_TEST(client.stats().open == 0u);
        co_await server.async_wait_open_connections(0, 2s);
        BOOST_TEST(server.open_connections() == 0u);
    }());
}

BOOST_AUTO_TEST_CASE(cancel_while_writing)
{
    asio::io_context ioc;
    test_server server(ioc.get_executor());
    // Reads nothing for a while, so a large request body fills the socket buffers.
    server.on_connection([](test::raw_connection& c) -> asio::awaitable<void> {
        co_await c.async_sleep(500ms);
        co_await c.async_stall();
    });
    majordomo::http::client client(ioc.get_executor());
    test::run_coro(ioc, [&]() -> asio::awaitable<void> {
        majordomo::http::request r = get(server.url() + "/upload");
        r.method = "POST";
        r.body.assign(64 * 1024 * 1024, 'u');
        auto ec = co_await cancel_after([&]() -> asio::awaitable<void> { co_await client.async_request(r); }(),
                                        100ms);
        BOOST_TEST(ec == asio::error::operation_aborted);
        BOOST_TEST(client.stats().open == 0u);
        co_await server.async_wait_open_connections(0, 5s);
        BOOST_TEST(server.open_connections() == 0u);
    }());
}

BOOST_AUTO_TEST_CASE(cancel_while_waiting_for_headers_and_mid_body)
{
    asio::io_context ioc;
    test_server server(ioc.get_executor());
    serve_ok(server, [](const test::received_request& req, test::exchange& ex) -> asio::awaitable<void> {
        if (req.target == "/mid") {
            co_await ex.async_write_raw("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nfirst part");
            co_await ex.async_stall();
        } else {
            co_await ex.async_stall();
        }
    });
    majordomo::http::client client(ioc.get_executor());
    test::run_coro(ioc, [&]() -> asio::awaitable<void> {
        auto ec = co_await cancel_after(
            [&]() -> asio::awaitable<void> { co_await client.async_request(get(server.url() + "/headers")); }(),
            100ms);
        BOOST_TEST(ec == asio::error::operation_aborted);
        BOOST_TEST(client.stats().open == 0u);
        co_await server.async_wait_open_connections(0, 2s);
        BOOST_TEST(server.open_connections() == 0u);
        co_await expect_ok(client, server);

        std::string first;
        ec = co_await cancel_after(
            [&]() -> asio::awaitable<void> {
                auto s = co_await client.async_open(get(server.url() + "/mid"));
                char buf[64];
                for (;;) {
                    std::size_t n = co_await s.async_read_some(buf);
                    first.append(buf, n);
                }
            }(),
            200ms);
        BOOST_TEST(ec == asio::error::operation_aborted);
        BOOST_TEST(first == "first part");
        // The connection reused for /ok was closed: only the fresh one for /ok remains idle.
        BOOST_TEST(client.stats().open == client.stats().idle);
        client.close_idle();
        co_await server.async_wait_open_connections(0, 2s);
        BOOST_TEST(server.open_connections() == 0u);
        co_await expect_ok(client, server);
    }());
}

BOOST_AUTO_TEST_CASE(cancel_while_waiting_for_a_slot_takes_nothing)
{
    asio::io_context ioc;
    test_server server(ioc.get_executor());
    serve_ok(server, [](const test::received_request&, test::exchange& ex) -> asio::awaitable<void> {
        co_await ex.async_pause(300ms);
        co_await ex.async_respond(200, "slow");
    });
    majordomo::http::client_params p;
    p.max_connections_per_origin = 1;
    majordomo::http::client client(ioc.get_executor(), p);
    test::run_coro(ioc, [&]() -> asio::awaitable<void> {
        auto ex = co_await asio::this_coro::executor;
        bool first_done = false;
        asio::co_spawn(ex, [&]() -> asio::awaitable<void> {
            auto r = co_await client.async_request(get(server.url() + "/slow"));
            BOOST_TEST(r.body == "slow");
            first_done = true;
        }, asio::detached);
        co_await sleep_for(20ms);
        auto ec = co_await cancel_after(
            [&]() -> asio::awaitable<void> { co_await client.async_request(get(server.url() + "/slow")); }(), 50ms);
        BOOST_TEST(ec == asio::error::operation_aborted);
        BOOST_TEST(client.stats().waiting == 0u);
        while (!first_done)
            co_await sleep_for(10ms);
        co_await expect_ok(client, server);
    }());
    BOOST_TEST(server.accepted_connections() == 1u);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(tls)

BOOST_AUTO_TEST_CASE(succeeds_with_the_test_ca)
{
    asio::io_context ioc;
    test::test_ca ca;
    test_server server(ioc.get_executor(), &ca);
    serve_ok(server);
    majordomo::http::client_params p;
    p.tls.ca_file = ca.ca_file();
    majordomo::http::client client(ioc.get_executor(), p);
    test::run_coro(ioc, [&]() -> asio::awaitable<void> {
        for (const char* host : {"127.0.0.1", "localhost"}) {
            auto r = co_await client.async_request(get(server.url_for_host(host) + "/ok"));
            BOOST_TEST(r.status == 200);
            BOOST_TEST(r.body == "ok");
        }
        auto again = co_await client.async_request(get(server.url_for_host("localhost") + "/ok"));
        BOOST_TEST(again.timings.reused_connection);
    }());
}

BOOST_AUTO_TEST_CASE(fails_without_the_ca_and_on_a_host_name_mismatch)
{
    asio::io_context ioc;
    test::test_ca ca;                                // leaf for localhost and 127.0.0.1
    test::test_ca other({"wrong.example"}, {});      // leaf for another name only
    test_server server(ioc.get_executor(), &ca);
    test_server wrong(ioc.get_executor(), &other);
    serve_ok(server);
    serve_ok(wrong);
    majordomo::http::client system_roots(ioc.get_executor());
    majordomo::http::client_params p;
    p.tls.ca_file = other.ca_file();
    majordomo::http::client trusting_other(ioc.get_executor(), p);
    test::run_coro(ioc, [&]() -> asio::awaitable<void> {
        try {
            co_await system_roots.async_request(get(server.url_for_host("localhost") + "/ok"));
            BOOST_FAIL("untrusted CA accepted");
        } catch (const majordomo::error& e) {
            std::string what = e.what();
            BOOST_TEST(what.find("certificate verification failed") != std::string::npos, what);
            BOOST_TEST(what.find("ca_file") != std::string::npos, what);
        }
        for (const char* host : {"127.0.0.1", "localhost"}) {
            try {
                co_await trusting_other.async_request(get(wrong.url_for_host(host) + "/ok"));
                BOOST_FAIL("host-name mismatch accepted");
            } catch (const majordomo::error& e) {
                std::string what = e.what();
                BOOST_TEST(what.find("mismatch") != std::string::npos, what);
            }
        }
        BOOST_TEST(system_roots.stats().open == 0u);
        BOOST_TEST(trusting_other.stats().open == 0u);
    }());
}

BOOST_AUTO_TEST_CASE(verification_can_be_turned_off_explicitly)
{
    asio::io_context ioc;
    test::test_ca ca;
    test_server server(ioc.get_executor(), &ca);
    serve_ok(server);
    majordomo::http::client_params p;
    p.tls.unsafe_disable_verification = true;
    majordomo::http::client client(ioc.get_executor(), p);
    test::run_coro(ioc, [&]() -> asio::awaitable<void> { co_await expect_ok(client, server); }());
}

// The CA store loads on the first https connection, so plain-http clients never pay
// for it; a bad CA path then fails that request, naming the setting, and frees its slot.
BOOST_AUTO_TEST_CASE(an_unreadable_ca_file_fails_the_first_https_request)
{
    asio::io_context ioc;
    test::test_ca ca;
    test_server server(ioc.get_executor(), &ca);
    serve_ok(server);
    majordomo::http::client_params p;
    p.tls.ca_file = "/nonexistent/majordomo-ca.pem";
    p.max_connections_per_origin = 1;
    majordomo::http::client client(ioc.get_executor(), p);
    test::run_coro(ioc, [&]() -> asio::awaitable<void> {
        for (int attempt = 0; attempt < 2; ++attempt) {
            try {
                co_await client.async_request(get(server.url() + "/ok"));
                BOOST_FAIL("a missing CA file was accepted");
            } catch (const majordomo::error& e) {
                std::string what = e.what();
                BOOST_TEST(what.find("tls_params::ca_file '/nonexistent/majordomo-ca.pem'") != std::string::npos,
                           what);
            }
        }
        BOOST_TEST(client.stats().open == 0u);
        BOOST_TEST(client.stats().waiting == 0u);
    }());
}

BOOST_AUTO_TEST_SUITE_END()

// A refused connection keeps its system error code and says where it tried to go.
BOOST_AUTO_TEST_CASE(a_refused_connection_names_the_origin)
{
    asio::io_context ioc;
    std::uint16_t port = 0;
    {
        asio::ip::tcp::acceptor probe(ioc, {asio::ip::make_address("127.0.0.1"), 0});
        port = probe.local_endpoint().port();
    } // closed: nothing listens there now
    majordomo::http::client client(ioc.get_executor());
    test::run_coro(ioc, [&]() -> asio::awaitable<void> {
        const std::string origin = "http://127.0.0.1:" + std::to_string(port);
        try {
            co_await client.async_request(get(origin + "/v1/models?key=secret"));
            BOOST_FAIL("connected to a closed port");
        } catch (const majordomo::error& e) {
            std::string what = e.what();
            BOOST_TEST((e.code() == asio::error::connection_refused));
            BOOST_TEST(what.find("connecting to " + origin) != std::string::npos, what);
            BOOST_TEST(what.find("secret") == std::string::npos, what);
        }
        BOOST_TEST(client.stats().open == 0u);
    }());
}

BOOST_AUTO_TEST_SUITE(malformed)

struct fault_case {
    const char* name;
    std::string bytes;  // what the server sends, then it closes
    boost::system::error_code expected;
};

BOOST_AUTO_TEST_CASE(each_limit_and_malformed_response_has_its_error)
{
    // A TLS ClientHello-like prefix with NULs: what a confused peer might send.
    static const char garbage[] = "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03garbage\r\n\r\n";
    const std::string huge_header = "HTTP/1.1 200 OK\r\nX-Big: " + std::string(20000, 'h') + "\r\n\r\n";
    const std::vector<fault_case> cases = {
        {"header limit", huge_header, majordomo::http::errc::header_limit_exceeded},
        {"body limit (content-length)", "HTTP/1.1 200 OK\r\nContent-Length: 2000000\r\n\r\n" + std::string(100, 'b'),
         majordomo::http::errc::body_limit_exceeded},
        {"body limit (chunked)",
         "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + [] {
             std::string s;
             for (int i = 0; i < 40; ++i)
                 s += "8000\r\n" + std::string(0x8000, 'c') + "\r\n";
             return s + "0\r\n\r\n";
         }(),
         majordomo::http::errc::body_limit_exceeded},
        {"bad status line", "HTTP/1.1 2x0 OK\r\n\r\n", majordomo::http::errc::bad_status_line},
        {"garbage", std::string(garbage, sizeof garbage - 1),
         majordomo::http::errc::bad_status_line},
        {"bad header", "HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n", majordomo::http::errc::bad_header},
        {"bad content length", "HTTP/1.1 200 OK\r\nContent-Length: abc\r\n\r\n", majordomo::http::errc::bad_framing},
        {"bad chunk size", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
         majordomo::http::errc::bad_chunk},
        {"early close in body", "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten..",
         majordomo::http::errc::response_truncated},
        {"early close in headers", "HTTP/1.1 200 OK\r\nContent-Le", majordomo::http::errc::response_truncated},
        {"close before any byte", "", majordomo::http::errc::response_truncated},
    };
    asio::io_context ioc;
    test_server server(ioc.get_executor());
    std::size_t current = 0;
    server.on_request([&](const test::received_request& req, test::exchange& ex) -> asio::awaitable<void> {
        if (req.target == "/ok") {
            co_await ex.async_respond(200, "ok");
            co_return;
        }
        co_await ex.async_write_raw(cases[current].bytes);
        ex.close();
    });
    majordomo::http::client_params p;
    p.header_limit = 8 * 1024;
    p.body_limit = 1024 * 1024;
    majordomo::http::client client(ioc.get_executor(), p);
    test::run_coro(ioc, [&]() -> asio::awaitable<void> {
        for (current = 0; current < cases.size(); ++current) {
            const auto& c = cases[current];
            try {
                co_await client.async_request(get(server.url() + "/fault"));
                BOOST_ERROR(c.name << ": no error");
            } catch (const boost::system::system_error& e) {
                BOOST_TEST(e.code() == c.expected, c.name << ": " << e.what());
            }
            BOOST_TEST(client.stats().open == client.stats().idle, c.name);
            co_await expect_ok(client, server);
        }
    }());
}

BOOST_AUTO_TEST_CASE(bad_urls)
{
    asio::io_context ioc;
    majordomo::http::client client(ioc.get_executor());
    test::run_coro(ioc, [&]() -> asio::awaitable<void> {
        for (auto [url, code] : {std::pair{"not a url", majordomo::http::errc::bad_url}, {"ftp://h/x", majordomo::http::errc::unsupported_scheme},
                                 {"http:///nohost", majordomo::http::errc::bad_url}}) {
            try {
                co_await client.async_request(get(url));
                BOOST_ERROR(url << ": no error");
            } catch (const majordomo::error& e) {
                BOOST_TEST(e.code() == code, url);
            }
        }
    }());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(concurrency)

void thousand_requests(std::size_t threads)
{
    asio::io_context ioc(static_cast<int>(threads));
    test_server server(ioc.get_executor());
    server.on_request([](const test::received_request& req, test::exchange& ex) -> asio::awaitable<void> {
        co_await ex.async_respond(200, req.target.substr(1));
    });
    majordomo::http::client client(ioc.get_executor());
    std::atomic<int> ok{0}, failed{0};
    for (int i = 0; i < 1000; ++i)
        asio::co_spawn(ioc, [&, i]() -> asio::awaitable<void> {
            auto r = co_await client.async_request(get(server.url() + "/" + std::to_string(i)));
            (r.body == std::to_string(i) ? ok : failed)++;
        }, [&](std::exception_ptr e) {
            if (e)
                failed++;
            if (ok + failed == 1000)
                ioc.stop();
        });
    std::vector<std::thread> pool;
    for (std::size_t t = 1; t < threads; ++t)
        pool.emplace_back([&] { ioc.run_for(120s); });
    ioc.run_for(120s);
    for (auto& t : pool)
        t.join();
    BOOST_TEST(ok.load() == 1000);
    BOOST_TEST(failed.load() == 0);
    BOOST_TEST(client.stats().connections_opened <= client.params().max_connections_per_origin);
}

BOOST_AUTO_TEST_CASE(thousand_concurrent_requests_on_one_thread) { thousand_requests(1); }
BOOST_AUTO_TEST_CASE(thousand_concurrent_requests_on_four_threads) { thousand_requests(4); }

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE_END()

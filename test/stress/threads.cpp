// Many calls at once on an io_context run by four threads, with no strands in the callers:
// the library's own handlers must never race (ThreadSanitizer runs this suite), and every
// call must end with its data or its specific error. Results are gathered under a mutex and
// asserted on the main thread: Boost.Test's assertions are not thread-safe.
#include <majordomo/deadline.hpp>
#include <majordomo/http/client.hpp>
#include <majordomo/llamaswap/provider.hpp>
#include <majordomo/llamaswap/router.hpp>
#include <majordomo/llm/chunk.hpp>
#include <majordomo/sim/simulator.hpp>

#include "support/test_ca.hpp"
#include "support/test_server.hpp"

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <future>
#include <map>
#include <mutex>
#include <set>
#include <thread>

namespace asio = boost::asio;
using namespace majordomo;
using namespace std::chrono_literals;
using majordomo::test::test_server;

namespace {

// What each call ended with, by name ("ok", an error's message), counted across threads.
class outcomes {
public:
    void add(const std::string& what)
    {
        std::lock_guard lock(mutex_);
        ++counts_[what];
    }
    void add(std::exception_ptr e)
    {
        if (!e)
            return add("ok");
        try {
            std::rethrow_exception(e);
        } catch (const boost::system::system_error& se) {
            add(se.code().category().name() + std::string(":") + se.code().message().substr(0, 40));
        } catch (const std::exception& x) {
            add(std::string("unexpected: ") + x.what());
        }
    }
    std::map<std::string, int> counts() const
    {
        std::lock_guard lock(mutex_);
        return counts_;
    }
    int total() const
    {
        int n = 0;
        for (const auto& [k, v] : counts())
            n += v;
        return n;
    }

private:
    mutable std::mutex mutex_;
    std::map<std::string, int> counts_;
};

std::string name_of(boost::system::error_code ec)
{
    return ec.category().name() + std::string(":") + ec.message().substr(0, 40);
}

// Runs `body` on an io_context with four threads; returns when every spawned call ended.
template <class F>
void on_four_threads(asio::io_context& ioc, F body)
{
    auto guard = asio::make_work_guard(ioc);
    std::vector<std::thread> threads;
    for (int i = 0; i < 4; ++i)
        threads.emplace_back([&] { ioc.run(); });
    body();
    guard.reset();
    for (auto& t : threads)
        t.join();
}

// Waits, polling, until `n` calls were recorded or `max` passed.
void wait_for(const outcomes& o, int n, std::chrono::seconds max)
{
    const auto until = std::chrono::steady_clock::now() + max;
    while (o.total() < n && std::chrono::steady_clock::now() < until)
        std::this_thread::sleep_for(10ms);
}

llm::chat_request hello()
{
    llm::chat_request r;
    r.messages = {llm::message::user("hi")};
    r.max_tokens = 64;
    return r;
}

asio::awaitable<std::string> whole(std::shared_ptr<llm::model> m)
{
    auto r = co_await m->async_chat(hello());
    co_return r.text();
}

asio::awaitable<std::string> streamed(std::shared_ptr<llm::model> m, int stop_after)
{
    auto s = co_await m->async_chat_stream(hello());
    std::string text;
    for (int n = 0;; ++n) {
        if (stop_after >= 0 && n == stop_after)
            co_return "abandoned"; // dropped mid-way: the stream closes its connection
        auto c = co_await s.async_next();
        if (!c)
            break;
        text += c->text();
    }
    co_return text;
}

sim::simulator_params sim_params()
{
    sim::simulator_params p;
    sim::model_params a;
    a.id = "a";
    a.load_time = 20ms;
    a.tokens_per_second = 3000;
    a.reply = "one two three four five six seven eight";
    p.models.push_back(a);
    p.exclusive = false;
    return p;
}

} // namespace

BOOST_AUTO_TEST_SUITE(stress)

// Hundreds of whole and streamed calls sharing one provider, some under deadlines that fire
// in any phase, some abandoned mid-stream, some cancelled by their caller; then the pool
// still serves.
BOOST_AUTO_TEST_CASE(shared_provider_on_four_threads)
{
    for (std::size_t cap : {std::size_t(1), std::size_t(2), std::size_t(64)}) {
        asio::io_context ioc;
        sim::simulator sim(ioc.get_executor(), sim_params());
        http::client_params hp;
        hp.max_connections_per_origin = cap;
        http::client http(ioc.get_executor(), hp);
        llamaswap::provider_params pp;
        pp.base_url = sim.url();
        pp.http = http;
        auto swap = llamaswap::make_provider(ioc.get_executor(), pp);
        auto model = swap->get_model("a");
        const std::string reply = "one two three four five six seven eight";
        outcomes o;
        std::atomic<int> wrong_text{0};
        const int calls = cap == 64 ? 400 : 120;
        on_four_threads(ioc, [&] {
            for (int i = 0; i < calls; ++i) {
                auto ex = ioc.get_executor();
                const int kind = i % 5;
                // Deadlines from 1 ms (the pool wait or the connect) to 400 ms (mostly done).
                const auto d = std::chrono::milliseconds(1 + (i * 37) % 400);
                if (kind == 0) {
                    asio::co_spawn(ex, with_deadline(whole(model), d), [&](std::exception_ptr e, std::string t) {
                        if (!e && t != reply)
                            ++wrong_text;
                        o.add(e);
                    });
                } else if (kind == 1) {
                    asio::co_spawn(ex, with_deadline(streamed(model, -1), d),
                                   [&](std::exception_ptr e, std::string t) {
                                       if (!e && t != reply)
                                           ++wrong_text;
                                       o.add(e);
                                   });
                } else if (kind == 2) {
                    asio::co_spawn(ex, with_deadline(streamed(model, 1 + i % 4), 5s),
                                   [&](std::exception_ptr e, std::string) { o.add(e); });
                } else if (kind == 3) {
                    asio::co_spawn(ex, with_deadline(whole(model), 10s), [&](std::exception_ptr e, std::string t) {
                        if (!e && t != reply)
                            ++wrong_text;
                        o.add(e);
                    });
                } else {
                    // A caller that cancels its own call: its cancellation runs on its strand.
                    auto strand = asio::make_strand(ex);
                    auto sig = std::make_shared<asio::cancellation_signal>();
                    asio::co_spawn(strand, streamed(model, -1),
                                   asio::bind_cancellation_slot(sig->slot(), [&, sig](std::exception_ptr e, std::string) {
                                       o.add(e);
                                   }));
                    auto t = std::make_shared<asio::steady_timer>(strand, std::chrono::milliseconds(i % 50));
                    t->async_wait([sig, t](boost::system::error_code) { sig->emit(asio::cancellation_type::terminal); });
                }
            }
            wait_for(o, calls, 120s);
            // Afterwards the pool serves a plain call and holds nothing in an unknown state.
            std::promise<std::string> after;
            asio::co_spawn(ioc.get_executor(), with_deadline(whole(model), 10s),
                           [&](std::exception_ptr e, std::string t) {
                               if (e)
                                   after.set_exception(e);
                               else
                                   after.set_value(t);
                           });
            auto f = after.get_future();
            BOOST_TEST(f.get() == reply);
            sim.stop();
        });
        const auto counts = o.counts();
        BOOST_TEST(o.total() == calls, "cap " << cap);
        BOOST_TEST(wrong_text.load() == 0);
        const std::set<std::string> allowed = {
            "ok",
            name_of(make_error_code(client_errc::deadline_exceeded)),
            name_of(asio::error::operation_aborted),
        };
        for (const auto& [what, n] : counts) {
            BOOST_TEST_MESSAGE("cap " << cap << ": " << what << " x" << n);
            BOOST_TEST(allowed.contains(what), "cap " << cap << ": unexpected outcome " << what << " x" << n);
        }
        BOOST_TEST(counts.contains("ok"));
        auto st = http.stats();
        BOOST_TEST(st.waiting == 0u);
        BOOST_TEST(st.open == st.idle);
    }
}

// Retries (429 from a concurrency limit, Retry-After: 1) and phase deadlines on four threads:
// the retry waits, the phase timers and the deadline the executor carries never race, and
// each call ends with its data, the 429 it could not wait out, or its own phase error.
BOOST_AUTO_TEST_CASE(retries_and_phase_deadlines_on_four_threads)
{
    asio::io_context ioc;
    sim::simulator_params sp;
    sim::model_params a;
    a.id = "a";
    a.load_time = 20ms;
    a.tokens_per_second = 400;
    a.reply = "one two three four five six seven eight";
    a.concurrency_limit = 8;
    sp.models.push_back(a);
    sim::simulator sim(ioc.get_executor(), sp);
    llamaswap::provider_params pp;
    pp.base_url = sim.url();
    pp.retry.base_delay = 5ms;
    auto swap = llamaswap::make_provider(ioc.get_executor(), pp);
    auto model = swap->get_model("a");
    outcomes o;
    const int calls = 80;
    auto phased = [](std::shared_ptr<llm::model> m, int i) -> asio::awaitable<std::string> {
        auto req = hello();
        if (i % 3 == 0)
            req.call.deadlines.first_token = std::chrono::milliseconds(1 + i % 40);
        if (i % 3 == 1)
            req.call.deadlines.idle = std::chrono::milliseconds(1 + i % 5);
        req.call.deadlines.total = 2500ms;
        auto s = co_await m->async_chat_stream(std::move(req));
        std::string text;
        for (;;) {
            auto c = co_await s.async_next();
            if (!c)
                break;
            text += c->text();
        }
        co_return text;
    };
    on_four_threads(ioc, [&] {
        for (int i = 0; i < calls; ++i) {
            asio::co_spawn(ioc.get_executor(), with_deadline(phased(model, i), std::chrono::milliseconds(500 + (i * 53) % 2500)),
                           [&](std::exception_ptr e, std::string) { o.add(e); });
        }
        wait_for(o, calls, 120s);
        sim.stop();
    });
    BOOST_TEST(o.total() == calls);
    const std::set<std::string> allowed = {
        "ok",
        name_of(make_error_code(client_errc::deadline_exceeded)),
        name_of(make_error_code(client_errc::first_token_deadline_exceeded)),
        name_of(make_error_code(client_errc::idle_deadline_exceeded)),
        name_of(make_error_code(client_errc::total_deadline_exceeded)),
        name_of(make_api_error(429)),
    };
    const auto counts = o.counts();
    for (const auto& [what, n] : counts) {
        BOOST_TEST_MESSAGE(what << " x" << n);
        BOOST_TEST(allowed.contains(what), "unexpected outcome " << what << " x" << n);
    }
    BOOST_TEST(counts.contains("ok"));
    BOOST_TEST(sim.stats().rejected > 0u); // the limit was met, so retries ran
}

// with_deadline firing in each phase of a raw exchange: the pool wait, the TLS handshake,
// the write (a server that never reads a large body), the headers, the body and mid-stream.
BOOST_AUTO_TEST_CASE(deadlines_in_every_phase_on_four_threads)
{
    asio::io_context ioc;
    test::test_ca ca;
    test_server server(ioc.get_executor());
    test_server tls(ioc.get_executor(), &ca);
    auto script = [](const test::received_request& req, test::exchange& ex) -> asio::awaitable<void> {
        if (req.target == "/headers") {
            co_await ex.async_stall();
        } else if (req.target == "/body") {
            co_await ex.async_write_raw("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial");
            co_await ex.async_stall();
        } else if (req.target == "/stream") {
            co_await ex.async_write_raw("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
            for (int i = 0; i < 1000; ++i) {
                co_await ex.async_write_raw("6\r\nchunk\n\r\n");
                co_await ex.async_sleep(1ms);
            }
            co_await ex.async_write_raw("0\r\n\r\n");
        } else {
            co_await ex.async_respond(200, "ok");
        }
    };
    server.on_request(script);
    tls.on_request(script);
    // A TCP listener that never completes a TLS handshake: accepts, then stays silent.
    asio::ip::tcp::acceptor mute(ioc, {asio::ip::make_address("127.0.0.1"), 0});
    std::vector<std::shared_ptr<asio::ip::tcp::socket>> held;
    std::mutex held_mutex;
    std::function<void()> accept_mute = [&] {
        auto s = std::make_shared<asio::ip::tcp::socket>(ioc);
        mute.async_accept(*s, [&, s](boost::system::error_code ec) {
            if (ec)
                return;
            {
                std::lock_guard lock(held_mutex);
                held.push_back(s);
            }
            accept_mute();
        });
    };
    accept_mute();
    const std::string mute_url = "https://127.0.0.1:" + std::to_string(mute.local_endpoint().port());

    http::client_params p;
    p.max_connections_per_origin = 2;
    p.tls.ca_file = ca.ca_file();
    http::client client(ioc.get_executor(), p);
    outcomes o;
    const std::vector<std::string> urls = {
        server.url() + "/headers", server.url() + "/body", server.url() + "/stream", server.url() + "/ok",
        tls.url() + "/headers",    tls.url() + "/stream",  mute_url + "/handshake", server.url() + "/write",
    };
    const int calls = 240;
    on_four_threads(ioc, [&] {
        for (int i = 0; i < calls; ++i) {
            http::request r;
            r.url = urls[static_cast<std::size_t>(i) % urls.size()];
            if (r.url.ends_with("/write")) {
                r.method = "POST";
                r.body.assign(8 << 20, 'w'); // more than the socket buffers hold: the write blocks
            }
            auto op = [](http::client c, http::request req) -> asio::awaitable<void> {
                auto s = co_await c.async_open(std::move(req));
                char buf[64];
                for (;;) {
                    std::size_t n = co_await s.async_read_some(buf);
                    if (n == 0)
                        break;
                }
            };
            const auto d = std::chrono::milliseconds(1 + (i * 13) % 120);
            asio::co_spawn(ioc.get_executor(), with_deadline(op(client, std::move(r)), d),
                           [&](std::exception_ptr e) { o.add(e); });
        }
        wait_for(o, calls, 120s);
        std::promise<int> after;
        auto plain = [](http::client c, std::string url) -> asio::awaitable<int> {
            http::request r;
            r.url = std::move(url);
            auto resp = co_await c.async_request(std::move(r));
            co_return resp.status;
        };
        asio::co_spawn(ioc.get_executor(), with_deadline(plain(client, server.url() + "/ok"), 10s),
                       [&](std::exception_ptr e, int status) {
                           if (e)
                               after.set_exception(e);
                           else
                               after.set_value(status);
                       });
        BOOST_TEST(after.get_future().get() == 200);
        asio::post(mute.get_executor(), [&] { mute.close(); });
        server.stop();
        tls.stop();
        std::lock_guard lock(held_mutex);
        for (auto& s : held)
            asio::post(s->get_executor(), [s] {
                boost::system::error_code ignored;
                s->close(ignored);
            });
    });
    const auto counts = o.counts();
    BOOST_TEST(o.total() == calls);
    const std::set<std::string> allowed = {"ok", name_of(make_error_code(client_errc::deadline_exceeded))};
    for (const auto& [what, n] : counts) {
        BOOST_TEST_MESSAGE(what << " x" << n);
        BOOST_TEST(allowed.contains(what), "unexpected outcome " << what << " x" << n);
    }
    BOOST_TEST(counts.contains(name_of(make_error_code(client_errc::deadline_exceeded))));
    auto st = client.stats();
    BOOST_TEST(st.waiting == 0u);
    BOOST_TEST(st.open == st.idle);
}

// A router over two hosts shared by many calls on four threads while the dashboard reads its
// state, one host dies and the router stops: routing, tracking and stop never race.
BOOST_AUTO_TEST_CASE(router_on_four_threads)
{
    asio::io_context ioc;
    auto params = [](const char* second) {
        auto p = sim_params();
        p.exclusive = true;
        auto b = p.models.front();
        b.id = second;
        p.models.push_back(b);
        return p;
    };
    sim::simulator one(ioc.get_executor(), params("b"));
    sim::simulator two(ioc.get_executor(), params("b"));
    llamaswap::router_params rp;
    for (auto* s : {&one, &two}) {
        llamaswap::provider_params hp;
        hp.base_url = s->url();
        rp.hosts.push_back(hp);
    }
    rp.backoff = 10ms;
    rp.max_backoff = 50ms;
    auto router = llamaswap::make_router(ioc.get_executor(), rp);
    outcomes o;
    const int calls = 200;
    std::atomic<bool> reading{true};
    on_four_threads(ioc, [&] {
        std::thread dashboard([&] {
            while (reading) {
                auto st = router->state();
                BOOST_CHECK(st.hosts.size() == 2u);
                std::this_thread::sleep_for(1ms);
            }
        });
        for (int i = 0; i < calls; ++i) {
            auto m = router->get_model(i % 3 ? "a" : "b");
            auto op = i % 2 ? whole(m) : streamed(m, i % 10 == 0 ? 2 : -1);
            asio::co_spawn(ioc, with_deadline(std::move(op), 20s),
                           [&](std::exception_ptr e, std::string) { o.add(e); });
            if (i == calls / 2)
                two.stop();
        }
        wait_for(o, calls, 60s);
        reading = false;
        dashboard.join();
        router->stop();
        one.stop();
    });
    BOOST_TEST(o.total() == calls);
    const auto counts = o.counts();
    for (const auto& [what, n] : counts)
        BOOST_TEST_MESSAGE(what << " x" << n);
    BOOST_TEST(counts.contains("ok"));
    BOOST_TEST(counts.at("ok") >= calls / 2);
    auto st = router->state();
    BOOST_TEST(st.hosts[0].in_flight + st.hosts[1].in_flight == 0u);
}

BOOST_AUTO_TEST_SUITE_END()

#include <majordomo/deadline.hpp>
#include <majordomo/llamaswap/router.hpp>
#include <majordomo/llm/chunk.hpp>
#include <majordomo/registry/router.hpp>
#include <majordomo/sim/simulator.hpp>

#include "llamaswap/failover.hpp"
#include "support/run_coro.hpp"
#include "support/test_server.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/write.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <thread>

namespace asio = boost::asio;
using namespace majordomo;
using namespace std::chrono_literals;
namespace ls = majordomo::llamaswap;

namespace {

sim::model_params model(std::string id, std::chrono::milliseconds load = 50ms, double tps = 2000)
{
    sim::model_params m;
    m.id = std::move(id);
    m.load_time = load;
    m.tokens_per_second = tps;
    return m;
}

sim::simulator_params sim_with(std::vector<sim::model_params> models)
{
    sim::simulator_params sp;
    sp.models = std::move(models);
    return sp;
}

ls::provider_params host(const sim::simulator& s, std::string name)
{
    ls::provider_params p;
    p.base_url = s.url();
    p.name = std::move(name);
    return p;
}

ls::router_params fast(std::vector<ls::provider_params> hosts)
{
    ls::router_params rp;
    rp.hosts = std::move(hosts);
    rp.backoff = 20ms;
    rp.max_backoff = 100ms;
    rp.poll_interval = 20ms;
    return rp;
}

llm::chat_request ask(int max_tokens = 8)
{
    llm::chat_request r;
    r.messages = {llm::message::user("hello")};
    r.max_tokens = max_tokens;
    return r;
}

asio::awaitable<void> sleep_for(std::chrono::milliseconds d)
{
    asio::steady_timer t(co_await asio::this_coro::executor, d);
    co_await t.async_wait(asio::use_awaitable);
}

// Polls `pred` until it holds or `max` passed; returns its last value.
template <class Pred>
asio::awaitable<bool> eventually(Pred pred, std::chrono::milliseconds max = 5s)
{
    const auto end = std::chrono::steady_clock::now() + max;
    while (std::chrono::steady_clock::now() < end) {
        if (pred())
            co_return true;
        co_await sleep_for(10ms);
    }
    co_return pred();
}

const ls::router_model_state* find(const ls::router_host_state& h, std::string_view id)
{
    for (const auto& m : h.models)
        if (m.id == id)
            return &m;
    return nullptr;
}

std::string model_state(const ls::router& r, std::size_t host, std::string_view id)
{
    auto s = r.state();
    auto* m = find(s.hosts.at(host), id);
    return m ? m->state : "<not listed>";
}

bool all_tracking(const ls::router& r, std::string_view how)
{
    auto s = r.state();
    return std::all_of(s.hosts.begin(), s.hosts.end(), [&](const auto& h) { return h.tracking == how; });
}

asio::awaitable<std::string> chat_text(ls::router& r, std::string id)
{
    auto s = co_await r.get_model(std::move(id))->async_chat_stream(ask());
    std::string text;
    while (auto c = co_await s.async_next())
        text += c->text();
    co_return text;
}

// The simulator counts a call once its last write completed, which may be after the client
// took [DONE] from its buffer and the test's coroutine ended: let it finish its bookkeeping.
void settle(asio::io_context& ioc)
{
    ioc.restart();
    ioc.run_for(100ms);
}

std::size_t served(const sim::simulator& s, const std::string& id)
{
    auto st = s.stats();
    auto it = st.models.find(id);
    return it == st.models.end() ? 0 : it->second.served;
}

std::string sse_status(std::string_view models_json)
{
    // llama-swap double-encodes the payload: data is a JSON string holding JSON.
    std::string escaped;
    for (char c : models_json) {
        if (c == '"')
            escaped += '\\';
        escaped += c;
    }
    return "event:message\ndata:{\"type\":\"modelStatus\",\"data\":\"" + escaped + "\"}\n\n";
}

// The head of a chunked event stream and its first chunk, one modelStatus event.
std::string events_opening(std::string_view models_json)
{
    auto frame = sse_status(models_json);
    char size[16];
    std::snprintf(size, sizeof size, "%zx\r\n", frame.size());
    return "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n" +
           std::string(size) + frame + "\r\n";
}

// Takes the router's event-stream connection on `acceptor` and tells it that m is ready.
asio::awaitable<void> accept_tracker(asio::ip::tcp::acceptor& acceptor, asio::ip::tcp::socket& events)
{
    events = co_await acceptor.async_accept(asio::use_awaitable);
    std::string request;
    co_await asio::async_read_until(events, asio::dynamic_buffer(request), "\r\n\r\n", asio::use_awaitable);
    auto out = events_opening(R"([{"id":"m","state":"ready"}])");
    co_await asio::async_write(events, asio::buffer(out), asio::use_awaitable);
}

} // namespace

BOOST_AUTO_TEST_SUITE(llamaswap)
BOOST_AUTO_TEST_SUITE(router)

BOOST_AUTO_TEST_CASE(sends_each_model_to_the_host_where_it_is_loaded)
{
    asio::io_context ioc;
    sim::simulator a(ioc.get_executor(), sim_with({model("m1", 100ms), model("m2", 100ms)}));
    sim::simulator b(ioc.get_executor(), sim_with({model("m1", 100ms), model("m2", 100ms)}));
    auto r = ls::make_router(ioc.get_executor(), fast({host(a, "a"), host(b, "b")}));
    test::run_coro(ioc, [&]() -> asio::awaitable<void> {
        bool synced = co_await eventually([&] { return all_tracking(*r, "events"); });
        BOOST_REQUIRE(synced);
        // Both empty: m1 goes to the first host, m2 to the one with nothing running.
        auto t1 = co_await chat_text(*r, "m1");
        BOOST_TEST(!t1.empty());
        auto t2 = co_await chat_text(*r, "m2");
        BOOST_TEST(!t2.empty());
        bool learned = co_await eventually([&] {
            return model_state(*r, 0, "m1") == "ready" && model_state(*r, 1, "m2") == "ready";
        });
        BOOST_REQUIRE(learned);
        BOOST_TEST(r->state().loaded_on("m1") == std::vector<std::string>{"a"});
        BOOST_TEST(r->state().loaded_on("m2") == std::vector<std::string>{"b"});
        // Alternating calls each go where their model is loaded: no swap anywhere.
        for (int i = 0; i < 6; ++i) {
            auto t = co_await chat_text(*r, i % 2 ? "m2" : "m1");
            BOOST_TEST(!t.empty());
        }
        auto whole = co_await r->get_model("m2")->async_chat(ask());
        BOOST_TEST(!whole.text().empty());
    }());
    settle(ioc);
    BOOST_TEST(a.stats().swaps == 0u);
    BOOST_TEST(b.stats().swaps == 0u);
    BOOST_TEST(a.stats().loads == 1u);
    BOOST_TEST(b.stats().loads == 1u);
    BOOST_TEST(served(a, "m1") == 4u);
    BOOST_TEST(served(b, "m2") == 5u);
    BOOST_TEST(served(a, "m2") == 0u);
    auto st = r->state();
    BOOST_TEST(st.hosts[0].calls == 4u);
    BOOST_TEST(st.hosts[1].calls == 5u);
    BOOST_TEST(st.hosts[0].in_flight == 0u);
    BOOST_TEST(st.hosts[1].in_flight == 0u);
}

BOOST_AUTO_TEST_CASE(never_sends_a_model_to_a_host_that_does_not_list_it)
{
    asio::io_context ioc;
    auto x = model("x");
    x.aliases = {"ex"};
    auto img = model("pic");
    img.kind = sim::model_kind::image;
    img.tokens_per_second = 1000;
    sim::simulator a(ioc.get_executor(), sim_with({x}));
    sim::simulator b(ioc.get_executor(), sim_with({model("y"), img}));
    auto r = ls::make_router(ioc.get_executor(), fast({host(a, "a"), host(b, "b")}));
    test::run_coro(ioc, [&]() -> asio::awaitable<void> {
        // Calls made before the hosts were reached wait for them.
        for (int i = 0; i < 3; ++i) {
            auto ty = co_await chat_text(*r, "y");
            BOOST_TEST(!ty.empty());
            auto tx = co_await chat_text(*r, i == 1 ? "ex" : "x"); // an alias routes like its id
            BOOST_TEST(!tx.empty());
        }
        imagegen::image_request req;
        req.prompt = "a lighthouse";
        req.width = 8;
        req.height = 8;
        req.steps = 2;
        auto im = co_await r->get_image_model("pic")->async_generate(req);
        BOOST_TEST(im.images.size() == 1u);
        try {
            co_await r->get_model("z")->async_chat(ask());
            BOOST_FAIL("a model no host lists was routed");
        } catch (const error& e) {
            BOOST_TEST(e.code() == ls::make_error_code(ls::router_errc::no_host_for_model));
            BOOST_TEST(std::string(e.what()).find("'z'") != std::string::npos);
        }
    }());
    settle(ioc);
    BOOST_TEST(served(a, "x") == 3u);
    BOOST_TEST(served(b, "y") == 3u);
    BOOST_TEST(served(b, "pic") == 1u);
    BOOST_TEST(a.stats().requests > 0u);
    auto st = r->state();
    BOOST_TEST(find(st.hosts[0], "y") == nullptr);
    BOOST_TEST(find(st.hosts[1], "x") == nullptr);
    BOOST_TEST(st.hosts[0].calls == 3u);
    BOOST_TEST(st.hosts[1].calls == 4u);
}

BOOST_AUTO_TEST_CASE(does_not_evict_a_model_with_calls_in_flight)
{
    asio::io_context ioc;
    // 10 tokens at 40/s: a stream of `slow` stays open about a quarter of a second.
    sim::simulator a(ioc.get_executor(), sim_with({model("slow", 50ms, 40), model("other")}));
    sim::simulator b(ioc.get_executor(), sim_with({model("slow", 50ms, 40), model("other")}));
    auto r = ls::make_router(ioc.get_executor(), fast({host(a, "a"), host(b, "b")}));
    test::run_coro(ioc, [&]() -> asio::awaitable<void> {
        bool synced = co_await eventually([&] { return all_tracking(*r, "events"); });
        BOOST_REQUIRE(synced);
        auto warm = co_await chat_text(*r, "slow"); // loads `slow` on a
        BOOST_TEST(!warm.empty());
        // b now runs `other`, idle; a runs `slow` with a call in flight.
        auto o = co_await chat_text(*r, "other");
        BOOST_TEST(!o.empty());
        bool learned = co_await eventually([&] {
            return model_state(*r, 0, "slow") == "ready" && model_state(*r, 1, "other") == "ready";
        });
        BOOST_REQUIRE(learned);
        auto held = co_await r->get_model("slow")->async_chat_stream(ask(10));
        auto st = r->state();
        BOOST_TEST(st.hosts[0].in_flight == 1u);
        BOOST_TEST(find(st.hosts[0], "slow")->in_flight == 1u);
        // `other` is loaded on b: it goes there, never evicting the busy `slow` on a.
        auto o2 = co_await chat_text(*r, "other");
        BOOST_TEST(!o2.empty());
        std::string rest;
        while (auto c = co_await held.async_next())
            rest += c->text();
        BOOST_TEST(!rest.empty());
        BOOST_TEST(r->state().hosts[0].in_flight == 0u);
    }());
    settle(ioc);
    BOOST_TEST(a.stats().swaps == 0u);
    BOOST_TEST(b.stats().swaps == 0u);
    BOOST_TEST(served(b, "other") == 2u);
    BOOST_TEST(served(a, "other") == 0u);
}

BOOST_AUTO_TEST_CASE(a_model_loading_nowhere_goes_where_no_busy_model_is_evicted)
{
    asio::io_context ioc;
    sim::simulator a(ioc.get_executor(), sim_with({model("slow", 50ms, 40), model("new")}));
    sim::simulator b(ioc.get_executor(), sim_with({model("idle"), model("new")}));
    auto r = ls::make_router(ioc.get_executor(), fast({host(a, "a"), host(b, "b")}));
    test::run_coro(ioc, [&]() -> asio::awaitable<void> {
        bool synced = co_await eventually([&] { return all_tracking(*r, "events"); });
        BOOST_REQUIRE(synced);
        auto i = co_await chat_text(*r, "idle");
        BOOST_TEST(!i.empty());
        auto held = co_await r->get_model("slow")->async_chat_stream(ask(10));
        // Both hosts run a model; a's has a call in flight, b's is idle: `new` evicts b's.
        auto n = co_await chat_text(*r, "new");
        BOOST_TEST(!n.empty());
        while (auto c = co_await held.async_next())
            (void)c;
    }());
    settle(ioc);
    BOOST_TEST(served(b, "new") == 1u);
    BOOST_TEST(served(a, "new") == 0u);
    BOOST_TEST(a.stats().swaps == 0u);
    BOOST_TEST(b.stats().swaps == 1u);
}

BOOST_AUTO_TEST_CASE(a_load_evicts_the_least_called_model)
{
    asio::io_context ioc;
    std::vector<sim::model_params> ms{model("hot"), model("cold1"), model("cold2")};
    sim::simulator a(ioc.get_executor(), sim_with(ms));
    sim::simulator b(ioc.get_executor(), sim_with(ms));
    auto r = ls::make_router(ioc.get_executor(), fast({host(a, "a"), host(b, "b")}));
    test::run_coro(ioc, [&]() -> asio::awaitable<void> {
        bool synced = co_await eventually([&] { return all_tracking(*r, "events"); });
        BOOST_REQUIRE(synced);
        // hot on a (called 5 times), cold1 on b (twice, most recently).
        const char* calls[] = {"hot", "cold1", "hot", "hot", "hot", "hot", "cold1"};
        for (const char* id : calls) {
            auto t = co_await chat_text(*r, id);
            BOOST_TEST(!t.empty());
        }
        bool learned = co_await eventually([&] {
            return model_state(*r, 0, "hot") == "ready" && model_state(*r, 1, "cold1") == "ready";
        });
        BOOST_REQUIRE(learned);
        // Both hosts are idle and busy with one model: cold2 evicts cold1, though b was used last.
        auto t = co_await chat_text(*r, "cold2");
        BOOST_TEST(!t.empty());
    }());
    settle(ioc);
    BOOST_TEST(served(b, "cold2") == 1u);
    BOOST_TEST(served(a, "cold2") == 0u);
    BOOST_TEST(a.stats().swaps == 0u);
    BOOST_TEST(b.stats().swaps == 1u);
}

BOOST_AUTO_TEST_CASE(fails_over_when_a_host_refuses_connections)
{
    asio::io_context ioc;
    // Host a served its event stream (m is ready there), then stopped listening: new
    // connections are refused while the router still believes it up.
    asio::ip::tcp::acceptor acceptor(ioc, {asio::ip::make_address("127.0.0.1"), 0});
    const auto port = acceptor.local_endpoint().port();
    asio::ip::tcp::socket events(ioc);
    asio::co_spawn(ioc, [&]() -> asio::awaitable<void> {
        co_await accept_tracker(acceptor, events);
        acceptor.close();
    }, asio::detached);
    sim::simulator b(ioc.get_executor(), sim_with({model("m")}));
    ls::provider_params ap;
    ap.base_url = "http://127.0.0.1:" + std::to_string(port);
    ap.name = "a";
    auto rp = fast({ap, host(b, "b")});
    rp.backoff = 2s; // a stays down for the test
    auto r = ls::make_router(ioc.get_executor(), rp);
    test::run_coro(ioc, [&]() -> asio::awaitable<void> {
        bool synced = co_await eventually([&] { return all_tracking(*r, "events") && !acceptor.is_open(); });
        BOOST_REQUIRE(synced);
        BOOST_TEST(r->state().loaded_on("m") == std::vector<std::string>{"a"});
        auto answer = co_await with_deadline(r->get_model("m")->async_chat(ask()), 5s);
        BOOST_TEST(!answer.text().empty());
        auto st = r->state();
        BOOST_TEST(!st.hosts[0].up);
        BOOST_TEST(st.hosts[0].failovers == 1u);
        BOOST_TEST(st.hosts[0].calls == 1u);
        BOOST_TEST(st.hosts[0].in_flight == 0u);
        BOOST_TEST(st.hosts[0].last_error.find("connecting to") != std::string::npos, st.hosts[0].last_error);
        BOOST_TEST(st.hosts[1].up);
        BOOST_TEST(st.hosts[1].calls == 1u);
        // a is down now: the next calls go straight to b.
        auto again = co_await with_deadline(chat_text(*r, "m"), 5s);
        BOOST_TEST(!again.empty());
        BOOST_TEST(r->state().hosts[0].failovers == 1u);
    }());
    settle(ioc);
    BOOST_TEST(served(b, "m") == 2u);
    r->stop();
    events.close();
}

// Host a takes its event stream, then resets every other connection without reading the request:
// a body larger than the socket buffers cannot be wholly written, so the call never reached a.
BOOST_AUTO_TEST_CASE(fails_over_when_the_request_cannot_be_written)
{
    asio::io_context ioc;
    asio::ip::tcp::acceptor acceptor(ioc);
    acceptor.open(asio::ip::tcp::v4());
    acceptor.set_option(asio::socket_base::receive_buffer_size(4096)); // inherited, so a write backs up
    acceptor.bind({asio::ip::make_address("127.0.0.1"), 0});
    acceptor.listen();
    const auto port = acceptor.local_endpoint().port();
    asio::ip::tcp::socket events(ioc);
    std::atomic<int> reset{0};
    asio::co_spawn(ioc, [&]() -> asio::awaitable<void> {
        co_await accept_tracker(acceptor, events);
        for (;;) {
            auto [ec, c] = co_await acceptor.async_accept(asio::as_tuple(asio::use_awaitable));
            if (ec)
                co_return;
            c.set_option(asio::socket_base::linger(true, 0));
            c.close(); // a reset, with the request mostly unread
            ++reset;
        }
    }, asio::detached);
    auto big = model("m", 0ms, 1e9); // the prompt costs no simulated time
    sim::simulator b(ioc.get_executor(), sim_with({big}));
    ls::provider_params ap;
    ap.base_url = "http://127.0.0.1:" + std::to_string(port);
    ap.name = "a";
    auto rp = fast({ap, host(b, "b")});
    rp.backoff = 2s; // a stays down for the test
    auto r = ls::make_router(ioc.get_executor(), rp);
    test::run_coro(ioc, [&]() -> asio::awaitable<void> {
        bool synced = co_await eventually([&] { return all_tracking(*r, "events"); });
        BOOST_REQUIRE(synced);
        BOOST_TEST(r->state().loaded_on("m") == std::vector<std::string>{"a"});
        llm::chat_request req;
        req.messages = {llm::message::user(std::string(8u << 20, 'x'))}; // beyond what the buffers hold
        req.max_tokens = 4;
        auto answer = co_await with_deadline(r->get_model("m")->async_chat(std::move(req)), 20s);
        BOOST_TEST(!answer.text().empty());
        auto st = r->state();
        BOOST_TEST(!st.hosts[0].up);
        BOOST_TEST(st.hosts[0].failovers == 1u);
        BOOST_TEST(st.hosts[0].last_error.find("writing request to") != std::string::npos, st.hosts[0].last_error);
        BOOST_TEST(st.hosts[1].calls == 1u);
    }());
    settle(ioc);
    BOOST_TEST(reset.load() >= 1);
    BOOST_TEST(served(b, "m") == 1u);
    r->stop();
    acceptor.close();
    events.close();
}

// Failing over reads the transport's request_not_sent, not the wording of the message: a failure
// flagged as never sent moves on whatever it says, and one after the request went out (a reset,
// or a timeout found by keep-alive) never does, whatever its code.
BOOST_AUTO_TEST_CASE(fails_over_by_the_not_sent_flag_alone)
{
    auto failure = [](boost::system::error_code ec, std::string what, bool not_sent, int status = 0) {
        diagnostics d;
        d.client_message = std::move(what);
        d.request_not_sent = not_sent;
        d.http_status = status;
        return error(ec, std::move(d));
    };
    namespace ae = asio::error;
    auto tls_setup = failure(make_error_code(ae::invalid_argument),
                             "setting up TLS verification for https://a:1 failed; check the host name in the URL",
                             true);
    BOOST_TEST(ls::detail::never_sent(tls_setup));
    BOOST_TEST(!ls::detail::lost_after_sending(tls_setup));
    auto refused = failure(make_error_code(ae::connection_refused), "connecting to http://a:1", true);
    BOOST_TEST(ls::detail::never_sent(refused));
    auto write = failure(make_error_code(ae::broken_pipe), "writing request to http://a:1/v1/chat/completions", true);
    BOOST_TEST(ls::detail::never_sent(write));
    BOOST_TEST(!ls::detail::lost_after_sending(write));

    auto timed_out = failure(make_error_code(ae::timed_out),
                             "reading response headers from http://a:1/v1/chat/completions", false);
    BOOST_TEST(!ls::detail::never_sent(timed_out));
    BOOST_TEST(ls::detail::lost_after_sending(timed_out));
    auto cut = failure(make_error_code(ae::connection_reset),
                       "reading response headers from http://a:1/v1/chat/completions", false);
    BOOST_TEST(!ls::detail::never_sent(cut));
    BOOST_TEST(ls::detail::lost_after_sending(cut));
    // A message that merely reads like an unsent request is not one.
    auto worded = failure(make_error_code(ae::connection_reset), "connecting to the upstream failed", false);
    BOOST_TEST(!ls::detail::never_sent(worded));

    auto answered = failure(make_api_error(502), "", false, 502);
    BOOST_TEST(!ls::detail::never_sent(answered));
    BOOST_TEST(!ls::detail::lost_after_sending(answered));
}

BOOST_AUTO_TEST_CASE(a_call_cut_after_its_request_is_not_resent_and_the_host_comes_back)
{
    asio::io_context ioc;
    test::test_server fake(ioc.get_executor());
    std::atomic<int> chats{0};
    fake.on_request([&](const test::received_request& req, test::exchange& x) -> asio::awaitable<void> {
        if (req.target == "/api/events") {
            auto out = events_opening(R"([{"id":"m","state":"ready"}])");
            co_await x.async_write_raw(out);
            co_await x.async_stall();
        } else if (req.target == "/v1/chat/completions") {
            if (++chats == 1) {
                x.reset(); // read the POST, then died: it may have acted on it
                co_return;
            }
            co_await x.async_respond(200,
                                     R"({"id":"c","object":"chat.completion","created":1,"model":"m","choices":[)"
                                     R"({"index":0,"message":{"role":"assistant","content":"again"},"finish_reason":"stop"}]})",
                                     test::header_list({"Content-Type", "application/json"}));
        } else
            co_await x.async_respond(404, "404 page not found");
    });
    sim::simulator b(ioc.get_executor(), sim_with({model("m")}));
    ls::provider_params ap;
    ap.base_url = fake.url();
    ap.name = "a";
    auto rp = fast({ap, host(b, "b")});
    rp.backoff = 200ms;
    auto r = ls::make_router(ioc.get_executor(), rp);
    test::run_coro(ioc, [&]() -> asio::awaitable<void> {
        bool synced = co_await eventually([&] { return all_tracking(*r, "events"); });
        BOOST_REQUIRE(synced);
        bool failed = false;
        try {
            co_await r->get_model("m")->async_chat(ask());
        } catch (const error& e) {
            failed = true;
            BOOST_TEST(e.diag().http_status == 0);
        }
        BOOST_TEST(failed); // not re-sent to b
        BOOST_TEST(served(b, "m") == 0u);
        auto st = r->state();
        BOOST_TEST(!st.hosts[0].up);
        BOOST_TEST(st.hosts[0].failovers == 0u);
        // Within the backoff the next call goes to b.
        auto t = co_await chat_text(*r, "m");
        BOOST_TEST(!t.empty());
        bool counted = co_await eventually([&] { return served(b, "m") == 1u; }); // see settle()
        BOOST_TEST(counted);
        bool ready = co_await eventually([&] { return model_state(*r, 1, "m") == "ready"; });
        BOOST_REQUIRE(ready);
        // After it, a's tracker still hears from a, so a is a full candidate again (m is ready on
        // both; a was used longer ago), not a last-resort probe.
        co_await sleep_for(250ms);
        auto resp = co_await r->get_model("m")->async_chat(ask());
        BOOST_TEST(resp.text() == "again");
        BOOST_TEST(r->state().hosts[0].up);
    }());
    BOOST_TEST(chats.load() == 2);
    r->stop();
    fake.stop();
}

BOOST_AUTO_TEST_CASE(a_dead_host_is_avoided_and_taken_back)
{
    asio::io_context ioc;
    auto a = std::make_unique<sim::simulator>(ioc.get_executor(), sim_with({model("m")}));
    const auto port = a->port();
    sim::simulator b(ioc.get_executor(), sim_with({model("m", 150ms)}));
    auto r = ls::make_router(ioc.get_executor(), fast({host(*a, "a"), host(b, "b")}));
    test::run_coro(ioc, [&]() -> asio::awaitable<void> {
        bool synced = co_await eventually([&] { return all_tracking(*r, "events"); });
        BOOST_REQUIRE(synced);
        auto t = co_await chat_text(*r, "m");
        BOOST_TEST(!t.empty());
        bool loaded = co_await eventually([&] { return model_state(*r, 0, "m") == "ready"; });
        BOOST_REQUIRE(loaded);
        // a dies: its event stream breaks, so the router knows before any call tries it.
        a->stop();
        bool down = co_await eventually([&] { return r->state().hosts[0].tracking == "down"; });
        BOOST_REQUIRE(down);
        auto st = r->state();
        BOOST_TEST(!st.hosts[0].up);
        BOOST_TEST(!st.hosts[0].last_error.empty());
        BOOST_TEST(st.loaded_on("m").empty()); // states of a dead host are unknown
        for (int i = 0; i < 3; ++i) {
            auto again = co_await with_deadline(chat_text(*r, "m"), 5s);
            BOOST_TEST(!again.empty());
        }
        bool counted = co_await eventually([&] { return served(b, "m") == 3u; }); // see settle()
        BOOST_TEST(counted);
        // a comes back on the same port: the tracker reconnects and learns its states.
        auto sp = sim_with({model("m")});
        sp.port = port;
        a = std::make_unique<sim::simulator>(ioc.get_executor(), sp);
        bool back = co_await eventually([&] {
            auto s = r->state();
            return s.hosts[0].up && s.hosts[0].tracking == "events" && model_state(*r, 0, "m") == "stopped";
        });
        BOOST_TEST(back);
    }());
    a->stop();
}

BOOST_AUTO_TEST_CASE(relearns_states_after_the_events_stream_drops)
{
    asio::io_context ioc;
    test::test_server fake(ioc.get_executor());
    std::atomic<int> streams{0};
    fake.on_request([&](const test::received_request& req, test::exchange& x) -> asio::awaitable<void> {
        if (req.target != "/api/events") {
            co_await x.async_respond(404, "404 page not found");
            co_return;
        }
        const int n = ++streams;
        if (n == 1) {
            // The first stream says m is stopped, then ends (a config reload).
            auto body = sse_status(R"([{"id":"m","state":"stopped"}])");
            co_await x.async_respond(200, body, test::header_list({"Content-Type", "text/event-stream"}));
            x.set_keep_alive(false);
            co_return;
        }
        auto frame = sse_status(R"([{"id":"m","state":"ready","aliases":["mm"]},{"id":"p/x","state":"","peerID":"p"}])");
        char size[16];
        std::snprintf(size, sizeof size, "%zx\r\n", frame.size());
        std::string head = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n";
        co_await x.async_write_raw(head + size + frame + "\r\n");
        co_await x.async_stall();
    });
    auto rp = fast({});
    ls::provider_params hp;
    hp.base_url = fake.url();
    rp.hosts.push_back(hp);
    auto r = ls::make_router(ioc.get_executor(), rp);
    test::run_coro(ioc, [&]() -> asio::awaitable<void> {
        bool relearned = co_await eventually([&] {
            return streams.load() >= 2 && model_state(*r, 0, "m") == "ready" && r->state().hosts[0].tracking == "events";
        });
        BOOST_TEST(relearned);
        auto st = r->state();
        BOOST_TEST(st.hosts[0].name == fake.url()); // unnamed hosts show their redacted URL
        BOOST_TEST(st.loaded_on("mm") == std::vector<std::string>{fake.url()});
        BOOST_TEST(find(st.hosts[0], "p/x") == nullptr); // a peer's model is not this host's
        BOOST_TEST(st.hosts[0].models.size() == 1u);
    }());
    r->stop();
    fake.stop();
}

BOOST_AUTO_TEST_CASE(a_status_older_than_a_queued_call_does_not_undo_its_load)
{
    asio::io_context ioc;
    test::test_server fake(ioc.get_executor());
    std::atomic<bool> chat_arrived{false}, stale_sent{false}, release{false};
    const std::string status = R"([{"id":"m","state":"stopped"},{"id":"n","state":"ready"}])";
    fake.on_request([&](const test::received_request& req, test::exchange& x) -> asio::awaitable<void> {
        if (req.target == "/api/events") {
            auto chunk = [](const std::string& frame) {
                char size[16];
                std::snprintf(size, sizeof size, "%zx\r\n", frame.size());
                return size + frame + "\r\n";
            };
            std::string out = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n";
            co_await x.async_write_raw(out + chunk(sse_status(status)));
            while (!chat_arrived)
                co_await x.async_pause(5ms);
            // Sent after our call reached the host, about a state from before it.
            co_await x.async_write_raw(chunk(sse_status(status)));
            stale_sent = true;
            co_await x.async_stall();
        } else if (req.target == "/v1/chat/completions") {
            chat_arrived = true;
            while (!release)
                co_await x.async_pause(5ms);
            co_await x.async_respond(200,
                                     R"({"id":"c","object":"chat.completion","created":1,"model":"m","choices":[)"
                                     R"({"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}]})",
                                     test::header_list({"Content-Type", "application/json"}));
        } else
            co_await x.async_respond(404, "404 page not found");
    });
    ls::provider_params hp;
    hp.base_url = fake.url();
    auto r = ls::make_router(ioc.get_executor(), fast({hp}));
    test::run_coro(ioc, [&]() -> asio::awaitable<void> {
        bool synced = co_await eventually([&] { return all_tracking(*r, "events"); });
        BOOST_REQUIRE(synced);
        std::string reply;
        bool done = false;
        asio::co_spawn(ioc, [&]() -> asio::awaitable<void> {
            auto resp = co_await r->get_model("m")->async_chat(ask());
            reply = resp.text();
            done = true;
        }, asio::detached);
        bool stale = co_await eventually([&] { return stale_sent.load(); });
        BOOST_REQUIRE(stale);
        co_await sleep_for(30ms); // the tracker applied it
        auto st = r->state();
        BOOST_TEST(find(st.hosts[0], "m")->state == "starting");
        BOOST_TEST(find(st.hosts[0], "m")->in_flight == 1u);
        BOOST_TEST(find(st.hosts[0], "n")->state == "stopping");
        BOOST_TEST(st.loaded_on("n").empty());
        release = true;
        bool finished = co_await eventually([&] { return done; });
        BOOST_REQUIRE(finished);
        BOOST_TEST(reply == "hi");
        BOOST_TEST(r->state().hosts[0].in_flight == 0u);
    }());
    r->stop();
    fake.stop();
}

BOOST_AUTO_TEST_CASE(polls_running_where_events_are_not_served)
{
    asio::io_context ioc;
    test::test_server fake(ioc.get_executor());
    std::atomic<int> polls{0};
    fake.on_request([&](const test::received_request& req, test::exchange& x) -> asio::awaitable<void> {
        const auto json = test::header_list({"Content-Type", "application/json"});
        if (req.target == "/v1/models")
            co_await x.async_respond(200, R"({"object":"list","data":[{"id":"a","object":"model"},{"id":"b","object":"model"}]})", json);
        else if (req.target == "/running") {
            // b is loading on the first poll, ready after.
            const int n = ++polls;
            co_await x.async_respond(200, n == 1 ? R"({"running":[{"model":"b","state":"starting"}]})"
                                                 : R"({"running":[{"model":"b","state":"ready"}]})",
                                     json);
        } else
            co_await x.async_respond(404, "404 page not found");
    });
    ls::provider_params hp;
    hp.base_url = fake.url();
    auto r = ls::make_router(ioc.get_executor(), fast({hp}));
    test::run_coro(ioc, [&]() -> asio::awaitable<void> {
        bool polled = co_await eventually([&] {
            return polls.load() >= 2 && r->state().hosts[0].tracking == "polling" && model_state(*r, 0, "b") == "ready";
        });
        BOOST_TEST(polled);
        BOOST_TEST(model_state(*r, 0, "a") == "stopped");
        BOOST_TEST(r->state().hosts[0].up);
    }());
    r->stop();
    fake.stop();
}

BOOST_AUTO_TEST_CASE(every_host_down_fails_fast_without_secrets)
{
    asio::io_context ioc;
    std::uint16_t dead_port = 0;
    {
        sim::simulator gone(ioc.get_executor(), sim_with({model("m")}));
        dead_port = gone.port();
    }
    ioc.run_for(50ms);
    ioc.restart();
    const std::string dsn = "llama-swap://s3cret-token@127.0.0.1:" + std::to_string(dead_port);
    auto rp = fast({});
    rp.backoff = 2s; // stays down for the test
    rp.max_backoff = 2s;
    auto r = registry::make_router(ioc.get_executor(), {dsn}, rp);
    test::run_coro(ioc, [&]() -> asio::awaitable<void> {
        bool down = co_await eventually([&] { return r->state().hosts[0].tracking == "down"; });
        BOOST_REQUIRE(down);
        auto st = r->state();
        BOOST_TEST(!st.hosts[0].up);
        BOOST_TEST(st.hosts[0].url.find("s3cret") == std::string::npos);
        BOOST_TEST(st.hosts[0].name.find("s3cret") == std::string::npos);
        BOOST_TEST(st.hosts[0].last_error.find("s3cret") == std::string::npos);
        BOOST_TEST(!st.hosts[0].last_error.empty());
        // It never listed a model: nothing is sent there.
        try {
            co_await with_deadline(r->get_model("m")->async_chat(ask()), 1s);
            BOOST_FAIL("a call succeeded with no host");
        } catch (const error& e) {
            BOOST_TEST(e.code() == ls::make_error_code(ls::router_errc::no_host_for_model));
            BOOST_TEST(std::string(e.what()).find("has listed nothing yet") != std::string::npos, e.what());
            BOOST_TEST(std::string(e.what()).find("s3cret") == std::string::npos);
        }
    }());
    BOOST_CHECK_THROW(registry::router_host("openai://k@host"), error);
}

BOOST_AUTO_TEST_CASE(a_listed_model_on_a_down_host_is_no_host_available)
{
    asio::io_context ioc;
    auto a = std::make_unique<sim::simulator>(ioc.get_executor(), sim_with({model("m")}));
    auto rp = fast({host(*a, "a")});
    rp.backoff = 2s;
    rp.max_backoff = 2s;
    auto r = ls::make_router(ioc.get_executor(), rp);
    test::run_coro(ioc, [&]() -> asio::awaitable<void> {
        bool synced = co_await eventually([&] { return all_tracking(*r, "events"); });
        BOOST_REQUIRE(synced);
        a->stop();
        bool down = co_await eventually([&] { return r->state().hosts[0].tracking == "down"; });
        BOOST_REQUIRE(down);
        try {
            co_await with_deadline(r->get_model("m")->async_chat(ask()), 1s);
            BOOST_FAIL("a call succeeded with its only host down");
        } catch (const error& e) {
            BOOST_TEST(e.code() == ls::make_error_code(ls::router_errc::no_host_available));
            BOOST_TEST(std::string(e.what()).find(" a (") != std::string::npos);
        }
    }());
}

BOOST_AUTO_TEST_CASE(many_calls_on_several_threads)
{
    asio::io_context ioc;
    std::vector<sim::model_params> ms{model("p", 30ms), model("q", 30ms), model("r", 30ms)};
    sim::simulator a(ioc.get_executor(), sim_with(ms));
    sim::simulator b(ioc.get_executor(), sim_with(ms));
    auto r = ls::make_router(ioc.get_executor(), fast({host(a, "a"), host(b, "b")}));
    std::atomic<int> ok{0}, bad{0}, done{0};
    const int n = 60;
    for (int i = 0; i < n; ++i)
        asio::co_spawn(ioc, [&, i]() -> asio::awaitable<void> {
            const char* ids[] = {"p", "p", "q", "r"};
            try {
                auto t = co_await with_deadline(chat_text(*r, ids[i % 4]), 30s);
                (t.empty() ? bad : ok)++;
            } catch (const std::exception& e) {
                BOOST_TEST_MESSAGE("call failed: " << e.what());
                ++bad;
            }
            ++done;
        }, asio::detached);
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&] {
            while (done.load() < n && !ioc.stopped())
                ioc.run_for(20ms);
        });
    for (auto& t : threads)
        t.join();
    BOOST_TEST(ok.load() == n);
    BOOST_TEST(bad.load() == 0);
    auto st = r->state();
    BOOST_TEST(st.hosts[0].in_flight + st.hosts[1].in_flight == 0u);
    BOOST_TEST(st.hosts[0].calls + st.hosts[1].calls == std::size_t(n));
    r->stop();
    a.stop();
    b.stop();
    ioc.run_for(100ms);
}

BOOST_AUTO_TEST_SUITE_END()
BOOST_AUTO_TEST_SUITE_END()

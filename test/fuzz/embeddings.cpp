// The embeddings response decoder. It lives inside openai::provider::async_embed, so each
// input is served as a 200 application/json body by a minimal loopback server on one
// kept-alive connection. Invariants: async_embed throws nothing but majordomo::error; a
// decoded response has one vector per input.
//
// Input: the body, then one trailing byte: how many inputs the request had (1..4).
#include <majordomo/error.hpp>
#include <majordomo/openai/provider.hpp>

#include "check.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <cstdint>
#include <exception>
#include <memory>
#include <string>

namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using namespace majordomo;

// Not the tests' test_server: that one records every request, so memory would grow with each
// input and LeakSanitizer would scan after every one of them. This one keeps nothing.
struct harness {
    asio::io_context ioc;
    tcp::acceptor acceptor{ioc, {asio::ip::address_v4::loopback(), 0}};
    std::string body; // what the next request gets
    std::shared_ptr<openai::provider> provider;

    harness()
    {
        asio::co_spawn(ioc, serve(), asio::detached);
        openai::provider_params p;
        p.base_url = "http://127.0.0.1:" + std::to_string(acceptor.local_endpoint().port()) + "/v1";
        p.api_key = "sk-fuzz";
        provider = openai::make_provider(ioc.get_executor(), std::move(p));
    }

    asio::awaitable<void> serve()
    {
        for (;;) {
            auto sock = co_await acceptor.async_accept(asio::use_awaitable);
            sock.set_option(tcp::no_delay(true));
            asio::co_spawn(ioc, session(std::move(sock)), asio::detached);
        }
    }

    // Reads a request head and its Content-Length body, answers with `body`; until the client closes.
    asio::awaitable<void> session(tcp::socket sock)
    {
        std::string in;
        try {
            for (;;) {
                const std::size_t head = co_await asio::async_read_until(sock, asio::dynamic_buffer(in), "\r\n\r\n",
                                                                         asio::use_awaitable);
                std::size_t length = 0;
                const auto at = in.find("Content-Length: ");
                if (at != std::string::npos && at < head)
                    length = std::stoul(in.substr(at + 16));
                if (in.size() < head + length)
                    co_await asio::async_read(sock, asio::dynamic_buffer(in), asio::transfer_exactly(head + length - in.size()),
                                              asio::use_awaitable);
                in.erase(0, head + length);
                std::string out = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
                                  std::to_string(body.size()) + "\r\n\r\n" + body;
                co_await asio::async_write(sock, asio::buffer(out), asio::use_awaitable);
            }
        } catch (const std::exception&) {
            // The client closed the connection.
        }
    }
};

harness& the_harness()
{
    static harness* h = new harness; // never destroyed: the server outlives every input
    return *h;
}

asio::awaitable<void> embed(harness& h, std::size_t inputs)
{
    openai::embedding_request req;
    req.model = "embed";
    for (std::size_t i = 0; i < inputs; ++i)
        req.input.push_back("text " + std::to_string(i));
    try {
        auto r = co_await h.provider->async_embed(std::move(req));
        if (r.embeddings.size() != inputs)
            fuzz::fail("embeddings", "not one vector per input", h.body);
    } catch (const error& e) {
        if (&e.code().category() != &get_client_category())
            fuzz::fail("embeddings", e.what(), h.body);
    } catch (...) {
        fuzz::foreign_exception("embeddings", h.body);
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    auto& h = the_harness();
    std::size_t inputs = 1;
    if (size > 0) {
        inputs = 1 + data[size - 1] % 4;
        --size;
    }
    h.body.assign(reinterpret_cast<const char*>(data), size);
    bool finished = false;
    std::exception_ptr failure;
    asio::co_spawn(h.ioc, embed(h, inputs), [&](std::exception_ptr e) {
        failure = e;
        finished = true;
    });
    while (!finished)
        h.ioc.run_one();
    if (failure)
        std::rethrow_exception(failure); // the harness itself failed
    return 0;
}

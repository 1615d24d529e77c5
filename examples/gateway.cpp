// gateway: an OpenAI-compatible /v1/chat/completions endpoint in front of llama-swap, on one
// io_context. Whole and streamed requests go through majordomo's chat API; streamed chunks are
// relayed as they arrive, and a client that disconnects cancels its upstream call.
//
//   gateway --upstream http://127.0.0.1:8080 [--port N] [--address A]
//
// The first line on stdout is "listening on http://ADDRESS:PORT". Serves until SIGINT or SIGTERM.
#include <majordomo/error.hpp>
#include <majordomo/llamaswap/provider.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <cstdio>
#include <exception>
#include <string>
#include <variant>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace json = boost::json;
using asio::ip::tcp;
using namespace majordomo;
using namespace asio::experimental::awaitable_operators;

namespace {

using request_t = bhttp::request<bhttp::string_body>;

// A request the gateway cannot forward: answered 400.
struct bad_request : std::runtime_error {
    using std::runtime_error::runtime_error;
};

std::string error_json(const std::string& message, const char* type)
{
    json::object e;
    e["message"] = message;
    e["type"] = type;
    json::object o;
    o["error"] = std::move(e);
    return json::serialize(o);
}

// The OpenAI request body as majordomo's chat_request: messages typed, every other field passed on.
llm::chat_request to_chat_request(const json::object& body, std::string& model, bool& stream)
{
    const auto* m = body.if_contains("model");
    if (!m || !m->is_string())
        throw bad_request("\"model\" is required");
    model = m->get_string();
    const auto* msgs = body.if_contains("messages");
    if (!msgs || !msgs->is_array())
        throw bad_request("\"messages\" must be an array");
    llm::chat_request req;
    for (const auto& v : msgs->get_array()) {
        const auto* o = v.if_object();
        const auto* role = o ? o->if_contains("role") : nullptr;
        if (!role || !role->is_string())
            throw bad_request("each message needs a \"role\"");
        std::string_view r = role->get_string();
        llm::message msg = r == "system"      ? llm::message::system("")
                           : r == "assistant" ? llm::message::assistant("")
                           : r == "user"      ? llm::message::user("")
                                              : throw bad_request("unsupported role: " + std::string(r));
        msg.content.clear();
        const auto* content = o->if_contains("content");
        if (content && content->is_string()) {
            msg.content.push_back(llm::text_part{std::string(content->get_string())});
        } else if (content && content->is_array()) {
            for (const auto& p : content->get_array()) {
                const auto* po = p.if_object();
                const auto* type = po ? po->if_contains("type") : nullptr;
                if (type && *type == "text" && po->contains("text") && po->at("text").is_string())
                    msg.content.push_back(llm::text_part{std::string(po->at("text").get_string())});
                else if (type && *type == "image_url" && po->contains("image_url") &&
                         po->at("image_url").is_object() && po->at("image_url").as_object().contains("url"))
                    msg.content.push_back(llm::image_part::from_url(
                        std::string(po->at("image_url").as_object().at("url").as_string())));
                else
                    throw bad_request("unsupported content part");
            }
        }
        req.messages.push_back(std::move(msg));
    }
    stream = false;
    if (const auto* s = body.if_contains("stream"); s && s->is_bool())
        stream = s->get_bool();
    for (const auto& kv : body)
        if (kv.key() != "model" && kv.key() != "messages" && kv.key() != "stream" && kv.key() != "stream_options")
            req.extra[kv.key()] = kv.value();
    return req;
}

// The status an error becomes: the upstream's own status, else 504 for a deadline, else 502.
unsigned status_of(const std::exception_ptr& e, std::string& message)
{
    try {
        std::rethrow_exception(e);
    } catch (const majordomo::error& err) {
        message = err.what();
        if (err.code().category() == get_api_category())
            return static_cast<unsigned>(err.code().value());
        return err.code() == client_errc::deadline_exceeded ? 504 : 502;
    } catch (const std::exception& err) {
        message = err.what();
    }
    return 502;
}

asio::awaitable<void> write_whole(tcp::socket& sock, const request_t& req, unsigned status, std::string body,
                                  const char* type = "application/json")
{
    bhttp::response<bhttp::string_body> res{static_cast<bhttp::status>(status), req.version()};
    res.set(bhttp::field::content_type, type);
    res.keep_alive(req.keep_alive());
    res.body() = std::move(body);
    res.prepare_payload();
    co_await bhttp::async_write(sock, res, asio::use_awaitable);
}

// Completes when the client closes its end; never for a client that sends more (pipelining).
asio::awaitable<void> watch_client(tcp::socket& sock)
{
    auto [ec] = co_await sock.async_wait(tcp::socket::wait_read, asio::as_tuple(asio::use_awaitable));
    boost::system::error_code aec;
    if (ec || sock.available(aec) == 0 || aec)
        co_return; // EOF or reset: the client is gone
    asio::steady_timer forever(sock.get_executor(), asio::steady_timer::time_point::max());
    co_await forever.async_wait(asio::as_tuple(asio::use_awaitable));
}

asio::awaitable<void> write_chunk(tcp::socket& sock, const std::string& event)
{
    co_await asio::async_write(sock, bhttp::make_chunk(asio::buffer(event)), asio::use_awaitable);
}

// Relays the chunks as they arrive, as `data:` events in a chunked body, then [DONE].
asio::awaitable<void> relay(tcp::socket& sock, llm::chat_stream& stream)
{
    std::string last; // "data: [DONE]", or the error event (no co_await inside a catch)
    try {
        for (;;) {
            auto chunk = co_await stream.async_next();
            if (!chunk)
                break;
            if (chunk->loading) // llama-swap's progress frames are not OpenAI output
                continue;
            std::string event = "data: " + chunk->raw.text() + "\n\n";
            co_await write_chunk(sock, event);
        }
        last = "data: [DONE]\n\n";
    } catch (const boost::system::system_error& e) {
        if (e.code() == asio::error::operation_aborted)
            throw; // the client went away: nothing to tell it
        // The status line is gone already: the error goes in the stream, then no [DONE].
        std::string message;
        status_of(std::current_exception(), message);
        last = "data: " + error_json(message, "upstream_error") + "\n\n";
    }
    co_await write_chunk(sock, last);
    co_await asio::async_write(sock, bhttp::make_chunk_last(), asio::use_awaitable);
}

// Returns whether the connection may serve another request.
asio::awaitable<bool> serve_chat(tcp::socket& sock, const request_t& req, llamaswap::provider& swap)
{
    std::string model_id;
    bool stream = false;
    llm::chat_request creq;
    std::string invalid;
    try {
        auto body = json::parse(req.body());
        if (!body.is_object())
            throw bad_request("the body must be a JSON object");
        creq = to_chat_request(body.as_object(), model_id, stream);
    } catch (const std::exception& e) {
        invalid = e.what();
    }
    if (!invalid.empty()) {
        co_await write_whole(sock, req, 400, error_json(invalid, "invalid_request_error"));
        co_return req.keep_alive();
    }
    auto model = swap.get_model(model_id);
    std::exception_ptr failure;
    if (!stream) {
        try {
            auto reply = co_await model->async_chat(std::move(creq));
            co_await write_whole(sock, req, 200, reply.raw.text());
            co_return req.keep_alive();
        } catch (...) {
            failure = std::current_exception();
        }
    } else {
        std::optional<llm::chat_stream> upstream;
        try {
            auto s = co_await model->async_chat_stream(std::move(creq));
            upstream.emplace(std::move(s));
        } catch (...) {
            failure = std::current_exception();
        }
        if (upstream) {
            bhttp::response<bhttp::empty_body> res{bhttp::status::ok, req.version()};
            res.set(bhttp::field::content_type, "text/event-stream");
            res.set(bhttp::field::cache_control, "no-cache");
            res.keep_alive(req.keep_alive());
            res.chunked(true);
            bhttp::response_serializer<bhttp::empty_body> sr{res};
            co_await bhttp::async_write_header(sock, sr, asio::use_awaitable);
            // Whichever ends first cancels the other: a disconnect cancels the upstream call.
            auto which = co_await (relay(sock, *upstream) || watch_client(sock));
            co_return which.index() == 0 && req.keep_alive();
        }
    }
    std::string message;
    unsigned status = status_of(failure, message);
    co_await write_whole(sock, req, status, error_json(message, "upstream_error"));
    co_return req.keep_alive();
}

asio::awaitable<void> session(tcp::socket sock, std::shared_ptr<llamaswap::provider> swap)
{
    beast::flat_buffer buffer;
    try {
        for (;;) {
            request_t req;
            auto [ec, n] = co_await bhttp::async_read(sock, buffer, req, asio::as_tuple(asio::use_awaitable));
            if (ec)
                break;
            bool keep = req.keep_alive();
            if (req.target() == "/v1/chat/completions" && req.method() == bhttp::verb::post) {
                bool more = co_await serve_chat(sock, req, *swap);
                keep = keep && more;
            } else if (req.target() == "/health") {
                co_await write_whole(sock, req, 200, "OK", "text/plain");
            } else {
                co_await write_whole(sock, req, 404, error_json("no such endpoint", "invalid_request_error"));
            }
            if (!keep)
                break;
        }
    } catch (const std::exception&) {
        // A client that went away mid-write: nothing left to answer.
    }
    boost::system::error_code ignored;
    sock.shutdown(tcp::socket::shutdown_both, ignored);
}

asio::awaitable<void> accept_loop(tcp::acceptor& acceptor, std::shared_ptr<llamaswap::provider> swap)
{
    for (;;) {
        auto sock = co_await acceptor.async_accept(asio::use_awaitable);
        asio::co_spawn(acceptor.get_executor(), session(std::move(sock), swap), asio::detached);
    }
}

} // namespace

int main(int argc, char** argv)
{
    std::string upstream, address = "127.0.0.1";
    unsigned short port = 0;
    for (int i = 1; i + 1 < argc; i += 2) {
        std::string a = argv[i];
        if (a == "--upstream")
            upstream = argv[i + 1];
        else if (a == "--port")
            port = static_cast<unsigned short>(std::stoul(argv[i + 1]));
        else if (a == "--address")
            address = argv[i + 1];
    }
    if (upstream.empty()) {
        std::fprintf(stderr, "usage: gateway --upstream URL [--port N] [--address A]\n");
        return 2;
    }
    asio::io_context ioc;
    llamaswap::provider_params params;
    params.base_url = upstream;
    auto swap = llamaswap::make_provider(ioc.get_executor(), std::move(params));
    tcp::acceptor acceptor(ioc, {asio::ip::make_address(address), port});
    std::printf("listening on http://%s:%u\n", address.c_str(), static_cast<unsigned>(acceptor.local_endpoint().port()));
    std::fflush(stdout);
    asio::signal_set signals(ioc, SIGINT, SIGTERM);
    signals.async_wait([&](auto, auto) { ioc.stop(); });
    asio::co_spawn(ioc, accept_loop(acceptor, swap), asio::detached);
    ioc.run();
    return 0;
}

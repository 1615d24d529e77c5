#include "support/test_server.hpp"

#include "support/test_ca.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/string_body.hpp>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <exception>
#include <mutex>
#include <optional>

namespace majordomo::test {

namespace asio = boost::asio;
namespace bh = boost::beast::http;
using asio::use_awaitable;
using tcp = asio::ip::tcp;

header_list::header_list(field_view f1, field_view f2, field_view f3, field_view f4, field_view f5,
                         field_view f6, field_view f7, field_view f8)
{
    for (const field_view& f : {f1, f2, f3, f4, f5, f6, f7, f8})
        if (!f.name.empty())
            add(f.name, f.value);
}

header_list& header_list::add(std::string_view name, std::string_view value)
{
    items_.push_back({std::string(name), std::string(value)});
    return *this;
}

std::string received_request::header(std::string_view name) const
{
    for (const auto& h : headers)
        if (boost::beast::iequals(h.name, name))
            return h.value;
    return {};
}

namespace {

constexpr std::size_t read_chunk = 16 * 1024;

// Surfaces a handler's own failure (say a failed BOOST_REQUIRE) out of io_context::run
// instead of letting `detached` swallow it.
void rethrow(std::exception_ptr e)
{
    if (e)
        std::rethrow_exception(e);
}

// One accepted socket. Every member runs on the socket's strand, so none needs a lock.
class connection final : public exchange {
public:
    connection(tcp::socket s, asio::ssl::context* tls) : sock_(std::move(s)), timer_(sock_.get_executor())
    {
        if (tls)
            tls_.emplace(sock_, *tls);
    }

    asio::any_io_executor executor() { return sock_.get_executor(); }
    // True while waiting for a request of which nothing has arrived yet.
    bool idle() const { return idle_; }
    bool wrote() const { return wrote_; }
    bool keep_alive() const { return keep_alive_; }

    asio::awaitable<bool> async_handshake()
    {
        if (!tls_)
            co_return true;
        auto [ec] =
            co_await tls_->async_handshake(asio::ssl::stream_base::server, asio::as_tuple(use_awaitable));
        co_return !ec;
    }

    // The next request, or nullopt when the peer closed or sent something unparsable.
    asio::awaitable<std::optional<received_request>> async_read_request()
    {
        bh::request_parser<bh::string_body> parser;
        parser.eager(true);
        parser.header_limit(1024 * 1024);
        parser.body_limit(boost::none);
        idle_ = buf_.size() == 0;
        bool continue_sent = false;
        for (;;) {
            if (buf_.size() > 0) {
                boost::system::error_code ec;
                std::size_t used = parser.put(buf_.data(), ec);
                buf_.consume(used);
                if (ec && ec != bh::error::need_more)
                    break;
                if (parser.is_done())
                    break;
                if (!ec && used > 0)
                    continue;
            }
            // Clients such as curl hold a large body back for a second unless told to go on.
            if (parser.is_header_done() && !continue_sent &&
                boost::beast::iequals(parser.get()[bh::field::expect], "100-continue")) {
                continue_sent = true;
                bool written = co_await write_all("HTTP/1.1 100 Continue\r\n\r\n");
                if (!written)
                    break;
            }
            std::size_t n = co_await read_some(buf_.prepare(read_chunk));
            if (n == 0)
                break;
            buf_.commit(n);
            idle_ = false;
        }
        idle_ = false;
        if (!parser.is_done())
            co_return std::nullopt;

        auto& m = parser.get();
        received_request r;
        r.method = std::string(m.method_string());
        r.target = std::string(m.target());
        r.version = m.version();
        for (const auto& f : m)
            r.headers.push_back({std::string(f.name_string()), std::string(f.value())});
        r.body = std::move(m.body());
        keep_alive_ = m.keep_alive();
        wrote_ = false;
        co_return r;
    }

    asio::awaitable<void> async_write_raw(std::string_view bytes) override
    {
        if (closed_)
            throw connection_closed();
        wrote_ = true;
        bool written = co_await write_all(bytes);
        if (!written)
            throw connection_closed();
    }

    asio::awaitable<std::string> async_read_some() override
    {
        if (buf_.size() == 0) {
            std::size_t n = co_await read_some(buf_.prepare(read_chunk));
            buf_.commit(n);
        }
        std::string out(static_cast<const char*>(buf_.data().data()), buf_.size());
        buf_.consume(buf_.size());
        co_return out;
    }

    asio::awaitable<void> async_pause(std::chrono::milliseconds d) override
    {
        using namespace asio::experimental::awaitable_operators;
        if (closed_)
            throw connection_closed();
        timer_.expires_after(d);
        // Keeps a read pending so a client close ends the pause; what arrives is kept.
        auto watch = [this]() -> asio::awaitable<void> {
            for (;;) {
                // A read that completed just as the timer won must not start another one.
                auto state = co_await asio::this_coro::cancellation_state;
                if (state.cancelled() != asio::cancellation_type::none)
                    co_return;
                std::size_t n = co_await read_some(buf_.prepare(read_chunk));
                if (n == 0)
                    co_return;
                buf_.commit(n);
            }
        };
        auto r = co_await (timer_.async_wait(asio::as_tuple(use_awaitable)) || watch());
        if (r.index() == 1 || closed_)
            throw connection_closed();
    }

    asio::awaitable<void> async_sleep(std::chrono::milliseconds d) override
    {
        if (closed_)
            throw connection_closed();
        timer_.expires_after(d);
        co_await timer_.async_wait(asio::as_tuple(use_awaitable));
        if (closed_)
            throw connection_closed();
    }

    asio::awaitable<void> async_stall() override
    {
        buf_.consume(buf_.size());
        char sink[read_chunk];
        for (;;) {
            std::size_t n = co_await read_some(asio::buffer(sink));
            if (n == 0)
                throw connection_closed();
        }
    }

    void close() override
    {
        if (closed_)
            return;
        closed_ = true;
        idle_ = false;
        boost::system::error_code ignored;
        sock_.shutdown(tcp::socket::shutdown_both, ignored);
        sock_.close(ignored);
        timer_.cancel();
    }

    void reset() override
    {
        if (closed_)
            return;
        boost::system::error_code ignored;
        sock_.set_option(asio::socket_base::linger(true, 0), ignored);
        closed_ = true;
        idle_ = false;
        sock_.close(ignored);
        timer_.cancel();
    }

    bool is_open() const override { return !closed_; }

    asio::awaitable<void> async_respond(int status, std::string body, header_list headers,
                                        bool chunked) override
    {
        std::string_view reason = bh::obsolete_reason(static_cast<bh::status>(status));
        if (reason == "<unknown-status>")
            reason = "Unknown";
        std::string out = "HTTP/1.1 " + std::to_string(status) + " " + std::string(reason) + "\r\n";
        bool has_type = false;
        for (const auto& [name, value] : headers) {
            out += name + ": " + value + "\r\n";
            has_type = has_type || boost::beast::iequals(name, "content-type");
        }
        if (!has_type)
            out += "Content-Type: text/plain\r\n";
        if (!keep_alive_)
            out += "Connection: close\r\n";
        if (chunked) {
            out += "Transfer-Encoding: chunked\r\n\r\n";
            // Growing, uneven chunk sizes so the client's chunk parser meets many boundaries.
            std::size_t pos = 0, size = 1;
            while (pos < body.size()) {
                std::size_t n = std::min(size, body.size() - pos);
                char line[32];
                std::snprintf(line, sizeof line, "%zx\r\n", n);
                out += line;
                out.append(body, pos, n);
                out += "\r\n";
                pos += n;
                size = size * 7 + 3;
            }
            out += "0\r\n\r\n";
        } else {
            out += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n";
            out += body;
        }
        co_await async_write_raw(out);
    }

    void set_keep_alive(bool keep) override { keep_alive_ = keep; }

private:
    asio::awaitable<bool> write_all(std::string_view bytes)
    {
        if (closed_)
            co_return false;
        asio::const_buffer b(bytes.data(), bytes.size());
        auto [ec, n] = tls_ ? co_await asio::async_write(*tls_, b, asio::as_tuple(use_awaitable))
                            : co_await asio::async_write(sock_, b, asio::as_tuple(use_awaitable));
        co_return !ec;
    }

    // Bytes read, or 0 at end of stream, on error and on cancellation.
    asio::awaitable<std::size_t> read_some(asio::mutable_buffer b)
    {
        if (closed_)
            co_return 0;
        auto [ec, n] = tls_ ? co_await tls_->async_read_some(b, asio::as_tuple(use_awaitable))
                            : co_await sock_.async_read_some(b, asio::as_tuple(use_awaitable));
        co_return ec ? 0 : n;
    }

    tcp::socket sock_;
    std::optional<asio::ssl::stream<tcp::socket&>> tls_;
    asio::steady_timer timer_;
    boost::beast::flat_buffer buf_;
    bool idle_ = false;
    bool closed_ = false;
    bool keep_alive_ = true;
    bool wrote_ = false;
};

} // namespace

struct test_server::impl {
    impl(asio::any_io_executor e, const test_ca* ca, const std::string& address)
        : ex(std::move(e)), acceptor(asio::make_strand(ex), tcp::endpoint(asio::ip::make_address(address), 0)),
          host(address.find(':') == std::string::npos ? address : "[" + address + "]")
    {
        port = acceptor.local_endpoint().port();
        if (ca) {
            tls.emplace(asio::ssl::context::tls_server);
            ca->configure_server(*tls);
        }
    }

    static asio::awaitable<void> accept_loop(std::shared_ptr<impl> self)
    {
        for (;;) {
            // Each connection gets its own strand: its socket, timer and handler stay serialised.
            asio::any_io_executor strand = asio::make_strand(self->ex);
            auto [ec, sock] = co_await self->acceptor.async_accept(strand, asio::as_tuple(use_awaitable));
            if (ec)
                co_return;
            ++self->accepted;
            ++self->open;
            auto c = std::make_shared<connection>(std::move(sock), self->tls ? &*self->tls : nullptr);
            {
                std::lock_guard lock(self->mutex);
                std::erase_if(self->conns, [](const auto& w) { return w.expired(); });
                self->conns.push_back(c);
            }
            if (self->stopped)
                c->close(); // accepted just before stop() closed the acceptor
            asio::co_spawn(strand, serve(self, c), rethrow);
        }
    }

    static asio::awaitable<void> serve(std::shared_ptr<impl> self, std::shared_ptr<connection> c)
    {
        std::exception_ptr failure;
        try {
            // g++ 12 crashes on `if (co_await f())` with a bool result; hence the named locals.
            bool ready = co_await c->async_handshake();
            auto script = self->connection_script();
            if (ready && script)
                co_await script(*c);
            else if (ready)
                co_await self->serve_requests(*c);
        } catch (const connection_closed&) {
        } catch (...) {
            failure = std::current_exception();
        }
        c->close();
        --self->open;
        if (failure)
            std::rethrow_exception(failure);
    }

    asio::awaitable<void> serve_requests(connection& c)
    {
        for (;;) {
            auto req = co_await c.async_read_request();
            if (!req)
                co_return;
            handler h;
            {
                std::lock_guard lock(mutex);
                recorded.push_back(*req);
                h = on_req;
            }
            if (h)
                co_await h(*req, c);
            if (!c.is_open())
                co_return;
            if (!c.wrote())
                co_await c.async_respond(200, "", {}, false);
            if (!c.keep_alive())
                co_return;
        }
    }

    conn_handler connection_script()
    {
        std::lock_guard lock(mutex);
        return on_conn;
    }

    std::vector<std::shared_ptr<connection>> live_connections()
    {
        std::lock_guard lock(mutex);
        std::vector<std::shared_ptr<connection>> out;
        for (const auto& w : conns)
            if (auto c = w.lock())
                out.push_back(std::move(c));
        return out;
    }

    asio::any_io_executor ex;
    tcp::acceptor acceptor; // on its own strand
    std::uint16_t port = 0;
    std::optional<asio::ssl::context> tls;
    std::atomic<bool> stopped{false};
    std::atomic<std::size_t> accepted{0};
    std::atomic<std::size_t> open{0};

    mutable std::mutex mutex; // guards what follows
    handler on_req;
    conn_handler on_conn;
    std::string host; // as written in a URL
    std::vector<received_request> recorded;
    std::vector<std::weak_ptr<connection>> conns;
};

test_server::test_server(asio::any_io_executor ex, const test_ca* tls, const std::string& address)
    : impl_(std::make_shared<impl>(std::move(ex), tls, address))
{
    asio::co_spawn(impl_->acceptor.get_executor(), impl::accept_loop(impl_), rethrow);
}

test_server::~test_server() { stop(); }

std::uint16_t test_server::port() const { return impl_->port; }

std::string test_server::url() const { return url_for_host(impl_->host); }

std::string test_server::url_for_host(const std::string& host) const
{
    return std::string(impl_->tls ? "https://" : "http://") + host + ":" + std::to_string(impl_->port);
}

void test_server::on_request(handler h)
{
    std::lock_guard lock(impl_->mutex);
    impl_->on_req = std::move(h);
}

void test_server::on_connection(conn_handler h)
{
    std::lock_guard lock(impl_->mutex);
    impl_->on_conn = std::move(h);
}

std::size_t test_server::open_connections() const { return impl_->open; }

std::size_t test_server::accepted_connections() const { return impl_->accepted; }

std::size_t test_server::request_count() const
{
    std::lock_guard lock(impl_->mutex);
    return impl_->recorded.size();
}

std::vector<received_request> test_server::requests() const
{
    std::lock_guard lock(impl_->mutex);
    return impl_->recorded;
}

asio::awaitable<void> test_server::async_wait_open_connections(std::size_t n, std::chrono::milliseconds max)
{
    asio::steady_timer timer(co_await asio::this_coro::executor);
    const auto until = std::chrono::steady_clock::now() + max;
    while (impl_->open != n && std::chrono::steady_clock::now() < until) {
        timer.expires_after(std::chrono::milliseconds(5));
        co_await timer.async_wait(use_awaitable);
    }
}

void test_server::close_idle_keepalive()
{
    for (auto& c : impl_->live_connections())
        asio::dispatch(c->executor(), [c] {
            if (c->idle())
                c->close();
        });
}

void test_server::stop()
{
    auto self = impl_;
    self->stopped = true;
    asio::dispatch(self->acceptor.get_executor(), [self] {
        boost::system::error_code ignored;
        self->acceptor.close(ignored);
    });
    for (auto& c : self->live_connections())
        asio::dispatch(c->executor(), [c] { c->close(); });
}

} // namespace majordomo::test

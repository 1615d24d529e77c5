#include "http/connection_pool.hpp"
#include "http/errc_mapping.hpp"
#include "http/request_head.hpp"
#include "http/response_reader.hpp"
#include "http/url.hpp"

#include <majordomo/error.hpp>
#include <majordomo/http/client.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <array>
#include <cctype>
#include <mutex>

namespace majordomo::http {

namespace asio = boost::asio;
namespace bh = boost::beast::http;
using clock = timings::clock;

using detail::target;
using detail::parse_target;

struct client::impl {
    impl(executor_type e, client_params p) : ex(std::move(e)), params(std::move(p))
    {
        pool = std::make_shared<detail::connection_pool>(params.max_connections_per_origin);
    }

    // Made on the first https connection: loading the system's CA store costs tens of
    // milliseconds, which a plain-http client should not pay. A mutex, not call_once: a
    // call_once whose function throws hangs under ThreadSanitizer.
    asio::ssl::context& tls_context()
    {
        std::lock_guard lock(tls_mutex);
        if (!tls) {
            asio::ssl::context c(asio::ssl::context::tls_client);
            if (params.tls.unsafe_disable_verification) {
                c.set_verify_mode(asio::ssl::verify_none);
            } else {
                c.set_verify_mode(asio::ssl::verify_peer);
                if (params.tls.ca_file.empty() && params.tls.ca_dir.empty())
                    c.set_default_verify_paths();
                boost::system::error_code ec;
                if (!params.tls.ca_file.empty())
                    c.load_verify_file(params.tls.ca_file, ec);
                if (ec)
                    throw error(ec, "loading tls_params::ca_file '" + params.tls.ca_file +
                                        "': pass a readable PEM file of CA certificates");
                if (!params.tls.ca_dir.empty())
                    c.add_verify_path(params.tls.ca_dir, ec);
                if (ec)
                    throw error(ec, "loading tls_params::ca_dir '" + params.tls.ca_dir +
                                        "': pass a directory of hashed CA certificates");
            }
            tls.emplace(std::move(c));
        }
        return *tls;
    }

    // The URLs a client calls repeat ({base}/chat/completions, ...) and parsing one
    // costs more than writing the request, so the last few parsed are kept.
    target target_for(const std::string& url)
    {
        {
            std::lock_guard lock(targets_mutex);
            for (const auto& [u, t] : targets)
                if (!u.empty() && u == url)
                    return t;
        }
        auto t = parse_target(url);
        std::lock_guard lock(targets_mutex);
        targets[next_target++ % targets.size()] = {url, t};
        return t;
    }

    static asio::awaitable<std::unique_ptr<response_stream::impl>>
    open_stream(std::shared_ptr<impl> self, request req, std::optional<std::size_t> body_limit);

    executor_type ex;
    client_params params;
    std::mutex tls_mutex;
    std::optional<asio::ssl::context> tls;
    std::shared_ptr<detail::connection_pool> pool;
    std::mutex targets_mutex;
    std::array<std::pair<std::string, target>, 8> targets;
    std::size_t next_target = 0;
};

namespace {
// What messages name: origin and path, never the query, which may hold secrets.
std::string where(const detail::origin& o, std::string_view path)
{
    return o.key + std::string(path.substr(0, path.find('?')));
}

} // namespace

struct response_stream::impl {
    explicit impl(detail::reader_limits limits) : reader(limits) {}

    detail::lease lease;
    detail::response_reader reader;
    int status = 0;
    http::fields headers;
    http::timings timings;
    detail::origin origin;
    std::string path;
    std::optional<std::size_t> body_limit; // for async_read_all: the opening client's limit
    // How long the connection may idle in the pool after this response; zero: not at all.
    clock::duration idle_age{};
    bool done = false;   // nothing more to read: the end, an error or close()
    bool closed = false; // ended by an error or close(): reading again is an error
    // The last body piece was handed out in place: the connection, whose buffer holds it,
    // goes back to the pool at the next call (or here, at the end), not before.
    bool end_deferred = false;

    ~impl()
    {
        if (end_deferred && !done)
            finish();
    }

    // The body was read to its end: the connection may serve another request, unless
    // the server said otherwise or sent bytes beyond the response.
    void finish() noexcept
    {
        done = true;
        timings.end = clock::now();
        auto* c = lease.get();
        if (c && idle_age > clock::duration::zero() && reader.parser().keep_alive() && c->buffer().size() == 0) {
            c->idle_expiry = timings.end + idle_age;
            lease.release_reusable();
        } else {
            lease.release_closed();
        }
    }

    [[noreturn]] void fail(boost::system::error_code ec, std::string_view phase)
    {
        done = true;
        closed = true;
        lease.release_closed();
        throw error(ec, std::string(phase) + " " + where(origin, path));
    }
};

namespace {

// The server closed a pooled connection before answering.
bool is_stale(boost::system::error_code ec)
{
    return ec == asio::error::eof || ec == asio::error::connection_reset || ec == asio::error::broken_pipe ||
           ec == asio::error::connection_aborted || ec == bh::error::end_of_stream ||
           ec == asio::ssl::error::stream_truncated;
}

// Methods a server may receive twice without harm (RFC 9110 9.2.2), narrowed to those
// this client's callers use for reads.
bool is_idempotent(std::string_view method) { return method == "GET" || method == "HEAD" || method == "OPTIONS"; }

} // namespace

// Sends the request and reads the status and headers, skipping interim (1xx) responses.
// A reused connection is tried again on a fresh one only when the request provably was
// not acted on: its write failed, or it is idempotent and no response byte came back.
asio::awaitable<std::unique_ptr<response_stream::impl>>
client::impl::open_stream(std::shared_ptr<impl> self, request req, std::optional<std::size_t> body_limit)
{
    timings t;
    t.start = clock::now();
    auto tgt = self->target_for(req.url);
    const bool head_only = req.method == "HEAD";
    const auto head = detail::write_request_head(req, {tgt.path, tgt.host_header, self->params.user_agent});
    const std::array<asio::const_buffer, 2> wire{asio::buffer(head), asio::buffer(req.body)};
    auto lease = co_await self->pool->async_acquire(tgt.origin);

    for (int attempt = 0;; ++attempt) {
        if (!lease.get()) {
            auto c = std::make_unique<detail::connection>(self->ex, self->pool->counters(),
                                                          self->params.header_limit);
            asio::ssl::context* tls = nullptr;
            if (tgt.origin.tls)
                tls = &self->tls_context();
            co_await c->async_connect(tgt.origin, tls);
            lease.set_connection(std::move(c));
        }
        auto* conn = lease.get();
        t.connected = clock::now();
        t.reused_connection = conn->reused;

        auto s = std::make_unique<response_stream::impl>(
            detail::reader_limits{self->params.header_limit, body_limit, head_only,
                                  detail::connection::max_read_size});
        s->origin = tgt.origin;
        s->path = tgt.path;
        auto [wec, wn] = co_await conn->visit(
            [&](auto& stream) { return asio::async_write(stream, wire, asio::as_tuple(asio::use_awaitable)); });
        boost::system::error_code ec = wec;
        if (!ec) {
            t.request_written = clock::now();
            ec = co_await conn->visit([&](auto& stream) { return s->reader.async_read_head(stream, conn->buffer()); });
        }
        if (!ec)
            ec = s->reader.check_framing();
        if (!ec) {
            t.headers_received = clock::now();
            auto& msg = s->reader.parser().get();
            s->status = msg.result_int();
            s->headers.reserve(static_cast<std::size_t>(std::distance(msg.begin(), msg.end())));
            for (const auto& f : msg)
                s->headers.push_back({std::string(f.name_string()), std::string(f.value())});
            s->timings = t;
            s->lease = std::move(lease);
            s->idle_age = s->reader.idle_age(self->params.max_idle_age);
            msg.clear(); // copied above: a long-lived stream need not hold the fields twice
            if (s->reader.is_done())
                s->finish();
            co_return s;
        }
        const bool received = s->reader.received();
        const bool not_acted_on = wec || (is_idempotent(req.method) && !received);
        const bool reused = conn->reused;
        if (reused && attempt == 0 && is_stale(ec) && not_acted_on) {
            lease.drop_connection();
            continue;
        }
        lease.release_closed();
        std::string what = (wec ? "writing request to " : "reading response headers from ") + where(tgt.origin, tgt.path);
        if (reused && is_stale(ec) && !not_acted_on)
            what += " (on a reused connection; not re-sent, since the server may have acted on it)";
        diagnostics d;
        d.client_message = std::move(what);
        d.request_not_sent = wec.failed(); // a request cut short cannot have been acted on
        throw error(detail::map_read_error(ec), std::move(d));
    }
}

response_stream::response_stream(std::unique_ptr<impl> p) : impl_(std::move(p)) {}
response_stream::response_stream(response_stream&&) noexcept = default;
response_stream& response_stream::operator=(response_stream&&) noexcept = default;
response_stream::~response_stream() = default;

int response_stream::status() const noexcept { return impl_->status; }
const http::fields& response_stream::headers() const noexcept { return impl_->headers; }
bool response_stream::done() const noexcept { return impl_->done; }
const http::timings& response_stream::timings() const noexcept { return impl_->timings; }

void response_stream::close() noexcept
{
    if (impl_ && !impl_->done) {
        impl_->done = true;
        impl_->closed = true;
        impl_->lease.release_closed();
    }
}

bool response_stream::try_finish() noexcept
{
    auto& s = *impl_;
    if (s.done)
        return !s.closed;
    auto* conn = s.lease.get();
    if (conn && s.reader.try_finish(conn->buffer())) {
        s.finish();
        return true;
    }
    close();
    return false;
}

asio::awaitable<std::size_t> response_stream::async_read_some(std::span<char> buf)
{
    auto& s = *impl_;
    if (s.closed)
        throw error(make_error_code(errc::stream_closed), "reading response body from " + where(s.origin, s.path));
    if (s.done || buf.empty())
        co_return 0;
    auto* conn = s.lease.get();
    auto [ec, got] = co_await conn->visit(
        [&](auto& stream) { return s.reader.async_read_some(stream, conn->buffer(), buf); });
    if (ec)
        s.fail(ec, "reading response body from");
    if (got && s.timings.first_byte == clock::time_point{})
        s.timings.first_byte = clock::now();
    if (s.reader.is_done())
        s.finish();
    co_return got;
}

asio::awaitable<std::string_view> response_stream::async_read_some_view()
{
    auto& s = *impl_;
    if (s.closed)
        throw error(make_error_code(errc::stream_closed), "reading response body from " + where(s.origin, s.path));
    if (s.done)
        co_return std::string_view();
    if (s.end_deferred) {
        s.finish();
        co_return std::string_view();
    }
    auto* conn = s.lease.get();
    auto [ec, piece] = co_await conn->visit(
        [&](auto& stream) { return s.reader.async_read_view(stream, conn->buffer()); });
    if (ec)
        s.fail(ec, "reading response body from");
    if (!piece.empty() && s.timings.first_byte == clock::time_point{})
        s.timings.first_byte = clock::now();
    if (piece.empty())
        s.finish();
    else if (s.reader.is_done())
        s.end_deferred = true;
    co_return piece;
}

asio::awaitable<std::string> response_stream::async_read_all()
{
    std::string out;
    std::size_t used = 0;
    // Sized from Content-Length when there is one, so the body is read in place once.
    const auto cl = impl_->reader.parser().content_length_remaining();
    std::size_t step = cl ? static_cast<std::size_t>(std::min<std::uint64_t>(*cl, 1 << 24)) : 16 * 1024;
    while (!impl_->done) {
        if (out.size() - used < 1)
            out.resize(used + std::max<std::size_t>(step, 1));
        const std::size_t n = co_await async_read_some({out.data() + used, out.size() - used});
        used += n;
        if (impl_->body_limit && used > *impl_->body_limit) {
            impl_->fail(errc::body_limit_exceeded, "reading response body from");
        }
        step = std::max<std::size_t>(step, used); // grow geometrically when unsized
    }
    out.resize(used);
    co_return out;
}

client::client(executor_type ex, client_params params)
    : impl_(std::make_shared<impl>(std::move(ex), std::move(params)))
{
}

client::executor_type client::get_executor() const noexcept { return impl_->ex; }
const client_params& client::params() const noexcept { return impl_->params; }
pool_stats client::stats() const { return impl_->pool->stats(); }
void client::close_idle() { impl_->pool->close_idle(); }

asio::awaitable<response_stream> client::async_open(request req)
{
    auto self = impl_;
    auto s = co_await impl::open_stream(self, std::move(req), std::nullopt);
    s->body_limit = self->params.body_limit;
    co_return response_stream(std::move(s));
}

asio::awaitable<response> client::async_request(request req)
{
    auto self = impl_;
    auto s = co_await impl::open_stream(self, std::move(req), self->params.body_limit);
    s->body_limit = self->params.body_limit;
    response_stream stream(std::move(s));
    response r;
    r.body = co_await stream.async_read_all();
    r.status = stream.status();
    r.headers = std::move(stream.impl_->headers);
    r.timings = stream.timings();
    co_return r;
}

} // namespace majordomo::http

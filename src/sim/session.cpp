// One connection: Go net/http's HTTP/1.1 keep-alive loop as llama-swap runs it (no read, write or idle
// timeouts), waits that notice a client disconnect (so a cancelled client frees its slot, §9), and
// the writes, including chunked streams flushed one event at a time.
#include "server.hpp"

#include "encoding.hpp"
#include "responses.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/chunk_encode.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/url/parse.hpp>

#include <array>
#include <cstdio>

namespace majordomo::sim::detail {

using namespace std::chrono_literals;

namespace {

constexpr std::size_t max_pipelined = 1024 * 1024; // bytes read ahead while a request waits
constexpr std::string_view bad_request =
    "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n"
    "400 Bad Request";

// Lines llama-swap's loading stream intersperses while a model loads; these are our own words.
constexpr std::array<std::string_view, 4> remarks = {
    "\nStill loading: large models take a while to reach the GPU.\n",
    "\nWarming up the weights...\n",
    "\nThe upstream has not passed its health check yet.\n",
    "\nHang on, the model is nearly there.\n",
};

} // namespace

response make_response(const request& req, http::status st, std::string_view content_type, std::string body)
{
    response res{st, req.version()};
    if (!content_type.empty())
        res.set(http::field::content_type, content_type);
    res.keep_alive(req.keep_alive());
    res.body() = std::move(body);
    res.prepare_payload();
    return res;
}

session::session(std::shared_ptr<server> srv, tcp::socket sock)
    : srv_(std::move(srv)), sock_(std::move(sock)), wake_(sock_.get_executor())
{
}

asio::awaitable<void> session::run(std::shared_ptr<session> self)
{
    session& s = *self;
    s.srv_->add_session(&s);
    // A normal end releases the ticket (arming TTL, waking waiters); a frame destroyed while suspended
    // (the io_context torn down under us) only unlinks itself and must not touch timers.
    struct cleanup {
        session& s;
        bool normal = false;
        ~cleanup()
        {
            if (normal)
                s.srv_->release(s);
            else if (s.ticket_model && s.ticket_model->generation == s.ticket_generation)
                s.ticket_model->serving.erase(s.ticket_it);
            s.srv_->unsubscribe(&s);
            s.srv_->remove_session(&s);
        }
    } guard{s};

    for (;;) {
        http::request_parser<http::string_body> parser;
        parser.header_limit(64 * 1024);
        parser.body_limit(64 * 1024 * 1024);
        auto [ec, n] = co_await http::async_read_header(s.sock_, s.buffer_, parser,
                                                         asio::as_tuple(asio::use_awaitable));
        if (!ec && iequals(parser.get()[http::field::expect], "100-continue")) {
            // Go answers 100 Continue when the handler starts reading the body.
            if (!co_await s.write_raw("HTTP/1.1 100 Continue\r\n\r\n"))
                break;
        }
        if (!ec && !parser.is_done())
            std::tie(ec, n) = co_await http::async_read(s.sock_, s.buffer_, parser,
                                                        asio::as_tuple(asio::use_awaitable));
        if (ec) {
            bool malformed = ec.category() == http::make_error_code(http::error::bad_target).category() &&
                             ec != http::error::end_of_stream && ec != http::error::partial_message;
            if (malformed && !s.gone_)
                co_await s.write_raw(bad_request);
            break;
        }
        request req = parser.release();
        bool keep = co_await s.serve_one(req);
        s.srv_->release(s); // a handler that threw must not keep its ticket
        if (!keep || s.gone_ || s.srv_->stopped() || !req.keep_alive())
            break;
    }
    boost::system::error_code ignored;
    if (!s.gone_)
        s.sock_.shutdown(tcp::socket::shutdown_send, ignored);
    s.sock_.close(ignored);
    guard.normal = true;
}

asio::awaitable<bool> session::serve_one(request& req)
{
    ++srv_->requests;
    std::string path, query;
    auto target = req.target();
    if (auto u = boost::urls::parse_origin_form(target)) {
        path = u->path();
        query = std::string(u->encoded_query());
    } else {
        path = std::string(target.substr(0, target.find('?')));
    }
    exchange x{*srv_, *this, req, std::move(path), std::move(query), req.method() == http::verb::head};
    co_return co_await handle_request(x);
}

asio::awaitable<session::wake> session::wait_until(clock_type::time_point tp)
{
    namespace xp = asio::experimental;
    for (;;) {
        if (notified_) {
            notified_ = false;
            co_return wake::notified;
        }
        if (gone_)
            co_return wake::gone;
        if (clock_type::now() >= tp)
            co_return wake::timeout;
        wake_.expires_at(tp);
        if (buffer_.size() >= max_pipelined) {
            auto [ec] = co_await wake_.async_wait(asio::as_tuple(asio::use_awaitable));
            (void)ec; // expiry and cancellation both lead back to the checks above
            continue;
        }
        // Race the timer against a read, as Go's server watches for the client going away.
        // Named pieces rather than temporaries: the deferred read holds a reference to its buffer.
        auto space = buffer_.prepare(4096);
        auto timer_op = wake_.async_wait(asio::deferred);
        auto read_op = sock_.async_read_some(space, asio::deferred);
        auto group = xp::make_parallel_group(std::move(timer_op), std::move(read_op));
        auto [order, timer_ec, read_ec, n] =
            co_await std::move(group).async_wait(xp::wait_for_one(), asio::use_awaitable);
        (void)order;
        (void)timer_ec;
        if (!read_ec)
            buffer_.commit(n); // a pipelined request: parsed after this one
        else if (read_ec != asio::error::operation_aborted)
            gone_ = true;
    }
}

asio::awaitable<session::outcome> session::pause_until(clock_type::time_point tp)
{
    for (;;) {
        if (cut)
            co_return outcome::cut;
        auto w = co_await wait_until(tp);
        if (w == wake::gone)
            co_return outcome::gone;
        if (cut)
            co_return outcome::cut;
        if (w == wake::timeout)
            co_return outcome::elapsed;
    }
}

void session::notify()
{
    notified_ = true;
    wake_.cancel();
}

void session::abort()
{
    gone_ = true;
    notified_ = true;
    boost::system::error_code ignored;
    sock_.shutdown(tcp::socket::shutdown_both, ignored);
    sock_.close(ignored);
    wake_.cancel();
}

asio::awaitable<bool> session::write(response& res, bool head_only)
{
    if (gone_)
        co_return false;
    last_status = res.result_int();
    boost::system::error_code ec;
    if (head_only) { // HEAD: the headers of the GET, Content-Length included, and no body
        http::response_serializer<http::string_body> sr(res);
        std::tie(ec, std::ignore) =
            co_await http::async_write_header(sock_, sr, asio::as_tuple(asio::use_awaitable));
    } else {
        std::tie(ec, std::ignore) = co_await http::async_write(sock_, res, asio::as_tuple(asio::use_awaitable));
    }
    if (ec)
        gone_ = true;
    co_return !ec;
}

asio::awaitable<bool> session::write_raw(std::string_view bytes)
{
    if (gone_)
        co_return false;
    auto [ec, n] = co_await asio::async_write(sock_, asio::buffer(bytes), asio::as_tuple(asio::use_awaitable));
    if (ec)
        gone_ = true;
    co_return !ec;
}

asio::awaitable<bool> session::start_stream(http::response<http::empty_body>& head)
{
    if (gone_)
        co_return false;
    last_status = head.result_int();
    head.chunked(true);
    http::response_serializer<http::empty_body> sr(head);
    auto [ec, n] = co_await http::async_write_header(sock_, sr, asio::as_tuple(asio::use_awaitable));
    if (ec)
        gone_ = true;
    co_return !ec;
}

asio::awaitable<bool> session::write_chunk(std::string_view data)
{
    if (gone_)
        co_return false;
    if (data.empty()) // an empty chunk would end the body
        co_return true;
    auto [ec, n] = co_await asio::async_write(sock_, http::make_chunk(asio::buffer(data)),
                                              asio::as_tuple(asio::use_awaitable));
    if (ec)
        gone_ = true;
    co_return !ec;
}

asio::awaitable<bool> session::end_stream()
{
    if (gone_)
        co_return false;
    auto last = http::make_chunk_last();
    auto [ec, n] = co_await asio::async_write(sock_, last, asio::as_tuple(asio::use_awaitable));
    if (ec)
        gone_ = true;
    co_return !ec;
}

// ---- loading stream ---------------------------------------------------------------------------------

loading_stream::loading_stream(session& s, const request& req, std::string model_id)
    : s_(s), req_(req), model_(std::move(model_id))
{
}

asio::awaitable<bool> loading_stream::begin()
{
    // llama-swap commits to 200 at once with its own headers; the upstream's are lost (§8).
    http::response<http::empty_body> head{http::status::ok, req_.version()};
    head.set(http::field::content_type, "text/event-stream");
    head.set(http::field::cache_control, "no-cache");
    head.keep_alive(req_.keep_alive());
    if (req_.keep_alive())
        head.set(http::field::connection, "keep-alive");
    started_ = true;
    t0_ = clock_type::now();
    if (!co_await s_.start_stream(head))
        co_return false;
    if (!co_await frame("━━━━━\n"))
        co_return false;
    co_return co_await frame("llama-swap loading model: " + model_ + "\n");
}

asio::awaitable<bool> loading_stream::tick()
{
    ++ticks_;
    if (ticks_ % 10 == 0) // every 7.5 s, within llama-swap's 5-10 s remark cadence
        co_return co_await frame(std::string(remarks[(ticks_ / 10 - 1) % remarks.size()]));
    co_return co_await frame(".");
}

asio::awaitable<bool> loading_stream::queue_position(std::size_t n)
{
    if (n == last_position_)
        co_return true;
    last_position_ = n;
    co_return co_await frame("Queue position: #" + std::to_string(n) + "\n");
}

asio::awaitable<bool> loading_stream::done()
{
    auto secs = std::chrono::duration<double>(clock_type::now() - t0_).count();
    std::array<char, 64> buf{};
    std::snprintf(buf.data(), buf.size(), "\nDone! (%.2fs)\n", secs);
    if (!co_await frame(buf.data()))
        co_return false;
    if (!co_await frame("━━━━━\n"))
        co_return false;
    co_return co_await frame(" \n");
}

asio::awaitable<bool> loading_stream::frame(std::string text)
{
    std::string bytes = loading_frame(text);
    co_return co_await s_.write_chunk(bytes);
}

} // namespace majordomo::sim::detail

// Reads one HTTP/1.1 response from any Asio read stream and a buffer, with the rules Beast's
// parser leaves to its user: interim (1xx) responses skipped within the header budget, an
// unasked-for upgrade refused, framing Beast accepts but we cannot trust refused, and a full
// buffer inside a chunked body told apart as an endless chunk line or trailer. The client
// runs it over its connections; the fuzz target over bytes in memory.
#pragma once

#include "http/errc_mapping.hpp"

#include <majordomo/http/errc.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>

#include <chrono>
#include <cstddef>
#include <optional>
#include <span>
#include <utility>

namespace majordomo::http::detail {

struct reader_limits {
    std::size_t header_limit = 64 * 1024;  ///< all heads of one response, interim ones included
    std::optional<std::size_t> body_limit; ///< body bytes, counted as read; none: unbounded
    bool head_only = false;                ///< a HEAD request: the response has no body
};

class response_reader {
public:
    using parser_type = boost::beast::http::response_parser<boost::beast::http::buffer_body>;

    explicit response_reader(reader_limits limits) : limits_(limits) {}

    /// Reads up to the final response's head. Errors are the stream's and Beast's as they
    /// came (map them with map_read_error; the caller tells a stale connection by them),
    /// or errc::unexpected_upgrade for a 101.
    template <class Stream>
    boost::asio::awaitable<boost::system::error_code> async_read_head(Stream& stream, boost::beast::flat_buffer& buffer);

    /// After the head: errc::bad_framing for a Transfer-Encoding we cannot decode or one
    /// beside Content-Length (a request-smuggling shape, RFC 9112 6.3), else success.
    boost::system::error_code check_framing() const;

    /// How long the connection may idle after this response: at most `max_idle`, a second
    /// short of a Keep-Alive: timeout hint; zero when it must be closed (HTTP/1.0,
    /// Connection: close).
    std::chrono::steady_clock::duration idle_age(std::chrono::steady_clock::duration max_idle) const;

    /// Reads body bytes into `out` until at least one arrived or the body ended. Returns
    /// errors mapped to http::errc (transport errors pass through) and the bytes written,
    /// none with an error; errc::body_limit_exceeded once the body passes the limit.
    template <class Stream>
    boost::asio::awaitable<std::pair<boost::system::error_code, std::size_t>>
    async_read_some(Stream& stream, boost::beast::flat_buffer& buffer, std::span<char> out);

    /// Parses what `buffer` holds without reading: true when the body's end was there and
    /// no body byte was left unread; false otherwise (the parser is then unusable).
    bool try_finish(boost::beast::flat_buffer& buffer) noexcept;

    /// Any byte of a response arrived: the request may have been acted on.
    bool received() const noexcept { return received_; }
    bool is_done() const noexcept { return parser_->is_done(); }
    parser_type& parser() noexcept { return *parser_; }
    const parser_type& parser() const noexcept { return *parser_; }

private:
    boost::system::error_code body_error(boost::system::error_code ec, const boost::beast::flat_buffer& buffer) const;

    reader_limits limits_;
    std::optional<parser_type> parser_;
    std::uint64_t body_read_ = 0;
    bool received_ = false;
};

template <class Stream>
boost::asio::awaitable<boost::system::error_code>
response_reader::async_read_head(Stream& stream, boost::beast::flat_buffer& buffer)
{
    namespace bh = boost::beast::http;
    // Our own loop, not bh::async_read_header: Beast bounds each parse step by its header
    // limit, not the head, so fields arriving in well-cut pieces could grow it without end.
    // Interim responses share the budget, so endless 1xx heads end too.
    std::size_t budget = limits_.header_limit;
    for (;;) {
        auto& p = parser_.emplace();
        p.header_limit(static_cast<std::uint32_t>(
            std::clamp<std::size_t>(budget, 1, std::numeric_limits<std::uint32_t>::max())));
        p.body_limit(boost::none); // counted here: Beast counts bytes offered, not taken
        if (limits_.head_only)
            p.skip(true);
        while (!p.is_header_done()) {
            if (buffer.size() != 0) {
                boost::system::error_code ec;
                const std::size_t used = p.put(buffer.data(), ec);
                buffer.consume(used);
                if (used > budget)
                    co_return make_error_code(bh::error::header_limit);
                budget -= used;
                if (ec && ec != bh::error::need_more)
                    co_return ec;
                if (p.is_header_done())
                    break;
            }
            if (buffer.size() >= budget)
                co_return make_error_code(bh::error::header_limit);
            const std::size_t room = std::min(buffer.max_size() - buffer.size(),
                                              std::max<std::size_t>(512, buffer.capacity() - buffer.size()));
            auto [ec, n] = co_await stream.async_read_some(buffer.prepare(room),
                                                           boost::asio::as_tuple(boost::asio::use_awaitable));
            buffer.commit(n);
            received_ = received_ || n != 0;
            if (ec == boost::asio::error::eof)
                co_return make_error_code(p.got_some() ? bh::error::partial_message : bh::error::end_of_stream);
            if (ec)
                co_return ec;
        }
        if (p.get().result_int() / 100 != 1) {
            const auto length = p.content_length();
            if (limits_.body_limit && length && *length > *limits_.body_limit && !p.is_done())
                co_return make_error_code(errc::body_limit_exceeded);
            co_return boost::system::error_code{};
        }
        if (p.get().result_int() == 101)
            co_return make_error_code(errc::unexpected_upgrade);
    }
}

template <class Stream>
boost::asio::awaitable<std::pair<boost::system::error_code, std::size_t>>
response_reader::async_read_some(Stream& stream, boost::beast::flat_buffer& buffer, std::span<char> out)
{
    namespace bh = boost::beast::http;
    auto& p = *parser_;
    for (;;) {
        auto& body = p.get().body();
        body.data = out.data();
        body.size = out.size();
        auto [ec, n] = co_await bh::async_read_some(stream, buffer, p,
                                                    boost::asio::as_tuple(boost::asio::use_awaitable));
        if (ec == bh::error::need_buffer)
            ec = {};
        std::pair<boost::system::error_code, std::size_t> r(ec, out.size() - body.size);
        if (ec)
            r.first = body_error(ec, buffer);
        body_read_ += r.second;
        if (!ec && limits_.body_limit && body_read_ > *limits_.body_limit)
            r.first = make_error_code(errc::body_limit_exceeded);
        if (r.first)
            r.second = 0; // what a failed read wrote is no body
        if (r.first || r.second || p.is_done() || out.empty())
            co_return r;
    }
}

} // namespace majordomo::http::detail

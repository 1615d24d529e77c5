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
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>

#include <chrono>
#include <cstddef>
#include <cstring>
#include <optional>
#include <span>
#include <string_view>
#include <utility>

namespace majordomo::http::detail {

struct reader_limits {
    std::size_t header_limit = 64 * 1024;  ///< all heads of one response, interim ones included
    std::optional<std::size_t> body_limit; ///< body bytes, counted as read; none: unbounded
    bool head_only = false;                ///< a HEAD request: the response has no body
    /// Most bytes one body read takes from the stream. The buffer starts at what it was
    /// given and doubles up to this only while reads fill it: a stream that trickles (a
    /// model writing tokens) keeps a small buffer, one that floods gets fewer system calls.
    std::size_t max_read_size = 8 * 1024;
};

/// A Beast body that takes no copy: the parser hands it one piece of the body as it lies in
/// the read buffer, then stops (need_buffer) until the piece is taken.
struct view_body {
    struct value_type {
        const char* data = nullptr;
        std::size_t size = 0;
    };

    class reader {
    public:
        template <bool IsRequest, class Fields>
        reader(boost::beast::http::header<IsRequest, Fields>&, value_type& v) : v_(v)
        {
        }
        void init(const boost::optional<std::uint64_t>&, boost::system::error_code& ec) { ec = {}; }
        template <class ConstBufferSequence>
        std::size_t put(const ConstBufferSequence& buffers, boost::system::error_code& ec)
        {
            if (v_.size != 0) {
                ec = boost::beast::http::error::need_buffer;
                return 0;
            }
            const boost::asio::const_buffer b = *boost::asio::buffer_sequence_begin(buffers);
            v_.data = static_cast<const char*>(b.data());
            v_.size = b.size();
            ec = {};
            return b.size();
        }
        void finish(boost::system::error_code& ec) { ec = {}; }

    private:
        value_type& v_;
    };
};

class response_reader {
public:
    using parser_type = boost::beast::http::response_parser<view_body>;

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

    /// The next piece of the body where it lies in `buffer`, without a copy: valid until the
    /// next call that reads (this, async_read_some, try_finish) or changes `buffer`. Empty
    /// with no error at the body's end. Errors are mapped to http::errc (transport errors
    /// pass through); errc::body_limit_exceeded once the body passes the limit.
    template <class Stream>
    boost::asio::awaitable<std::pair<boost::system::error_code, std::string_view>>
    async_read_view(Stream& stream, boost::beast::flat_buffer& buffer);

    /// Copies body bytes into `out` until at least one arrived or the body ended: what
    /// async_read_view gives, kept across calls when `out` is smaller. Errors as there; a
    /// failed read gives no bytes.
    template <class Stream>
    boost::asio::awaitable<std::pair<boost::system::error_code, std::size_t>>
    async_read_some(Stream& stream, boost::beast::flat_buffer& buffer, std::span<char> out);

    /// Parses what `buffer` holds without reading: true when the body's end was there and
    /// no body byte was left unread; false otherwise (the parser is then unusable).
    bool try_finish(boost::beast::flat_buffer& buffer) noexcept;

    /// Any byte of a response arrived: the request may have been acted on.
    bool received() const noexcept { return received_; }
    /// The body was parsed to its end and every byte of it handed out.
    bool is_done() const noexcept { return parser_->is_done() && pending_.empty(); }
    parser_type& parser() noexcept { return *parser_; }
    const parser_type& parser() const noexcept { return *parser_; }

private:
    boost::system::error_code body_error(boost::system::error_code ec, const boost::beast::flat_buffer& buffer) const;
    // Parses what `buffer` holds into the next body piece; need_more when it holds none.
    boost::system::error_code parse_buffered(boost::beast::flat_buffer& buffer, std::string_view& piece);
    // How many bytes the next body read may take, growing the buffer when the last filled it.
    std::size_t next_read_size(boost::beast::flat_buffer& buffer);

    reader_limits limits_;
    std::optional<parser_type> parser_;
    std::uint64_t body_read_ = 0;
    std::string_view pending_;    // what async_read_some took but did not copy out yet
    std::size_t last_room_ = 0;   // what the last body read was offered
    std::size_t last_read_ = 0;   // and what it got
    bool starved_ = false;        // the last parse wanted more bytes than the buffer held
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
            p.eager(true); // from here one put() parses up to the next body piece
            co_return boost::system::error_code{};
        }
        if (p.get().result_int() == 101)
            co_return make_error_code(errc::unexpected_upgrade);
    }
}

template <class Stream>
boost::asio::awaitable<std::pair<boost::system::error_code, std::string_view>>
response_reader::async_read_view(Stream& stream, boost::beast::flat_buffer& buffer)
{
    namespace bh = boost::beast::http;
    using result = std::pair<boost::system::error_code, std::string_view>;
    for (;;) {
        std::string_view piece;
        auto ec = parse_buffered(buffer, piece);
        if (!piece.empty() || (ec && ec != bh::error::need_more))
            co_return result(ec, piece);
        if (parser_->is_done())
            co_return result();
        if (!ec)
            continue; // framing parsed, no body byte yet
        if (buffer.size() >= buffer.max_size())
            co_return result(body_error(bh::error::buffer_overflow, buffer), {});
        const std::size_t room = next_read_size(buffer);
        auto [rec, n] = co_await stream.async_read_some(buffer.prepare(room),
                                                        boost::asio::as_tuple(boost::asio::use_awaitable));
        buffer.commit(n);
        last_room_ = room;
        last_read_ = n;
        if (rec == boost::asio::error::eof) {
            // The body ends here if it runs to EOF; else the response was cut short.
            boost::system::error_code eof_ec;
            parser_->put_eof(eof_ec);
            if (eof_ec)
                co_return result(body_error(eof_ec, buffer), {});
            continue;
        }
        if (rec)
            co_return result(map_read_error(rec), {});
    }
}

template <class Stream>
boost::asio::awaitable<std::pair<boost::system::error_code, std::size_t>>
response_reader::async_read_some(Stream& stream, boost::beast::flat_buffer& buffer, std::span<char> out)
{
    std::pair<boost::system::error_code, std::size_t> r;
    if (out.empty())
        co_return r;
    if (pending_.empty()) {
        auto [ec, piece] = co_await async_read_view(stream, buffer);
        r.first = ec;
        pending_ = piece;
    }
    r.second = std::min(out.size(), pending_.size());
    if (r.second != 0) {
        std::memcpy(out.data(), pending_.data(), r.second);
        pending_.remove_prefix(r.second);
    }
    co_return r;
}

} // namespace majordomo::http::detail

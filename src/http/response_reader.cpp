#include "http/response_reader.hpp"

#include <boost/beast/core/string.hpp>

#include <algorithm>
#include <cstdint>
#include <string_view>

namespace majordomo::http::detail {

namespace bh = boost::beast::http;

namespace {

// The idle time a Keep-Alive: timeout=N hint allows, a second short of the server's
// own limit so that a request never races the server's close; nullopt without a hint.
std::optional<std::chrono::seconds> keep_alive_hint(std::string_view v)
{
    for (std::size_t at = 0; (at = v.find('=', at)) != std::string_view::npos; ++at) {
        auto name = v.substr(0, at);
        name = name.substr(name.find_last_of(" ,;") + 1);
        if (!boost::beast::iequals(name, "timeout"))
            continue;
        std::int64_t n = 0;
        std::size_t i = at + 1;
        for (; i < v.size() && v[i] >= '0' && v[i] <= '9' && n < 1'000'000; ++i)
            n = n * 10 + (v[i] - '0');
        if (i == at + 1)
            return std::nullopt;
        return std::chrono::seconds(std::max<std::int64_t>(n - 1, 0));
    }
    return std::nullopt;
}

// What sits unparsed when the buffer overflows inside a chunked body is a chunk-size
// line or, after the last chunk's line, the trailer section.
errc chunked_overflow(const boost::beast::flat_buffer& b)
{
    std::string_view v(static_cast<const char*>(b.data().data()), b.size());
    if (v.starts_with("\r\n"))
        v.remove_prefix(2);
    // The last chunk's line is zeros, then an extension, whitespace or its CRLF, and it ended.
    const auto digits = v.find_first_not_of('0');
    const bool last_chunk = digits != 0 && digits != std::string_view::npos &&
                            std::string_view(";\r \t").find(v[digits]) != std::string_view::npos &&
                            v.find("\r\n") != std::string_view::npos;
    return last_chunk ? errc::trailer_limit_exceeded : errc::chunk_line_limit_exceeded;
}

} // namespace

boost::system::error_code response_reader::check_framing() const
{
    const auto& msg = parser_->get();
    const bool te = msg.find(bh::field::transfer_encoding) != msg.end();
    const bool cl = msg.find(bh::field::content_length) != msg.end();
    // Beast refuses chunked with Content-Length; any other coding is one we cannot decode.
    if (te && (cl || !parser_->chunked()) && !parser_->is_done())
        return errc::bad_framing;
    return {};
}

std::chrono::steady_clock::duration response_reader::idle_age(std::chrono::steady_clock::duration max_idle) const
{
    const auto& msg = parser_->get();
    if (msg.version() != 11 || !parser_->keep_alive())
        return {};
    if (auto hint = keep_alive_hint(msg[bh::field::keep_alive]))
        return std::min<std::chrono::steady_clock::duration>(max_idle, *hint);
    return max_idle;
}

bool response_reader::try_finish(boost::beast::flat_buffer& buffer) noexcept
{
    if (!pending_.empty())
        return false;
    // Parses what is buffered: a body byte, or a body that needs another read (e.g. one
    // that ends at EOF), means it is not finished.
    while (!parser_->is_done()) {
        std::string_view piece;
        if (parse_buffered(buffer, piece) || !piece.empty())
            return false;
    }
    return true;
}

boost::system::error_code response_reader::parse_buffered(boost::beast::flat_buffer& buffer, std::string_view& piece)
{
    auto& p = *parser_;
    if (p.is_done())
        return {};
    // Once the parser asked for more, it is offered at least 5 bytes again: Beast asserts
    // (in debug builds) on a last chunk's line seen alone and then fewer than 5 bytes, and
    // a complete chunked body always brings them.
    if (buffer.size() == 0 || (starved_ && p.chunked() && buffer.size() < 5))
        return bh::error::need_more;
    auto& v = p.get().body();
    v = {};
    boost::system::error_code ec;
    const std::size_t used = p.put(buffer.data(), ec);
    buffer.consume(used); // the bytes stay where they are until the buffer is next written
    if (v.size != 0) {
        starved_ = false;
        body_read_ += v.size;
        if (limits_.body_limit && body_read_ > *limits_.body_limit)
            return errc::body_limit_exceeded;
        piece = {v.data, v.size};
        return {};
    }
    if (ec == bh::error::need_more || (!ec && used == 0 && !p.is_done())) {
        starved_ = true;
        return bh::error::need_more;
    }
    if (ec)
        return body_error(ec, buffer);
    starved_ = false;
    return {};
}

std::size_t response_reader::next_read_size(boost::beast::flat_buffer& buffer)
{
    // A read that took all it was offered says more was waiting: offer twice as much.
    if (last_read_ != 0 && last_read_ == last_room_ && buffer.capacity() < limits_.max_read_size)
        buffer.reserve(std::min({buffer.capacity() * 2, limits_.max_read_size, buffer.max_size()}));
    return std::min(buffer.max_size() - buffer.size(), std::max<std::size_t>(512, buffer.capacity() - buffer.size()));
}

boost::system::error_code response_reader::body_error(boost::system::error_code ec,
                                                      const boost::beast::flat_buffer& buffer) const
{
    // A full buffer in the body phase is an endless chunk line or trailer: Beast's
    // header limit covers the heads.
    if (ec == bh::error::buffer_overflow)
        return chunked_overflow(buffer);
    return map_read_error(ec);
}

} // namespace majordomo::http::detail

#include "openai/event_reader.hpp"

#include <majordomo/error.hpp>

namespace majordomo::openai::detail {

namespace {
// Consumes an already buffered, empty rest of the body without I/O, or closes the
// connection. A template so that the branch for the missing try_finish() is discarded.
template <class Body>
void finish_body(Body& body) noexcept
{
    if constexpr (finishable_body<Body>) {
        (void)body.try_finish();
    } else {
        // Stopgap until try_finish(): the end of the body (the terminating 0-chunk) cannot
        // be looked at without a read, so the connection is kept only if the body ended.
        if (!body.done())
            body.close();
    }
}
} // namespace

event_reader::event_reader(http::response_stream body, sse::parser_params params)
    : body_(std::move(body)), parser_(params), buf_(buffer_size, '\0')
{
}

boost::asio::awaitable<std::optional<sse::event>> event_reader::async_next()
{
    for (;;) {
        if (pos_ < len_) {
            boost::system::error_code ec;
            pos_ += parser_.feed({buf_.data() + pos_, len_ - pos_}, ec);
            if (ec) {
                body_.close();
                throw error(ec, "parsing the event stream");
            }
            if (parser_.has_event()) {
                event_end_ = pos_;
                tail_.clear();
                co_return parser_.current();
            }
            continue;
        }
        // Keep what followed the last event: it is the tail if the body ends here.
        if (event_end_ < len_ && tail_.size() < tail_limit)
            tail_.append(buf_, event_end_, std::min(len_ - event_end_, tail_limit - tail_.size()));
        pos_ = len_ = event_end_ = 0;
        const std::size_t n = co_await body_.async_read_some({buf_.data(), buf_.size()});
        if (n == 0) {
            parser_.finish();
            co_return std::nullopt;
        }
        len_ = n;
    }
}

void event_reader::finish() noexcept
{
    // Bytes after the terminator (comments, stray events): the server is still talking.
    if (pos_ < len_)
        body_.close();
    else
        finish_body(body_);
}

} // namespace majordomo::openai::detail

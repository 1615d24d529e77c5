#include "openai/event_reader.hpp"

#include <majordomo/error.hpp>

namespace majordomo::openai::detail {

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
        (void)body_.try_finish(); // keeps the connection only if the body's end is buffered
}

} // namespace majordomo::openai::detail

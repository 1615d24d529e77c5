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

boost::asio::awaitable<void> event_reader::async_drain()
{
    constexpr std::size_t max_leftover = 64 * 1024;
    std::size_t seen = 0;
    char scratch[4096];
    while (!body_.done()) {
        seen += co_await body_.async_read_some(scratch);
        if (seen > max_leftover) {
            body_.close();
            break;
        }
    }
}

} // namespace majordomo::openai::detail

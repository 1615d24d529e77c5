#include "openai/event_reader.hpp"

#include <majordomo/error.hpp>

namespace majordomo::openai::detail {

namespace {
// Events whole in a body piece are read where they lie: the piece stays put until the next
// async_next(), which is as long as an event's views live.
sse::parser_params with_borrowing(sse::parser_params p)
{
    p.borrow_input = true;
    return p;
}
} // namespace

event_reader::event_reader(http::response_stream body, sse::parser_params params)
    : body_(std::move(body)), parser_(with_borrowing(params))
{
}

std::optional<sse::event> event_reader::try_next()
{
    while (pos_ < piece_.size()) {
        boost::system::error_code ec;
        pos_ += parser_.feed(piece_.substr(pos_), ec);
        if (ec) {
            body_.close();
            throw error(ec, "parsing the event stream");
        }
        if (parser_.has_event()) {
            event_end_ = pos_;
            tail_.clear();
            return parser_.current();
        }
    }
    return std::nullopt;
}

boost::asio::awaitable<std::optional<sse::event>> event_reader::async_next()
{
    for (;;) {
        if (auto ev = try_next())
            co_return ev;
        // Keep what followed the last event: it is the tail if the body ends here.
        if (event_end_ < piece_.size() && tail_.size() < tail_limit)
            tail_.append(piece_.substr(event_end_, tail_limit - tail_.size()));
        pos_ = event_end_ = 0;
        piece_ = co_await body_.async_read_some_view();
        if (piece_.empty()) {
            parser_.finish();
            co_return std::nullopt;
        }
    }
}

void event_reader::finish() noexcept
{
    // Bytes after the terminator (comments, stray events): the server is still talking.
    if (pos_ < piece_.size())
        body_.close();
    else
        (void)body_.try_finish(); // keeps the connection only if the body's end is buffered
}

} // namespace majordomo::openai::detail

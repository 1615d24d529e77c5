// Pulls server-sent events off a streamed HTTP body: the one I/O loop behind chat
// streams and llama-swap's /api/events.
#pragma once

#include <majordomo/http/client.hpp>
#include <majordomo/sse/parser.hpp>

#include <boost/asio/awaitable.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace majordomo::openai::detail {

class event_reader {
public:
    event_reader(http::response_stream body, sse::parser_params params);

    /// The next event, or nullopt when the body ended. The event's views stay valid
    /// until the next call. Reads the body only when no whole event is buffered; an event
    /// whole in what was read is handed over where it lies, in the connection's buffer.
    boost::asio::awaitable<std::optional<sse::event>> async_next();

    /// The next event if a whole one is already buffered, without I/O or a coroutine;
    /// nullopt when async_next() must read. Same validity and errors as async_next().
    std::optional<sse::event> try_next();

    /// Bytes after the last event at the end of the body, bounded: what a server wrote
    /// without SSE framing (llama-swap appends a raw JSON error body to a 200 stream).
    const std::string& unframed_tail() const noexcept { return tail_; }

    /// After the stream's terminator: keeps the connection when nothing but the already
    /// buffered end of the body is left, else closes it. Never waits for the server,
    /// which may never end the body.
    void finish() noexcept;

    /// Abandons the body and closes the connection.
    void close() noexcept { body_.close(); }

    http::response_stream& body() noexcept { return body_; }

private:
    static constexpr std::size_t tail_limit = 4096;
    http::response_stream body_;
    sse::parser parser_;
    std::string_view piece_;      // the body piece being parsed, in the connection's buffer
    std::size_t pos_ = 0;         // how much of it the parser took
    std::size_t event_end_ = 0;   // where in it the last event ended
    std::string tail_;
};

} // namespace majordomo::openai::detail

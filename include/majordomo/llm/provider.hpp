// The canonical interface every provider implements: a provider hands out models,
// and a model chats, whole or streamed.
#pragma once

#include <majordomo/llm/chat.hpp>
#include <majordomo/llm/chunk.hpp>

#include <boost/asio/awaitable.hpp>

#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace majordomo::llm {

/// A streamed chat response, pulled one chunk at a time: the server is read only as
/// fast as the caller pulls. Destroying it before the end closes the connection.
/// At `data: [DONE]` the stream ends without waiting for the server to end the body: the
/// connection goes back to the pool only if the body's end was already received, else it
/// is closed. Any error, and any cancellation, closes the connection for good.
/// @par Thread safety  One async_next at a time, from one coroutine; a second fails with
///   client_errc::operation_in_progress.
class chat_stream {
public:
    /// What a provider implements behind a stream.
    class source {
    public:
        virtual ~source() = default;
        virtual boost::asio::awaitable<std::optional<chat_chunk>> async_next() = 0;
        /// Decodes the next chunk into `out`, reusing its buffers; &out, or nullptr at the
        /// terminator. The default moves async_next()'s chunk in; a provider overrides it to
        /// decode in place.
        virtual boost::asio::awaitable<const chat_chunk*> async_next_into(chat_chunk& out);
        virtual const call_timings& timings() const noexcept = 0;
    };

    explicit chat_stream(std::unique_ptr<source> s) : source_(std::move(s)) {}

    /// The next chunk, or std::nullopt at the stream's terminator and on every call after it.
    /// @par Errors  client_errc::stream_truncated when the body ends without
    ///   `data: [DONE]`; api_errc (with diagnostics) for an error sent inside the stream;
    ///   client_errc::bad_json for a malformed chunk; transport errors. After any of these,
    ///   or after a cancellation, every further call fails at once with
    ///   client_errc::stream_closed: start a new call.
    /// @par Cancellation  Terminal (also one already requested of the calling coroutine):
    ///   the stream is closed and cannot be resumed.
    boost::asio::awaitable<std::optional<chat_chunk>> async_next() { return source_->async_next(); }

    /// The next chunk, decoded into one the stream keeps and reuses: once its buffers have
    /// grown, a chunk costs no heap allocation. The chunk is valid until the next call, and
    /// while the stream is neither moved nor destroyed; nullptr at the terminator. Errors,
    /// cancellation and thread safety as async_next(). Use it in loops that only look at
    /// each chunk (relays, token counters); keep a chunk with async_next().
    boost::asio::awaitable<const chat_chunk*> async_next_view()
    {
        if (!reused_) // made on first use: streams read with async_next() do not pay for it
            reused_ = std::make_unique<chat_chunk>();
        return source_->async_next_into(*reused_);
    }

    /// Phases so far; `end` is set once the terminator was read.
    const call_timings& timings() const noexcept { return source_->timings(); }

private:
    std::unique_ptr<source> source_;
    std::unique_ptr<chat_chunk> reused_; // async_next_view's
};

/// A model of one provider. Models are cheap handles; many coroutines may use one at once.
class model {
public:
    virtual ~model() = default;

    virtual const std::string& id() const noexcept = 0;

    /// Sends `req` (its `model` is set to id() when empty) and returns the whole response.
    /// @par Errors  api_errc with diagnostics for non-2xx answers, client_errc::bad_json,
    ///   transport errors. Classify any of them with llm::classify.
    /// @par Cancellation  Terminal; bound it with with_deadline. The connection is closed.
    virtual boost::asio::awaitable<chat_response> async_chat(chat_request req) = 0;

    /// Sends `req` with streaming on and returns once the response headers arrived.
    virtual boost::asio::awaitable<chat_stream> async_chat_stream(chat_request req) = 0;
};

/// Per-model options given when looking a model up.
struct model_options {
    /// Applied to every request of this model where the request leaves them unset.
    std::optional<int> max_tokens;
    std::optional<double> temperature;
};

class provider {
public:
    virtual ~provider() = default;

    virtual const std::string& name() const noexcept = 0;

    /// A handle on model `id`. No request is made; an unknown id fails at first use.
    virtual std::shared_ptr<model> get_model(std::string id, model_options options = {}) = 0;
};

} // namespace majordomo::llm

// Canonical text completions (POST /v1/completions): a prompt in, text out, whole or streamed.
// Beside chat, for servers and models without a chat template (llama.cpp base models, infill).
#pragma once

#include <majordomo/llm/chat.hpp>
#include <majordomo/llm/timings.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/json/object.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace majordomo::llm {

struct completion_request {
    std::string model; ///< required
    std::string prompt;
    std::optional<int> max_tokens; ///< sent as max_tokens, the field /v1/completions defines
    std::optional<double> temperature;
    std::optional<double> top_p;
    std::vector<std::string> stop;
    std::optional<std::int64_t> seed;
    std::optional<int> n;
    bool stream_include_usage = true; ///< stream_options.include_usage, for streams
    /// Merged into the body last: llama.cpp's n_predict, top_k, min_p, cache_prompt, id_slot, ...
    boost::json::object extra;
    /// How to run this call: retries (overriding the provider's) and phase deadlines.
    llm::call_params call;
};

struct completion_choice {
    int index = 0;
    std::string text;
    std::string finish_reason; ///< "" while a stream has not finished the choice

    friend bool operator==(const completion_choice&, const completion_choice&) = default;
};

struct completion_response {
    std::string id;
    std::string model;
    std::int64_t created = 0;
    std::vector<completion_choice> choices; ///< by index
    std::optional<llm::usage> usage;
    std::optional<server_timings> timings; ///< llama.cpp's timings
    call_timings call;
    boost::json::object raw; ///< the whole answer, llama.cpp's extra fields included

    /// Choice 0 (empty when there is none).
    const std::string& text() const noexcept;
    const std::string& finish_reason() const noexcept;
};

/// One streamed event of a completion.
struct completion_chunk {
    std::string id;
    std::string model;
    std::vector<completion_choice> choices; ///< text deltas; empty on a usage chunk
    std::optional<llm::usage> usage;
    std::optional<server_timings> timings;
    std::string raw; ///< the event's JSON text as received

    /// Choice 0's text delta (empty when there is none).
    const std::string& text() const noexcept;
};

/// Adds streamed chunks up into the response a whole call would return.
class completion_accumulator {
public:
    void add(const completion_chunk& c);
    const completion_response& result() const noexcept { return r_; }

private:
    completion_response r_;
};

/// A streamed completion, pulled one chunk at a time; the same rules as chat_stream
/// (ends at `data: [DONE]`, a body without it is stream_truncated, any failure or
/// cancellation closes it for good, one async_next at a time).
class completion_stream {
public:
    class source {
    public:
        virtual ~source() = default;
        virtual boost::asio::awaitable<std::optional<completion_chunk>> async_next() = 0;
        virtual const call_timings& timings() const noexcept = 0;
    };

    explicit completion_stream(std::unique_ptr<source> s) : source_(std::move(s)) {}

    /// The next chunk, or std::nullopt at the terminator and on every call after it.
    /// @par Errors  As chat_stream::async_next.
    boost::asio::awaitable<std::optional<completion_chunk>> async_next() { return source_->async_next(); }
    const call_timings& timings() const noexcept { return source_->timings(); }

private:
    std::unique_ptr<source> source_;
};

/// What a provider with text completions implements.
class completion_provider {
public:
    virtual ~completion_provider() = default;

    /// @par Errors  client_errc::invalid_argument (no model); api_errc with diagnostics;
    ///   client_errc::bad_json; transport errors.
    /// @par Cancellation  Terminal; bound it with with_deadline.
    virtual boost::asio::awaitable<completion_response> async_complete(completion_request req) = 0;

    /// Returns once the response headers arrived.
    virtual boost::asio::awaitable<completion_stream> async_complete_stream(completion_request req) = 0;
};

} // namespace majordomo::llm

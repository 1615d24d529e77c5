// When each phase of one model call ended (DESIGN.md rule 5): what a swap-latency
// benchmark reports.
#pragma once

#include <majordomo/http/message.hpp>

#include <chrono>

namespace majordomo::llm {

struct call_timings {
    using clock = std::chrono::steady_clock;
    using duration = clock::duration;
    clock::time_point start;            ///< the call began
    clock::time_point connected;        ///< a connection was ready
    clock::time_point request_written;  ///< the request was sent
    clock::time_point headers_received; ///< llama-swap answers once the model is up (or at once with loading frames)
    clock::time_point first_byte;       ///< the first body byte
    clock::time_point first_token;      ///< the first real output (loading frames excluded)
    clock::time_point end;              ///< the response was complete
    bool reused_connection = false;
    /// Requests sent for this call: 1, or more when retries (llm::retry_params) were made.
    /// start is the first attempt's; the other phases are the last attempt's.
    int attempts = 1;

    /// Copies the transport phases; first_token stays unset.
    static call_timings from_http(const http::timings& t) noexcept
    {
        call_timings c;
        c.start = t.start;
        c.connected = t.connected;
        c.request_written = t.request_written;
        c.headers_received = t.headers_received;
        c.first_byte = t.first_byte;
        c.end = t.end;
        c.reused_connection = t.reused_connection;
        return c;
    }

    duration since_start(clock::time_point t) const noexcept
    {
        return t == clock::time_point{} ? duration::zero() : t - start;
    }
    duration time_to_headers() const noexcept { return since_start(headers_received); }
    /// The swap wait as a caller sees it: start to the first real token.
    duration time_to_first_token() const noexcept { return since_start(first_token); }
    duration total() const noexcept { return since_start(end); }
    /// End minus first token: generation alone.
    duration generation() const noexcept
    {
        return first_token == clock::time_point{} || end == clock::time_point{} ? duration::zero()
                                                                                  : end - first_token;
    }
};

} // namespace majordomo::llm

// Resilient calls: retries with backoff inside the caller's deadline, and opt-in phase
// deadlines. One mechanism under every provider (README "Resilient calls",
// docs/decisions/0007-retries-inside-the-deadline.md).
#pragma once

#include <majordomo/llm/classify.hpp>

#include <chrono>
#include <optional>
#include <vector>

namespace majordomo::llm {

/// When a failed call is sent again. A failure is retried when all of these hold:
/// llm::classify calls it retryable; its kind is in `kinds` or its HTTP status in
/// `statuses`; attempts are left; the request cannot have been acted on twice (the server
/// answered with an error status, or no connection was made, or the write failed, or the
/// method is GET/HEAD/OPTIONS: a POST whose connection broke after it was written is not
/// re-sent); no stream chunk was handed to the caller (a stream is retried only while it
/// opens); and the wait ends before the caller's with_deadline and the call's phase
/// deadlines. When the wait would pass one of those, the call fails at once with the
/// last error (its retry_after kept). The final error's diagnostics().attempts and the
/// call's timings (call_timings::attempts) count the requests sent.
struct retry_params {
    /// Requests sent at most, the first included; 1 turns retries off.
    int max_attempts = 3;
    /// Full-jitter exponential backoff: before retry n (1, 2, ...) a uniformly random wait
    /// in [0, min(max_delay, base_delay * 2^(n-1))].
    std::chrono::milliseconds base_delay{200};
    std::chrono::milliseconds max_delay{5000};
    /// A server's Retry-After (seconds or HTTP-date) or retry-after-ms is waited instead of
    /// the backoff; one longer than this fails at once.
    std::chrono::milliseconds max_retry_after{60000};
    /// Kinds retried: connect failures and other transport errors (subject to the rule
    /// above), 429, and 503/409 (a model loading or not ready; llama-swap's 409).
    std::vector<error_kind> kinds{error_kind::transport, error_kind::rate_limited, error_kind::unavailable};
    /// Statuses retried whatever their kind: 502 (llama-swap's upstream failed to start or died).
    std::vector<int> statuses{502};

    /// No retries.
    static retry_params none()
    {
        retry_params p;
        p.max_attempts = 1;
        return p;
    }
};

/// Opt-in bounds on the phases of one call, measured from its start (retries included).
/// Each is a cancellation timer on the operation, never a socket option, and each expiry
/// is its own client_errc; with_deadline stays the caller's overall bound
/// (deadline_exceeded). The connection of an expired call is closed.
struct phase_deadlines {
    using duration = std::chrono::steady_clock::duration;
    /// Until the first real token: llama-swap's loading frames do not count. A whole
    /// (non-streamed) response counts its headers. Fails with first_token_deadline_exceeded.
    std::optional<duration> first_token;
    /// Streams: the longest wait for the next chunk once the first token arrived (a cold
    /// swap before it is first_token's business). Fails with idle_deadline_exceeded.
    std::optional<duration> idle;
    /// Until the response, or the stream's terminator, was read. Fails with total_deadline_exceeded.
    std::optional<duration> total;

    bool any() const noexcept { return first_token || idle || total; }
};

/// Settings of one call, carried in its request (chat_request::call, ...).
struct call_params {
    /// Overrides the provider's retry_params for this call.
    std::optional<retry_params> retry;
    phase_deadlines deadlines;
};

/// The backoff before retry `retry` (1, 2, ...) for a uniform draw `u` in [0, 1): exposed
/// so that the schedule can be checked.
std::chrono::milliseconds backoff_delay(const retry_params& p, int retry, double u) noexcept;

} // namespace majordomo::llm

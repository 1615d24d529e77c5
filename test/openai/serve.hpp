// Scripted servers the openai tests share: an answer that fails on cue first (retries), a
// request read and hung up on (what must not be re-sent), an SSE body written step by step
// (phase deadlines).
#pragma once

#include <majordomo/llm/retry.hpp>
#include <majordomo/openai/provider.hpp>

#include "support/test_server.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace majordomo::test::serve {

using namespace std::chrono_literals;

/// A 200 streamed head; the body follows in chunk()s.
inline const std::string sse_head =
    "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n";

/// `bytes` as one HTTP/1.1 chunk.
inline std::string chunk(std::string_view bytes)
{
    char size[32];
    std::snprintf(size, sizeof size, "%zx\r\n", bytes.size());
    return std::string(size) + std::string(bytes) + "\r\n";
}

/// The `data: [DONE]` event and the body's end.
inline const std::string done = chunk("data: [DONE]\n\n") + "0\r\n\r\n";

/// Fast backoff, so tests without Retry-After do not wait.
inline llm::retry_params quick(int attempts = 3)
{
    llm::retry_params r;
    r.max_attempts = attempts;
    r.base_delay = 10ms;
    r.max_delay = 40ms;
    return r;
}

/// An OpenAI provider at `url` + "/v1" retrying as `retry` says.
inline std::shared_ptr<majordomo::openai::provider> provider_at(boost::asio::io_context& ioc, const std::string& url,
                                                                llm::retry_params retry = quick())
{
    majordomo::openai::provider_params p;
    p.name = "local";
    p.base_url = url + "/v1";
    p.retry = std::move(retry);
    return majordomo::openai::make_provider(ioc.get_executor(), p);
}

/// Answers a request once the failures are over.
using answer_fn = std::function<boost::asio::awaitable<void>(const received_request&, exchange&)>;

/// Answers the first `failures` requests with `status` and `retry_after` (none when empty)
/// in the OpenAI error envelope, then with `answer`.
inline void fail_first(test_server& s, int failures, int status, std::string retry_after, answer_fn answer)
{
    auto seen = std::make_shared<std::atomic<int>>(0);
    s.on_request([=](const received_request& req, exchange& ex) -> boost::asio::awaitable<void> {
        if (seen->fetch_add(1) < failures) {
            header_list h;
            h.add("Content-Type", "application/json");
            if (!retry_after.empty())
                h.add("Retry-After", retry_after);
            co_await ex.async_respond(status, R"({"error":{"message":"busy","type":"rate_limit","code":null}})", h);
            co_return;
        }
        co_await answer(req, ex);
    });
}

/// An answer of `body` with `content_type`.
inline answer_fn respond(std::string body, std::string content_type = "application/json")
{
    return [body = std::move(body), content_type = std::move(content_type)](
               const received_request&, exchange& ex) -> boost::asio::awaitable<void> {
        header_list h;
        h.add("Content-Type", content_type);
        co_await ex.async_respond(200, body, h);
    };
}

/// Reads each request, then hangs up without a word: the request was sent and may have been acted on.
inline void hang_up_after_request(test_server& s)
{
    s.on_request([](const received_request&, exchange& ex) -> boost::asio::awaitable<void> {
        ex.close();
        co_return;
    });
}

/// A step of a streamed body: wait, then write.
struct step {
    std::chrono::milliseconds wait;
    std::string bytes;
};

/// Answers every request with sse_head and the steps; then, if `stall`, never another byte.
inline void serve_steps(test_server& s, std::vector<step> steps, bool stall = false)
{
    s.on_request([steps, stall](const received_request&, exchange& ex) -> boost::asio::awaitable<void> {
        co_await ex.async_write_raw(sse_head);
        for (const auto& st : steps) {
            if (st.wait.count() > 0)
                co_await ex.async_pause(st.wait);
            co_await ex.async_write_raw(st.bytes);
        }
        if (stall)
            co_await ex.async_stall();
    });
}

inline long long ms_since(std::chrono::steady_clock::time_point t)
{
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t).count();
}

} // namespace majordomo::test::serve

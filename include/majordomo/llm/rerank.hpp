// Canonical reranking (POST /v1/rerank): a query and documents in, a relevance score per
// document out. llama-server serves it when started with `--reranking`.
#pragma once

#include <majordomo/llm/retry.hpp>
#include <majordomo/llm/timings.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/json/object.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace majordomo::llm {

struct rerank_request {
    std::string model; ///< required
    std::string query; ///< required
    std::vector<std::string> documents; ///< at least one
    std::optional<int> top_n; ///< the server's default: every document
    boost::json::object extra; ///< merged into the body last
    /// How to run this call: retries (overriding the provider's) and phase deadlines.
    call_params call;
};

struct rerank_result {
    std::size_t index = 0; ///< position in rerank_request::documents
    double relevance_score = 0; ///< raw model output: may be negative, higher is more relevant
    std::optional<std::string> document; ///< when the server sends the text back

    friend bool operator==(const rerank_result&, const rerank_result&) = default;
};

struct rerank_response {
    std::string model;
    std::vector<rerank_result> results; ///< most relevant first, at most top_n
    std::optional<std::int64_t> prompt_tokens;
    std::optional<std::int64_t> total_tokens;
    call_timings call;
    boost::json::object raw; ///< the whole answer (a bare TEI array is kept under "results")
};

/// What a provider with reranking implements.
class rerank_provider {
public:
    virtual ~rerank_provider() = default;

    /// @par Errors  client_errc::invalid_argument (no model, query or documents); api_errc
    ///   with diagnostics (llama-server without --reranking answers 501); client_errc::bad_json
    ///   when a result's index is not one of the documents sent; transport errors.
    /// @par Cancellation  Terminal; bound it with with_deadline.
    virtual boost::asio::awaitable<rerank_response> async_rerank(rerank_request req) = 0;
};

} // namespace majordomo::llm

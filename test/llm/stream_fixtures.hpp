// Literal llama-server and llama-swap byte shapes (wire-formats.md §1.2, §1.4, §1.6, §6)
// and a minimal splitter that turns an LF-framed SSE body into its data payloads.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace llm_test {

/// The `data:` payloads of an LF-only SSE body, the way llama-server frames it: one
/// `data: <json>` line per event, blank-line separated; `:` pings skipped; `[DONE]` kept.
inline std::vector<std::string> data_payloads(std::string_view body)
{
    std::vector<std::string> out;
    while (!body.empty()) {
        auto end = body.find("\n\n");
        auto event = body.substr(0, end);
        body = end == std::string_view::npos ? std::string_view{} : body.substr(end + 2);
        if (event.empty() || event.front() == ':')
            continue;
        constexpr std::string_view prefix = "data: ";
        if (event.substr(0, prefix.size()) == prefix)
            out.emplace_back(event.substr(prefix.size()));
    }
    return out;
}

// The common fields llama-server puts on every chunk; `…` in the reference. Tests
// build their own chunks with it.
#define LLM_TEST_COMMON                                                                                \
    R"("created":1767225600,"id":"chatcmpl-7Hc0mZ1uV2pQ9sLk3NfR8tYwXe4aBd6G","model":"qwen3-8b",)" \
    R"("system_fingerprint":"b7100-1a2b3c4d","object":"chat.completion.chunk")"

/// §1.4's example: pings, role, reasoning, a tool-call header (newer build: no
/// `arguments`), two argument fragments, the finish chunk, the usage chunk with
/// timings, [DONE].
inline const std::string tool_call_stream =
    ":\n\n"
    R"(data: {"choices":[{"finish_reason":null,"index":0,"delta":{"role":"assistant","content":null}}],)" LLM_TEST_COMMON "}\n\n"
    R"(data: {"choices":[{"finish_reason":null,"index":0,"delta":{"reasoning_content":"User wants weather; "}}],)" LLM_TEST_COMMON "}\n\n"
    ":\n\n"
    R"(data: {"choices":[{"finish_reason":null,"index":0,"delta":{"reasoning_content":"call the tool."}}],)" LLM_TEST_COMMON "}\n\n"
    R"(data: {"choices":[{"finish_reason":null,"index":0,"delta":{"tool_calls":[{"index":0,"id":"Xq3kP0aZbC4dE5fG6hI7jK8lM9nO0pQr","type":"function","function":{"name":"get_weather"}}]}}],)" LLM_TEST_COMMON "}\n\n"
    R"(data: {"choices":[{"finish_reason":null,"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"city\":"}}]}}],)" LLM_TEST_COMMON "}\n\n"
    R"(data: {"choices":[{"finish_reason":null,"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"\"Oslo\"}"}}]}}],)" LLM_TEST_COMMON "}\n\n"
    R"(data: {"choices":[{"finish_reason":"tool_calls","index":0,"delta":{}}],)" LLM_TEST_COMMON "}\n\n"
    R"(data: {"choices":[],)" LLM_TEST_COMMON R"(,"usage":{"completion_tokens":31,"prompt_tokens":212,"total_tokens":243,"prompt_tokens_details":{"cached_tokens":180}},"timings":{"cache_n":180,"prompt_n":32,"prompt_ms":41.2,"prompt_per_token_ms":1.29,"prompt_per_second":776.7,"predicted_n":31,"predicted_ms":402.5,"predicted_per_token_ms":12.98,"predicted_per_second":77.0}})" "\n\n"
    "data: [DONE]\n\n";

/// §1.2's whole response for the same call.
inline const std::string tool_call_response =
    R"({"choices":[{"finish_reason":"tool_calls","index":0,"message":{"role":"assistant","reasoning_content":"User wants weather; call the tool.","content":null,"tool_calls":[{"type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Oslo\"}"},"id":"Xq3kP0aZbC4dE5fG6hI7jK8lM9nO0pQr"}]}}],)"
    R"("created":1767225600,"model":"qwen3-8b","system_fingerprint":"b7100-1a2b3c4d","object":"chat.completion",)"
    R"("usage":{"completion_tokens":31,"prompt_tokens":212,"total_tokens":243,"prompt_tokens_details":{"cached_tokens":180}},)"
    R"("id":"chatcmpl-7Hc0mZ1uV2pQ9sLk3NfR8tYwXe4aBd6G",)"
    R"("timings":{"cache_n":180,"prompt_n":32,"prompt_ms":41.2,"prompt_per_token_ms":1.29,"prompt_per_second":776.7,"predicted_n":31,"predicted_ms":402.5,"predicted_per_token_ms":12.98,"predicted_per_second":77.0}})";

/// Plain text, no include_usage: timings ride on the finish chunk (§1.4 step 7).
inline const std::string text_stream =
    R"(data: {"choices":[{"finish_reason":null,"index":0,"delta":{"role":"assistant","content":null}}],)" LLM_TEST_COMMON "}\n\n"
    R"(data: {"choices":[{"finish_reason":null,"index":0,"delta":{"content":"Hel"}}],)" LLM_TEST_COMMON "}\n\n"
    R"(data: {"choices":[{"finish_reason":null,"index":0,"delta":{"content":"lo, "}}],)" LLM_TEST_COMMON "}\n\n"
    // A partially matched stop word was taken back: an empty diff (§1.4 step 4).
    R"(data: {"choices":[{"finish_reason":null,"index":0,"delta":{}}],)" LLM_TEST_COMMON "}\n\n"
    R"(data: {"choices":[{"finish_reason":null,"index":0,"delta":{"content":"Å ✓"}}],)" LLM_TEST_COMMON "}\n\n"
    R"(data: {"choices":[{"finish_reason":"stop","index":0,"delta":{}}],)" LLM_TEST_COMMON R"(,"timings":{"cache_n":0,"prompt_n":12,"prompt_ms":20.5,"prompt_per_second":585.3,"predicted_n":4,"predicted_ms":50.0,"predicted_per_second":80.0}})" "\n\n"
    "data: [DONE]\n\n";

inline const std::string text_response =
    R"({"choices":[{"finish_reason":"stop","index":0,"message":{"role":"assistant","content":"Hello, Å ✓"}}],)"
    R"("created":1767225600,"model":"qwen3-8b","system_fingerprint":"b7100-1a2b3c4d","object":"chat.completion",)"
    R"("usage":{"completion_tokens":4,"prompt_tokens":12,"total_tokens":16},"id":"chatcmpl-7Hc0mZ1uV2pQ9sLk3NfR8tYwXe4aBd6G",)"
    R"("timings":{"cache_n":0,"prompt_n":12,"prompt_ms":20.5,"prompt_per_second":585.3,"predicted_n":4,"predicted_ms":50.0,"predicted_per_second":80.0}})";

/// llama-swap's sendLoadingState frames (§6; llama-swap-api §8) in front of the real stream.
inline const std::string loading_prefix =
    "data: {\"choices\":[{\"delta\":{\"reasoning_content\":\"\xE2\x94\x81\xE2\x94\x81\xE2\x94\x81\xE2\x94\x81\xE2\x94\x81\\n\"}}]}\n\n"
    R"(data: {"choices":[{"delta":{"reasoning_content":"llama-swap loading model: qwen3-8b\n"}}]})" "\n\n"
    R"(data: {"choices":[{"delta":{"reasoning_content":"."}}]})" "\n\n"
    R"(data: {"choices":[{"delta":{"reasoning_content":"."}}]})" "\n\n"
    R"(data: {"choices":[{"delta":{"reasoning_content":"Queue position: #1\n"}}]})" "\n\n"
    R"(data: {"choices":[{"delta":{"reasoning_content":"\nDone! (12.34s)\n"}}]})" "\n\n"
    R"(data: {"choices":[{"delta":{"reasoning_content":" \n"}}]})" "\n\n";


} // namespace llm_test

// Canonical chat requests and responses.
#pragma once

#include <majordomo/llm/message.hpp>
#include <majordomo/llm/raw_json.hpp>
#include <majordomo/llm/retry.hpp>
#include <majordomo/llm/timings.hpp>

#include <boost/json/object.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace majordomo::llm {

/// tool_choice: auto, none, required, or one named function.
struct tool_choice {
    enum class mode { automatic, none, required, function };
    mode kind = mode::automatic;
    std::string function; ///< for mode::function

    static tool_choice automatic() { return {mode::automatic, {}}; }
    static tool_choice none() { return {mode::none, {}}; }
    static tool_choice required() { return {mode::required, {}}; }
    /// Sent in the OpenAI object form, which llama.cpp silently treats as "auto".
    static tool_choice named(std::string f) { return {mode::function, std::move(f)}; }
};

/// response_format: text, json_object, or json_schema (sent in the nested form
/// {"type":"json_schema","json_schema":{"name","schema","strict"}} that llama.cpp honours).
struct response_format {
    enum class kind { text, json_object, json_schema };
    response_format::kind type = kind::text;
    std::string name = "response";
    boost::json::object schema;
    std::optional<bool> strict;
};

struct chat_request {
    std::string model; ///< set from the model handle when empty
    std::vector<message> messages;
    std::optional<double> temperature;
    std::optional<double> top_p;
    std::optional<int> max_tokens; ///< sent as max_completion_tokens, or max_tokens (legacy)
    std::vector<std::string> stop;
    std::optional<std::int64_t> seed;
    std::optional<double> presence_penalty;
    std::optional<double> frequency_penalty;
    std::optional<int> n;
    std::optional<llm::response_format> response_format;
    bool stream_include_usage = true; ///< stream_options.include_usage, for streams
    std::vector<tool> tools;
    std::optional<llm::tool_choice> tool_choice;
    std::optional<bool> parallel_tool_calls;
    /// Merged into the body last: server-specific fields such as llama.cpp's
    /// cache_prompt, id_slot, reasoning_format, chat_template_kwargs.
    boost::json::object extra;
    /// How to run this call: retries (overriding the provider's) and phase deadlines.
    llm::call_params call;
};

struct usage {
    std::int64_t prompt_tokens = 0;
    std::int64_t completion_tokens = 0;
    std::int64_t total_tokens = 0;
    std::optional<std::int64_t> cached_tokens; ///< prompt_tokens_details.cached_tokens

    friend bool operator==(const usage&, const usage&) = default;
};

/// llama.cpp's `timings` object.
struct server_timings {
    std::optional<std::int64_t> cache_n;
    std::optional<std::int64_t> prompt_n;
    std::optional<double> prompt_ms;
    std::optional<double> prompt_per_second;
    std::optional<std::int64_t> predicted_n;
    std::optional<double> predicted_ms;
    std::optional<double> predicted_per_second;

    friend bool operator==(const server_timings&, const server_timings&) = default;
};

struct choice {
    int index = 0;
    std::string text;
    std::string reasoning_content;
    std::vector<tool_call> tool_calls;
    std::string finish_reason; ///< "" while a stream has not finished the choice

    friend bool operator==(const choice&, const choice&) = default;
};

struct chat_response {
    std::string id;
    std::string model;
    std::int64_t created = 0;
    std::vector<choice> choices;
    std::optional<llm::usage> usage;
    std::optional<server_timings> timings;
    call_timings call;
    /// The body as received; raw.parse() for fields the typed ones do not cover.
    raw_json raw;

    // Choice 0, the usual case.
    const std::string& text() const noexcept;
    const std::string& reasoning() const noexcept;
    const std::vector<tool_call>& tool_calls() const noexcept;
    const std::string& finish_reason() const noexcept;
};

} // namespace majordomo::llm

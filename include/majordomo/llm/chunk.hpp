// Stream chunks and the accumulator that rebuilds a whole response from them.
#pragma once

#include <majordomo/llm/chat.hpp>

#include <boost/json/object.hpp>

#include <optional>
#include <string>
#include <vector>

namespace majordomo::llm {

struct tool_call_delta {
    int index = 0;
    std::optional<std::string> id;
    std::optional<std::string> name;
    std::string arguments; ///< a fragment; appended in order
};

struct choice_delta {
    int index = 0;
    std::optional<std::string> role;
    std::string content;
    std::string reasoning_content;
    std::vector<tool_call_delta> tool_calls;
    std::optional<std::string> finish_reason;
};

struct chat_chunk {
    std::string id;
    std::string model;
    std::int64_t created = 0;
    std::vector<choice_delta> choices;
    std::optional<llm::usage> usage;
    std::optional<server_timings> timings;
    /// llama-swap's loading-state frame (sendLoadingState): progress text while the
    /// model loads, in reasoning_content, never model output.
    bool loading = false;
    boost::json::object raw;

    /// True when the chunk carries output: content, reasoning or a tool-call delta.
    bool has_output() const noexcept;
    /// Choice 0's content delta, or "".
    const std::string& text() const noexcept;
};

/// Rebuilds the whole response from a stream's chunks: text and reasoning joined,
/// tool calls assembled by index, usage and timings from whichever chunk has them.
class chat_accumulator {
public:
    void add(const chat_chunk& c);
    /// The response so far.
    const chat_response& result() const noexcept { return r_; }
    chat_response take() { return std::move(r_); }

private:
    choice& at(int index);
    chat_response r_;
};

} // namespace majordomo::llm

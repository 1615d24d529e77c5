// Stream chunks and the accumulator that rebuilds a whole response from them.
#pragma once

#include <majordomo/llm/chat.hpp>


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
    /// model loads, in reasoning_content, never model output. Recognised by its shape:
    /// no id, object, model or created, and deltas holding only reasoning_content.
    bool loading = false;
    /// The `data:` payload as received (empty when the decoder does not keep it);
    /// raw.parse() for fields the typed ones do not cover.
    raw_json raw;

    /// True when the chunk carries output: content, reasoning or a tool-call delta (never
    /// for loading frames). The first such chunk marks call_timings::first_token.
    bool has_output() const noexcept;
    /// Choice 0's content delta, or "".
    const std::string& text() const noexcept;
};

/// Rebuilds the whole response from a stream's chunks, equal to what the same call
/// without streaming returns: text and reasoning joined, tool calls assembled by their
/// `index` (id and name when first seen, arguments appended; a whole call in one delta is
/// fine, `type` is never needed), choices in index order (n > 1), usage and server timings
/// from whichever chunk carries them. Loading frames are ignored. `raw` and `call` stay
/// empty: the stream has no whole JSON, and its timings belong to the stream.
class chat_accumulator {
public:
    void add(const chat_chunk& c);
    /// The response so far.
    const chat_response& result() const noexcept { return r_; }
    /// Moves the response out and starts over.
    chat_response take();

private:
    std::size_t at(int index);
    chat_response r_;
    std::vector<std::vector<int>> call_index_; // per choice: the wire index of each tool call
};

} // namespace majordomo::llm

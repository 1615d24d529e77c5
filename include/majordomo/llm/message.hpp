// Canonical chat messages: roles, text and image parts, tool calls and results.
#pragma once

#include <boost/json/object.hpp>

#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace majordomo::llm {

enum class role { system, user, assistant, tool };

const char* to_string(role r) noexcept;

struct text_part {
    std::string text;

    friend bool operator==(const text_part&, const text_part&) = default;
};

/// An image, as bytes with their MIME type (sent as a data: URL) or as a URL.
/// Image generation returns the same type, so a generated image can go into a chat.
struct image_part {
    std::string mime_type; ///< e.g. image/png; empty when `url` is used
    std::string data;      ///< raw bytes (not base64)
    std::string url;       ///< an http(s) or data: URL instead of bytes
    std::string detail;    ///< OpenAI "detail": auto, low or high; empty: not sent

    /// Bytes (not base64) of type `mime`, sent as a `data:<mime>;base64,...` URL.
    static image_part from_bytes(std::string bytes, std::string mime)
    {
        image_part p;
        p.data = std::move(bytes);
        p.mime_type = std::move(mime);
        return p;
    }
    /// An http(s):// or data: URL the server fetches or decodes itself.
    static image_part from_url(std::string u)
    {
        image_part p;
        p.url = std::move(u);
        return p;
    }
    bool is_url() const noexcept { return !url.empty(); }

    friend bool operator==(const image_part&, const image_part&) = default;
};

using content_part = std::variant<text_part, image_part>;

/// A call the assistant asked for.
struct tool_call {
    std::string id;
    std::string name;
    std::string arguments; ///< JSON text, as the model wrote it

    friend bool operator==(const tool_call&, const tool_call&) = default;
};

/// A function the model may call; `parameters` is a JSON schema.
struct tool {
    std::string name;
    std::string description;
    boost::json::object parameters;
};

struct message {
    llm::role role = llm::role::user;
    std::vector<content_part> content;
    std::string name;                             ///< optional participant name
    std::vector<tool_call> tool_calls;            ///< assistant messages
    std::string tool_call_id;                     ///< tool messages: which call this answers
    std::optional<std::string> reasoning_content; ///< assistant reasoning, sent back when set

    message() = default;
    message(llm::role r, std::string text) : role(r) { content.push_back(text_part{std::move(text)}); }

    static message system(std::string text) { return {llm::role::system, std::move(text)}; }
    static message user(std::string text) { return {llm::role::user, std::move(text)}; }
    static message assistant(std::string text) { return {llm::role::assistant, std::move(text)}; }
    static message tool_result(std::string call_id, std::string text)
    {
        message m(llm::role::tool, std::move(text));
        m.tool_call_id = std::move(call_id);
        return m;
    }

    /// The text parts joined.
    std::string text() const;

    friend bool operator==(const message&, const message&) = default;
};

} // namespace majordomo::llm

// The JSON a response or a stream chunk arrived as: kept as the text received and parsed
// only when a caller asks, so decoding the typed fields never builds a DOM.
#pragma once

#include <boost/json/fwd.hpp>

#include <string>
#include <string_view>

namespace majordomo::llm {

class raw_json {
public:
    raw_json() = default;
    explicit raw_json(std::string text) noexcept : text_(std::move(text)) {}

    /// The JSON text as received; empty when it was not kept.
    const std::string& text() const noexcept { return text_; }
    bool empty() const noexcept { return text_.empty(); }

    /// Parses the text into a DOM, anew on each call: keep the result. Empty: an empty object.
    /// @par Errors  client_errc::bad_json for text that is not a JSON object (only text
    ///   set by hand can be: decoders keep objects they parsed).
    boost::json::object parse() const;

    void assign(std::string_view text) { text_.assign(text); }
    void clear() noexcept { text_.clear(); }

    friend bool operator==(const raw_json&, const raw_json&) = default;

private:
    std::string text_;
};

} // namespace majordomo::llm

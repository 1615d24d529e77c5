// Private: a strict multipart/form-data parser (RFC 7578/2046), as Go's mime/multipart reads
// the uploads llama-swap routes by their `model` field.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace majordomo::sim::detail {

struct form_part {
    std::string name;
    std::string filename; ///< non-empty for a file part
    std::string content_type;
    std::string data;
};

struct form {
    std::vector<form_part> parts;
    /// The first part called `name`, or null.
    const form_part* find(std::string_view name) const noexcept;
};

/// Parses `body` with the boundary of `content_type`. On failure returns nullopt and says why in
/// `why`: no boundary, a missing first delimiter, a part without the blank line after its headers,
/// a part without a form-data Content-Disposition name, or no closing delimiter.
std::optional<form> parse_multipart(std::string_view content_type, std::string_view body, std::string& why);

} // namespace majordomo::sim::detail

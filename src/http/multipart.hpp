// Private, sans-io: a multipart/form-data body (RFC 7578) for uploads.
#pragma once

#include <string>
#include <vector>

namespace majordomo::http::detail {

struct form_part {
    std::string name;
    std::string value;
    std::string filename;     ///< non-empty: a file part
    std::string content_type; ///< a file part's type; empty: application/octet-stream
};

struct form_body {
    std::string content_type; ///< multipart/form-data; boundary=...
    std::string body;
};

/// Encodes `parts` with a random boundary that occurs in none of them (checked, redrawn if it
/// does). Quotes, CR and LF in names and file names are percent-escaped as browsers do.
form_body encode_multipart(const std::vector<form_part>& parts);

/// Encodes with the given boundary; empty when the boundary occurs in a part.
std::string encode_multipart(const std::vector<form_part>& parts, const std::string& boundary);

} // namespace majordomo::http::detail

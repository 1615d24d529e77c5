#include "multipart.hpp"

#include "encoding.hpp"

namespace majordomo::sim::detail {

namespace {

std::string_view trim(std::string_view s)
{
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
        s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
        s.remove_suffix(1);
    return s;
}

// The value of `key` among the `; key=value` parameters after the first ';', quoted or not.
std::optional<std::string> param(std::string_view header, std::string_view key)
{
    std::size_t i = header.find(';');
    while (i != std::string_view::npos && i < header.size()) {
        ++i; // past ';'
        auto eq = header.find('=', i);
        if (eq == std::string_view::npos)
            return std::nullopt;
        auto k = trim(header.substr(i, eq - i));
        i = eq + 1;
        while (i < header.size() && (header[i] == ' ' || header[i] == '\t'))
            ++i;
        std::string value;
        if (i < header.size() && header[i] == '"') {
            for (++i; i < header.size() && header[i] != '"'; ++i) {
                if (header[i] == '\\' && i + 1 < header.size())
                    ++i;
                value += header[i];
            }
            i = header.find(';', i);
        } else {
            auto end = header.find(';', i);
            value = std::string(trim(header.substr(i, end == std::string_view::npos ? end : end - i)));
            i = end;
        }
        if (iequals(k, key))
            return value;
    }
    return std::nullopt;
}

} // namespace

const form_part* form::find(std::string_view name) const noexcept
{
    for (const auto& p : parts)
        if (p.name == name)
            return &p;
    return nullptr;
}

std::optional<form> parse_multipart(std::string_view content_type, std::string_view body, std::string& why)
{
    auto boundary = param(content_type, "boundary");
    if (!boundary || boundary->empty() || boundary->size() > 70) {
        why = "no multipart boundary";
        return std::nullopt;
    }
    const std::string delimiter = "--" + *boundary;
    const std::string next_delimiter = "\r\n" + delimiter;
    // A preamble before the first delimiter is allowed and ignored.
    std::size_t pos = 0;
    if (body.substr(0, delimiter.size()) != delimiter) {
        auto first = body.find(next_delimiter);
        if (first == std::string_view::npos) {
            why = "multipart: NextPart: EOF";
            return std::nullopt;
        }
        pos = first + 2;
    }
    form out;
    for (;;) {
        pos += delimiter.size();
        if (body.substr(pos, 2) == "--")
            return out; // the closing delimiter; an epilogue may follow
        // Transport padding, then CRLF.
        while (pos < body.size() && (body[pos] == ' ' || body[pos] == '\t'))
            ++pos;
        if (body.substr(pos, 2) != "\r\n") {
            why = "multipart: expected CRLF after the boundary";
            return std::nullopt;
        }
        pos += 2;
        auto headers_end = body.find("\r\n\r\n", pos);
        std::string_view headers;
        if (body.substr(pos, 2) == "\r\n") { // a part with no headers
            headers = {};
            pos += 2;
        } else if (headers_end == std::string_view::npos) {
            why = "multipart: a part's headers do not end";
            return std::nullopt;
        } else {
            headers = body.substr(pos, headers_end - pos);
            pos = headers_end + 4;
        }
        form_part part;
        bool form_data = false;
        std::size_t h = 0;
        while (h < headers.size()) {
            auto eol = headers.find("\r\n", h);
            auto line = headers.substr(h, eol == std::string_view::npos ? std::string_view::npos : eol - h);
            h = eol == std::string_view::npos ? headers.size() : eol + 2;
            auto colon = line.find(':');
            if (colon == std::string_view::npos) {
                why = "multipart: malformed part header";
                return std::nullopt;
            }
            auto name = trim(line.substr(0, colon));
            auto value = trim(line.substr(colon + 1));
            if (iequals(name, "Content-Disposition")) {
                form_data = istarts_with(value, "form-data");
                part.name = param(value, "name").value_or("");
                part.filename = param(value, "filename").value_or("");
            } else if (iequals(name, "Content-Type")) {
                part.content_type = std::string(value);
            }
        }
        if (!form_data || part.name.empty()) {
            why = "multipart: a part has no form-data name";
            return std::nullopt;
        }
        auto end = body.find(next_delimiter, pos);
        if (end == std::string_view::npos) {
            why = "multipart: NextPart: EOF";
            return std::nullopt;
        }
        part.data = std::string(body.substr(pos, end - pos));
        out.parts.push_back(std::move(part));
        pos = end + 2;
    }
}

} // namespace majordomo::sim::detail

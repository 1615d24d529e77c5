#include "http/multipart.hpp"

#include <random>

namespace majordomo::http::detail {

namespace {

// Header parameter values are quoted strings: escape what would end or break them.
std::string escape(const std::string& s)
{
    std::string out;
    for (char c : s) {
        if (c == '"')
            out += "%22";
        else if (c == '\r')
            out += "%0D";
        else if (c == '\n')
            out += "%0A";
        else
            out += c;
    }
    return out;
}

std::string random_boundary()
{
    static constexpr char alphabet[] = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    thread_local std::mt19937_64 rng{std::random_device{}()};
    std::uniform_int_distribution<std::size_t> pick(0, sizeof alphabet - 2);
    std::string b = "majordomo-";
    for (int i = 0; i < 24; ++i)
        b += alphabet[pick(rng)];
    return b;
}

} // namespace

std::string encode_multipart(const std::vector<form_part>& parts, const std::string& boundary)
{
    const std::string delimiter = "--" + boundary;
    std::string out;
    for (const auto& p : parts) {
        if (p.value.find(delimiter) != std::string::npos)
            return {};
        out += delimiter + "\r\nContent-Disposition: form-data; name=\"" + escape(p.name) + "\"";
        if (!p.filename.empty()) {
            out += "; filename=\"" + escape(p.filename) + "\"\r\nContent-Type: ";
            out += p.content_type.empty() ? std::string("application/octet-stream") : escape(p.content_type);
        }
        out += "\r\n\r\n";
        out += p.value;
        out += "\r\n";
    }
    out += delimiter + "--\r\n";
    return out;
}

form_body encode_multipart(const std::vector<form_part>& parts)
{
    for (;;) {
        auto boundary = random_boundary();
        auto body = encode_multipart(parts, boundary);
        if (!body.empty())
            return {"multipart/form-data; boundary=" + boundary, std::move(body)};
    }
}

} // namespace majordomo::http::detail

#include "encoding.hpp"

#include <boost/json/serialize.hpp>

#include <array>
#include <charconv>
#include <cmath>

namespace majordomo::sim::detail {

namespace json = boost::json;

namespace {

constexpr std::string_view b64_alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

constexpr std::array<std::uint32_t, 256> make_crc_table()
{
    std::array<std::uint32_t, 256> t{};
    for (std::uint32_t n = 0; n < 256; ++n) {
        std::uint32_t c = n;
        for (int k = 0; k < 8; ++k)
            c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
        t[n] = c;
    }
    return t;
}
constexpr auto crc_table = make_crc_table();

char lower(char c) noexcept { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

void dump(std::string& out, const json::value& v)
{
    switch (v.kind()) {
    case json::kind::null: out += "null"; break;
    case json::kind::bool_: out += v.get_bool() ? "true" : "false"; break;
    case json::kind::int64: out += std::to_string(v.get_int64()); break;
    case json::kind::uint64: out += std::to_string(v.get_uint64()); break;
    case json::kind::double_: {
        double d = v.get_double();
        if (!std::isfinite(d)) { // nlohmann writes non-finite numbers as null
            out += "null";
            break;
        }
        std::array<char, 64> buf{};
        auto r = std::to_chars(buf.data(), buf.data() + buf.size(), d);
        std::string_view s(buf.data(), static_cast<std::size_t>(r.ptr - buf.data()));
        out += s;
        if (s.find_first_of(".e") == std::string_view::npos)
            out += ".0";
        break;
    }
    case json::kind::string: out += json::serialize(v.get_string()); break;
    case json::kind::array: {
        out += '[';
        bool first = true;
        for (const auto& e : v.get_array()) {
            if (!first)
                out += ',';
            first = false;
            dump(out, e);
        }
        out += ']';
        break;
    }
    case json::kind::object: {
        out += '{';
        bool first = true;
        for (const auto& kv : v.get_object()) {
            if (!first)
                out += ',';
            first = false;
            out += json::serialize(json::string(kv.key()));
            out += ':';
            dump(out, kv.value());
        }
        out += '}';
        break;
    }
    }
}

} // namespace

std::string base64_encode(std::string_view bytes)
{
    std::string out;
    out.reserve((bytes.size() + 2) / 3 * 4);
    std::size_t i = 0;
    auto at = [&](std::size_t k) { return static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[k])); };
    for (; i + 3 <= bytes.size(); i += 3) {
        std::uint32_t n = at(i) << 16 | at(i + 1) << 8 | at(i + 2);
        out += b64_alphabet[n >> 18 & 63];
        out += b64_alphabet[n >> 12 & 63];
        out += b64_alphabet[n >> 6 & 63];
        out += b64_alphabet[n & 63];
    }
    if (std::size_t rest = bytes.size() - i; rest > 0) {
        std::uint32_t n = at(i) << 16 | (rest == 2 ? at(i + 1) << 8 : 0);
        out += b64_alphabet[n >> 18 & 63];
        out += b64_alphabet[n >> 12 & 63];
        out += rest == 2 ? b64_alphabet[n >> 6 & 63] : '=';
        out += '=';
    }
    return out;
}

std::optional<std::string> base64_decode(std::string_view text)
{
    while (!text.empty() && text.back() == '=')
        text.remove_suffix(1);
    std::string out;
    std::uint32_t acc = 0;
    int bits = 0;
    for (char c : text) {
        auto pos = b64_alphabet.find(c);
        if (pos == std::string_view::npos)
            return std::nullopt;
        acc = acc << 6 | static_cast<std::uint32_t>(pos);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out += static_cast<char>(acc >> bits & 0xff);
        }
    }
    return out;
}

std::uint32_t crc32(std::string_view bytes, std::uint32_t seed)
{
    std::uint32_t c = seed ^ 0xffffffffu;
    for (char ch : bytes)
        c = crc_table[(c ^ static_cast<unsigned char>(ch)) & 0xff] ^ (c >> 8);
    return c ^ 0xffffffffu;
}

std::uint32_t adler32(std::string_view bytes, std::uint32_t seed)
{
    constexpr std::uint32_t mod = 65521;
    std::uint32_t a = seed & 0xffff, b = seed >> 16;
    for (char ch : bytes) {
        a = (a + static_cast<unsigned char>(ch)) % mod;
        b = (b + a) % mod;
    }
    return b << 16 | a;
}

std::uint64_t fnv1a(std::string_view bytes, std::uint64_t seed)
{
    std::uint64_t h = seed;
    for (char ch : bytes) {
        h ^= static_cast<unsigned char>(ch);
        h *= 1099511628211ull;
    }
    return h;
}

std::uint64_t splitmix64(std::uint64_t& state)
{
    std::uint64_t z = (state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

std::string dump_json(const json::value& v)
{
    std::string out;
    dump(out, v);
    return out;
}

std::string go_duration(std::chrono::milliseconds d)
{
    auto ms = d.count();
    if (ms == 0)
        return "0s";
    std::string out;
    if (ms < 0) {
        out += '-';
        ms = -ms;
    }
    if (ms < 1000)
        return out + std::to_string(ms) + "ms";
    auto h = ms / 3'600'000, m = ms / 60'000 % 60, s = ms / 1000 % 60, frac = ms % 1000;
    if (h > 0)
        out += std::to_string(h) + "h";
    if (h > 0 || m > 0)
        out += std::to_string(m) + "m";
    out += std::to_string(s);
    if (frac > 0) {
        std::string f = std::to_string(frac + 1000).substr(1); // three digits, zero-padded
        while (f.back() == '0')
            f.pop_back();
        out += '.' + f;
    }
    return out + "s";
}

bool iequals(std::string_view a, std::string_view b) noexcept
{
    if (a.size() != b.size())
        return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (lower(a[i]) != lower(b[i]))
            return false;
    return true;
}

bool istarts_with(std::string_view s, std::string_view prefix) noexcept
{
    return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

bool icontains(std::string_view haystack, std::string_view needle) noexcept
{
    if (needle.size() > haystack.size())
        return false;
    for (std::size_t i = 0; i + needle.size() <= haystack.size(); ++i)
        if (iequals(haystack.substr(i, needle.size()), needle))
            return true;
    return false;
}

} // namespace majordomo::sim::detail

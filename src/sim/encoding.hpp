// Private: byte-level helpers of the simulator (base64, checksums, hashing, JSON text, Go durations).
#pragma once

#include <boost/json/value.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace majordomo::sim::detail {

std::string base64_encode(std::string_view bytes);
/// Standard alphabet, '=' padding optional; nullopt on any other character.
std::optional<std::string> base64_decode(std::string_view text);

/// zlib's CRC-32 (PNG chunks) and Adler-32 (the zlib stream trailer), both continuable from `seed`.
std::uint32_t crc32(std::string_view bytes, std::uint32_t seed = 0);
std::uint32_t adler32(std::string_view bytes, std::uint32_t seed = 1);

/// FNV-1a, to derive deterministic vectors and images from request text.
std::uint64_t fnv1a(std::string_view bytes, std::uint64_t seed = 14695981039346656037ull);
/// The splitmix64 generator: advances `state` and returns the next value.
std::uint64_t splitmix64(std::uint64_t& state);

/// Compact JSON as llama.cpp writes it (nlohmann dump(-1)): raw UTF-8, keys in insertion order and
/// doubles in shortest round-trip decimal ("776.7", "5.0") instead of Boost.JSON's "7.767E2".
std::string dump_json(const boost::json::value& v);

/// A duration as Go's time.Duration.String() prints it: "500ms", "1.5s", "2m0s", "1h0m0s".
std::string go_duration(std::chrono::milliseconds d);

/// ASCII case-insensitive comparisons for header values.
bool iequals(std::string_view a, std::string_view b) noexcept;
bool istarts_with(std::string_view s, std::string_view prefix) noexcept;
bool icontains(std::string_view haystack, std::string_view needle) noexcept;

} // namespace majordomo::sim::detail

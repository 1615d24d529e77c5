// Private: a dependency-free PNG encoder for sd-server's b64_json images.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace majordomo::sim::detail {

/// Encodes 8-bit RGB pixels (row-major, width * height * 3 bytes) as a complete PNG file: signature,
/// IHDR, one IDAT holding a zlib stream of stored (uncompressed) deflate blocks with its Adler-32,
/// and IEND, each chunk with its CRC-32. Throws std::invalid_argument when the sizes disagree.
std::string encode_png(std::uint32_t width, std::uint32_t height, std::string_view rgb);

/// A deterministic picture for a prompt and seed: a two-colour gradient with diagonal stripes, so
/// different prompts, seeds and batch indexes give visibly different images.
std::string render_pixels(std::uint32_t width, std::uint32_t height, std::uint64_t seed);

} // namespace majordomo::sim::detail

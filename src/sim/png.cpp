#include "png.hpp"

#include "encoding.hpp"

#include <algorithm>
#include <stdexcept>

namespace majordomo::sim::detail {

namespace {

void put_u32(std::string& out, std::uint32_t v)
{
    out += static_cast<char>(v >> 24 & 0xff);
    out += static_cast<char>(v >> 16 & 0xff);
    out += static_cast<char>(v >> 8 & 0xff);
    out += static_cast<char>(v & 0xff);
}

// A chunk is length, type, data, then the CRC over type and data (PNG spec §5.3).
void put_chunk(std::string& out, std::string_view type, std::string_view data)
{
    put_u32(out, static_cast<std::uint32_t>(data.size()));
    std::string body(type);
    body += data;
    out += body;
    put_u32(out, crc32(body));
}

// RFC 1950 wrapper around RFC 1951 stored blocks: no compression, so no zlib dependency.
std::string zlib_stored(std::string_view raw)
{
    std::string out;
    out += '\x78'; // CM=8 (deflate), CINFO=7 (32K window)
    out += '\x01'; // FCHECK making 0x7801 a multiple of 31, FLEVEL=0
    constexpr std::size_t max_block = 65535;
    std::size_t pos = 0;
    do {
        std::size_t n = std::min(max_block, raw.size() - pos);
        bool final = pos + n == raw.size();
        out += static_cast<char>(final ? 1 : 0); // BFINAL, BTYPE=00
        auto len = static_cast<std::uint16_t>(n);
        auto nlen = static_cast<std::uint16_t>(~len);
        out += static_cast<char>(len & 0xff);
        out += static_cast<char>(len >> 8);
        out += static_cast<char>(nlen & 0xff);
        out += static_cast<char>(nlen >> 8);
        out += raw.substr(pos, n);
        pos += n;
    } while (pos < raw.size());
    put_u32(out, adler32(raw));
    return out;
}

} // namespace

std::string encode_png(std::uint32_t width, std::uint32_t height, std::string_view rgb)
{
    if (width == 0 || height == 0 || rgb.size() != std::size_t{width} * height * 3)
        throw std::invalid_argument("encode_png: pixel data does not match width * height * 3");

    std::string out("\x89PNG\r\n\x1a\n", 8);

    std::string ihdr;
    put_u32(ihdr, width);
    put_u32(ihdr, height);
    ihdr += '\x08'; // bit depth
    ihdr += '\x02'; // colour type: truecolour RGB
    ihdr += '\x00'; // compression: deflate
    ihdr += '\x00'; // filter method 0
    ihdr += '\x00'; // no interlace
    put_chunk(out, "IHDR", ihdr);

    // Each scanline starts with its filter type; 0 (None) keeps the bytes as they are.
    std::string raw;
    std::size_t stride = std::size_t{width} * 3;
    raw.reserve((stride + 1) * height);
    for (std::uint32_t y = 0; y < height; ++y) {
        raw += '\x00';
        raw += rgb.substr(y * stride, stride);
    }
    put_chunk(out, "IDAT", zlib_stored(raw));
    put_chunk(out, "IEND", {});
    return out;
}

std::string render_pixels(std::uint32_t width, std::uint32_t height, std::uint64_t seed)
{
    std::uint64_t state = seed;
    auto a = splitmix64(state), b = splitmix64(state);
    auto channel = [](std::uint64_t c, int i) { return static_cast<unsigned>(c >> (8 * i) & 0xff); };
    unsigned stripe = 4 + static_cast<unsigned>(splitmix64(state) % 12);
    std::string px;
    px.reserve(std::size_t{width} * height * 3);
    for (std::uint32_t y = 0; y < height; ++y) {
        for (std::uint32_t x = 0; x < width; ++x) {
            unsigned t = width + height > 2 ? (x + y) * 255 / (width + height - 2) : 0;
            bool band = (x + y) / stripe % 2 == 0;
            for (int i = 0; i < 3; ++i) {
                unsigned v = (channel(a, i) * (255 - t) + channel(b, i) * t) / 255;
                px += static_cast<char>(band ? v : v / 2);
            }
        }
    }
    return px;
}

} // namespace majordomo::sim::detail

// Throughput of sse::parser on a llama-server-shaped chat stream, fed in 16 KiB reads the way
// openai::detail::event_reader feeds it. Standalone: no benchmark library.
//
//   g++ -std=c++20 -O2 -Iinclude src/sse/parser.cpp bench/sse_parse.cpp -o sse_parse && ./sse_parse [events]
#include <majordomo/sse/parser.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

constexpr std::size_t read_size = 16 * 1024;

// llama-server's streamed chunk: one token of content plus the usual envelope (~250 bytes).
std::string make_stream(std::size_t events, std::size_t& data_bytes)
{
    static const char* const tokens[] = {"Hello", ",",     " world", "!",     " The", " quick",
                                         " brown", " fox", " jumps", " over", "\\n",  " the",
                                         " lazy",  " dog", ".",      " \\u00e9t\\u00e9"};
    std::string out;
    out.reserve(events * 260);
    data_bytes = 0;
    char created[32];
    for (std::size_t i = 0; i + 1 < events; ++i) {
        std::snprintf(created, sizeof created, "%zu", 1700000000 + i / 50);
        std::string json = R"({"choices":[{"finish_reason":null,"index":0,"delta":{"content":")";
        json += tokens[i % std::size(tokens)];
        json += R"("}}],"created":)";
        json += created;
        json += R"(,"id":"chatcmpl-3Xb9kQpLmZt2VwYcR8sDfGhJ","model":"qwen2.5-7b-instruct-q4_k_m",)"
                R"("system_fingerprint":"b4321-1a2b3c4d","object":"chat.completion.chunk"})";
        out += "data: ";
        out += json;
        out += "\n\n";
        data_bytes += json.size();
    }
    out += "data: [DONE]\n\n";
    data_bytes += 6;
    return out;
}

struct result {
    std::size_t events = 0;
    std::size_t data_bytes = 0;
    double seconds = 0;
};

result parse(const std::string& stream)
{
    majordomo::sse::parser parser;
    std::vector<char> buf(read_size);
    result r;
    const auto start = std::chrono::steady_clock::now();
    for (std::size_t at = 0; at < stream.size(); at += read_size) {
        // Copy into a read buffer, as a socket read would.
        const std::size_t len = std::min(read_size, stream.size() - at);
        std::memcpy(buf.data(), stream.data() + at, len);
        std::size_t pos = 0;
        while (pos < len) {
            boost::system::error_code ec;
            pos += parser.feed({buf.data() + pos, len - pos}, ec);
            if (ec) {
                std::fprintf(stderr, "parse error: %s\n", ec.message().c_str());
                std::exit(1);
            }
            if (parser.has_event()) {
                ++r.events;
                r.data_bytes += parser.current().data.size();
            }
        }
    }
    parser.finish();
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return r;
}

} // namespace

int main(int argc, char** argv)
{
    const std::size_t events = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 200'000;
    std::size_t data_bytes = 0;
    const std::string stream = make_stream(events, data_bytes);

    double best = 1e300;
    for (int round = 0; round < 7; ++round) {
        const result r = parse(stream);
        if (r.events != events || r.data_bytes != data_bytes) {
            std::fprintf(stderr, "wrong result: %zu events (%zu data bytes), expected %zu (%zu)\n", r.events,
                         r.data_bytes, events, data_bytes);
            return 1;
        }
        best = std::min(best, r.seconds);
    }
    std::printf("%zu events, %.1f MB (%.0f bytes/event) in %.2f ms: %.2f M events/s, %.0f MB/s (best of 7)\n",
                events, static_cast<double>(stream.size()) / 1e6,
                static_cast<double>(stream.size()) / static_cast<double>(events), best * 1e3,
                static_cast<double>(events) / best / 1e6, static_cast<double>(stream.size()) / best / 1e6);
    return 0;
}

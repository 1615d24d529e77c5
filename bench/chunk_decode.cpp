// SSE + JSON decoding of llama-server chat chunks into typed llm::chat_chunk values:
// chunks per second on one core, the client-side cost of a token. No I/O. It decodes
// the way openai's chat stream does: one llm::chunk_decoder per stream, raw JSON kept.
//
//   majordomo-chunk-bench [chunks]
//
// Exits non-zero if the decoded text does not match what was encoded.

#include <majordomo/llm/chunk_decoder.hpp>
#include <majordomo/sse/parser.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <time.h>

namespace {
double thread_cpu_seconds()
{
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}
} // namespace

int main(int argc, char** argv)
{
    const long chunks = argc > 1 ? std::atol(argv[1]) : 300000;
    std::string stream;
    for (long i = 0; i < chunks; ++i)
        stream += R"(data: {"choices":[{"finish_reason":null,"index":0,"delta":{"content":"tok"}}],"created":1700000000,"id":"chatcmpl-abc123","model":"qwen2.5-7b-instruct","system_fingerprint":"b4000-abcdef","object":"chat.completion.chunk"})"
                  "\n\n";
    constexpr std::size_t read_size = 16 * 1024; // what one socket read hands the parser
    double best = 1e9;
    for (int round = 0; round < 5; ++round) {
        majordomo::sse::parser parser;
        majordomo::llm::chunk_decoder decoder;
        long decoded = 0;
        std::size_t text = 0;
        const double t0 = thread_cpu_seconds();
        for (std::size_t at = 0; at < stream.size(); at += read_size) {
            std::string_view piece(stream.data() + at, std::min(read_size, stream.size() - at));
            while (!piece.empty()) {
                boost::system::error_code ec;
                piece.remove_prefix(parser.feed(piece, ec));
                if (ec)
                    return 1;
                if (parser.has_event()) {
                    auto chunk = decoder.decode(parser.current().data);
                    text += chunk.text().size();
                    ++decoded;
                }
            }
        }
        best = std::min(best, thread_cpu_seconds() - t0);
        if (decoded != chunks || text != static_cast<std::size_t>(3 * chunks)) {
            std::fprintf(stderr, "decoded %ld chunks, %zu bytes of text; expected %ld\n", decoded, text, chunks);
            return 1;
        }
    }
    std::printf("%ld chunks, %.1f MB: %.0f chunks/s per core, %.3f us CPU per chunk (best of 5)\n", chunks,
                static_cast<double>(stream.size()) / 1e6, static_cast<double>(chunks) / best,
                best * 1e6 / static_cast<double>(chunks));
    return 0;
}

// SSE + JSON decoding of llama-server chat chunks into typed llm::chat_chunk values:
// chunks per second on one core, the client-side cost of a token. No I/O. It decodes
// the way openai's chat stream does: one llm::chunk_decoder per stream, raw JSON kept.
//
//   majordomo-chunk-bench [chunks]
//
// Exits non-zero if the decoded text does not match what was encoded.

#include "bench_support.hpp"

#include <majordomo/llm/chunk_decoder.hpp>
#include <majordomo/sse/parser.hpp>

#include <cstdio>
#include <cstdlib>
#include <string>

int main(int argc, char** argv)
{
    const long chunks = argc > 1 ? std::atol(argv[1]) : 300000;
    // The stream the HTTP benches serve, as long as asked.
    const std::string stream = bench::canned_stream(static_cast<std::size_t>(chunks));
    const std::size_t expected_text = bench::canned_stream_text_size(static_cast<std::size_t>(chunks));
    constexpr std::size_t read_size = 4096; // what the event reader hands the parser per read
    double best = 1e9;
    for (int round = 0; round < 5; ++round) {
        majordomo::sse::parser parser;
        majordomo::llm::chunk_decoder decoder;
        long decoded = 0;
        std::size_t text = 0;
        const double t0 = bench::cpu_seconds();
        for (std::size_t at = 0; at < stream.size(); at += read_size) {
            std::string_view piece(stream.data() + at, std::min(read_size, stream.size() - at));
            while (!piece.empty()) {
                boost::system::error_code ec;
                piece.remove_prefix(parser.feed(piece, ec));
                if (ec)
                    return 1;
                if (parser.has_event() && parser.current().data != "[DONE]") {
                    auto chunk = decoder.decode(parser.current().data);
                    text += chunk.text().size();
                    ++decoded;
                }
            }
        }
        best = std::min(best, bench::cpu_seconds() - t0);
        if (decoded != chunks || text != expected_text) {
            std::fprintf(stderr, "decoded %ld chunks, %zu bytes of text; expected %ld\n", decoded, text, chunks);
            return 1;
        }
    }
    std::printf("%ld chunks, %.1f MB: %.0f chunks/s per core, %.3f us CPU per chunk (best of 5)\n", chunks,
                static_cast<double>(stream.size()) / 1e6, static_cast<double>(chunks) / best,
                best * 1e6 / static_cast<double>(chunks));
    return 0;
}

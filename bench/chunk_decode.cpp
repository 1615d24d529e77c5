// SSE + JSON decoding of llama-server chat chunks into typed llm::chat_chunk values:
// chunks per second on one core, the client-side cost of a token. No I/O. It decodes
// the way openai's chat stream does: one llm::chunk_decoder per stream, raw JSON kept.
//
//   majordomo-chunk-bench [chunks]
//
// Exits non-zero if the decoded text does not match what was encoded. Also counts heap
// allocations per chunk: with a new chunk per decode, and with one chunk reused.

#include "alloc_count.hpp"
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
    double allocs_new = 0, allocs_reused = 0;
    for (int round = 0; round < 6; ++round) {
        const bool reuse = round == 5; // the last round decodes into one chunk, for the count
        majordomo::llm::chat_chunk reused;
        const std::size_t a0 = bench::allocations.load();
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
                    if (reuse) {
                        decoder.decode(parser.current().data, reused);
                        text += reused.text().size();
                    } else {
                        auto chunk = decoder.decode(parser.current().data);
                        text += chunk.text().size();
                    }
                    ++decoded;
                }
            }
        }
        const double per = static_cast<double>(bench::allocations.load() - a0) / static_cast<double>(chunks);
        (reuse ? allocs_reused : allocs_new) = per;
        if (!reuse)
            best = std::min(best, bench::cpu_seconds() - t0);
        if (decoded != chunks || text != expected_text) {
            std::fprintf(stderr, "decoded %ld chunks, %zu bytes of text; expected %ld\n", decoded, text, chunks);
            return 1;
        }
    }
    std::printf("%ld chunks, %.1f MB: %.0f chunks/s per core, %.3f us CPU per chunk (best of 5)\n", chunks,
                static_cast<double>(stream.size()) / 1e6, static_cast<double>(chunks) / best,
                best * 1e6 / static_cast<double>(chunks));
    std::printf("heap allocations per chunk: %.2f with a new chunk each, %.4f with one chunk reused\n", allocs_new,
                allocs_reused);
    return 0;
}

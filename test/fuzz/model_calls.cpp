// The sans-io decoders of the model calls beside chat: text completions (whole and chunk),
// rerank, transcription, and llama-swap's activity, stats, profiles and version answers.
// Invariants:
//  - each throws nothing but majordomo::error;
//  - completion choices are in index order;
//  - rerank results name each of the documents sent at most once, by an index below their
//    count, with finite scores, most relevant first;
//  - a text transcription is the body as received.
//
// Input: one byte choosing the decoder (and, for rerank, 1-4 documents), then the body.
#include "check.hpp"

#include "openai/audio.hpp"
#include "openai/completions.hpp"
#include "openai/rerank.hpp"

#include <majordomo/error.hpp>
#include <majordomo/llamaswap/management.hpp>

#include <cmath>
#include <cstdint>
#include <set>
#include <string>

namespace {

[[noreturn]] void fail(const char* what, std::string_view input) { fuzz::fail("model_calls", what, input); }

void check_choices(const std::vector<majordomo::llm::completion_choice>& cs, std::string_view input)
{
    for (std::size_t i = 1; i < cs.size(); ++i)
        if (cs[i - 1].index > cs[i].index)
            fail("completion choices out of index order", input);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    if (size == 0)
        return 0;
    namespace od = majordomo::openai::detail;
    namespace ls = majordomo::llamaswap;
    const std::uint8_t selector = data[0];
    const std::string_view body(reinterpret_cast<const char*>(data + 1), size - 1);
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    try {
        switch (selector % 9) {
        case 0: check_choices(od::decode_completion_response(body).choices, input); break;
        case 1: check_choices(od::decode_completion_chunk(body).choices, input); break;
        case 2: {
            const std::size_t documents = 1 + (selector / 9) % 4;
            auto r = od::decode_rerank_response(body, documents);
            std::set<std::size_t> seen;
            for (std::size_t i = 0; i < r.results.size(); ++i) {
                const auto& x = r.results[i];
                if (x.index >= documents || !seen.insert(x.index).second)
                    fail("rerank result with a bad or repeated index", input);
                if (!std::isfinite(x.relevance_score))
                    fail("rerank result with a non-finite score", input);
                if (i > 0 && r.results[i - 1].relevance_score < x.relevance_score)
                    fail("rerank results not most relevant first", input);
            }
            break;
        }
        case 3: od::decode_transcription("verbose_json", body); break;
        case 4: {
            // A text answer that is not an error object comes back as it was.
            bool json_error = !body.empty() && body.front() == '{';
            auto t = od::decode_transcription("text", body);
            if (!json_error && t.text != body)
                fail("a text transcription differs from its body", input);
            break;
        }
        case 5: ls::decode_activity(body); break;
        case 6: ls::decode_stats(body); break;
        case 7: ls::decode_profiles(body); break;
        default: ls::decode_version(body); break;
        }
    } catch (const majordomo::error&) {
    } catch (...) {
        fuzz::foreign_exception("model_calls", input);
    }
    return 0;
}

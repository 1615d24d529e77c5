// The SSE parser gives the same events, errors, last event ID and retry however its input
// is split: whole, one byte at a time, and at points the fuzzer picks; and whether events
// are copied or borrowed from the input (parser_params::borrow_input).
//
// Input: the event stream, then a trailer that FuzzedDataProvider reads from the back:
// the last byte sets the event size limit (0: the default, n: 4n bytes), the one before
// it how many split points (0..16) precede it, two bytes each. Corpus files are wire
// bytes followed by such a trailer.
#include <majordomo/sse/parser.hpp>

#include "check.hpp"

#include <fuzzer/FuzzedDataProvider.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

namespace {

using majordomo::sse::parser;

struct seen_event {
    std::string type, data, id;
    bool operator==(const seen_event&) const = default;
};

struct outcome {
    std::vector<seen_event> events;
    bool failed = false;
    std::string last_event_id;
    std::optional<std::uint64_t> retry;
    bool operator==(const outcome&) const = default;
};

// Feeds `pieces` in order, taking every event, then finishes the stream. A borrowing parser
// is fed copies that are scribbled over once fed, as a reused read buffer is.
outcome run(std::size_t limit, const std::vector<std::string_view>& pieces, std::string_view all, bool borrow = false)
{
    parser p({.max_event_size = limit, .borrow_input = borrow});
    outcome out;
    std::string copy;
    for (auto original : pieces) {
        copy.assign(original);
        std::string_view piece = borrow ? std::string_view(copy) : original;
        while (!out.failed) {
            boost::system::error_code ec;
            const std::size_t used = p.feed(piece, ec);
            if (used > piece.size())
                fuzz::fail("sse_parser", "feed() consumed more than it was given", all);
            if (ec) {
                if (ec != majordomo::sse::errc::event_too_large)
                    fuzz::fail("sse_parser", "an error other than event_too_large", all);
                out.failed = true;
                break;
            }
            if (p.has_event()) {
                auto e = p.current();
                out.events.push_back({std::string(e.type), std::string(e.data), std::string(e.id)});
                if (e.id != p.last_event_id())
                    fuzz::fail("sse_parser", "the event's id is not last_event_id()", all);
            } else if (used != piece.size()) {
                fuzz::fail("sse_parser", "feed() stopped early without an event or an error", all);
            }
            piece.remove_prefix(used);
            if (piece.empty())
                break;
        }
        std::fill(copy.begin(), copy.end(), 'Z');
    }
    p.finish();
    out.last_event_id = p.last_event_id();
    out.retry = p.retry();
    return out;
}

[[noreturn]] void mismatch(const char* how, const outcome& a, const outcome& b, std::string_view all)
{
    std::fprintf(stderr, "whole: %zu events, failed %d; %s: %zu events, failed %d\n", a.events.size(), a.failed, how,
                 b.events.size(), b.failed);
    fuzz::fail("sse_parser", std::string("events differ when fed ") + how, all);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    FuzzedDataProvider in(data, size);
    // 0 means the default limit; small limits reach event_too_large.
    const std::uint8_t limit_byte = in.ConsumeIntegral<std::uint8_t>();
    const std::size_t limit = limit_byte == 0 ? majordomo::sse::parser_params{}.max_event_size : limit_byte * 4u;
    std::vector<std::size_t> cuts(in.ConsumeIntegralInRange<std::size_t>(0, 16));
    for (auto& c : cuts)
        c = in.ConsumeIntegral<std::uint16_t>();
    const std::string stream = in.ConsumeRemainingBytesAsString();
    const std::string_view all(stream);

    const outcome whole = run(limit, {all}, all);

    std::vector<std::string_view> bytes;
    for (std::size_t i = 0; i < all.size(); ++i)
        bytes.push_back(all.substr(i, 1));
    if (const outcome one = run(limit, bytes, all); !(one == whole))
        mismatch("one byte at a time", whole, one, all);

    for (auto& c : cuts)
        c = all.empty() ? 0 : c % (all.size() + 1);
    std::sort(cuts.begin(), cuts.end());
    std::vector<std::string_view> pieces;
    std::size_t from = 0;
    for (auto c : cuts) {
        pieces.push_back(all.substr(from, c - from)); // empty pieces too: feeding "" must be harmless
        from = c;
    }
    pieces.push_back(all.substr(from));
    if (const outcome split = run(limit, pieces, all); !(split == whole))
        mismatch("split at chosen points", whole, split, all);
    if (const outcome borrowed = run(limit, pieces, all, true); !(borrowed == whole))
        mismatch("split at chosen points to a borrowing parser", whole, borrowed, all);
    if (const outcome borrowed = run(limit, bytes, all, true); !(borrowed == whole))
        mismatch("one byte at a time to a borrowing parser", whole, borrowed, all);
    return 0;
}

// The chat chunk decoder, one stream at a time: each input line is one SSE `data:` payload.
// Invariants: decoding throws nothing but majordomo::error (bad_json or an API error, with
// bounded messages); a decoder and chunk reused across the stream's payloads decode each
// one exactly as a fresh decoder does (no state leaks from the previous chunk); without
// keep_raw the typed fields are the same and raw stays empty; decode_chat_chunk agrees; the
// event decoder (no DOM) decodes and fails exactly as the DOM decoder that defines the rules;
// raw is the payload as received.
// The accumulator takes every decoded chunk.
#include <majordomo/error.hpp>
#include <majordomo/llm/chunk.hpp>
#include <majordomo/llm/chunk_decoder.hpp>
#include <majordomo/llm/json_codec.hpp>

#include "check.hpp"
#include "llm/json_helpers.hpp"

#include <cstdint>
#include <optional>
#include <string_view>

namespace {

using namespace majordomo;

[[noreturn]] void fail(const char* what, std::string_view payload)
{
    fuzz::fail("chat_chunk", what, payload);
}

bool same_typed(const llm::chat_chunk& a, const llm::chat_chunk& b)
{
    if (a.id != b.id || a.model != b.model || a.created != b.created || a.usage != b.usage ||
        !fuzz::same_timings(a.timings, b.timings) || a.loading != b.loading || a.choices.size() != b.choices.size() ||
        a.has_output() != b.has_output() || a.text() != b.text())
        return false;
    for (std::size_t i = 0; i < a.choices.size(); ++i) {
        const auto& x = a.choices[i];
        const auto& y = b.choices[i];
        if (x.index != y.index || x.role != y.role || x.content != y.content ||
            x.reasoning_content != y.reasoning_content || x.finish_reason != y.finish_reason ||
            x.tool_calls.size() != y.tool_calls.size())
            return false;
        for (std::size_t k = 0; k < x.tool_calls.size(); ++k) {
            const auto& s = x.tool_calls[k];
            const auto& t = y.tool_calls[k];
            if (s.index != t.index || s.id != t.id || s.name != t.name || s.arguments != t.arguments)
                return false;
        }
    }
    return true;
}

// What one decode gave: the chunk, or the error's code.
struct attempt_result {
    std::optional<llm::chat_chunk> chunk;
    boost::system::error_code ec;
};

void check_error(const error& e, std::string_view payload)
{
    const auto& ec = e.code();
    const bool bad_json = ec == client_errc::bad_json;
    const bool api = &ec.category() == &get_api_category();
    if (!bad_json && !api)
        fail("unexpected error code", payload);
    if (bad_json && e.diag().client_message.size() > 512)
        fail("bad_json message longer than its excerpt bound", payload);
    if (e.diag().server_message.size() > 512)
        fail("server_message longer than 512 bytes", payload);
}

template <class F>
attempt_result attempt(F&& f, std::string_view payload)
{
    attempt_result r;
    try {
        r.chunk.emplace(f());
    } catch (const error& e) {
        check_error(e, payload);
        r.ec = e.code();
        r.chunk.reset();
    } catch (...) {
        fuzz::foreign_exception("chat_chunk", payload);
    }
    return r;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    std::string_view input(reinterpret_cast<const char*>(data), size);
    llm::chunk_decoder reused;
    llm::chunk_decoder typed_only({.keep_raw = false});
    llm::chat_chunk reused_out;
    llm::chat_accumulator acc;
    while (!input.empty()) {
        const auto nl = input.find('\n');
        const std::string_view payload = input.substr(0, nl);
        input = nl == std::string_view::npos ? std::string_view{} : input.substr(nl + 1);

        const attempt_result fresh = attempt([&] { return llm::chunk_decoder().decode(payload); }, payload);
        const attempt_result again = attempt(
            [&] {
                reused.decode(payload, reused_out);
                return reused_out;
            },
            payload);
        const attempt_result lean = attempt([&] { return typed_only.decode(payload); }, payload);
        const attempt_result shared = attempt([&] { return llm::decode_chat_chunk(payload); }, payload);
        const attempt_result dom = attempt(
            [&] {
                llm::chat_chunk c;
                llm::detail::decode_chunk_with_dom(payload, c);
                return c;
            },
            payload);

        if (fresh.chunk.has_value() != again.chunk.has_value() || fresh.ec != again.ec)
            fail("a reused decoder fails differently", payload);
        if (fresh.chunk.has_value() != lean.chunk.has_value() || fresh.ec != lean.ec)
            fail("keep_raw=false fails differently", payload);
        if (fresh.chunk.has_value() != shared.chunk.has_value() || fresh.ec != shared.ec)
            fail("decode_chat_chunk fails differently", payload);
        if (fresh.chunk.has_value() != dom.chunk.has_value() || fresh.ec != dom.ec)
            fail("the event decoder and the DOM decoder fail differently", payload);
        if (!fresh.chunk)
            continue;
        if (!same_typed(*fresh.chunk, *dom.chunk) || fresh.chunk->raw != dom.chunk->raw)
            fail("the event decoder and the DOM decoder decode differently", payload);
        if (fresh.chunk->raw.text() != payload)
            fail("raw is not the payload", payload);
        if (!same_typed(*fresh.chunk, *again.chunk) || fresh.chunk->raw != again.chunk->raw)
            fail("a reused decoder decodes differently", payload);
        if (!same_typed(*fresh.chunk, *lean.chunk) || !lean.chunk->raw.empty())
            fail("keep_raw=false decodes differently", payload);
        if (!same_typed(*fresh.chunk, *shared.chunk) || fresh.chunk->raw != shared.chunk->raw)
            fail("decode_chat_chunk decodes differently", payload);
        acc.add(*fresh.chunk);
    }
    // The rebuilt response is readable after every chunk is gone.
    const auto response = acc.take();
    std::size_t total = 0;
    for (const auto& c : response.choices)
        total += c.text.size() + c.reasoning_content.size() + c.tool_calls.size();
    if (total > size * 2 + 16)
        fail("the accumulator holds more text than it was given", {});
    return 0;
}

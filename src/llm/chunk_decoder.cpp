#include <majordomo/llm/chunk_decoder.hpp>

#include "llm/json_helpers.hpp"

#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parser.hpp>

#include <cstddef>
#include <memory>
#include <optional>

namespace majordomo::llm {
namespace json = boost::json;
namespace {

using namespace detail;

void reset(choice_delta& d, int index)
{
    d.index = index;
    d.role.reset();
    d.content.clear();
    d.reasoning_content.clear();
    d.tool_calls.clear();
    d.finish_reason.reset();
}

void decode_tool_call(const json::object& t, int position, tool_call_delta& out)
{
    out.index = position; // `index` is required by the spec; its position is the best guess without it
    out.id.reset();
    out.name.reset();
    out.arguments.clear();
    for (const auto& kv : t) {
        const std::string_view k = kv.key();
        const auto& v = kv.value();
        if (k == "index") {
            if (auto i = to_int(v))
                out.index = *i;
        } else if (k == "id") {
            if (v.is_string())
                out.id.emplace(v.get_string().data(), v.get_string().size());
        } else if (k == "function" && v.is_object()) {
            for (const auto& fkv : v.get_object()) {
                const std::string_view fk = fkv.key();
                if (fk == "name") {
                    if (fkv.value().is_string())
                        out.name.emplace(fkv.value().get_string().data(), fkv.value().get_string().size());
                } else if (fk == "arguments") {
                    assign_arguments(out.arguments, fkv.value());
                }
            }
        }
    }
}

// Returns whether the delta holds nothing but a reasoning_content string: the shape of
// llama-swap's loading frames.
bool decode_delta(const json::object& delta, choice_delta& d)
{
    bool reasoning = false;
    bool other = false;
    for (const auto& kv : delta) {
        const std::string_view k = kv.key();
        const auto& v = kv.value();
        if (k == "content") {
            append_text(d.content, v);
            other = other || !v.is_null();
        } else if (k == "reasoning_content") {
            if (v.is_string()) {
                d.reasoning_content.assign(v.get_string().data(), v.get_string().size());
                reasoning = true;
            }
        } else if (k == "role") {
            if (v.is_string())
                d.role.emplace(v.get_string().data(), v.get_string().size());
            other = true;
        } else if (k == "tool_calls") {
            other = true;
            if (!v.is_array())
                continue;
            const auto& calls = v.get_array();
            d.tool_calls.reserve(calls.size());
            for (const auto& c : calls)
                if (c.is_object()) {
                    d.tool_calls.emplace_back();
                    decode_tool_call(c.get_object(), static_cast<int>(d.tool_calls.size() - 1),
                                     d.tool_calls.back());
                }
        } else {
            other = other || !v.is_null();
        }
    }
    return reasoning && !other;
}

void decode_object(const json::object& o, std::string_view data, chat_chunk& out)
{
    out.id.clear();
    out.model.clear();
    out.created = 0;
    out.usage.reset();
    out.timings.reset();
    out.loading = false;

    const json::value* choices = nullptr;
    bool identified = false; // id, object, model or created: what loading frames lack
    for (const auto& kv : o) {
        const std::string_view k = kv.key();
        const auto& v = kv.value();
        if (k == "choices") {
            choices = &v;
        } else if (k == "id") {
            assign(out.id, v);
            identified = true;
        } else if (k == "model") {
            assign(out.model, v);
            identified = true;
        } else if (k == "created") {
            out.created = to_integer(v).value_or(0);
            identified = true;
        } else if (k == "object") {
            identified = true;
        } else if (k == "usage") {
            out.usage = decode_usage(v);
        } else if (k == "timings") {
            out.timings = decode_timings(v);
        } else if (k == "error" && !v.is_null()) {
            throw_in_band_error(o, data);
        }
    }

    std::size_t n = 0;
    bool reasoning_only = true;
    if (choices && choices->is_array()) {
        const auto& arr = choices->get_array();
        // Reuse the elements (and their strings' capacity) of the previous chunk.
        if (out.choices.size() < arr.size())
            out.choices.resize(arr.size());
        for (const auto& cv : arr) {
            if (!cv.is_object())
                continue;
            auto& d = out.choices[n];
            reset(d, static_cast<int>(n));
            ++n;
            bool only_reasoning = false;
            for (const auto& kv : cv.get_object()) {
                const std::string_view k = kv.key();
                const auto& v = kv.value();
                if (k == "delta") {
                    if (v.is_object())
                        only_reasoning = decode_delta(v.get_object(), d);
                } else if (k == "index") {
                    if (auto i = to_int(v))
                        d.index = *i;
                } else if (k == "finish_reason") {
                    if (v.is_string())
                        d.finish_reason.emplace(v.get_string().data(), v.get_string().size());
                }
            }
            reasoning_only = reasoning_only && only_reasoning && !d.finish_reason;
        }
    }
    out.choices.resize(n);
    out.loading = !identified && n > 0 && reasoning_only;
}

} // namespace

struct chunk_decoder::impl {
    static json::parse_options parse_options()
    {
        json::parse_options o;
        o.allow_invalid_utf8 = true; // one bad byte from a server should not end the stream
        return o;
    }

    explicit impl(chunk_decoder_options o) : options(o), parser({}, parse_options(), temp, sizeof temp)
    {
        // Only a decoder that drops raw needs scratch; a stream (raw kept) stays small.
        if (!options.keep_raw) {
            scratch_bytes = std::make_unique<unsigned char[]>(scratch_size);
            scratch.emplace(scratch_bytes.get(), scratch_size);
        }
    }

    static constexpr std::size_t scratch_size = 8192;
    chunk_decoder_options options;
    // Where the DOM goes when raw is not kept; released (not freed) before each chunk.
    std::unique_ptr<unsigned char[]> scratch_bytes;
    std::optional<json::monotonic_resource> scratch;
    // The parser's own stack; it reaches the heap only for very large chunks.
    unsigned char temp[4096];
    json::parser parser;
};

chunk_decoder::chunk_decoder(chunk_decoder_options options) : impl_(std::make_unique<impl>(options)) {}
chunk_decoder::~chunk_decoder() = default;
chunk_decoder::chunk_decoder(chunk_decoder&&) noexcept = default;
chunk_decoder& chunk_decoder::operator=(chunk_decoder&&) noexcept = default;

chat_chunk chunk_decoder::decode(std::string_view data)
{
    chat_chunk c;
    decode(data, c);
    return c;
}

void chunk_decoder::decode(std::string_view data, chat_chunk& out)
{
    auto& m = *impl_;
    json::storage_ptr sp;
    if (m.options.keep_raw) {
        sp = make_json_arena(data.size());
    } else {
        out.raw.clear(); // raw is not kept: drop what an earlier decode left there
        m.scratch->release();
        sp = json::storage_ptr(&*m.scratch);
    }
    m.parser.reset(std::move(sp));
    boost::system::error_code ec;
    const std::size_t consumed = m.parser.write(data.data(), data.size(), ec);
    if (ec) // incomplete input is an error too: write() is given the whole text
        throw_bad_json("malformed stream chunk (" + ec.message() + ")", data, consumed);
    json::value v = m.parser.release();
    if (!v.is_object())
        throw_bad_json("stream chunk is not a JSON object", data);
    decode_object(v.get_object(), data, out);
    if (m.options.keep_raw) {
        adopt(out.raw, std::move(v.get_object()));
    }
}

} // namespace majordomo::llm

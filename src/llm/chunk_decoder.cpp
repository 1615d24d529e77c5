#include <majordomo/llm/chunk_decoder.hpp>

#include "llm/json_helpers.hpp"

#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parser.hpp>

#include <array>
#include <cstdint>
#include <cstring>

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

// The typed fields of a chunk straight from the parser's events, without a DOM. It covers
// the shapes servers stream (strings, numbers and nulls where the fields are, unknown keys
// of any shape); anything else, a duplicate key, a non-null usage, timings or error, stops
// it, and the DOM decoder above, which defines the rules, decodes the chunk instead.
// A key equal to a literal: with the size known, memcmp becomes a few integer compares.
template <std::size_t N>
bool is(std::string_view k, const char (&literal)[N]) noexcept
{
    return k.size() == N - 1 && std::memcmp(k.data(), literal, N - 1) == 0;
}

class chunk_handler {
public:
    using error_code = boost::system::error_code;
    using string_view = json::string_view;

    static constexpr std::size_t max_object_size = std::size_t(-1);
    static constexpr std::size_t max_array_size = std::size_t(-1);
    static constexpr std::size_t max_key_size = std::size_t(-1);
    static constexpr std::size_t max_string_size = std::size_t(-1);

    void begin(chat_chunk& out) noexcept
    {
        out_ = &out;
        depth_ = 0;
        skip_ = 0;
        slot_ = slot::document;
        choices_ = 0;
        identified_ = false;
        reasoning_only_ = true;
        string_started_ = false;
        key_.clear();
    }

    bool on_document_begin(error_code&) { return true; }
    bool on_document_end(error_code&) { return true; }

    bool on_object_begin(error_code& ec)
    {
        if (skip_) {
            ++skip_;
            return true;
        }
        switch (slot_) {
        case slot::document:
            out_->id.clear();
            out_->model.clear();
            out_->created = 0;
            out_->usage.reset();
            out_->timings.reset();
            out_->loading = false;
            return push(frame_kind::root, ec);
        case slot::choice: {
            if (out_->choices.size() <= choices_)
                out_->choices.emplace_back();
            reset(out_->choices[choices_], static_cast<int>(choices_));
            ++choices_;
            only_reasoning_ = false;
            return push(frame_kind::choice, ec);
        }
        case slot::delta:
            reasoning_ = other_ = false;
            unknown_count_ = 0;
            return push(frame_kind::delta, ec);
        case slot::tool_call: {
            auto& calls = current().tool_calls;
            calls.emplace_back();
            calls.back().index = static_cast<int>(calls.size() - 1);
            return push(frame_kind::tool_call, ec);
        }
        case slot::function: return push(frame_kind::function, ec);
        default: return container_value(ec);
        }
    }

    bool on_object_end(std::size_t, error_code&)
    {
        if (skip_) {
            if (--skip_ == 0)
                value_done();
            return true;
        }
        const auto kind = stack_[--depth_].kind;
        switch (kind) {
        case frame_kind::root:
            out_->choices.resize(choices_);
            out_->loading = !identified_ && choices_ > 0 && reasoning_only_;
            break;
        case frame_kind::delta:
            only_reasoning_ = reasoning_ && !other_ && !unknown_non_null();
            break;
        case frame_kind::choice:
            reasoning_only_ = reasoning_only_ && only_reasoning_ && !current().finish_reason;
            break;
        default: break;
        }
        value_done();
        return true;
    }

    bool on_array_begin(error_code& ec)
    {
        if (skip_) {
            ++skip_;
            return true;
        }
        switch (slot_) {
        case slot::choices: return push(frame_kind::choices, ec);
        case slot::tool_calls:
            other_ = true;
            return push(frame_kind::tool_calls, ec);
        case slot::content: return bail(ec); // content parts: the DOM decoder joins them
        default: return container_value(ec);
        }
    }

    bool on_array_end(std::size_t, error_code&)
    {
        if (skip_) {
            if (--skip_ == 0)
                value_done();
            return true;
        }
        --depth_;
        value_done();
        return true;
    }

    bool on_key_part(string_view s, std::size_t, error_code&)
    {
        if (skip_)
            return true;
        key_.append(s.data(), s.size());
        return true;
    }

    bool on_key(string_view s, std::size_t, error_code& ec)
    {
        if (skip_)
            return true;
        std::string_view k(s.data(), s.size());
        if (!key_.empty()) {
            key_.append(s.data(), s.size());
            k = key_;
        }
        const bool ok = key(k, ec);
        key_.clear();
        return ok;
    }

    bool on_string_part(string_view s, std::size_t, error_code& ec)
    {
        if (skip_)
            return true;
        return string_piece(s, ec);
    }

    bool on_string(string_view s, std::size_t, error_code& ec)
    {
        if (skip_)
            return true;
        if (!string_piece(s, ec))
            return false;
        string_started_ = false;
        target_ = nullptr;
        value_done();
        return true;
    }

    bool on_number_part(string_view, error_code&) { return true; }
    bool on_int64(std::int64_t i, string_view, error_code& ec) { return scalar(json::value(i), ec); }
    bool on_uint64(std::uint64_t u, string_view, error_code& ec) { return scalar(json::value(u), ec); }
    bool on_double(double d, string_view, error_code& ec) { return scalar(json::value(d), ec); }
    bool on_bool(bool b, error_code& ec) { return scalar(json::value(b), ec); }
    bool on_null(error_code& ec) { return scalar(json::value(nullptr), ec); }
    bool on_comment_part(string_view, error_code&) { return true; }
    bool on_comment(string_view, error_code&) { return true; }

private:
    // What the value being parsed means.
    enum class slot : std::uint8_t {
        none, document, skip, id, model, created, object, choices, usage, timings, error, // chunk
        choice, delta, index, finish_reason,                                              // choices[]
        content, reasoning, role, tool_calls, unknown,                                    // delta
        tool_call, call_index, call_id, function, name, arguments                         // tool_calls[]
    };
    enum class frame_kind : std::uint8_t { root, choices, choice, delta, tool_calls, tool_call, function };
    struct frame {
        frame_kind kind;
        std::uint32_t seen; // known keys met, by slot: a second one is a duplicate
    };
    // The deepest frame: root, choices, choice, delta, tool_calls, tool_call, function.
    static constexpr std::size_t max_frames = 7;

    choice_delta& current() { return out_->choices[choices_ - 1]; }

    bool bail(error_code& ec)
    {
        ec = json::error::exception; // any error: the caller decodes with the DOM instead
        return false;
    }

    bool push(frame_kind k, error_code& ec)
    {
        if (depth_ == max_frames)
            return bail(ec);
        stack_[depth_++] = {k, 0};
        slot_ = slot::none;
        if (k == frame_kind::choices)
            slot_ = slot::choice;
        else if (k == frame_kind::tool_calls)
            slot_ = slot::tool_call;
        return true;
    }

    // After a value: the next one is an array's next element or waits for its key.
    void value_done() noexcept
    {
        slot_ = slot::none;
        if (depth_ == 0)
            return;
        if (stack_[depth_ - 1].kind == frame_kind::choices)
            slot_ = slot::choice;
        else if (stack_[depth_ - 1].kind == frame_kind::tool_calls)
            slot_ = slot::tool_call;
    }

    bool key(std::string_view k, error_code& ec)
    {
        auto& f = stack_[depth_ - 1];
        slot s = slot::skip;
        switch (f.kind) {
        case frame_kind::root:
            if (is(k, "choices"))
                s = slot::choices;
            else if (is(k, "id"))
                s = slot::id;
            else if (is(k, "model"))
                s = slot::model;
            else if (is(k, "created"))
                s = slot::created;
            else if (is(k, "object"))
                s = slot::object;
            else if (is(k, "usage"))
                s = slot::usage;
            else if (is(k, "timings"))
                s = slot::timings;
            else if (is(k, "error"))
                s = slot::error;
            identified_ = identified_ || s == slot::id || s == slot::model || s == slot::created || s == slot::object;
            break;
        case frame_kind::choice:
            if (is(k, "delta"))
                s = slot::delta;
            else if (is(k, "index"))
                s = slot::index;
            else if (is(k, "finish_reason"))
                s = slot::finish_reason;
            break;
        case frame_kind::delta:
            if (is(k, "content"))
                s = slot::content;
            else if (is(k, "reasoning_content"))
                s = slot::reasoning;
            else if (is(k, "role"))
                s = slot::role;
            else if (is(k, "tool_calls"))
                s = slot::tool_calls;
            else
                return unknown_key(k, ec);
            break;
        case frame_kind::tool_call:
            if (is(k, "index"))
                s = slot::call_index;
            else if (is(k, "id"))
                s = slot::call_id;
            else if (is(k, "function"))
                s = slot::function;
            break;
        case frame_kind::function:
            if (is(k, "name"))
                s = slot::name;
            else if (is(k, "arguments"))
                s = slot::arguments;
            break;
        default: break;
        }
        if (s != slot::skip) {
            const auto bit = std::uint32_t(1) << static_cast<unsigned>(s);
            if (f.seen & bit)
                return bail(ec); // a duplicate: the DOM keeps the last one
            f.seen |= bit;
        }
        slot_ = s;
        if (s == slot::role || s == slot::tool_calls)
            other_ = true; // whatever their value
        return true;
    }

    // A delta's key we do not decode: non-null, it makes the delta more than reasoning.
    // Kept by name so that a repeated key counts once, with its last value, as in the DOM.
    bool unknown_key(std::string_view k, error_code& ec)
    {
        std::size_t i = 0;
        while (i < unknown_count_ && unknown_[i].name != k)
            ++i;
        if (i == unknown_count_) {
            if (unknown_count_ == unknown_.size())
                return bail(ec);
            unknown_[unknown_count_].name.assign(k);
            unknown_[unknown_count_++].non_null = false;
        }
        unknown_index_ = i;
        slot_ = slot::unknown;
        return true;
    }

    bool unknown_non_null() const noexcept
    {
        for (std::size_t i = 0; i < unknown_count_; ++i)
            if (unknown_[i].non_null)
                return true;
        return false;
    }

    // An object or array where a scalar field is: it reads as the field's wrong type.
    bool container_value(error_code& ec)
    {
        if (slot_ == slot::arguments || slot_ == slot::usage || slot_ == slot::timings || slot_ == slot::error)
            return bail(ec); // serialized arguments, nested fields, an in-band error
        if (!scalar_effect(json::value(true), ec))
            return false;
        skip_ = 1;
        return true;
    }

    bool scalar(const json::value& v, error_code& ec)
    {
        if (skip_)
            return true;
        if (!scalar_effect(v, ec))
            return false;
        value_done();
        return true;
    }

    // What a value other than a string does to its field, as the DOM decoder reads it.
    bool scalar_effect(const json::value& v, error_code& ec)
    {
        switch (slot_) {
        case slot::document: return bail(ec); // not an object: the DOM decoder says so
        case slot::id: out_->id.clear(); break;
        case slot::model: out_->model.clear(); break;
        case slot::created: out_->created = to_integer(v).value_or(0); break;
        case slot::usage:
        case slot::timings:
        case slot::error:
            if (!v.is_null())
                return bail(ec);
            break;
        case slot::index:
            if (auto i = to_int(v))
                current().index = *i;
            break;
        case slot::content: other_ = other_ || !v.is_null(); break;
        case slot::unknown: unknown_[unknown_index_].non_null = !v.is_null(); break;
        case slot::call_index:
            if (auto i = to_int(v))
                current().tool_calls.back().index = *i;
            break;
        case slot::arguments: current().tool_calls.back().arguments.clear(); break;
        default: break;
        }
        return true;
    }

    bool string_piece(string_view s, error_code& ec)
    {
        if (!string_started_) {
            string_started_ = true;
            target_ = string_target(ec);
            if (ec)
                return false;
        }
        if (target_)
            target_->append(s.data(), s.size());
        return true;
    }

    // Where a string value goes, set up as the DOM decoder would (assign, emplace, append).
    std::string* string_target(error_code& ec)
    {
        switch (slot_) {
        case slot::document:
        case slot::usage:
        case slot::timings:
        case slot::error: bail(ec); return nullptr;
        case slot::id: out_->id.clear(); return &out_->id;
        case slot::model: out_->model.clear(); return &out_->model;
        case slot::created: out_->created = 0; return nullptr;
        case slot::finish_reason: return &current().finish_reason.emplace();
        case slot::content: other_ = true; return &current().content;
        case slot::reasoning:
            reasoning_ = true;
            current().reasoning_content.clear();
            return &current().reasoning_content;
        case slot::role: return &current().role.emplace();
        case slot::unknown: unknown_[unknown_index_].non_null = true; return nullptr;
        case slot::call_id: return &current().tool_calls.back().id.emplace();
        case slot::name: return &current().tool_calls.back().name.emplace();
        case slot::arguments: current().tool_calls.back().arguments.clear(); return &current().tool_calls.back().arguments;
        default: return nullptr;
        }
    }

    struct unknown_field {
        std::string name;
        bool non_null = false;
    };

    chat_chunk* out_ = nullptr;
    std::array<frame, max_frames> stack_{};
    std::size_t depth_ = 0;
    std::size_t skip_ = 0; // depth inside a value being skipped
    slot slot_ = slot::document;
    std::size_t choices_ = 0;
    bool identified_ = false;
    bool reasoning_only_ = true;
    bool only_reasoning_ = false; // of the current choice
    bool reasoning_ = false;      // of the current delta
    bool other_ = false;          // of the current delta
    std::array<unknown_field, 4> unknown_;
    std::size_t unknown_count_ = 0;
    std::size_t unknown_index_ = 0;
    bool string_started_ = false;
    std::string* target_ = nullptr;
    std::string key_; // a key that came in parts
};

json::parse_options parse_options()
{
    json::parse_options o;
    o.allow_invalid_utf8 = true; // one bad byte from a server should not end the stream
    return o;
}

// The DOM decoder with its buffers, kept for the next chunk.
struct dom_decoder {
    dom_decoder() : parser({}, parse_options(), temp, sizeof temp) {}

    void decode(std::string_view data, chat_chunk& out)
    {
        arena.release();
        parser.reset(json::storage_ptr(&arena));
        boost::system::error_code ec;
        const std::size_t consumed = parser.write(data.data(), data.size(), ec);
        if (ec) // incomplete input is an error too: write() is given the whole text
            throw_bad_json("malformed stream chunk (" + ec.message() + ")", data, consumed);
        json::value v = parser.release();
        if (!v.is_object())
            throw_bad_json("stream chunk is not a JSON object", data);
        decode_object(v.get_object(), data, out);
    }

    unsigned char scratch[8192]; // the DOM of a usual chunk; released before each one
    json::monotonic_resource arena{scratch, sizeof scratch};
    unsigned char temp[4096]; // the parser's own stack
    json::parser parser;
};

} // namespace

struct chunk_decoder::impl {
    explicit impl(chunk_decoder_options o) : options(o), events(parse_options()) {}

    chunk_decoder_options options;
    json::basic_parser<chunk_handler> events;
};

namespace {
// One per thread, not per stream: a stream needs it for a chunk or two (usage, timings),
// and a decode runs start to end on one thread.
dom_decoder& thread_dom_decoder()
{
    thread_local dom_decoder d;
    return d;
}
} // namespace

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
    m.events.reset();
    m.events.handler().begin(out);
    boost::system::error_code ec;
    const std::size_t used = m.events.write_some(false, data.data(), data.size(), ec);
    if (ec || used != data.size()) // a shape the event decoder leaves to the DOM decoder, or an error it reports
        thread_dom_decoder().decode(data, out);
    if (m.options.keep_raw)
        out.raw.assign(data);
    else
        out.raw.clear();
}

void detail::decode_chunk_with_dom(std::string_view data, chat_chunk& out)
{
    thread_dom_decoder().decode(data, out);
    out.raw.assign(data);
}

} // namespace majordomo::llm

#include "llm/json_helpers.hpp"

#include <majordomo/error.hpp>
#include <majordomo/llm/error_body.hpp>

#include <boost/json/monotonic_resource.hpp>
#include <boost/json/serialize.hpp>

#include <cstddef>
#include <memory>

namespace majordomo::llm::detail {

// A monotonic arena whose first block lives in the same allocation as the resource.
template <std::size_t N>
class json_arena final : public json::memory_resource {
public:
    json_arena() noexcept {} // user-provided: value-initialising would zero the block first

private:
    void* do_allocate(std::size_t n, std::size_t align) override { return mono_.allocate(n, align); }
    void do_deallocate(void*, std::size_t, std::size_t) override {}
    bool do_is_equal(const json::memory_resource& r) const noexcept override { return this == &r; }

    alignas(std::max_align_t) unsigned char bytes_[N];
    json::monotonic_resource mono_{bytes_, N};
};

} // namespace majordomo::llm::detail

// Nodes in an arena need no destruction: the arena goes in one piece.
template <std::size_t N>
struct boost::json::is_deallocate_trivial<majordomo::llm::detail::json_arena<N>> : std::true_type {};

namespace majordomo::llm::detail {

// A DOM takes about three times its text; small arenas stay small because callers may
// keep many chunks.
json::storage_ptr make_json_arena(std::size_t text_size)
{
    if (text_size <= 320)
        return json::make_shared_resource<json_arena<1024>>();
    if (text_size <= 1200)
        return json::make_shared_resource<json_arena<4096>>();
    return json::make_shared_resource<json::monotonic_resource>(3 * text_size + 256);
}

void adopt(json::object& raw, json::object&& dom) noexcept
{
    std::destroy_at(&raw);
    std::construct_at(&raw, std::move(dom)); // a move construction keeps dom's storage
}

namespace {

bool space(char c) noexcept { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

// Backs `n` off so that s[0, n) does not end inside a UTF-8 sequence.
std::size_t utf8_floor(std::string_view s, std::size_t n) noexcept
{
    if (n >= s.size())
        return s.size();
    // s[n] starts the cut tail; step back while it is a continuation byte.
    std::size_t back = 0;
    while (n > 0 && back < 3 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) {
        --n;
        ++back;
    }
    return n;
}

// Moves `n` forward to the start of a UTF-8 sequence.
std::size_t utf8_ceil(std::string_view s, std::size_t n) noexcept
{
    std::size_t fwd = 0;
    while (n < s.size() && fwd < 3 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) {
        ++n;
        ++fwd;
    }
    return n;
}

void append_clean(std::string& out, std::string_view s)
{
    for (char c : s) {
        auto u = static_cast<unsigned char>(c);
        out += (u < 0x20 && c != '\n' && c != '\t') || u == 0x7F ? '?' : c;
    }
}

} // namespace

std::string_view trim(std::string_view s) noexcept
{
    while (!s.empty() && space(s.front()))
        s.remove_prefix(1);
    while (!s.empty() && space(s.back()))
        s.remove_suffix(1);
    return s;
}

std::string excerpt(std::string_view s, std::size_t limit)
{
    s = trim(s);
    std::string out;
    if (s.size() <= limit) {
        append_clean(out, s);
        return out;
    }
    constexpr std::string_view dots = "...";
    if (limit <= dots.size())
        return std::string(dots.substr(0, limit));
    append_clean(out, s.substr(0, utf8_floor(s, limit - dots.size())));
    out += dots;
    return out;
}

void throw_bad_json(std::string_view what, std::string_view bytes, std::size_t at)
{
    // "<what> at byte <at> of <size>: '<excerpt>'": the excerpt is the window of at most
    // json_excerpt_limit bytes around where the parser stopped, that is the offending part.
    at = std::min(at, bytes.size());
    std::size_t from = 0;
    if (bytes.size() > json_excerpt_limit) {
        from = at > json_excerpt_limit / 2 ? at - json_excerpt_limit / 2 : 0;
        from = utf8_ceil(bytes, std::min(from, bytes.size() - json_excerpt_limit));
    }
    const std::size_t to = utf8_floor(bytes, std::min(from + json_excerpt_limit, bytes.size()));
    std::string msg(what);
    msg += " at byte ";
    msg += std::to_string(at);
    msg += " of ";
    msg += std::to_string(bytes.size());
    msg += ": ";
    msg += from > 0 ? "...'" : "'";
    append_clean(msg, bytes.substr(from, to - from));
    msg += to < bytes.size() ? "'..." : "'";
    throw error(make_error_code(client_errc::bad_json), std::move(msg));
}

void throw_in_band_error(const json::object& o, std::string_view bytes)
{
    int status = 500;
    if (auto* e = o.if_contains("error"); e && e->is_object())
        if (auto* c = e->get_object().if_contains("code"))
            if (auto code = to_int(*c); code && *code >= 400 && *code < 600)
                status = *code;
    auto d = parse_error_body(status, "application/json", bytes);
    d.client_message = "error reported inside the response";
    throw error(make_api_error(status), std::move(d));
}

void append_text(std::string& out, const json::value& v)
{
    if (v.is_string()) {
        out.append(v.get_string().data(), v.get_string().size());
        return;
    }
    if (!v.is_array())
        return;
    for (const auto& p : v.get_array())
        if (p.is_object())
            if (auto* t = p.get_object().if_contains("text"); t && t->is_string())
                out.append(t->get_string().data(), t->get_string().size());
}

void assign_arguments(std::string& out, const json::value& v)
{
    if (v.is_string())
        out.assign(v.get_string().data(), v.get_string().size());
    else if (v.is_object() || v.is_array())
        out = json::serialize(v);
    else
        out.clear();
}

std::optional<usage> decode_usage(const json::value& v)
{
    if (!v.is_object())
        return std::nullopt;
    usage u;
    bool total = false;
    for (const auto& kv : v.get_object()) {
        const std::string_view k = kv.key();
        if (k == "prompt_tokens")
            u.prompt_tokens = to_count(kv.value()).value_or(0);
        else if (k == "completion_tokens")
            u.completion_tokens = to_count(kv.value()).value_or(0);
        else if (k == "total_tokens") {
            if (auto t = to_count(kv.value())) {
                u.total_tokens = *t;
                total = true;
            }
        } else if (k == "prompt_tokens_details" && kv.value().is_object()) {
            if (auto* c = kv.value().get_object().if_contains("cached_tokens"))
                u.cached_tokens = to_count(*c);
        }
    }
    if (!total)
        u.total_tokens = add_counts(u.prompt_tokens, u.completion_tokens);
    return u;
}

std::optional<server_timings> decode_timings(const json::value& v)
{
    if (!v.is_object())
        return std::nullopt;
    server_timings t;
    for (const auto& kv : v.get_object()) {
        const std::string_view k = kv.key();
        const auto& x = kv.value();
        if (k == "prompt_n")
            t.prompt_n = to_count(x);
        else if (k == "prompt_ms")
            t.prompt_ms = to_number(x);
        else if (k == "prompt_per_second")
            t.prompt_per_second = to_number(x);
        else if (k == "predicted_n")
            t.predicted_n = to_count(x);
        else if (k == "predicted_ms")
            t.predicted_ms = to_number(x);
        else if (k == "predicted_per_second")
            t.predicted_per_second = to_number(x);
        else if (k == "cache_n")
            t.cache_n = to_count(x);
    }
    return t;
}

} // namespace majordomo::llm::detail

#include <majordomo/sse/parser.hpp>

#include <bit>
#include <cstring>
#include <limits>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace majordomo::sse {
namespace {

class sse_category final : public boost::system::error_category {
public:
    const char* name() const noexcept override { return "majordomo.sse"; }
    std::string message(int ev) const override
    {
        switch (static_cast<errc>(ev)) {
        case errc::event_too_large:
            return "a server-sent event (or one of its lines) exceeded parser_params::max_event_size; raise "
                   "parser_params::max_event_size if the server legitimately sends events that large";
        }
        return "unknown majordomo sse error";
    }
};

constexpr unsigned char bom[] = {0xEF, 0xBB, 0xBF};

// The first CR or LF in [p, end), or end. One pass over both bytes: memchr for LF and then for CR
// would rescan the rest of the input for every line of a CR-only stream.
const char* find_line_end(const char* p, const char* const end) noexcept
{
#if defined(__SSE2__)
    const __m128i lf = _mm_set1_epi8('\n');
    const __m128i cr = _mm_set1_epi8('\r');
    for (; end - p >= 16; p += 16) {
        const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
        const int mask = _mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(v, lf), _mm_cmpeq_epi8(v, cr)));
        if (mask != 0)
            return p + std::countr_zero(static_cast<unsigned>(mask));
    }
#else
    // Eight bytes at a time: a word has a zero byte iff (w - 0x01..) & ~w & 0x80.. is non-zero.
    constexpr std::uint64_t ones = 0x0101010101010101u;
    constexpr std::uint64_t highs = 0x8080808080808080u;
    for (; end - p >= 8; p += 8) {
        std::uint64_t w;
        std::memcpy(&w, p, sizeof w);
        const std::uint64_t a = w ^ (ones * '\n');
        const std::uint64_t b = w ^ (ones * '\r');
        if ((((a - ones) & ~a) | ((b - ones) & ~b)) & highs)
            break;
    }
#endif
    for (; p != end; ++p)
        if (*p == '\n' || *p == '\r')
            return p;
    return end;
}

} // namespace

const boost::system::error_category& get_sse_category() noexcept
{
    static const sse_category cat;
    return cat;
}

parser::parser(parser_params params) : params_(params) {}

event parser::current() const noexcept
{
    return {type_.empty() ? std::string_view("message") : std::string_view(type_), data(), last_event_id_};
}

void parser::reset()
{
    // clear() rather than a fresh parser: a reused parser keeps its buffers' capacity.
    line_.clear();
    data_.clear();
    data_view_ = {};
    data_in_input_ = false;
    type_.clear();
    id_buffer_.clear();
    last_event_id_.clear();
    retry_.reset();
    bom_matched_ = 0;
    at_start_ = true;
    skip_lf_ = false;
    in_comment_ = false;
    has_data_ = false;
    id_changed_ = false;
    has_event_ = false;
    failed_ = false;
}

void parser::finish() noexcept
{
    // WHATWG: an event not ended by a blank line is never dispatched, and its id never reaches
    // last_event_id(); a reconnect starts from the last dispatched id (wpt
    // format-data-before-final-empty-line).
    id_buffer_ = last_event_id_; // no allocation: id_buffer_ held this value once, and keeps capacity
    id_changed_ = false;
    line_.clear();
    data_.clear();
    data_view_ = {};
    data_in_input_ = false;
    type_.clear();
    has_data_ = false;
    has_event_ = false;
    in_comment_ = false;
    skip_lf_ = false;
    // A reconnect's stream may begin with its own BOM.
    bom_matched_ = 0;
    at_start_ = true;
}

bool parser::fits(std::size_t line_size) const noexcept
{
    // No sum can overflow: each held buffer already fits, and line_size is bounded by memory.
    return line_size + data().size() + type_.size() + id_buffer_.size() <= params_.max_event_size;
}

std::size_t parser::feed(std::string_view input, boost::system::error_code& ec)
{
    const std::size_t n = feed_some(input, ec);
    // Data left in the input by an event not dispatched yet is copied: the input goes.
    if (data_in_input_ && !has_event_)
        own_data();
    return n;
}

void parser::own_data()
{
    data_.assign(data_view_);
    data_view_ = {};
    data_in_input_ = false;
}

std::size_t parser::feed_some(std::string_view input, boost::system::error_code& ec)
{
    ec = {};
    if (has_event_) {
        // The caller has taken the previous event.
        has_event_ = false;
        data_.clear();
        data_view_ = {};
        data_in_input_ = false;
        type_.clear();
        has_data_ = false;
    }
    if (failed_) {
        ec = errc::event_too_large;
        return 0;
    }
    const char* const begin = input.data();
    const char* const end = begin + input.size();
    const char* p = begin;

    // Exactly one leading BOM, possibly split across feeds.
    while (at_start_ && p != end) {
        if (static_cast<unsigned char>(*p) != bom[bom_matched_]) {
            // Not a BOM after all: the bytes matched so far begin the first line.
            line_.append(reinterpret_cast<const char*>(bom), bom_matched_);
            at_start_ = false;
            break;
        }
        ++p;
        if (++bom_matched_ == sizeof bom)
            at_start_ = false;
    }

    while (p != end) {
        if (skip_lf_) {
            skip_lf_ = false;
            if (*p == '\n' && ++p == end)
                break;
        }
        const char* const eol = find_line_end(p, end);
        if (eol == end) {
            // A partial line: keep it for the next feed, unless it is a comment.
            if (in_comment_ || (line_.empty() && *p == ':')) {
                in_comment_ = true;
                return input.size();
            }
            const auto n = static_cast<std::size_t>(end - p);
            if (!fits(line_.size() + n)) {
                failed_ = true;
                ec = errc::event_too_large;
                return input.size();
            }
            line_.append(p, n);
            return input.size();
        }

        // A CR ends the line now; an LF right after it, even in the next feed, is dropped.
        skip_lf_ = *eol == '\r';
        std::string_view line(p, static_cast<std::size_t>(eol - p));
        p = eol + 1;
        if (in_comment_) {
            in_comment_ = false;
            continue;
        }
        if (!line_.empty()) {
            if (!fits(line_.size() + line.size())) {
                failed_ = true;
                ec = errc::event_too_large;
                return static_cast<std::size_t>(p - begin);
            }
            line_.append(line);
            process_line(line_, false);
            line_.clear();
            continue;
        } else if (line.empty()) {
            dispatch();
            if (has_event_)
                return static_cast<std::size_t>(p - begin);
            continue;
        } else if (line.front() == ':') {
            continue; // a comment; a bare ":" is llama.cpp's keep-alive ping
        } else if (!fits(line.size())) {
            failed_ = true;
            ec = errc::event_too_large;
            return static_cast<std::size_t>(p - begin);
        }
        process_line(line, true);
    }
    return static_cast<std::size_t>(p - begin);
}

void parser::process_line(std::string_view line, bool in_input)
{
    std::string_view name = line;
    std::string_view value;
    if (const auto colon = line.find(':'); colon != std::string_view::npos) {
        name = line.substr(0, colon);
        value = line.substr(colon + 1);
        if (!value.empty() && value.front() == ' ')
            value.remove_prefix(1);
    }
    if (name == "data") {
        if (!has_data_ && in_input && params_.borrow_input) {
            // The event's first data line, whole in the input: a view, copied only if the
            // event does not end in this feed or gains a second line.
            data_view_ = value;
            data_in_input_ = true;
        } else {
            if (data_in_input_)
                own_data();
            if (has_data_)
                data_.push_back('\n');
            data_.append(value);
        }
        has_data_ = true;
    } else if (name == "event") {
        type_.assign(value);
    } else if (name == "id") {
        if (value.find('\0') == std::string_view::npos) {
            id_buffer_.assign(value);
            id_changed_ = true;
        }
    } else if (name == "retry") {
        if (value.empty())
            return;
        std::uint64_t ms = 0;
        for (const char c : value) {
            if (c < '0' || c > '9')
                return;
            const auto digit = static_cast<std::uint64_t>(c - '0');
            // A value past 64 bits is bogus: keep the previous one rather than wrap.
            if (ms > (std::numeric_limits<std::uint64_t>::max() - digit) / 10)
                return;
            ms = ms * 10 + digit;
        }
        retry_ = ms;
    }
}

void parser::dispatch()
{
    // The id reaches the source even when no event fires.
    if (id_changed_) {
        last_event_id_ = id_buffer_;
        id_changed_ = false;
    }
    if (!has_data_) {
        type_.clear();
        return;
    }
    has_event_ = true;
}

} // namespace majordomo::sse

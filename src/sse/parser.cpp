#include <majordomo/sse/parser.hpp>

#include <cstring>

namespace majordomo::sse {
namespace {

class sse_category final : public boost::system::error_category {
public:
    const char* name() const noexcept override { return "majordomo.sse"; }
    std::string message(int ev) const override
    {
        switch (static_cast<errc>(ev)) {
        case errc::event_too_large:
            return "a server-sent event exceeded parser_params::max_event_size; raise the limit if the "
                   "server legitimately sends events that large";
        }
        return "unknown majordomo sse error";
    }
};

constexpr unsigned char bom[] = {0xEF, 0xBB, 0xBF};

} // namespace

const boost::system::error_category& get_sse_category() noexcept
{
    static const sse_category cat;
    return cat;
}

parser::parser(parser_params params) : params_(params) {}

event parser::current() const noexcept
{
    return {type_.empty() ? std::string_view("message") : std::string_view(type_),
            std::string_view(data_), std::string_view(event_id_)};
}

void parser::reset()
{
    *this = parser(params_);
}

void parser::finish() noexcept
{
    // An event not ended by a blank line is never dispatched (WHATWG §9.2.6).
    line_.clear();
    data_.clear();
    type_.clear();
    has_data_ = false;
    has_event_ = false;
    skip_lf_ = false;
}

std::size_t parser::feed(std::string_view input, boost::system::error_code& ec)
{
    ec = {};
    if (has_event_) {
        // The previous event was taken: start the next one afresh, keeping capacity.
        has_event_ = false;
        data_.clear();
        type_.clear();
        has_data_ = false;
    }
    if (failed_) {
        ec = errc::event_too_large;
        return 0;
    }
    const char* const begin = input.data();
    const char* p = begin;
    const char* const end = begin + input.size();

    // One leading BOM, possibly split across feeds.
    while (at_start_ && p != end) {
        if (static_cast<unsigned char>(*p) == bom[bom_matched_]) {
            ++p;
            if (++bom_matched_ == sizeof bom)
                at_start_ = false;
            continue;
        }
        // Not a BOM after all: the bytes matched so far are data.
        line_.append(reinterpret_cast<const char*>(bom), bom_matched_);
        at_start_ = false;
    }

    while (p != end) {
        if (skip_lf_) {
            skip_lf_ = false;
            if (*p == '\n') {
                ++p;
                continue;
            }
        }
        // Find the end of the line without looking at each byte twice.
        const char* eol = p;
        while (eol != end && *eol != '\n' && *eol != '\r')
            ++eol;
        if (eol == end) {
            if (line_.size() + data_.size() + type_.size() + static_cast<std::size_t>(end - p) > params_.max_event_size) {
                failed_ = true;
                ec = errc::event_too_large;
                return static_cast<std::size_t>(end - begin);
            }
            line_.append(p, end);
            p = end;
            break;
        }
        std::string_view line;
        if (line_.empty()) {
            line = std::string_view(p, static_cast<std::size_t>(eol - p));
        } else {
            line_.append(p, eol);
            line = line_;
        }
        skip_lf_ = *eol == '\r';
        p = eol + 1;
        if (line.size() + data_.size() + type_.size() > params_.max_event_size) {
            failed_ = true;
            ec = errc::event_too_large;
            return static_cast<std::size_t>(p - begin);
        }
        if (line.empty()) {
            line_.clear();
            dispatch();
            if (has_event_)
                return static_cast<std::size_t>(p - begin);
            continue;
        }
        process_line(line);
        line_.clear();
    }
    return static_cast<std::size_t>(p - begin);
}

void parser::process_line(std::string_view line)
{
    if (line.front() == ':')
        return; // a comment; a bare ":" is llama.cpp's keep-alive ping
    std::string_view name = line;
    std::string_view value;
    if (auto colon = line.find(':'); colon != std::string_view::npos) {
        name = line.substr(0, colon);
        value = line.substr(colon + 1);
        if (!value.empty() && value.front() == ' ')
            value.remove_prefix(1);
    }
    if (name == "data") {
        if (has_data_)
            data_.push_back('\n');
        data_.append(value);
        has_data_ = true;
    } else if (name == "event") {
        type_.assign(value);
    } else if (name == "id") {
        if (value.find('\0') == std::string_view::npos)
            id_buffer_.assign(value);
    } else if (name == "retry") {
        if (!value.empty() && value.find_first_not_of("0123456789") == std::string_view::npos) {
            std::uint64_t v = 0;
            for (char c : value)
                v = v * 10 + static_cast<std::uint64_t>(c - '0');
            retry_ = v;
        }
    }
}

void parser::dispatch()
{
    last_event_id_ = id_buffer_;
    if (!has_data_) {
        data_.clear();
        type_.clear();
        return;
    }
    event_id_ = last_event_id_;
    has_event_ = true;
}

} // namespace majordomo::sse

#include <majordomo/llm/raw_json.hpp>

#include "llm/json_helpers.hpp"

#include <boost/json/object.hpp>
#include <boost/json/parser.hpp>

namespace majordomo::llm {

boost::json::object raw_json::parse() const
{
    if (text_.empty())
        return {};
    boost::json::parse_options opts;
    opts.allow_invalid_utf8 = true; // as the decoders read it
    boost::json::parser p({}, opts);
    boost::system::error_code ec;
    const std::size_t consumed = p.write(text_.data(), text_.size(), ec);
    if (ec)
        detail::throw_bad_json("malformed raw JSON (" + ec.message() + ")", text_, consumed);
    auto v = p.release();
    if (!v.is_object())
        detail::throw_bad_json("raw JSON is not an object", text_);
    return std::move(v.get_object());
}

} // namespace majordomo::llm

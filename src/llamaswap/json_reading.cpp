#include "llamaswap/json_reading.hpp"

#include <majordomo/error.hpp>

#include <boost/json/parse.hpp>

namespace majordomo::llamaswap::detail {

void bad_shape(std::string_view what, std::string_view body, std::string_view advice)
{
    std::string msg = "llama-swap " + std::string(what) + " has an unexpected shape: '";
    msg += llm::detail::excerpt(body, llm::detail::json_excerpt_limit);
    msg += "'";
    if (!advice.empty()) {
        msg += "; ";
        msg += advice;
    }
    throw error(make_error_code(client_errc::bad_json), std::move(msg));
}

json::value parse(std::string_view body, std::string_view what, std::string_view advice)
{
    boost::system::error_code ec;
    auto v = json::parse(body, ec);
    if (ec)
        bad_shape(what, body, advice);
    return v;
}

} // namespace majordomo::llamaswap::detail

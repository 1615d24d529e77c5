#include "openai/api_error.hpp"

#include <majordomo/llm/error_body.hpp>

namespace majordomo::openai::detail {

void throw_api_error(const call_context& ctx, int status, const http::fields& headers, std::string_view body)
{
    auto d = llm::parse_error_body(status, headers.find("content-type"), body);
    d.provider = std::string(ctx.provider);
    d.model = std::string(ctx.model);
    d.origin = std::string(ctx.origin); // majordomo::error keeps only scheme, host and port
    d.retry_after = llm::parse_retry_after(headers);
    throw error(make_api_error(status), std::move(d));
}

void throw_stream_error(const call_context& ctx, std::string_view payload)
{
    auto d = llm::parse_error_body(500, payload);
    d.provider = std::string(ctx.provider);
    d.model = std::string(ctx.model);
    d.origin = std::string(ctx.origin); // majordomo::error keeps only scheme, host and port
    d.client_message = "error inside a 200 stream";
    throw error(make_api_error(500), std::move(d));
}

void check_ready(const call_context& ctx, std::string_view base_url, const std::optional<std::string>& key)
{
    diagnostics d;
    d.provider = std::string(ctx.provider);
    d.model = std::string(ctx.model);
    if (base_url.empty()) {
        d.client_message = "no base URL configured";
        throw error(make_error_code(client_errc::no_base_url), std::move(d));
    }
    if (key && key->find_first_not_of(" \t\r\n") == std::string::npos) {
        d.client_message = "API key is set but blank";
        throw error(make_error_code(client_errc::missing_api_key), std::move(d));
    }
}

} // namespace majordomo::openai::detail

#include <majordomo/error.hpp>
#include <majordomo/registry/dsn.hpp>
#include <majordomo/registry/router.hpp>

namespace majordomo::registry {

llamaswap::provider_params router_host(std::string_view dsn_text)
{
    auto d = parse_dsn(dsn_text);
    if (d.kind != provider_kind::llama_swap)
        throw error(make_error_code(client_errc::bad_dsn),
                    "a router host needs a llama-swap DSN (llama-swap://[token@]host:port), got " +
                        redact_dsn(dsn_text));
    llamaswap::provider_params p;
    p.base_url = d.base_url;
    p.token = d.token;
    p.name = redact_url(d.base_url);
    return p;
}

std::shared_ptr<llamaswap::router> make_router(boost::asio::any_io_executor ex, const std::vector<std::string>& dsns,
                                               llamaswap::router_params params)
{
    for (const auto& d : dsns)
        params.hosts.push_back(router_host(d));
    return llamaswap::make_router(std::move(ex), std::move(params));
}

} // namespace majordomo::registry

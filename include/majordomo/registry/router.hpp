// A llamaswap::router from DSNs: one llama-swap DSN per host.
#pragma once

#include <majordomo/llamaswap/router.hpp>

#include <boost/asio/any_io_executor.hpp>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace majordomo::registry {

/// The provider_params of one host for llamaswap::router_params::hosts, from a llama-swap DSN
/// (`llama-swap://[token@]host:port`, `llama-swap+https://...`). The host's name is its redacted URL.
/// @par Errors  client_errc::bad_dsn for a malformed DSN or another provider's scheme; the
///   secret is never echoed.
llamaswap::provider_params router_host(std::string_view dsn_text);

/// A router over the hosts named by `dsns`, with the other settings of `params`.
std::shared_ptr<llamaswap::router> make_router(boost::asio::any_io_executor ex, const std::vector<std::string>& dsns,
                                               llamaswap::router_params params = {});

} // namespace majordomo::registry

// DSNs: one string that names a provider, where it is, and its secret.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace majordomo::registry {

enum class provider_kind { llama_swap, openai };

/// A parsed DSN.
///   llama-swap://[token@]host[:port]           -> http://host[:port]
///   llama-swap+http:// / llama-swap+https://   -> explicit scheme
///   openai://[key@]host[:port][/path]          -> https://host[:port][/path]
///   openai+http:// / openai+https://           -> explicit scheme
struct dsn {
    provider_kind kind = provider_kind::llama_swap;
    std::string base_url;             ///< scheme://host[:port][/path], no trailing slash
    std::optional<std::string> token; ///< the decoded user-info, when present
};

/// Parses `text`.
/// @par Errors  Throws majordomo::error(client_errc::bad_dsn) whose message shows the DSN
///   with its secret replaced by `***`.
dsn parse_dsn(std::string_view text);

/// The DSN that parses back to `d` (the secret included, percent-encoded).
std::string to_string(const dsn& d);

/// `text` with any user-info replaced by `***`, for logs and messages.
std::string redact_dsn(std::string_view text);

} // namespace majordomo::registry

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
/// Schemes are case-insensitive. The token runs to the last '@', so a key may hold '/',
/// '?', '#', ':' or '@' as it is (`openai://sk/a?b@host` has the key `sk/a?b`); its %XX
/// escapes are decoded, so a literal '%' is written %25, and an '@' in a path %40.
struct dsn {
    provider_kind kind = provider_kind::llama_swap;
    std::string base_url;             ///< scheme://host[:port][/path], no trailing slash
    std::optional<std::string> token; ///< the decoded user-info, when present
};

/// Parses `text`.
/// @par Errors  Throws majordomo::error(client_errc::bad_dsn) whose message shows only the
///   redacted DSN (redact_dsn) and what to change.
dsn parse_dsn(std::string_view text);

/// Whether `text` starts with one of the schemes above and "://": what
/// registry::add_from_environment takes for a DSN.
bool is_dsn_scheme(std::string_view text) noexcept;

/// The DSN that parses back to `d` (the secret included, percent-encoded).
std::string to_string(const dsn& d);

/// Only the scheme, host and port of `text`, for logs and messages: the token becomes
/// `***`, the path, query and fragment go, and so does anything malformed
/// (majordomo::redact_url).
std::string redact_dsn(std::string_view text);

} // namespace majordomo::registry

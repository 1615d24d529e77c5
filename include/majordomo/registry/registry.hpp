// A registry of providers by name, filled by hand, from DSNs, or from LLM_<NAME>
// environment variables; models are found by reference "name/model-id".
#pragma once

#include <majordomo/llm/provider.hpp>
#include <majordomo/registry/dsn.hpp>

#include <boost/asio/any_io_executor.hpp>

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace majordomo::registry {

/// An LLM_* variable that add_from_environment did not register, and why. Never its value:
/// an LLM_API_KEY is as likely as a DSN.
struct skipped_variable {
    std::string variable; ///< e.g. "LLM_API_KEY"
    std::string reason;   ///< what to change; any DSN in it redacted
};

/// What add_from_environment did.
struct environment_result {
    std::vector<std::string> added;        ///< provider names registered, lower-cased, in environment order
    std::vector<skipped_variable> skipped; ///< the other LLM_* variables
};

/// A provider for `d`: llamaswap::provider or openai::provider.
std::shared_ptr<llm::provider> make_provider(boost::asio::any_io_executor ex, const dsn& d, std::string name);

/// @par Thread safety  Safe from many threads.
class registry {
public:
    explicit registry(boost::asio::any_io_executor ex) : ex_(std::move(ex)) {}

    void add(std::string name, std::shared_ptr<llm::provider> p);
    /// Parses `dsn_text` and registers the provider it names.
    /// @par Errors  client_errc::bad_dsn (the secret is never echoed).
    std::shared_ptr<llm::provider> add_dsn(std::string name, std::string_view dsn_text);

    /// Registers every LLM_<NAME>=<dsn> of `envp` (default: the process environment) under
    /// the lower-cased NAME. Only values that start with a DSN scheme (is_dsn_scheme) are
    /// taken; other LLM_* variables, and malformed DSNs, are skipped and reported by name,
    /// never by value. Does not throw for what the environment holds.
    environment_result add_from_environment(char** envp = nullptr);

    /// The provider `name`. @par Errors  client_errc::unknown_provider.
    std::shared_ptr<llm::provider> get(std::string_view name) const;
    /// The model of a reference "name/model-id" (the id may itself hold '/').
    std::shared_ptr<llm::model> model(std::string_view reference, llm::model_options options = {}) const;
    std::vector<std::string> names() const;

private:
    boost::asio::any_io_executor ex_;
    mutable std::mutex mutex_;
    std::map<std::string, std::shared_ptr<llm::provider>, std::less<>> providers_;
};

} // namespace majordomo::registry

#include <majordomo/error.hpp>
#include <majordomo/llamaswap/provider.hpp>
#include <majordomo/openai/provider.hpp>
#include <majordomo/registry/registry.hpp>

#include <cctype>

extern char** environ;

namespace majordomo::registry {

std::shared_ptr<llm::provider> make_provider(boost::asio::any_io_executor ex, const dsn& d, std::string name)
{
    if (d.kind == provider_kind::llama_swap) {
        llamaswap::provider_params p;
        p.name = std::move(name);
        p.base_url = d.base_url;
        p.token = d.token;
        return llamaswap::make_provider(std::move(ex), std::move(p));
    }
    openai::provider_params p;
    p.name = std::move(name);
    p.base_url = d.base_url;
    p.api_key = d.token;
    return openai::make_provider(std::move(ex), std::move(p));
}

void registry::add(std::string name, std::shared_ptr<llm::provider> p)
{
    std::lock_guard lock(mutex_);
    providers_[std::move(name)] = std::move(p);
}

std::shared_ptr<llm::provider> registry::add_dsn(std::string name, std::string_view dsn_text)
{
    auto p = make_provider(ex_, parse_dsn(dsn_text), name);
    add(std::move(name), p);
    return p;
}

environment_result registry::add_from_environment(char** envp)
{
    environment_result out;
    for (char** e = envp ? envp : environ; e && *e; ++e) {
        std::string_view entry(*e);
        if (!entry.starts_with("LLM_"))
            continue;
        auto eq = entry.find('=');
        if (eq == std::string_view::npos || eq == 4)
            continue;
        std::string variable(entry.substr(0, eq));
        auto value = entry.substr(eq + 1);
        // Only values that name a DSN scheme are ours: LLM_API_KEY and friends belong to
        // other tools, and their values are not to be read out, let alone into a message.
        if (!is_dsn_scheme(value)) {
            out.skipped.push_back({std::move(variable), "not a DSN (llama-swap://, openai://, ...); value not shown"});
            continue;
        }
        std::string name = variable.substr(4);
        for (auto& c : name)
            c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        try {
            add_dsn(name, value);
        } catch (const error& x) {
            // parse_dsn's message holds the redacted DSN only.
            out.skipped.push_back({std::move(variable), x.diag().client_message});
            continue;
        }
        out.added.push_back(std::move(name));
    }
    return out;
}

std::shared_ptr<llm::provider> registry::get(std::string_view name) const
{
    std::lock_guard lock(mutex_);
    auto it = providers_.find(name);
    if (it == providers_.end())
        throw error(make_error_code(client_errc::unknown_provider),
                    "no provider named '" + std::string(name) + "'; register it or set LLM_<NAME>");
    return it->second;
}

std::shared_ptr<llm::model> registry::model(std::string_view reference, llm::model_options options) const
{
    auto slash = reference.find('/');
    if (slash == std::string_view::npos || slash == 0 || slash + 1 == reference.size())
        throw error(make_error_code(client_errc::invalid_argument),
                    "model reference '" + std::string(reference) + "' must be provider/model-id");
    return get(reference.substr(0, slash))->get_model(std::string(reference.substr(slash + 1)), options);
}

std::vector<std::string> registry::names() const
{
    std::lock_guard lock(mutex_);
    std::vector<std::string> out;
    for (const auto& [k, v] : providers_)
        out.push_back(k);
    return out;
}

} // namespace majordomo::registry

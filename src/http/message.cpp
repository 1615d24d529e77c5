#include <majordomo/http/message.hpp>

#include <boost/beast/core/string.hpp>

namespace majordomo::http {

std::string_view fields::find(std::string_view name) const noexcept
{
    for (const auto& f : *this)
        if (boost::beast::iequals(f.name, name))
            return f.value;
    return {};
}

bool fields::contains(std::string_view name) const noexcept
{
    for (const auto& f : *this)
        if (boost::beast::iequals(f.name, name))
            return true;
    return false;
}

void fields::set(std::string name, std::string value)
{
    for (auto& f : *this)
        if (boost::beast::iequals(f.name, name)) {
            f.value = std::move(value);
            return;
        }
    emplace_back(field{std::move(name), std::move(value)});
}

} // namespace majordomo::http

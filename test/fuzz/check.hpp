// What the fuzz targets do when an invariant breaks: say which, show the input, abort, so
// libFuzzer saves the input as a crash.
#pragma once

#include <majordomo/llm/chat.hpp>

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <optional>
#include <string_view>
#include <tuple>
#include <typeinfo>

namespace fuzz {

/// Equal, NaN included: Boost.JSON 1.81 reads `0e400` as NaN, so decoded numbers and raw
/// DOMs can hold one, and NaN != NaN would report a difference that is not there.
inline bool same_number(std::optional<double> a, std::optional<double> b)
{
    if (!a || !b)
        return a.has_value() == b.has_value();
    return *a == *b || (std::isnan(*a) && std::isnan(*b));
}

/// Equal JSON, NaN included (compared as serialized text).
template <class Json>
bool same_json(const Json& a, const Json& b)
{
    return a == b || boost::json::serialize(a) == boost::json::serialize(b);
}

inline bool same_timings(const std::optional<majordomo::llm::server_timings>& a,
                         const std::optional<majordomo::llm::server_timings>& b)
{
    if (!a || !b)
        return a.has_value() == b.has_value();
    auto ints = [](const majordomo::llm::server_timings& t) { return std::tie(t.cache_n, t.prompt_n, t.predicted_n); };
    return ints(*a) == ints(*b) && same_number(a->prompt_ms, b->prompt_ms) &&
           same_number(a->prompt_per_second, b->prompt_per_second) && same_number(a->predicted_ms, b->predicted_ms) &&
           same_number(a->predicted_per_second, b->predicted_per_second);
}

/// Prints `input` escaped, at most 400 bytes of it.
inline void print_input(std::string_view input)
{
    std::fprintf(stderr, "  input (%zu bytes): '", input.size());
    for (std::size_t i = 0; i < input.size() && i < 400; ++i) {
        const auto c = static_cast<unsigned char>(input[i]);
        if (c == '\\' || c == '\'')
            std::fprintf(stderr, "\\%c", c);
        else if (c >= 0x20 && c < 0x7F)
            std::fputc(c, stderr);
        else
            std::fprintf(stderr, "\\x%02X", c);
    }
    std::fprintf(stderr, input.size() > 400 ? "'...\n" : "'\n");
}

[[noreturn]] inline void fail(std::string_view target, std::string_view what, std::string_view input)
{
    std::fprintf(stderr, "%.*s: %.*s\n", static_cast<int>(target.size()), target.data(),
                 static_cast<int>(what.size()), what.data());
    print_input(input);
    std::abort();
}

/// Call inside `catch (...)` after majordomo::error was caught: anything else is a defect.
[[noreturn]] inline void foreign_exception(std::string_view target, std::string_view input)
{
    try {
        throw;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "%.*s: threw %s (not majordomo::error): %s\n", static_cast<int>(target.size()),
                     target.data(), typeid(e).name(), e.what());
    } catch (...) {
        std::fprintf(stderr, "%.*s: threw something that is not a std::exception\n", static_cast<int>(target.size()),
                     target.data());
    }
    print_input(input);
    std::abort();
}

} // namespace fuzz

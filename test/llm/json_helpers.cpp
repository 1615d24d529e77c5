#include "llm/json_helpers.hpp"

#include <majordomo/error.hpp>
#include <majordomo/llm/chunk_decoder.hpp>
#include <majordomo/llm/error_body.hpp>
#include <majordomo/llm/json_codec.hpp>

#include "support/printers.hpp"

#include <boost/json/parse.hpp>
#include <boost/test/unit_test.hpp>

#include <cstdint>
#include <limits>
#include <string>

namespace json = boost::json;
using namespace majordomo;
using namespace majordomo::llm;

namespace {

constexpr std::int64_t max64 = std::numeric_limits<std::int64_t>::max();

json::value num(std::string_view text) { return json::parse(text); }

// Values a server may send where a number belongs: wrong types, huge, negative,
// fractional, beyond int64 and uint64, and Boost.JSON's infinity for 1e400.
const char* const odd_numbers[] = {
    "\"12\"", "true", "null", "{}", "[]", "-5", "2.5", "-2.5", "0", "-0.0",
    "1e300", "-1e300", "1e400", "-1e400",
    "9223372036854775807", "9223372036854775808", "18446744073709551615", "18446744073709551616",
    "-9223372036854775808", "-9223372036854775809", "9.2233720368547758e18", "-9.2233720368547758e18",
};

} // namespace

BOOST_AUTO_TEST_SUITE(llm)
BOOST_AUTO_TEST_SUITE(numbers)

BOOST_AUTO_TEST_CASE(integers_never_wrap_or_cast_out_of_range)
{
    using detail::to_integer;
    BOOST_TEST(to_integer(num("42")).value() == 42);
    BOOST_TEST(to_integer(num("-42")).value() == -42);
    BOOST_TEST(to_integer(num("42.9")).value() == 42);
    BOOST_TEST(to_integer(num("9223372036854775807")).value() == max64);
    BOOST_TEST(to_integer(num("-9223372036854775808")).value() == std::numeric_limits<std::int64_t>::min());
    BOOST_TEST(!to_integer(num("9223372036854775808"))); // a uint64 beyond int64 is not -2^63
    BOOST_TEST(!to_integer(num("18446744073709551615")));
    BOOST_TEST(!to_integer(num("9.2233720368547758e18"))); // 2^63 as a double
    BOOST_TEST(to_integer(num("-9.2233720368547758e18")).value() == std::numeric_limits<std::int64_t>::min());
    for (const char* t : {"1e300", "-1e300", "1e400", "-1e400", "\"1\"", "true", "[]"})
        BOOST_TEST(!to_integer(num(t)), t);

    using detail::to_int;
    BOOST_TEST(to_int(num("2147483647")).value() == 2147483647);
    BOOST_TEST(to_int(num("-2147483648")).value() == -2147483647 - 1);
    BOOST_TEST(!to_int(num("2147483648")));
    BOOST_TEST(!to_int(num("1e300")));
}

BOOST_AUTO_TEST_CASE(counts_are_clamped_into_zero_to_int64_max)
{
    using detail::to_count;
    BOOST_TEST(to_count(num("7")).value() == 7);
    BOOST_TEST(to_count(num("-5")).value() == 0);
    BOOST_TEST(to_count(num("-1e300")).value() == 0);
    BOOST_TEST(to_count(num("-1e400")).value() == 0);
    BOOST_TEST(to_count(num("1e300")).value() == max64);
    BOOST_TEST(to_count(num("1e400")).value() == max64);
    BOOST_TEST(to_count(num("9223372036854775808")).value() == max64);
    BOOST_TEST(to_count(num("18446744073709551616")).value() == max64);
    BOOST_TEST(to_count(num("9.2233720368547758e18")).value() == max64);
    BOOST_TEST(to_count(num("3.9")).value() == 3);
    for (const char* t : {"\"12\"", "true", "{}", "[]"})
        BOOST_TEST(!to_count(num(t)), t);
    BOOST_TEST(detail::add_counts(max64, max64) == max64);
    BOOST_TEST(detail::add_counts(max64 - 1, 1) == max64);
    BOOST_TEST(detail::add_counts(2, 3) == 5);
}

BOOST_AUTO_TEST_CASE(numbers_are_finite)
{
    using detail::to_number;
    BOOST_TEST(to_number(num("1.5")).value() == 1.5);
    BOOST_TEST(to_number(num("1e300")).value() == 1e300);
    BOOST_TEST(to_number(num("18446744073709551615")).value() == 18446744073709551615.0);
    BOOST_TEST(!to_number(num("1e400")));
    BOOST_TEST(!to_number(num("-1e400")));
    BOOST_TEST(!to_number(num("\"1.5\"")));
}

BOOST_AUTO_TEST_CASE(usage_sums_saturate)
{
    // No total: the sum of two maximal counts must not overflow (UBSan aborts on it).
    auto u = detail::decode_usage(
        num(R"({"prompt_tokens":9223372036854775807,"completion_tokens":9223372036854775807})"));
    BOOST_REQUIRE(u);
    BOOST_TEST(u->total_tokens == max64);
    u = detail::decode_usage(num(R"({"prompt_tokens":1e300,"completion_tokens":18446744073709551615})"));
    BOOST_TEST(u->total_tokens == max64);
    u = detail::decode_usage(num(R"({"prompt_tokens":-3,"completion_tokens":-4,"total_tokens":-7})"));
    BOOST_TEST(u->prompt_tokens == 0);
    BOOST_TEST(u->completion_tokens == 0);
    BOOST_TEST(u->total_tokens == 0);
}

BOOST_AUTO_TEST_CASE(every_numeric_field_takes_every_odd_value)
{
    // Each odd value in each numeric field of a whole response, a chunk and an error body:
    // decoding never throws a foreign exception, never trips UBSan, and counts stay >= 0.
    const std::string usage_fields[] = {"prompt_tokens", "completion_tokens", "total_tokens"};
    const std::string timing_fields[] = {"prompt_n", "prompt_ms", "prompt_per_second", "predicted_n",
                                         "predicted_ms", "predicted_per_second", "cache_n"};
    for (const char* x : odd_numbers) {
        const std::string v = x;
        std::vector<std::string> bodies;
        for (const auto& f : usage_fields)
            bodies.push_back(R"({"choices":[],"usage":{")" + f + R"(":)" + v + "}}");
        bodies.push_back(R"({"choices":[],"usage":{"prompt_tokens_details":{"cached_tokens":)" + v + "}}}");
        for (const auto& f : timing_fields)
            bodies.push_back(R"({"choices":[],"timings":{")" + f + R"(":)" + v + "}}");
        bodies.push_back(R"({"created":)" + v + R"(,"choices":[]})");
        bodies.push_back(R"({"choices":[{"index":)" + v + R"(,"message":{"content":"a"},"delta":{"content":"a"}}]})");
        bodies.push_back(R"({"choices":[{"delta":{"tool_calls":[{"index":)" + v +
                         R"(,"function":{"name":"f"}}]},"message":{"tool_calls":[{"function":{"name":"f"}}]}}]})");
        for (const auto& body : bodies) {
            BOOST_TEST_CONTEXT(body)
            {
                chat_response r;
                BOOST_CHECK_NO_THROW(r = decode_chat_response(body));
                chat_chunk c;
                BOOST_CHECK_NO_THROW(c = decode_chat_chunk(body));
                for (const auto* u : {&r.usage, &c.usage})
                    if (*u) {
                        BOOST_TEST((*u)->prompt_tokens >= 0);
                        BOOST_TEST((*u)->completion_tokens >= 0);
                        BOOST_TEST((*u)->total_tokens >= 0);
                        BOOST_TEST((*u)->cached_tokens.value_or(0) >= 0);
                    }
                for (const auto* t : {&r.timings, &c.timings})
                    if (*t) {
                        BOOST_TEST((*t)->prompt_n.value_or(0) >= 0);
                        BOOST_TEST((*t)->predicted_n.value_or(0) >= 0);
                        BOOST_TEST((*t)->cache_n.value_or(0) >= 0);
                        for (auto ms : {(*t)->prompt_ms, (*t)->predicted_ms, (*t)->prompt_per_second,
                                        (*t)->predicted_per_second})
                            BOOST_TEST(std::isfinite(ms.value_or(0)));
                    }
                chat_accumulator acc;
                BOOST_CHECK_NO_THROW(acc.add(c));
            }
        }
        // llama.cpp's context error carries counts too.
        auto d = parse_error_body(400, R"({"error":{"code":400,"message":"m","type":"exceed_context_size_error","n_prompt_tokens":)" +
                                           v + R"(,"n_ctx":)" + v + "}}");
        BOOST_TEST(d.n_prompt_tokens.value_or(0) >= 0, v);
        BOOST_TEST(d.n_ctx.value_or(0) >= 0, v);
        // An in-band error's code outside int: status 500, never a wrapped int.
        try {
            (void)decode_chat_response(R"({"error":{"code":)" + v + R"(,"message":"m"}})");
            BOOST_ERROR("no error for " << v);
        } catch (const majordomo::error& e) {
            auto status = e.code().value();
            BOOST_TEST((status >= 400 && status < 600), v << " -> " << status);
        }
    }
}

BOOST_AUTO_TEST_CASE(out_of_range_values_read_as_documented)
{
    auto r = decode_chat_response(
        R"({"created":1e300,"choices":[{"index":1e300,"message":{"content":"a"}}],"usage":{"prompt_tokens":-5,"completion_tokens":9223372036854775808},"timings":{"prompt_ms":1e400,"predicted_n":-1}})");
    BOOST_TEST(r.created == 0);                 // a time out of range is no time
    BOOST_TEST(r.choices.at(0).index == 0);     // an index out of range: the position
    BOOST_TEST(r.usage->prompt_tokens == 0);    // negative count: 0
    BOOST_TEST(r.usage->completion_tokens == max64);
    BOOST_TEST(r.usage->total_tokens == max64); // saturated sum
    BOOST_TEST(!r.timings->prompt_ms);          // infinity: absent
    BOOST_TEST(r.timings->predicted_n.value_or(-9) == 0);
}

BOOST_AUTO_TEST_SUITE_END()
BOOST_AUTO_TEST_SUITE_END()

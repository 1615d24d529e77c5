// Every error body form of wire-formats.md §2.1, §3, §6, §7.4, and Retry-After.
#include <majordomo/llm/error_body.hpp>

#include <boost/test/unit_test.hpp>

#include <string>

using namespace majordomo;
using namespace majordomo::llm;
using namespace std::chrono_literals;

BOOST_AUTO_TEST_SUITE(llm)
BOOST_AUTO_TEST_SUITE(error_body)

BOOST_AUTO_TEST_CASE(openai_envelope_with_string_null_and_int_codes)
{
    auto s = parse_error_body(429, "application/json",
                              R"({"error":{"message":"Rate limit reached","type":"rate_limit_error","param":null,"code":"rate_limit_exceeded"}})");
    BOOST_TEST(s.http_status == 429);
    BOOST_TEST(s.server_message == "Rate limit reached");
    BOOST_TEST(s.error_type == "rate_limit_error");
    BOOST_TEST(s.error_code == "rate_limit_exceeded");
    auto n = parse_error_body(400, "application/json",
                              R"({"error":{"message":"Invalid 'messages'","type":"invalid_request_error","param":"messages","code":null}})");
    BOOST_TEST(n.server_message == "Invalid 'messages'");
    BOOST_TEST(n.error_code.empty());
    BOOST_TEST(n.error_type == "invalid_request_error");
    auto i = parse_error_body(401, "application/json; charset=utf-8",
                              R"({"error":{"code":401,"message":"Invalid API Key","type":"authentication_error"}})");
    BOOST_TEST(i.error_code == "401");
    BOOST_TEST(i.server_message == "Invalid API Key");
}

BOOST_AUTO_TEST_CASE(llama_cpp_envelopes)
{
    auto ctx = parse_error_body(400, "application/json; charset=utf-8",
                                R"json({"error":{"code":400,"message":"request (9000 tokens) exceeds the available context size (8192 tokens), try increasing it","type":"exceed_context_size_error","n_prompt_tokens":9000,"n_ctx":8192}})json");
    BOOST_TEST(ctx.error_type == "exceed_context_size_error");
    BOOST_TEST(ctx.error_code == "400");
    BOOST_TEST(ctx.n_prompt_tokens.value_or(0) == 9000);
    BOOST_TEST(ctx.n_ctx.value_or(0) == 8192);
    BOOST_TEST(ctx.server_message.find("exceeds the available context size") != std::string::npos);
    auto loading = parse_error_body(503, "application/json", R"({"error":{"code":503,"message":"Loading model","type":"unavailable_error"}})");
    BOOST_TEST(loading.server_message == "Loading model");
    BOOST_TEST(loading.error_type == "unavailable_error");
    BOOST_TEST(!loading.n_ctx.has_value());
    auto route = parse_error_body(404, "application/json", R"({"error":{"message":"File Not Found","type":"not_found_error","code":404}})");
    BOOST_TEST(route.error_type == "not_found_error");
    auto off = parse_error_body(501, "application/json",
                                R"({"error":{"code":501,"message":"This server does not support embeddings. Start it with `--embeddings`","type":"not_supported_error"}})");
    BOOST_TEST(off.error_type == "not_supported_error");
    // When formatting the error failed: plain text.
    auto plain = parse_error_body(500, "text/plain", "Internal Server Error");
    BOOST_TEST(plain.server_message == "Internal Server Error");
    BOOST_TEST(plain.error_type.empty());
}

BOOST_AUTO_TEST_CASE(llama_swap_object_string_text_and_html_forms)
{
    auto now = parse_error_body(429, "application/json",
                                R"({"src":"llama-swap","error":{"message":"too many requests for model qwen","type":"rate_limit_error","param":null,"code":"concurrency_limit"}})");
    BOOST_TEST(now.server_message == "too many requests for model qwen");
    BOOST_TEST(now.error_code == "concurrency_limit");
    BOOST_TEST(now.error_type == "rate_limit_error");
    auto before = parse_error_body(502, "application/json", R"({"src":"llama-swap","error":"unable to start process: exit status 1"})");
    BOOST_TEST(before.server_message == "unable to start process: exit status 1");
    BOOST_TEST(before.error_type.empty());
    auto text = parse_error_body(404, "text/plain; charset=utf-8", "llama-swap: model not found\n");
    BOOST_TEST(text.server_message == "llama-swap: model not found");
    auto html = parse_error_body(502, "text/html; charset=utf-8",
                                 "<!DOCTYPE html><html><head><title>Error</title><style>body{color:red}</style>"
                                 "<script>var x = '<b>';</script></head><body><h1>502</h1>\n\n<p>upstream &amp; proxy "
                                 "&lt;failed&gt;</p></body></html>");
    BOOST_TEST(html.server_message == "Error 502 upstream & proxy <failed>");
}

BOOST_AUTO_TEST_CASE(sd_cpp_forms)
{
    auto s = parse_error_body(400, "application/json", R"({"error":"invalid output_format, must be one of [png, jpeg, webp]"})");
    BOOST_TEST(s.server_message == "invalid output_format, must be one of [png, jpeg, webp]");
    BOOST_TEST(s.error_type.empty());
    auto m = parse_error_body(500, "application/json", R"({"error":"server_error","message":"generation failed"})");
    BOOST_TEST(m.server_message == "generation failed");
    BOOST_TEST(m.error_type == "server_error");
}

BOOST_AUTO_TEST_CASE(content_type_only_steers_the_guess)
{
    // JSON sent as text/plain still parses; a broken JSON body is kept as text.
    auto j = parse_error_body(400, "text/plain", R"({"error":"prompt required"})");
    BOOST_TEST(j.server_message == "prompt required");
    auto broken = parse_error_body(500, "application/json", R"({"error":{"message":"cut off)");
    BOOST_TEST(broken.server_message == R"({"error":{"message":"cut off)");
    // HTML recognised without a content type; a page from a proxy in front of llama-swap.
    auto nginx = parse_error_body(504, "",
                                  "<html>\r\n<head><title>504 Gateway Time-out</title></head>\r\n<body>\r\n<center><h1>"
                                  "504 Gateway Time-out</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n");
    BOOST_TEST(nginx.server_message == "504 Gateway Time-out 504 Gateway Time-out nginx");
    // Unknown JSON: quoted as it is; a non-string message is serialized.
    auto odd = parse_error_body(500, "application/json", R"({"status":"bad"})");
    BOOST_TEST(odd.server_message == R"({"status":"bad"})");
    auto nested = parse_error_body(500, "application/json", R"({"error":{"message":{"detail":"x"},"type":"t"}})");
    BOOST_TEST(nested.server_message == R"({"detail":"x"})");
}

BOOST_AUTO_TEST_CASE(empty_and_whitespace_bodies)
{
    for (const char* body : {"", "  \r\n"}) {
        auto d = parse_error_body(502, "text/plain", body);
        BOOST_TEST(d.http_status == 502);
        BOOST_TEST(d.server_message.empty());
        BOOST_TEST(d.error_type.empty());
        BOOST_TEST(d.error_code.empty());
    }
}

BOOST_AUTO_TEST_CASE(server_message_is_a_bounded_excerpt)
{
    auto huge = parse_error_body(500, "text/plain", std::string(100000, 'e'));
    BOOST_TEST(huge.server_message.size() <= 512u);
    BOOST_TEST(huge.server_message.size() >= 500u);
    BOOST_TEST(huge.server_message.substr(huge.server_message.size() - 3) == "...");
    auto json_huge = parse_error_body(400, "application/json", R"({"error":{"message":")" + std::string(5000, 'm') + R"("}})");
    BOOST_TEST(json_huge.server_message.size() <= 512u);
    // Cut on a UTF-8 boundary: 300 two-byte characters, never half of one.
    std::string utf8;
    for (int i = 0; i < 300; ++i)
        utf8 += "\xC3\xA9"; // é
    auto cut = parse_error_body(400, "text/plain", utf8);
    BOOST_TEST(cut.server_message.size() <= 512u);
    auto text = cut.server_message.substr(0, cut.server_message.size() - 3);
    BOOST_TEST(text.size() % 2 == 0u);
    BOOST_TEST(static_cast<unsigned char>(text.back()) == 0xA9);
    // Control characters do not reach logs and terminals raw.
    auto ctl = parse_error_body(500, "text/plain", std::string("bad\x1b[31m\0tail", 13));
    BOOST_TEST(ctl.server_message == "bad?[31m?tail");
}

BOOST_AUTO_TEST_SUITE(retry_after)

BOOST_AUTO_TEST_CASE(delta_seconds_and_milliseconds)
{
    BOOST_TEST(parse_retry_after("1").value() == 1000ms);
    BOOST_TEST(parse_retry_after(" 120 ").value() == 120000ms);
    BOOST_TEST(parse_retry_after("0").value() == 0ms);
    BOOST_TEST(parse_retry_after("1.5").value() == 1500ms);
    BOOST_TEST(parse_retry_after("9", "250").value() == 250ms); // retry-after-ms wins
    BOOST_TEST(parse_retry_after("9", "soon").value() == 9000ms); // a bad ms falls back
    BOOST_TEST(parse_retry_after("", "12.5").value() == 12ms);
    BOOST_TEST(!parse_retry_after("").has_value());
    BOOST_TEST(!parse_retry_after("-1").has_value());
    BOOST_TEST(!parse_retry_after("soon").has_value());
    BOOST_TEST(!parse_retry_after("1e3").has_value());
    BOOST_TEST(!parse_retry_after("inf").has_value());
    BOOST_TEST(parse_retry_after("99999999999999999999").value() == std::chrono::milliseconds(24 * 3600 * 1000));
}

BOOST_AUTO_TEST_CASE(http_dates_in_all_three_forms)
{
    using namespace std::chrono;
    const auto now = sys_days{year{1994} / November / day{6}} + hours{8} + minutes{49} + seconds{7};
    BOOST_TEST(parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", {}, now).value() == 30000ms);
    BOOST_TEST(parse_retry_after("Sunday, 06-Nov-94 08:49:37 GMT", {}, now).value() == 30000ms);
    BOOST_TEST(parse_retry_after("Sun Nov  6 08:49:37 1994", {}, now).value() == 30000ms);
    BOOST_TEST(parse_retry_after("Sun, 06 Nov 1994 08:00:00 GMT", {}, now).value() == 0ms); // past
    BOOST_TEST(!parse_retry_after("Sun, 31 Feb 1994 08:49:37 GMT", {}, now).has_value());
    BOOST_TEST(!parse_retry_after("Sun, 06 Nov 1994 25:49:37 GMT", {}, now).has_value());
    BOOST_TEST(!parse_retry_after("Sun, 06 Foo 1994 08:49:37 GMT", {}, now).has_value());
}

// Found by the error_body fuzz target: a year past 2262 overflowed the nanosecond clock (UB).
BOOST_AUTO_TEST_CASE(far_future_dates_clamp_to_a_day)
{
    const auto day = std::chrono::milliseconds(24 * 3600 * 1000);
    BOOST_TEST(parse_retry_after("Sun, 06 Nov 5403 08:49:37 GMT").value() == day);
    BOOST_TEST(parse_retry_after("Fri, 31 Dec 9999 23:59:59 GMT").value() == day);
    BOOST_TEST(parse_retry_after("Tue, 12 Apr 2262 00:00:00 GMT").value() == day);
}

BOOST_AUTO_TEST_CASE(from_headers_case_insensitively)
{
    http::fields h;
    h.push_back({"Content-Type", "application/json"});
    h.push_back({"RETRY-AFTER", "2"});
    BOOST_TEST(parse_retry_after(h).value() == 2000ms);
    h.push_back({"retry-after-ms", "1500"});
    BOOST_TEST(parse_retry_after(h).value() == 1500ms);
    BOOST_TEST(!parse_retry_after(http::fields{}).has_value());
}

BOOST_AUTO_TEST_SUITE_END() // retry_after

BOOST_AUTO_TEST_SUITE_END() // error_body
BOOST_AUTO_TEST_SUITE_END() // llm

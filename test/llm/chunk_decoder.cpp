// chunk_decoder: lenient shapes, malformed input, reuse, and the lifetime of raw.
#include <majordomo/llm/chunk_decoder.hpp>
#include <majordomo/llm/json_codec.hpp>

#include <boost/json/serialize.hpp>
#include <boost/test/unit_test.hpp>

#include <string>

using namespace majordomo;
using namespace majordomo::llm;

namespace {

// The text between the first and the last quote of a bad_json message: the excerpt.
std::string quoted(const std::string& what)
{
    auto a = what.find('\'');
    auto b = what.rfind('\'');
    return a == std::string::npos || b <= a ? std::string() : what.substr(a + 1, b - a - 1);
}

std::string bad_json_message(chunk_decoder& dec, std::string_view payload)
{
    try {
        dec.decode(payload);
    } catch (const majordomo::error& e) {
        BOOST_TEST((e.code() == client_errc::bad_json));
        return e.diag().client_message;
    }
    BOOST_ERROR("accepted: " << payload.substr(0, 80));
    return {};
}

} // namespace

BOOST_AUTO_TEST_SUITE(llm)
BOOST_AUTO_TEST_SUITE(chunk_decoding)

BOOST_AUTO_TEST_CASE(lenient_shapes)
{
    chunk_decoder dec;
    // Empty choices, usage null, unknown fields kept in raw.
    auto c = dec.decode(R"({"id":"a","choices":[],"usage":null,"x_vendor":{"k":[1,2]},"system_fingerprint":"b1"})");
    BOOST_TEST(c.choices.empty());
    BOOST_TEST(!c.usage.has_value());
    BOOST_TEST(boost::json::serialize(c.raw.at("x_vendor")) == R"({"k":[1,2]})");
    BOOST_TEST(!c.has_output());
    // No choices at all, created absent, index absent, content null.
    c = dec.decode(R"({"object":"chat.completion.chunk"})");
    BOOST_TEST(c.choices.empty());
    BOOST_TEST(c.created == 0);
    c = dec.decode(R"({"id":"a","choices":[{"delta":{"content":null}},{"delta":{"content":"x"}}]})");
    BOOST_REQUIRE(c.choices.size() == 2u);
    BOOST_TEST(c.choices[0].index == 0);
    BOOST_TEST(c.choices[1].index == 1); // position when `index` is missing
    BOOST_TEST(c.choices[0].content.empty());
    // Tool calls: no function, arguments missing, arguments "", arguments as an object.
    c = dec.decode(
        R"({"id":"a","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"1"},{"index":1,"function":{"name":"f"}},{"index":2,"function":{"arguments":""}},{"index":3,"function":{"arguments":{"a":1}}}]}}]})");
    const auto& t = c.choices.at(0).tool_calls;
    BOOST_REQUIRE(t.size() == 4u);
    BOOST_TEST(t[0].id.value_or("") == "1");
    BOOST_TEST(!t[0].name.has_value());
    BOOST_TEST(t[1].name.value_or("") == "f");
    BOOST_TEST(t[1].arguments.empty());
    BOOST_TEST(t[2].arguments.empty());
    BOOST_TEST(t[3].arguments == R"({"a":1})");
    BOOST_TEST(c.has_output());
    // content as an array of text parts; a float `created`; a string `created` ignored.
    c = dec.decode(R"({"id":"a","created":1767225600.0,"choices":[{"index":0,"delta":{"content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]}}]})");
    BOOST_TEST(c.text() == "ab");
    BOOST_TEST(c.created == 1767225600);
    c = dec.decode(R"({"id":"a","created":"2026-01-10T12:00:00Z","choices":[]})");
    BOOST_TEST(c.created == 0);
    // Mistyped optional fields read as absent rather than failing the stream.
    c = dec.decode(R"({"id":7,"model":null,"choices":[{"index":"0","finish_reason":5,"delta":{"role":1,"reasoning_content":[]}}],"timings":"x"})");
    BOOST_TEST(c.id.empty());
    BOOST_REQUIRE(c.choices.size() == 1u);
    BOOST_TEST(!c.choices[0].finish_reason.has_value());
    BOOST_TEST(!c.choices[0].role.has_value());
    BOOST_TEST(!c.timings.has_value());
}

BOOST_AUTO_TEST_CASE(invalid_utf8_is_kept_not_fatal)
{
    chunk_decoder dec;
    auto c = dec.decode("{\"id\":\"a\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"x\xFFy\"}}]}");
    BOOST_TEST(c.text() == "x\xFFy");
}

BOOST_AUTO_TEST_CASE(malformed_chunks_throw_bad_json_with_a_bounded_excerpt)
{
    chunk_decoder dec;
    for (const char* bad : {"", "   ", "{", R"({"choices":[)", "[1,2]", "\"text\"", "null", "42", "{}x",
                            "{\"a\":1,}", "data: {}", "<html>502</html>"}) {
        auto msg = bad_json_message(dec, bad);
        BOOST_TEST(quoted(msg).size() <= 200u, bad);
    }
    // A long payload: the excerpt is the 200-byte window where parsing stopped.
    std::string big = R"({"id":"a","choices":[{"index":0,"delta":{"content":")" + std::string(600, 'a') + "\"}}] GARBAGE " +
                      std::string(600, 'b');
    auto msg = bad_json_message(dec, big);
    auto excerpt = quoted(msg);
    BOOST_TEST(excerpt.size() <= 200u);
    BOOST_TEST(excerpt.size() >= 190u);
    BOOST_TEST(excerpt.find("GARBAGE") != std::string::npos);
    BOOST_TEST(msg.find(" of " + std::to_string(big.size())) != std::string::npos);
    BOOST_TEST(msg.find("...'") != std::string::npos); // cut before
    BOOST_TEST(msg.find("'...") != std::string::npos); // and after
    // Never half a UTF-8 character, and no raw control bytes.
    std::string accents = "{\"x\":\"";
    for (int i = 0; i < 400; ++i)
        accents += "\xC3\xA9";
    accents += "\x01";
    auto m2 = quoted(bad_json_message(dec, accents));
    BOOST_TEST(m2.size() <= 200u);
    BOOST_TEST(m2.find('\x01') == std::string::npos);
    BOOST_TEST((static_cast<unsigned char>(m2.front()) & 0xC0) != 0x80u);
    // The decoder still works after a failure.
    BOOST_TEST(dec.decode(R"({"id":"ok","choices":[]})").id == "ok");
}

BOOST_AUTO_TEST_CASE(in_band_error_objects_throw_api_errors)
{
    chunk_decoder dec;
    try {
        dec.decode(R"({"error":{"code":503,"message":"Loading model","type":"unavailable_error"}})");
        BOOST_ERROR("accepted");
    } catch (const majordomo::error& e) {
        BOOST_TEST(e.code() == make_api_error(503));
        BOOST_TEST(e.diag().server_message == "Loading model");
    }
    try {
        dec.decode(R"({"error":{"message":"boom","type":"server_error","code":null}})"); // no status: 500
        BOOST_ERROR("accepted");
    } catch (const majordomo::error& e) {
        BOOST_TEST(e.code() == make_api_error(500));
        BOOST_TEST(e.diag().http_status == 500);
    }
    BOOST_TEST(dec.decode(R"({"id":"a","error":null,"choices":[]})").id == "a"); // null is no error
}

BOOST_AUTO_TEST_CASE(raw_outlives_the_decoder_and_copies_safely)
{
    chat_chunk kept;
    boost::json::object copy;
    {
        chunk_decoder dec;
        kept = dec.decode(R"({"id":"a","choices":[{"index":0,"delta":{"content":"x"}}],"prompt_progress":{"total":9}})");
        auto second = dec.decode(R"({"id":"b","choices":[]})");
        copy = second.raw;
    }
    BOOST_TEST(kept.raw.at("prompt_progress").at("total").as_int64() == 9);
    BOOST_TEST(copy.at("id").as_string() == "b");
    chat_chunk moved = std::move(kept);
    BOOST_TEST(moved.raw.at("id").as_string() == "a");
}

BOOST_AUTO_TEST_CASE(reusing_a_chunk_clears_what_the_next_one_lacks)
{
    for (bool keep_raw : {true, false}) {
        chunk_decoder dec({.keep_raw = keep_raw});
        chat_chunk c;
        dec.decode(
            R"({"id":"a","model":"m","created":5,"choices":[{"index":0,"delta":{"role":"assistant","content":"x","tool_calls":[{"index":0,"id":"t","function":{"name":"f","arguments":"{}"}}]},"finish_reason":"stop"},{"index":1,"delta":{"content":"y"}}],"usage":{"prompt_tokens":1},"timings":{"prompt_n":1}})",
            c);
        BOOST_TEST(c.choices.size() == 2u);
        BOOST_TEST(c.raw.empty() == !keep_raw);
        dec.decode(R"({"choices":[{"delta":{"reasoning_content":"."}}]})", c);
        BOOST_TEST(c.id.empty());
        BOOST_TEST(c.model.empty());
        BOOST_TEST(c.created == 0);
        BOOST_REQUIRE(c.choices.size() == 1u);
        BOOST_TEST(c.choices[0].content.empty());
        BOOST_TEST(c.choices[0].tool_calls.empty());
        BOOST_TEST(!c.choices[0].role.has_value());
        BOOST_TEST(!c.choices[0].finish_reason.has_value());
        BOOST_TEST(c.choices[0].reasoning_content == ".");
        BOOST_TEST(!c.usage.has_value());
        BOOST_TEST(!c.timings.has_value());
        BOOST_TEST(c.loading);
        BOOST_TEST(c.raw.empty() == !keep_raw);
    }
}

BOOST_AUTO_TEST_CASE(large_chunks_and_a_moved_decoder)
{
    chunk_decoder first;
    chunk_decoder dec = std::move(first);
    const std::string text(200000, 'z'); // beyond every arena and scratch buffer
    auto c = dec.decode(R"({"id":"a","choices":[{"index":0,"delta":{"content":")" + text + R"("}}]})");
    BOOST_TEST(c.text().size() == text.size());
    BOOST_TEST(c.raw.at("choices").at(0).at("delta").at("content").as_string().size() == text.size());
    chunk_decoder no_raw({.keep_raw = false});
    chat_chunk r;
    for (int i = 0; i < 3; ++i) {
        no_raw.decode(R"({"id":"a","choices":[{"index":0,"delta":{"content":")" + text + R"("}}]})", r);
        BOOST_TEST(r.text().size() == text.size());
    }
}

BOOST_AUTO_TEST_SUITE_END() // chunk_decoding
BOOST_AUTO_TEST_SUITE_END() // llm

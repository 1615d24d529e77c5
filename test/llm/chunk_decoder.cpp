// chunk_decoder: lenient shapes, malformed input, reuse, and the lifetime of raw.
#include <majordomo/llm/chunk_decoder.hpp>
#include <majordomo/llm/json_codec.hpp>

#include "llm/json_helpers.hpp"

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
    BOOST_TEST(boost::json::serialize(c.raw.parse().at("x_vendor")) == R"({"k":[1,2]})");
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
        copy = second.raw.parse();
    }
    BOOST_TEST(kept.raw.parse().at("prompt_progress").at("total").as_int64() == 9);
    BOOST_TEST(copy.at("id").as_string() == "b");
    chat_chunk moved = std::move(kept);
    BOOST_TEST(moved.raw.parse().at("id").as_string() == "a");
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
    BOOST_TEST(c.raw.parse().at("choices").at(0).at("delta").at("content").as_string().size() == text.size());
    chunk_decoder no_raw({.keep_raw = false});
    chat_chunk r;
    for (int i = 0; i < 3; ++i) {
        no_raw.decode(R"({"id":"a","choices":[{"index":0,"delta":{"content":")" + text + R"("}}]})", r);
        BOOST_TEST(r.text().size() == text.size());
    }
}

// The decoder reads the usual shapes from the parser's events, without a DOM, and hands
// the rest to the DOM decoder that defines the rules: both must agree on every shape.
BOOST_AUTO_TEST_CASE(the_event_decoder_agrees_with_the_dom_decoder)
{
    const char* payloads[] = {
        R"({"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":"Hi"},"finish_reason":null}]})",
        R"({"choices":[{"delta":{"content":"\u00e9\n\"q\" \ud83d\ude00"},"index":0}],"id":"esc\t"})",
        R"({"choices":[{"index":0,"delta":{"reasoning_content":"Loading model"}}]})",                  // loading frame
        R"({"choices":[{"index":0,"delta":{"reasoning_content":"x","refusal":null}}]})",              // still loading
        R"({"choices":[{"index":0,"delta":{"reasoning_content":"x","refusal":"no"}}]})",              // not loading
        R"({"choices":[{"index":0,"delta":{"reasoning_content":"x","k":1,"k":null}}]})",              // last k wins
        R"({"choices":[{"index":0,"delta":{"reasoning_content":"x","k":null,"k":[1]}}]})",
        R"({"choices":[{"index":0,"delta":{"reasoning_content":"x","a":null,"b":null,"c":null,"d":null,"e":1}}]})",
        R"({"choices":[{"index":0,"delta":{"reasoning_content":"x"},"finish_reason":"stop"}]})",
        R"({"choices":[{"index":0,"delta":{"content":null,"reasoning_content":"r"}}]})",
        R"({"choices":[{"index":0,"delta":{"content":[{"type":"text","text":"a"},{"text":"b"}]}}]})", // parts
        R"({"choices":[{"index":0,"delta":{"content":{"text":"odd"}}}]})",
        R"({"choices":[{"index":0,"delta":{"content":7}}]})",
        R"({"choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"id":"t","type":"function","function":{"name":"f","arguments":"{\"a\":"}}]}}]})",
        R"({"choices":[{"index":0,"delta":{"tool_calls":[{"function":{"arguments":{"a":1}}}]}}]})",     // object arguments
        R"({"choices":[{"index":0,"delta":{"tool_calls":[{"function":{"arguments":null}},{"index":"x"},5]}}]})",
        R"({"choices":[{"index":0,"delta":{"tool_calls":{"not":"an array"}}}]})",
        R"({"choices":[{"index":3.7,"delta":[]},{"index":1e300},"skip",[1,2],{"delta":{"content":"z"}}]})",
        R"({"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":4,"total_tokens":7}})",
        R"({"choices":[],"usage":null,"timings":null,"error":null})",
        R"({"choices":[],"timings":{"predicted_n":5,"predicted_ms":10.5}})",
        R"({"id":null,"model":5,"created":"x","object":{"a":[1,{"b":2}]},"choices":"none"})",
        R"({"created":-1e400,"choices":[{"delta":{"role":null}}]})",
        R"({"id":"a","id":"b","choices":[]})",                                                           // duplicate id
        R"({"choices":[{"delta":{"content":"a","content":"b"}}]})",
        R"({"choices":[{"delta":{"content":"a"}}],"choices":[{"delta":{"content":"b"}}]})",
        R"({"x_vendor":{"deep":[[[[[[{"k":"v"}]]]]]]},"choices":[{"delta":{"content":"ok"}}]})",
        R"({"error":{"message":"boom","code":503}})",
        R"({"choices":[]} trailing)",
        R"([{"choices":[]}])",
        R"("text")",
        R"({"choices":[{"delta":{"content":"unterminated)",
    };
    for (const char* p : payloads) {
        chat_chunk events, dom;
        boost::system::error_code events_ec, dom_ec;
        try {
            chunk_decoder().decode(p, events);
        } catch (const majordomo::error& e) {
            events_ec = e.code();
        }
        try {
            detail::decode_chunk_with_dom(p, dom);
        } catch (const majordomo::error& e) {
            dom_ec = e.code();
        }
        BOOST_TEST(events_ec == dom_ec, p);
        if (events_ec || dom_ec)
            continue;
        BOOST_TEST(events.id == dom.id, p);
        BOOST_TEST(events.model == dom.model, p);
        BOOST_TEST(events.created == dom.created, p);
        BOOST_TEST(events.loading == dom.loading, p);
        BOOST_TEST((events.usage == dom.usage), p);
        BOOST_TEST(events.timings.has_value() == dom.timings.has_value(), p);
        BOOST_TEST(events.raw.text() == p);
        BOOST_REQUIRE_EQUAL(events.choices.size(), dom.choices.size());
        for (std::size_t i = 0; i < events.choices.size(); ++i) {
            const auto& a = events.choices[i];
            const auto& b = dom.choices[i];
            BOOST_TEST(a.index == b.index, p);
            BOOST_TEST((a.role == b.role), p);
            BOOST_TEST(a.content == b.content, p);
            BOOST_TEST(a.reasoning_content == b.reasoning_content, p);
            BOOST_TEST((a.finish_reason == b.finish_reason), p);
            BOOST_REQUIRE_EQUAL(a.tool_calls.size(), b.tool_calls.size());
            for (std::size_t k = 0; k < a.tool_calls.size(); ++k) {
                BOOST_TEST(a.tool_calls[k].index == b.tool_calls[k].index, p);
                BOOST_TEST((a.tool_calls[k].id == b.tool_calls[k].id), p);
                BOOST_TEST((a.tool_calls[k].name == b.tool_calls[k].name), p);
                BOOST_TEST(a.tool_calls[k].arguments == b.tool_calls[k].arguments, p);
            }
        }
    }
    // A few facts, so that agreeing on a wrong answer does not pass.
    chunk_decoder dec;
    BOOST_TEST(dec.decode(payloads[2]).loading);
    BOOST_TEST(dec.decode(payloads[3]).loading);
    BOOST_TEST(!dec.decode(payloads[4]).loading);
    BOOST_TEST(dec.decode(payloads[5]).loading);
    BOOST_TEST(!dec.decode(payloads[6]).loading);
    BOOST_TEST(dec.decode(payloads[1]).text() == "\u00e9\n\"q\" \U0001F600");
    BOOST_TEST(dec.decode(payloads[10]).text() == "ab");
    BOOST_TEST(dec.decode(payloads[14]).choices[0].tool_calls[0].arguments == R"({"a":1})");
    BOOST_TEST(dec.decode(payloads[23]).id == "b");
}

BOOST_AUTO_TEST_SUITE_END() // chunk_decoding
BOOST_AUTO_TEST_SUITE_END() // llm

// Every chunk order of wire-formats.md §1.4 and every drift of §1.6, as literal bytes,
// through decode_chat_chunk and chunk_decoder (with and without raw), and the
// accumulated result against the whole response.
#include <majordomo/llm/chunk.hpp>
#include <majordomo/llm/chunk_decoder.hpp>
#include <majordomo/llm/classify.hpp>
#include <majordomo/llm/json_codec.hpp>

#include <boost/test/unit_test.hpp>

#include "printers.hpp"
#include "stream_fixtures.hpp"

#include <string>
#include <vector>

using namespace majordomo;
using namespace majordomo::llm;
using llm_test::data_payloads;

namespace {

enum class via { function, decoder, decoder_no_raw };
constexpr via every_way[] = {via::function, via::decoder, via::decoder_no_raw};

// The chunks of an SSE body up to [DONE]; the no-raw decoder reuses one chunk object
// the way a hot loop would.
std::vector<chat_chunk> decode_stream(const std::string& body, via how)
{
    std::vector<chat_chunk> out;
    chunk_decoder dec({.keep_raw = how != via::decoder_no_raw});
    chat_chunk reused;
    for (const auto& payload : data_payloads(body)) {
        if (payload == "[DONE]")
            break;
        switch (how) {
        case via::function: out.push_back(decode_chat_chunk(payload)); break;
        case via::decoder: out.push_back(dec.decode(payload)); break;
        case via::decoder_no_raw:
            dec.decode(payload, reused);
            out.push_back(reused);
            break;
        }
    }
    return out;
}

chat_response accumulate(const std::string& body, via how)
{
    chat_accumulator acc;
    for (const auto& c : decode_stream(body, how))
        acc.add(c);
    return acc.take();
}

bool same_deltas(const chat_chunk& a, const chat_chunk& b)
{
    if (a.choices.size() != b.choices.size())
        return false;
    for (std::size_t i = 0; i < a.choices.size(); ++i) {
        const auto& x = a.choices[i];
        const auto& y = b.choices[i];
        if (x.index != y.index || x.role != y.role || x.content != y.content ||
            x.reasoning_content != y.reasoning_content || x.finish_reason != y.finish_reason ||
            x.tool_calls.size() != y.tool_calls.size())
            return false;
        for (std::size_t k = 0; k < x.tool_calls.size(); ++k)
            if (x.tool_calls[k].index != y.tool_calls[k].index || x.tool_calls[k].id != y.tool_calls[k].id ||
                x.tool_calls[k].name != y.tool_calls[k].name ||
                x.tool_calls[k].arguments != y.tool_calls[k].arguments)
                return false;
    }
    return true;
}

// The accumulated stream must be the whole response, apart from what only the whole
// response has (raw, and usage when the stream did not ask for it).
void check_same_response(const chat_response& streamed, const chat_response& whole, bool with_usage)
{
    BOOST_TEST(streamed.id == whole.id);
    BOOST_TEST(streamed.model == whole.model);
    BOOST_TEST(streamed.created == whole.created);
    BOOST_TEST(streamed.text() == whole.text());
    BOOST_TEST(streamed.reasoning() == whole.reasoning());
    BOOST_TEST(streamed.finish_reason() == whole.finish_reason());
    BOOST_TEST(streamed.tool_calls().size() == whole.tool_calls().size());
    BOOST_TEST((streamed.choices == whole.choices));
    BOOST_TEST((streamed.timings == whole.timings));
    if (with_usage)
        BOOST_TEST((streamed.usage == whole.usage));
    else
        BOOST_TEST(!streamed.usage.has_value());
}

} // namespace

BOOST_AUTO_TEST_SUITE(llm)
BOOST_AUTO_TEST_SUITE(chunk_orders)

BOOST_AUTO_TEST_CASE(tool_call_stream_of_section_1_4_equals_the_whole_response)
{
    const auto whole = decode_chat_response(llm_test::tool_call_response);
    BOOST_REQUIRE(whole.tool_calls().size() == 1u);
    BOOST_TEST(whole.tool_calls()[0].arguments == R"({"city":"Oslo"})");
    BOOST_TEST(whole.text().empty()); // content null
    for (via how : every_way) {
        BOOST_TEST_CONTEXT("via " << static_cast<int>(how))
        {
            const auto chunks = decode_stream(llm_test::tool_call_stream, how);
            BOOST_REQUIRE(chunks.size() == 8u);
            BOOST_TEST(chunks[0].choices[0].role.value_or("") == "assistant");
            BOOST_TEST(!chunks[0].has_output()); // role and null content only
            BOOST_TEST(chunks[1].has_output());
            BOOST_TEST(chunks[3].choices[0].tool_calls[0].id.value_or("") == "Xq3kP0aZbC4dE5fG6hI7jK8lM9nO0pQr");
            BOOST_TEST(chunks[3].choices[0].tool_calls[0].arguments.empty());
            BOOST_TEST(!chunks[4].choices[0].tool_calls[0].name.has_value());
            BOOST_TEST(chunks[6].choices[0].finish_reason.value_or("") == "tool_calls");
            BOOST_TEST(!chunks[6].has_output());
            BOOST_TEST(chunks[7].choices.empty());
            BOOST_REQUIRE(chunks[7].usage.has_value());
            BOOST_TEST(chunks[7].usage->cached_tokens.value_or(-1) == 180);
            BOOST_REQUIRE(chunks[7].timings.has_value());
            BOOST_TEST(chunks[7].timings->predicted_per_second.value_or(0) == 77.0);
            for (const auto& c : chunks) {
                BOOST_TEST(!c.loading);
                BOOST_TEST(c.created == 1767225600);
                BOOST_TEST(c.model == "qwen3-8b");
            }
            check_same_response(accumulate(llm_test::tool_call_stream, how), whole, true);
        }
    }
}

BOOST_AUTO_TEST_CASE(text_stream_with_empty_diff_and_timings_on_the_finish_chunk)
{
    const auto whole = decode_chat_response(llm_test::text_response);
    for (via how : every_way) {
        const auto got = accumulate(llm_test::text_stream, how);
        BOOST_TEST(got.text() == "Hello, Å ✓");
        BOOST_TEST(got.choices[0].index == 0);
        check_same_response(got, whole, false);
    }
}

BOOST_AUTO_TEST_CASE(the_three_decoders_agree_chunk_by_chunk)
{
    const std::string body = llm_test::loading_prefix + llm_test::tool_call_stream;
    const auto a = decode_stream(body, via::function);
    const auto b = decode_stream(body, via::decoder);
    const auto c = decode_stream(body, via::decoder_no_raw);
    BOOST_REQUIRE(a.size() == b.size());
    BOOST_REQUIRE(a.size() == c.size());
    for (std::size_t i = 0; i < a.size(); ++i) {
        BOOST_TEST_CONTEXT("chunk " << i)
        {
            BOOST_TEST(same_deltas(a[i], b[i]));
            BOOST_TEST(same_deltas(a[i], c[i]));
            BOOST_TEST(a[i].loading == c[i].loading);
            BOOST_TEST(a[i].id == c[i].id);
            BOOST_TEST((a[i].usage == c[i].usage));
            BOOST_TEST((a[i].timings == c[i].timings));
            BOOST_TEST(a[i].raw == b[i].raw);
            BOOST_TEST(c[i].raw.empty());
        }
    }
}

BOOST_AUTO_TEST_CASE(role_chunk_missing_when_the_first_token_ends_generation)
{
    const std::string body =
        R"(data: {"choices":[{"finish_reason":"stop","index":0,"delta":{}}],)" LLM_TEST_COMMON "}\n\n"
        R"(data: {"choices":[],)" LLM_TEST_COMMON R"(,"usage":{"completion_tokens":1,"prompt_tokens":9,"total_tokens":10}})" "\n\n"
        "data: [DONE]\n\n";
    for (via how : every_way) {
        const auto got = accumulate(body, how);
        BOOST_REQUIRE(got.choices.size() == 1u);
        BOOST_TEST(got.text().empty());
        BOOST_TEST(got.finish_reason() == "stop");
        BOOST_REQUIRE(got.usage.has_value());
        BOOST_TEST(got.usage->total_tokens == 10);
        BOOST_TEST(!got.usage->cached_tokens.has_value()); // older build: no prompt_tokens_details
    }
}

BOOST_AUTO_TEST_CASE(repeated_role_chunks_with_prompt_progress)
{
    // return_progress:true repeats the role delta with a top-level prompt_progress (PR #15827).
    const std::string body =
        R"(data: {"choices":[{"finish_reason":null,"index":0,"delta":{"role":"assistant","content":null}}],)" LLM_TEST_COMMON R"(,"prompt_progress":{"total":512,"cache":0,"processed":256,"time_ms":40}})" "\n\n"
        R"(data: {"choices":[{"finish_reason":null,"index":0,"delta":{"role":"assistant","content":null}}],)" LLM_TEST_COMMON R"(,"prompt_progress":{"total":512,"cache":0,"processed":512,"time_ms":80}})" "\n\n"
        R"(data: {"choices":[{"finish_reason":null,"index":0,"delta":{"content":"ok"}}],)" LLM_TEST_COMMON "}\n\n"
        R"(data: {"choices":[{"finish_reason":"length","index":0,"delta":{}}],)" LLM_TEST_COMMON "}\n\n"
        "data: [DONE]\n\n";
    for (via how : {via::function, via::decoder}) {
        const auto chunks = decode_stream(body, how);
        BOOST_REQUIRE(chunks.size() == 4u);
        BOOST_TEST(!chunks[0].has_output());
        BOOST_TEST(!chunks[0].loading); // it has an id: upstream progress, not llama-swap's
        BOOST_TEST(chunks[1].raw.parse().at("prompt_progress").at("processed").as_int64() == 512);
        chat_accumulator acc;
        for (const auto& c : chunks)
            acc.add(c);
        BOOST_TEST(acc.result().text() == "ok");
        BOOST_TEST(acc.result().finish_reason() == "length");
    }
}

BOOST_AUTO_TEST_CASE(whole_tool_calls_in_one_delta_before_the_finish_chunk)
{
    // Formats that only parse tool calls at the end: two complete calls, then finish.
    const std::string body =
        R"(data: {"choices":[{"finish_reason":null,"index":0,"delta":{"role":"assistant","content":null}}],)" LLM_TEST_COMMON "}\n\n"
        R"(data: {"choices":[{"finish_reason":null,"index":0,"delta":{"tool_calls":[{"index":0,"id":"a1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Oslo\"}"}}]}}],)" LLM_TEST_COMMON "}\n\n"
        R"(data: {"choices":[{"finish_reason":null,"index":0,"delta":{"tool_calls":[{"index":1,"id":"b2","type":"function","function":{"name":"get_time","arguments":"{}"}}]}}],)" LLM_TEST_COMMON "}\n\n"
        R"(data: {"choices":[{"finish_reason":"tool_calls","index":0,"delta":{}}],)" LLM_TEST_COMMON "}\n\n"
        "data: [DONE]\n\n";
    const auto whole = decode_chat_response(
        R"({"choices":[{"finish_reason":"tool_calls","index":0,"message":{"role":"assistant","content":null,"tool_calls":[)"
        R"({"type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Oslo\"}"},"id":"a1"},)"
        R"({"type":"function","function":{"name":"get_time","arguments":"{}"},"id":"b2"}]}}],)"
        R"("created":1767225600,"model":"qwen3-8b","object":"chat.completion","id":"chatcmpl-7Hc0mZ1uV2pQ9sLk3NfR8tYwXe4aBd6G"})");
    for (via how : every_way) {
        const auto got = accumulate(body, how);
        BOOST_REQUIRE(got.tool_calls().size() == 2u);
        BOOST_TEST(got.tool_calls()[1].name == "get_time");
        BOOST_TEST((got.choices == whole.choices));
    }
}

BOOST_AUTO_TEST_CASE(interleaved_parallel_tool_call_fragments)
{
    const std::string body =
        R"(data: {"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"a","type":"function","function":{"name":"f"}}]}}],)" LLM_TEST_COMMON "}\n\n"
        R"(data: {"choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"id":"b","type":"function","function":{"name":"g"}}]}}],)" LLM_TEST_COMMON "}\n\n"
        R"(data: {"choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"function":{"arguments":"{\"y\":"}}]}}],)" LLM_TEST_COMMON "}\n\n"
        R"(data: {"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"x\":1}"}}]}}],)" LLM_TEST_COMMON "}\n\n"
        R"(data: {"choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"function":{"arguments":"2}"}}]}}],)" LLM_TEST_COMMON "}\n\n"
        R"(data: {"choices":[{"finish_reason":"tool_calls","index":0,"delta":{}}],)" LLM_TEST_COMMON "}\n\n"
        "data: [DONE]\n\n";
    for (via how : every_way) {
        const auto calls = accumulate(body, how).tool_calls();
        BOOST_REQUIRE(calls.size() == 2u);
        BOOST_TEST(calls[0].id == "a");
        BOOST_TEST(calls[0].arguments == R"({"x":1})");
        BOOST_TEST(calls[1].id == "b");
        BOOST_TEST(calls[1].name == "g");
        BOOST_TEST(calls[1].arguments == R"({"y":2})");
    }
}

BOOST_AUTO_TEST_CASE(n_2_one_choice_per_chunk_interleaved)
{
    // n>1 streams one choice per chunk with its index; index 1 may come first.
    const std::string body =
        R"(data: {"choices":[{"finish_reason":null,"index":1,"delta":{"role":"assistant","content":null}}],)" LLM_TEST_COMMON "}\n\n"
        R"(data: {"choices":[{"finish_reason":null,"index":0,"delta":{"role":"assistant","content":null}}],)" LLM_TEST_COMMON "}\n\n"
        R"(data: {"choices":[{"finish_reason":null,"index":1,"delta":{"content":"B1"}}],)" LLM_TEST_COMMON "}\n\n"
        R"(data: {"choices":[{"finish_reason":null,"index":0,"delta":{"content":"A1"}}],)" LLM_TEST_COMMON "}\n\n"
        R"(data: {"choices":[{"finish_reason":null,"index":0,"delta":{"content":"A2"}}],)" LLM_TEST_COMMON "}\n\n"
        R"(data: {"choices":[{"finish_reason":"length","index":1,"delta":{}}],)" LLM_TEST_COMMON "}\n\n"
        R"(data: {"choices":[{"finish_reason":"stop","index":0,"delta":{}}],)" LLM_TEST_COMMON "}\n\n"
        "data: [DONE]\n\n";
    const auto whole = decode_chat_response(
        R"({"choices":[{"finish_reason":"length","index":1,"message":{"role":"assistant","content":"B1"}},)"
        R"({"finish_reason":"stop","index":0,"message":{"role":"assistant","content":"A1A2"}}],)"
        R"("created":1767225600,"model":"qwen3-8b","id":"chatcmpl-7Hc0mZ1uV2pQ9sLk3NfR8tYwXe4aBd6G"})");
    BOOST_REQUIRE(whole.choices.size() == 2u);
    BOOST_TEST(whole.choices[0].index == 0); // index order whatever the body's order
    for (via how : every_way) {
        const auto got = accumulate(body, how);
        BOOST_REQUIRE(got.choices.size() == 2u);
        BOOST_TEST(got.choices[0].index == 0);
        BOOST_TEST(got.choices[0].text == "A1A2");
        BOOST_TEST(got.choices[1].text == "B1");
        BOOST_TEST(got.choices[1].finish_reason == "length");
        BOOST_TEST((got.choices == whole.choices));
    }
}

BOOST_AUTO_TEST_CASE(deepseek_legacy_streams_reasoning_inside_content)
{
    const std::string body =
        R"(data: {"choices":[{"finish_reason":null,"index":0,"delta":{"content":"<think>"}}],)" LLM_TEST_COMMON "}\n\n"
        R"(data: {"choices":[{"finish_reason":null,"index":0,"delta":{"content":"hmm</think>Yes"}}],)" LLM_TEST_COMMON "}\n\n"
        R"(data: {"choices":[{"finish_reason":"stop","index":0,"delta":{}}],)" LLM_TEST_COMMON "}\n\n"
        "data: [DONE]\n\n";
    const auto got = accumulate(body, via::decoder);
    BOOST_TEST(got.text() == "<think>hmm</think>Yes");
    BOOST_TEST(got.reasoning().empty());
}

BOOST_AUTO_TEST_CASE(timings_per_token_and_logprobs_on_partial_chunks)
{
    const std::string body =
        R"(data: {"choices":[{"finish_reason":null,"index":0,"delta":{"content":"a"},"logprobs":{"content":[{"id":64,"token":"a","bytes":[97],"logprob":-0.1,"top_logprobs":[]}]}}],)" LLM_TEST_COMMON R"(,"timings":{"predicted_n":1,"predicted_ms":10.0}})" "\n\n"
        R"(data: {"choices":[{"finish_reason":null,"index":0,"delta":{"content":"b"}}],)" LLM_TEST_COMMON R"(,"timings":{"predicted_n":2,"predicted_ms":21.0}})" "\n\n"
        R"(data: {"choices":[{"finish_reason":"stop","index":0,"delta":{}}],)" LLM_TEST_COMMON R"(,"timings":{"predicted_n":2,"predicted_ms":22.5,"prompt_n":3}})" "\n\n"
        "data: [DONE]\n\n";
    const auto chunks = decode_stream(body, via::decoder);
    BOOST_TEST(chunks[0].raw.parse().at("choices").at(0).at("logprobs").at("content").at(0).at("id").as_int64() == 64);
    const auto got = accumulate(body, via::decoder);
    BOOST_TEST(got.text() == "ab");
    BOOST_REQUIRE(got.timings.has_value());
    BOOST_TEST(got.timings->predicted_ms.value_or(0) == 22.5); // the last one wins
    BOOST_TEST(got.timings->prompt_n.value_or(0) == 3);
}

BOOST_AUTO_TEST_SUITE(drift)

BOOST_AUTO_TEST_CASE(older_tool_call_header_with_empty_arguments_and_call_prefix)
{
    // Older builds: `arguments:""` always present, and one revision used a call_ prefix.
    const std::string body =
        R"(data: {"choices":[{"finish_reason":null,"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_8f3k2","type":"function","function":{"name":"lookup","arguments":""}}]}}],)" LLM_TEST_COMMON "}\n\n"
        R"(data: {"choices":[{"finish_reason":null,"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{}"}}]}}],)" LLM_TEST_COMMON "}\n\n"
        R"(data: {"choices":[{"finish_reason":null,"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":""}}]}}],)" LLM_TEST_COMMON "}\n\n"
        R"(data: {"choices":[{"finish_reason":"tool_calls","index":0,"delta":{}}],)" LLM_TEST_COMMON "}\n\n"
        "data: [DONE]\n\n";
    for (via how : every_way) {
        const auto calls = accumulate(body, how).tool_calls();
        BOOST_REQUIRE(calls.size() == 1u);
        BOOST_TEST(calls[0].id == "call_8f3k2");
        BOOST_TEST(calls[0].arguments == "{}");
    }
}

BOOST_AUTO_TEST_CASE(newer_header_without_function_then_name_later)
{
    // Newer builds leave `function` out when name and arguments are both empty.
    const std::string body =
        R"(data: {"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"Q1w2E3r4T5y6U7i8O9p0A1s2D3f4G5h6","type":"function"}]}}],)" LLM_TEST_COMMON "}\n\n"
        R"(data: {"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"name":"search"}}]}}],)" LLM_TEST_COMMON "}\n\n"
        R"(data: {"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"q\":\"x\"}"}}]}}],)" LLM_TEST_COMMON "}\n\n"
        "data: [DONE]\n\n";
    const auto calls = accumulate(body, via::decoder).tool_calls();
    BOOST_REQUIRE(calls.size() == 1u);
    BOOST_TEST(calls[0].id.size() == 32u);
    BOOST_TEST(calls[0].name == "search");
    BOOST_TEST(calls[0].arguments == R"({"q":"x"})");
}

BOOST_AUTO_TEST_CASE(created_changes_mid_stream_and_model_is_the_server_alias)
{
    const std::string body =
        R"(data: {"choices":[{"index":0,"delta":{"content":"a"}}],"created":1767225600,"id":"chatcmpl-x","model":"qwen3-8b-q4","object":"chat.completion.chunk"})" "\n\n"
        R"(data: {"choices":[{"index":0,"delta":{"content":"b"}}],"created":1767225601,"id":"chatcmpl-x","model":"qwen3-8b-q4","object":"chat.completion.chunk"})" "\n\n"
        "data: [DONE]\n\n";
    const auto chunks = decode_stream(body, via::function);
    BOOST_TEST(chunks[1].created == 1767225601);
    const auto got = accumulate(body, via::function);
    BOOST_TEST(got.created == 1767225600);
    BOOST_TEST(got.model == "qwen3-8b-q4");
}

BOOST_AUTO_TEST_CASE(usage_with_and_without_prompt_tokens_details)
{
    auto with = decode_chat_chunk(
        R"({"choices":[],"usage":{"completion_tokens":1,"prompt_tokens":2,"total_tokens":3,"prompt_tokens_details":{"cached_tokens":2,"cache_write_tokens":0}}})");
    BOOST_REQUIRE(with.usage.has_value());
    BOOST_TEST(with.usage->cached_tokens.value_or(-1) == 2);
    auto without = decode_chat_chunk(R"({"choices":[],"usage":{"completion_tokens":1,"prompt_tokens":2}})");
    BOOST_REQUIRE(without.usage.has_value());
    BOOST_TEST(!without.usage->cached_tokens.has_value());
    BOOST_TEST(without.usage->total_tokens == 3); // computed when absent
}

BOOST_AUTO_TEST_CASE(new_mid_stream_error_framing_throws_the_api_error)
{
    // Newer builds: `data: {"error":{...}}` and no [DONE].
    for (via how : {via::function, via::decoder}) {
        chunk_decoder dec;
        auto decode = [&](const std::string& s) { return how == via::function ? decode_chat_chunk(s) : dec.decode(s); };
        try {
            decode(R"({"error":{"code":500,"message":"llama_decode failed","type":"server_error"}})");
            BOOST_ERROR("accepted");
        } catch (const majordomo::error& e) {
            BOOST_TEST(e.code() == make_api_error(500));
            BOOST_TEST(e.diag().server_message == "llama_decode failed");
            BOOST_TEST(e.diag().error_type == "server_error");
            BOOST_TEST(classify(e).kind == error_kind::server);
        }
        try {
            decode(R"json({"error":{"code":400,"message":"request (9000 tokens) exceeds the available context size (8192 tokens), try increasing it","type":"exceed_context_size_error","n_prompt_tokens":9000,"n_ctx":8192}})json");
            BOOST_ERROR("accepted");
        } catch (const majordomo::error& e) {
            BOOST_TEST(e.code() == make_api_error(400));
            BOOST_TEST(e.diag().n_prompt_tokens.value_or(0) == 9000);
            BOOST_TEST(e.diag().n_ctx.value_or(0) == 8192);
            BOOST_TEST(classify(e).kind == error_kind::context_length);
            BOOST_TEST(!classify(e).retryable);
        }
    }
}

BOOST_AUTO_TEST_CASE(old_mid_stream_error_field_holds_a_bare_error_object)
{
    // Older builds: `error: {"code","message","type"}` then [DONE]; the SSE layer hands
    // the bare object over as an error body.
    auto d = parse_error_body(500, R"({"code":500,"message":"slot unavailable","type":"server_error"})");
    BOOST_TEST(d.server_message == "slot unavailable");
    BOOST_TEST(d.error_type == "server_error");
    BOOST_TEST(d.error_code == "500");
}

BOOST_AUTO_TEST_SUITE_END() // drift

BOOST_AUTO_TEST_SUITE(loading_frames)

BOOST_AUTO_TEST_CASE(llama_swap_loading_frames_are_progress_never_output)
{
    const std::string body = llm_test::loading_prefix + llm_test::tool_call_stream;
    const auto whole = decode_chat_response(llm_test::tool_call_response);
    for (via how : every_way) {
        const auto chunks = decode_stream(body, how);
        BOOST_REQUIRE(chunks.size() == 15u);
        for (std::size_t i = 0; i < 7; ++i) {
            BOOST_TEST(chunks[i].loading, "frame " << i);
            BOOST_TEST(!chunks[i].has_output(), "frame " << i);
            BOOST_TEST(!chunks[i].choices.empty());
        }
        BOOST_TEST(chunks[1].choices[0].reasoning_content == "llama-swap loading model: qwen3-8b\n");
        for (std::size_t i = 7; i < chunks.size(); ++i)
            BOOST_TEST(!chunks[i].loading, "chunk " << i);
        const auto got = accumulate(body, how);
        BOOST_TEST(got.reasoning() == "User wants weather; call the tool.");
        check_same_response(got, whole, true);
    }
}

BOOST_AUTO_TEST_CASE(look_alikes_are_not_loading_frames)
{
    // Real reasoning deltas carry id/object/model/created.
    auto real = decode_chat_chunk(R"({"choices":[{"index":0,"delta":{"reasoning_content":"hm"}}],)" LLM_TEST_COMMON "}");
    BOOST_TEST(!real.loading);
    BOOST_TEST(real.has_output());
    // A bare chunk with content, role, tool calls or a finish reason is not a loading frame.
    for (const char* s : {R"({"choices":[{"delta":{"content":"x"}}]})",
                          R"({"choices":[{"delta":{"reasoning_content":"x","role":"assistant"}}]})",
                          R"({"choices":[{"delta":{"reasoning_content":"x","tool_calls":[{"index":0}]}}]})",
                          R"({"choices":[{"delta":{"reasoning_content":"x"},"finish_reason":"stop"}]})",
                          R"({"choices":[]})", R"({"choices":[{"delta":{}}]})"})
        BOOST_TEST(!decode_chat_chunk(s).loading, s);
    // The exact frame shape, content null allowed.
    BOOST_TEST(decode_chat_chunk(R"({"choices":[{"delta":{"reasoning_content":"."}}]})").loading);
    BOOST_TEST(decode_chat_chunk(R"({"choices":[{"delta":{"reasoning_content":".","content":null}}]})").loading);
}

BOOST_AUTO_TEST_SUITE_END() // loading_frames

BOOST_AUTO_TEST_SUITE_END() // chunk_orders
BOOST_AUTO_TEST_SUITE_END() // llm

#include <majordomo/llm/chunk.hpp>
#include <majordomo/llm/classify.hpp>
#include <majordomo/llm/json_codec.hpp>

#include "support/printers.hpp"

#include <boost/asio/error.hpp>
#include <boost/json/parse.hpp>
#include <boost/test/unit_test.hpp>

namespace json = boost::json;
using namespace majordomo;
using namespace majordomo::llm;

namespace {
json::object encoded(const chat_request& r, encode_options o = {})
{
    return json::parse(encode_chat_request(r, o)).as_object();
}
} // namespace

BOOST_AUTO_TEST_SUITE(llm)
BOOST_AUTO_TEST_SUITE(encoding)

BOOST_AUTO_TEST_CASE(minimal_request)
{
    chat_request r;
    r.model = "qwen";
    r.messages = {message::system("be brief"), message::user("hi")};
    auto o = encoded(r);
    BOOST_TEST(o.at("model").as_string() == "qwen");
    auto& msgs = o.at("messages").as_array();
    BOOST_REQUIRE(msgs.size() == 2u);
    BOOST_TEST(msgs[0].at("role").as_string() == "system");
    BOOST_TEST(msgs[0].at("content").as_string() == "be brief");
    BOOST_TEST(msgs[1].at("role").as_string() == "user");
    // Nothing unset is sent.
    for (const char* absent : {"stream", "temperature", "top_p", "max_tokens", "max_completion_tokens", "stop", "seed",
                               "n", "tools", "tool_choice", "response_format", "stream_options"})
        BOOST_TEST(!o.contains(absent), absent);
}

BOOST_AUTO_TEST_CASE(every_option_field_by_field)
{
    chat_request r;
    r.model = "m";
    r.messages = {message::user("x")};
    r.temperature = 0.5;
    r.top_p = 0.9;
    r.max_tokens = 64;
    r.stop = {"\n\n", "END"};
    r.seed = 42;
    r.presence_penalty = 0.1;
    r.frequency_penalty = 0.2;
    r.n = 2;
    r.parallel_tool_calls = false;
    r.extra["cache_prompt"] = true;
    r.extra["id_slot"] = 3;
    r.extra["chat_template_kwargs"] = json::object{{"enable_thinking", false}};
    auto o = encoded(r, {.stream = true, .legacy_max_tokens = false});
    BOOST_TEST(o.at("temperature").as_double() == 0.5);
    BOOST_TEST(o.at("top_p").as_double() == 0.9);
    BOOST_TEST(o.at("max_completion_tokens").as_int64() == 64);
    BOOST_TEST(!o.contains("max_tokens"));
    BOOST_TEST(o.at("stop").as_array().size() == 2u);
    BOOST_TEST(o.at("stop").as_array()[1].as_string() == "END");
    BOOST_TEST(o.at("seed").as_int64() == 42);
    BOOST_TEST(o.at("presence_penalty").as_double() == 0.1);
    BOOST_TEST(o.at("frequency_penalty").as_double() == 0.2);
    BOOST_TEST(o.at("n").as_int64() == 2);
    BOOST_TEST(o.at("parallel_tool_calls").as_bool() == false);
    BOOST_TEST(o.at("stream").as_bool());
    BOOST_TEST(o.at("stream_options").at("include_usage").as_bool());
    BOOST_TEST(o.at("cache_prompt").as_bool());
    BOOST_TEST(o.at("id_slot").as_int64() == 3);
    BOOST_TEST(o.at("chat_template_kwargs").at("enable_thinking").as_bool() == false);

    auto legacy = encoded(r, {.stream = false, .legacy_max_tokens = true});
    BOOST_TEST(legacy.at("max_tokens").as_int64() == 64);
    BOOST_TEST(!legacy.contains("max_completion_tokens"));
    BOOST_TEST(!legacy.contains("stream"));
}

BOOST_AUTO_TEST_CASE(images_tools_and_json_schema)
{
    chat_request r;
    r.model = "vision";
    message m;
    m.role = role::user;
    m.content.push_back(text_part{"what is this?"});
    m.content.push_back(image_part{"image/png", std::string("\x89PNG\r\n", 6), "", ""});
    m.content.push_back(image_part{"", "", "https://example.com/cat.jpg", "low"});
    r.messages.push_back(m);
    message call = message::assistant("");
    call.content.clear();
    call.tool_calls.push_back({"call1", "get_weather", "{\"city\":\"Paris\"}"});
    r.messages.push_back(call);
    r.messages.push_back(message::tool_result("call1", "sunny"));
    tool t{"get_weather", "Weather by city", json::parse(R"({"type":"object","properties":{"city":{"type":"string"}}})").as_object()};
    r.tools.push_back(t);
    r.tool_choice = tool_choice::named("get_weather");
    response_format f;
    f.type = response_format::kind::json_schema;
    f.name = "answer";
    f.schema = json::parse(R"({"type":"object"})").as_object();
    f.strict = true;
    r.response_format = f;
    auto o = encoded(r);
    auto& parts = o.at("messages").as_array()[0].at("content").as_array();
    BOOST_REQUIRE(parts.size() == 3u);
    BOOST_TEST(parts[0].at("type").as_string() == "text");
    BOOST_TEST(parts[1].at("image_url").at("url").as_string() == "data:image/png;base64,iVBORw0K");
    BOOST_TEST(parts[2].at("image_url").at("url").as_string() == "https://example.com/cat.jpg");
    BOOST_TEST(parts[2].at("image_url").at("detail").as_string() == "low");
    auto& asst = o.at("messages").as_array()[1];
    BOOST_TEST(asst.at("content").is_null());
    BOOST_TEST(asst.at("tool_calls").as_array()[0].at("function").at("arguments").as_string() == "{\"city\":\"Paris\"}");
    auto& tool_msg = o.at("messages").as_array()[2];
    BOOST_TEST(tool_msg.at("role").as_string() == "tool");
    BOOST_TEST(tool_msg.at("tool_call_id").as_string() == "call1");
    BOOST_TEST(o.at("tools").as_array()[0].at("function").at("parameters").at("type").as_string() == "object");
    BOOST_TEST(o.at("tool_choice").at("function").at("name").as_string() == "get_weather");
    auto& rf = o.at("response_format");
    BOOST_TEST(rf.at("type").as_string() == "json_schema");
    BOOST_TEST(rf.at("json_schema").at("name").as_string() == "answer");
    BOOST_TEST(rf.at("json_schema").at("strict").as_bool());
    BOOST_TEST(rf.at("json_schema").at("schema").at("type").as_string() == "object");

    r.tool_choice = tool_choice{tool_choice::mode::required, ""};
    BOOST_TEST(encoded(r).at("tool_choice").as_string() == "required");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(decoding)

// The chunk orders of wire-formats.md §1.4, as llama-server sends them.
const char* const plain_stream[] = {
    R"({"choices":[{"finish_reason":null,"index":0,"delta":{"role":"assistant","content":null}}],"created":1,"id":"chatcmpl-a","model":"qwen","object":"chat.completion.chunk"})",
    R"({"choices":[{"finish_reason":null,"index":0,"delta":{"content":"Hel"}}],"created":1,"id":"chatcmpl-a","model":"qwen","object":"chat.completion.chunk"})",
    R"({"choices":[{"finish_reason":null,"index":0,"delta":{"content":"lo"}}],"created":1,"id":"chatcmpl-a","model":"qwen","object":"chat.completion.chunk"})",
    R"({"choices":[{"finish_reason":"stop","index":0,"delta":{}}],"created":1,"id":"chatcmpl-a","model":"qwen","object":"chat.completion.chunk","timings":{"prompt_n":5,"prompt_ms":10.5,"predicted_n":2,"predicted_ms":20.0,"predicted_per_second":100.0,"cache_n":1}})",
    R"({"choices":[],"created":1,"id":"chatcmpl-a","model":"qwen","object":"chat.completion.chunk","usage":{"completion_tokens":2,"prompt_tokens":5,"total_tokens":7,"prompt_tokens_details":{"cached_tokens":1}}})",
};

BOOST_AUTO_TEST_CASE(accumulated_stream_equals_the_whole_response)
{
    chat_accumulator acc;
    for (const char* c : plain_stream)
        acc.add(decode_chat_chunk(c));
    auto whole = decode_chat_response(
        R"({"choices":[{"finish_reason":"stop","index":0,"message":{"role":"assistant","content":"Hello"}}],"created":1,"id":"chatcmpl-a","model":"qwen","object":"chat.completion","usage":{"completion_tokens":2,"prompt_tokens":5,"total_tokens":7,"prompt_tokens_details":{"cached_tokens":1}},"timings":{"prompt_n":5,"predicted_n":2,"cache_n":1}})");
    const auto& got = acc.result();
    BOOST_TEST(got.text() == whole.text());
    BOOST_TEST(got.text() == "Hello");
    BOOST_TEST(got.finish_reason() == whole.finish_reason());
    BOOST_TEST(got.id == whole.id);
    BOOST_TEST(got.model == whole.model);
    BOOST_REQUIRE(got.usage && whole.usage);
    BOOST_TEST(got.usage->total_tokens == whole.usage->total_tokens);
    BOOST_TEST(got.usage->cached_tokens.value_or(-1) == 1);
    BOOST_REQUIRE(got.timings.has_value());
    BOOST_TEST(got.timings->predicted_n.value_or(0) == 2);
    BOOST_TEST(got.timings->prompt_ms.value_or(0) == 10.5);
}

BOOST_AUTO_TEST_CASE(tool_call_deltas_in_every_shape)
{
    const char* chunks[] = {
        // id and name first, arguments in pieces, no `type` field
        R"({"id":"x","choices":[{"index":0,"delta":{"role":"assistant","content":null,"tool_calls":[{"index":0,"id":"abc","function":{"name":"get_weather","arguments":""}}]}}]})",
        R"({"id":"x","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"city\":"}}]}}]})",
        R"({"id":"x","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"\"Paris\"}"}}]}}]})",
        // a second call whole in one delta, arguments missing from a later empty delta
        R"({"id":"x","choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"id":"def","type":"function","function":{"name":"now","arguments":"{}"}}]}}]})",
        R"({"id":"x","choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"function":{}}]}}]})",
        R"({"id":"x","choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]})",
    };
    chat_accumulator acc;
    for (const char* c : chunks)
        acc.add(decode_chat_chunk(c));
    const auto& calls = acc.result().tool_calls();
    BOOST_REQUIRE(calls.size() == 2u);
    BOOST_TEST(calls[0].id == "abc");
    BOOST_TEST(calls[0].name == "get_weather");
    BOOST_TEST(calls[0].arguments == "{\"city\":\"Paris\"}");
    BOOST_TEST(calls[1].id == "def");
    BOOST_TEST(calls[1].name == "now");
    BOOST_TEST(calls[1].arguments == "{}");
    BOOST_TEST(acc.result().finish_reason() == "tool_calls");
}

BOOST_AUTO_TEST_CASE(several_choices_reasoning_and_repeated_roles)
{
    const char* chunks[] = {
        R"({"id":"y","choices":[{"index":0,"delta":{"role":"assistant"}},{"index":1,"delta":{"role":"assistant"}}]})",
        R"({"id":"y","choices":[{"index":1,"delta":{"role":"assistant","content":"B"}}]})",
        R"({"id":"y","choices":[{"index":0,"delta":{"reasoning_content":"think"}}]})",
        R"({"id":"y","choices":[{"index":0,"delta":{"content":"A"}}]})",
    };
    chat_accumulator acc;
    for (const char* c : chunks)
        acc.add(decode_chat_chunk(c));
    BOOST_REQUIRE(acc.result().choices.size() == 2u);
    BOOST_TEST(acc.result().text() == "A");
    BOOST_TEST(acc.result().reasoning() == "think");
    BOOST_TEST(acc.result().choices[1].text == "B");
}

BOOST_AUTO_TEST_CASE(loading_frames_are_progress_not_output)
{
    auto frame = decode_chat_chunk(R"({"choices":[{"delta":{"reasoning_content":"llama-swap loading model: qwen\n"}}]})");
    BOOST_TEST(frame.loading);
    BOOST_TEST(!frame.has_output());
    auto real = decode_chat_chunk(R"({"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"reasoning_content":"hmm"}}]})");
    BOOST_TEST(!real.loading);
    BOOST_TEST(real.has_output());
    chat_accumulator acc;
    acc.add(frame);
    acc.add(real);
    BOOST_TEST(acc.result().reasoning() == "hmm");
}

BOOST_AUTO_TEST_CASE(unknown_fields_are_kept_and_odd_values_tolerated)
{
    auto c = decode_chat_chunk(R"({"id":"z","choices":[{"index":0,"delta":{"content":"t"},"logprobs":null}],"usage":null,"system_fingerprint":"b1","prompt_progress":{"total":10}})");
    BOOST_TEST(c.text() == "t");
    BOOST_TEST(!c.usage.has_value());
    BOOST_TEST(c.raw.parse().at("system_fingerprint").as_string() == "b1");
    BOOST_TEST(c.raw.parse().contains("prompt_progress"));
}

BOOST_AUTO_TEST_CASE(malformed_chunks_and_in_band_errors)
{
    try {
        (void)decode_chat_chunk("{\"choices\":[{\"delta\": " + std::string(500, 'x'));
        BOOST_FAIL("accepted");
    } catch (const majordomo::error& e) {
        BOOST_TEST(e.code() == client_errc::bad_json);
        std::string what = e.what();
        BOOST_TEST(what.find("...") != std::string::npos); // bounded excerpt
        BOOST_TEST(what.size() < 400u);
    }
    try {
        (void)decode_chat_chunk(R"({"error":{"code":500,"message":"out of memory","type":"server_error"}})");
        BOOST_FAIL("accepted");
    } catch (const majordomo::error& e) {
        BOOST_TEST(e.code() == make_api_error(500));
        BOOST_TEST(e.diag().server_message == "out of memory");
        BOOST_TEST(e.diag().error_type == "server_error");
    }
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(errors)

BOOST_AUTO_TEST_CASE(every_error_body_form)
{
    auto openai = parse_error_body(429, R"({"error":{"message":"slow down","type":"rate_limit_error","param":null,"code":"rate_limit_exceeded"}})");
    BOOST_TEST(openai.server_message == "slow down");
    BOOST_TEST(openai.error_type == "rate_limit_error");
    BOOST_TEST(openai.error_code == "rate_limit_exceeded");
    auto llama = parse_error_body(400, R"j({"error":{"code":400,"message":"request (9000 tokens) exceeds the available context size (4096 tokens)","type":"exceed_context_size_error","n_prompt_tokens":9000,"n_ctx":4096}})j");
    BOOST_TEST(llama.error_type == "exceed_context_size_error");
    BOOST_TEST(llama.error_code == "400");
    BOOST_TEST(llama.n_prompt_tokens.value_or(0) == 9000);
    BOOST_TEST(llama.n_ctx.value_or(0) == 4096);
    auto swap_new = parse_error_body(404, R"({"src":"llama-swap","error":{"message":"no router for requested model","type":"invalid_request_error","param":null,"code":"not_found"}})");
    BOOST_TEST(swap_new.server_message == "no router for requested model");
    BOOST_TEST(swap_new.error_code == "not_found");
    auto swap_old = parse_error_body(502, R"({"src":"llama-swap","error":"unable to start process"})");
    BOOST_TEST(swap_old.server_message == "unable to start process");
    auto sd = parse_error_body(500, R"({"error":"server_error","message":"generation failed"})");
    BOOST_TEST(sd.server_message == "generation failed");
    BOOST_TEST(sd.error_type == "server_error");
    auto text = parse_error_body(503, "llama-swap: [qwen] process is not ready\n");
    BOOST_TEST(text.server_message == "llama-swap: [qwen] process is not ready");
    auto html = parse_error_body(502, "<html><body><h1>llama-swap</h1><p>bad gateway</p></body></html>");
    BOOST_TEST(html.server_message.find("bad gateway") != std::string::npos);
    BOOST_TEST(html.server_message.find('<') == std::string::npos);
    auto empty = parse_error_body(502, "");
    BOOST_TEST(empty.server_message.empty());
    BOOST_TEST(empty.http_status == 502);
    auto huge = parse_error_body(500, std::string(10000, 'e'));
    BOOST_TEST(huge.server_message.size() <= 515u);
}

BOOST_AUTO_TEST_CASE(retry_after_forms)
{
    BOOST_TEST(parse_retry_after("1")->count() == 1000);
    BOOST_TEST(parse_retry_after("2.5")->count() == 2500);
    BOOST_TEST(parse_retry_after("9", "120")->count() == 120);
    BOOST_TEST(!parse_retry_after("soon").has_value());
    BOOST_TEST(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT")->count() == 0); // in the past
}

BOOST_AUTO_TEST_CASE(classify_every_kind)
{
    auto kind = [](boost::system::error_code ec, diagnostics d = {}) { return classify(ec, d).kind; };
    BOOST_TEST(to_string(kind(boost::asio::error::operation_aborted)) == std::string("cancelled"));
    BOOST_TEST(to_string(kind(client_errc::deadline_exceeded)) == std::string("deadline"));
    BOOST_TEST(to_string(kind(boost::asio::error::connection_refused)) == std::string("transport"));
    BOOST_TEST(classify(boost::asio::error::connection_refused).retryable);
    BOOST_TEST(to_string(kind(make_api_error(401))) == std::string("authentication"));
    BOOST_TEST(to_string(kind(client_errc::missing_api_key)) == std::string("authentication"));
    BOOST_TEST(to_string(kind(make_api_error(403))) == std::string("permission"));
    BOOST_TEST(to_string(kind(make_api_error(404))) == std::string("not_found"));
    diagnostics ra;
    ra.retry_after = std::chrono::milliseconds(3000);
    auto rl = classify(make_api_error(429), ra);
    BOOST_TEST(to_string(rl.kind) == std::string("rate_limited"));
    BOOST_TEST(rl.retryable);
    BOOST_TEST(rl.retry_after->count() == 3000);
    BOOST_TEST(to_string(kind(make_api_error(400))) == std::string("bad_request"));
    BOOST_TEST(!classify(make_api_error(400)).retryable);
    diagnostics ctx;
    ctx.error_type = "exceed_context_size_error";
    BOOST_TEST(to_string(kind(make_api_error(400), ctx)) == std::string("context_length"));
    BOOST_TEST(to_string(kind(make_api_error(502))) == std::string("server"));
    BOOST_TEST(classify(make_api_error(502)).retryable);
    diagnostics malformed;
    malformed.error_type = "invalid_request_error";
    BOOST_TEST(to_string(kind(make_api_error(500), malformed)) == std::string("bad_request"));
    BOOST_TEST(to_string(kind(make_api_error(503))) == std::string("unavailable"));
    BOOST_TEST(classify(make_api_error(503)).retryable);
    BOOST_TEST(to_string(kind(client_errc::model_unloaded)) == std::string("unavailable"));
    BOOST_TEST(to_string(kind(client_errc::stream_truncated)) == std::string("stream_truncated"));
    BOOST_TEST(to_string(kind(client_errc::bad_json)) == std::string("decoding"));
    BOOST_TEST(to_string(kind(make_error_code(majordomo::http::errc::bad_chunk))) == std::string("decoding"));
    BOOST_TEST(!classify(make_api_error(501)).retryable);
    BOOST_TEST(to_string(kind(client_errc::bad_dsn)) == std::string("other"));
    // From an exception, diagnostics included.
    diagnostics d429;
    d429.retry_after = std::chrono::milliseconds(1000);
    auto ep = std::make_exception_ptr(majordomo::error(make_api_error(429), d429));
    BOOST_TEST(classify(ep).retry_after->count() == 1000);
}

BOOST_AUTO_TEST_SUITE_END()
BOOST_AUTO_TEST_SUITE_END()

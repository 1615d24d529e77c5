// The request body, field by field, for every option of chat_request.
#include <majordomo/llm/json_codec.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/test/unit_test.hpp>

using namespace majordomo::llm;
namespace json = boost::json;

namespace {

json::object body_of(const chat_request& r, encode_options o = {})
{
    return json::parse(encode_chat_request(r, o)).as_object();
}

chat_request basic()
{
    chat_request r;
    r.model = "qwen3-8b";
    r.messages = {message::user("hi")};
    return r;
}

json::object parsed(std::string_view s) { return json::parse(s).as_object(); }

} // namespace

BOOST_AUTO_TEST_SUITE(llm)
BOOST_AUTO_TEST_SUITE(request_body)

BOOST_AUTO_TEST_CASE(only_what_is_set_is_sent)
{
    const auto o = body_of(basic());
    BOOST_TEST(o.size() == 2u); // model and messages
    BOOST_TEST(o.at("model").as_string() == "qwen3-8b");
    BOOST_TEST(o.at("messages").as_array().size() == 1u);
}

BOOST_AUTO_TEST_CASE(modern_and_legacy_token_limits)
{
    auto r = basic();
    r.max_tokens = 128;
    const auto modern = body_of(r, {.stream = false, .legacy_max_tokens = false});
    BOOST_TEST(modern.at("max_completion_tokens").as_int64() == 128);
    BOOST_TEST(!modern.contains("max_tokens"));
    const auto legacy = body_of(r, {.stream = false, .legacy_max_tokens = true});
    BOOST_TEST(legacy.at("max_tokens").as_int64() == 128);
    BOOST_TEST(!legacy.contains("max_completion_tokens"));
}

BOOST_AUTO_TEST_CASE(stream_flag_and_include_usage)
{
    auto r = basic();
    const auto streamed = body_of(r, {.stream = true});
    BOOST_TEST(streamed.at("stream").as_bool());
    BOOST_TEST((streamed.at("stream_options") == json::value(parsed(R"({"include_usage":true})"))));
    r.stream_include_usage = false;
    const auto without = body_of(r, {.stream = true});
    BOOST_TEST(without.at("stream").as_bool());
    BOOST_TEST(!without.contains("stream_options"));
    r.stream_include_usage = true;
    const auto whole = body_of(r, {.stream = false});
    BOOST_TEST(!whole.contains("stream"));
    BOOST_TEST(!whole.contains("stream_options")); // stream_options without stream is an error at OpenAI
}

BOOST_AUTO_TEST_CASE(sampling_options_exactly)
{
    auto r = basic();
    r.temperature = 0.7;
    r.top_p = 0.95;
    r.stop = {"</answer>", "\n\nUser:"};
    r.seed = 1099511627776; // 2^40: an int64, not an int
    r.presence_penalty = -0.5;
    r.frequency_penalty = 1.25;
    r.n = 3;
    r.parallel_tool_calls = false;
    const auto o = body_of(r);
    BOOST_TEST(o.at("temperature").as_double() == 0.7);
    BOOST_TEST(o.at("top_p").as_double() == 0.95);
    BOOST_TEST((o.at("stop") == json::value(json::parse(R"(["</answer>","\n\nUser:"])"))));
    BOOST_TEST(o.at("seed").as_int64() == 1099511627776);
    BOOST_TEST(o.at("presence_penalty").as_double() == -0.5);
    BOOST_TEST(o.at("frequency_penalty").as_double() == 1.25);
    BOOST_TEST(o.at("n").as_int64() == 3);
    BOOST_TEST(o.at("parallel_tool_calls").is_bool());
    BOOST_TEST(!o.at("parallel_tool_calls").as_bool()); // llama.cpp's default, sent explicitly
}

BOOST_AUTO_TEST_CASE(every_message_shape)
{
    chat_request r = basic();
    r.messages.clear();
    r.messages.push_back(message::system("be brief"));
    message named = message::user("hello");
    named.name = "alice";
    r.messages.push_back(named);
    message thought = message::assistant("It is 12 C.");
    thought.reasoning_content = "look it up first";
    r.messages.push_back(thought);
    message call(role::assistant, "");
    call.content.clear();
    call.tool_calls.push_back({"Xq3kP0aZ", "get_weather", R"({"city":"Oslo"})"});
    r.messages.push_back(call);
    r.messages.push_back(message::tool_result("Xq3kP0aZ", R"({"temp_c":12})"));
    const auto msgs = body_of(r).at("messages").as_array();
    BOOST_REQUIRE(msgs.size() == 5u);
    BOOST_TEST((msgs[0] == json::value(parsed(R"({"role":"system","content":"be brief"})"))));
    BOOST_TEST((msgs[1] == json::value(parsed(R"({"role":"user","content":"hello","name":"alice"})"))));
    BOOST_TEST((msgs[2] == json::value(parsed(
                               R"({"role":"assistant","content":"It is 12 C.","reasoning_content":"look it up first"})"))));
    BOOST_TEST((msgs[3] == json::value(parsed(
                               R"({"role":"assistant","content":null,"tool_calls":[{"id":"Xq3kP0aZ","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Oslo\"}"}}]})"))));
    BOOST_TEST((msgs[4] == json::value(parsed(R"({"role":"tool","content":"{\"temp_c\":12}","tool_call_id":"Xq3kP0aZ"})"))));
}

BOOST_AUTO_TEST_CASE(images_as_data_urls_and_plain_urls)
{
    chat_request r = basic();
    message m;
    m.role = role::user;
    m.content.push_back(text_part{"compare"});
    m.content.push_back(image_part::from_bytes(std::string("\x89PNG\r\n\x1a\n", 8), "image/png"));
    m.content.push_back(image_part::from_bytes("a", "image/webp"));   // one byte: two padding chars
    m.content.push_back(image_part::from_bytes("ab", "image/gif"));   // two bytes: one padding char
    m.content.push_back(image_part::from_bytes("\xFF\xD8\xFF\xE0", "")); // MIME sniffed: JPEG
    auto url = image_part::from_url("https://example.com/cat.jpg");
    url.detail = "low";
    m.content.push_back(url);
    r.messages = {m};
    BOOST_TEST(m.content[5].index() == 1u);
    BOOST_TEST(std::get<image_part>(m.content[5]).is_url());
    const auto parts = body_of(r).at("messages").as_array()[0].at("content").as_array();
    BOOST_REQUIRE(parts.size() == 6u);
    BOOST_TEST((parts[0] == json::value(parsed(R"({"type":"text","text":"compare"})"))));
    BOOST_TEST((parts[1] == json::value(parsed(R"({"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgo="}})"))));
    BOOST_TEST(parts[2].at("image_url").at("url").as_string() == "data:image/webp;base64,YQ==");
    BOOST_TEST(parts[3].at("image_url").at("url").as_string() == "data:image/gif;base64,YWI=");
    BOOST_TEST(parts[4].at("image_url").at("url").as_string() == "data:image/jpeg;base64,/9j/4A==");
    BOOST_TEST((parts[5] == json::value(parsed(R"({"type":"image_url","image_url":{"url":"https://example.com/cat.jpg","detail":"low"}})"))));
}

BOOST_AUTO_TEST_CASE(tools_and_every_tool_choice)
{
    chat_request r = basic();
    r.tools.push_back({"get_weather", "Weather by city",
                       parsed(R"({"type":"object","properties":{"city":{"type":"string"}},"required":["city"]})")});
    r.tools.push_back({"now", "", {}});
    const auto o = body_of(r);
    BOOST_TEST(!o.contains("tool_choice"));
    const auto& tools = o.at("tools").as_array();
    BOOST_REQUIRE(tools.size() == 2u);
    BOOST_TEST((tools[0] == json::value(parsed(
                                R"({"type":"function","function":{"name":"get_weather","description":"Weather by city","parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}})"))));
    // No description: left out. No schema: an empty object schema (servers reject a missing one).
    BOOST_TEST((tools[1] == json::value(parsed(
                                R"({"type":"function","function":{"name":"now","parameters":{"type":"object","properties":{}}}})"))));

    r.tool_choice = tool_choice::automatic();
    BOOST_TEST(body_of(r).at("tool_choice").as_string() == "auto");
    r.tool_choice = tool_choice::none();
    BOOST_TEST(body_of(r).at("tool_choice").as_string() == "none");
    r.tool_choice = tool_choice::required();
    BOOST_TEST(body_of(r).at("tool_choice").as_string() == "required");
    r.tool_choice = tool_choice::named("get_weather");
    BOOST_TEST((body_of(r).at("tool_choice") == json::value(parsed(R"({"type":"function","function":{"name":"get_weather"}})"))));
}

BOOST_AUTO_TEST_CASE(response_format_text_json_object_and_nested_json_schema)
{
    chat_request r = basic();
    response_format f;
    f.type = response_format::kind::text;
    r.response_format = f;
    BOOST_TEST((body_of(r).at("response_format") == json::value(parsed(R"({"type":"text"})"))));
    f.type = response_format::kind::json_object;
    r.response_format = f;
    BOOST_TEST((body_of(r).at("response_format") == json::value(parsed(R"({"type":"json_object"})"))));
    f.type = response_format::kind::json_schema;
    f.name = "weather";
    f.schema = parsed(R"({"type":"object","properties":{"temp_c":{"type":"number"}},"required":["temp_c"]})");
    f.strict = true;
    r.response_format = f;
    const auto rf = body_of(r).at("response_format");
    // The nested form llama.cpp honours; the README's flat {"type","schema"} is silently ignored.
    BOOST_TEST((rf == json::value(parsed(
                          R"({"type":"json_schema","json_schema":{"name":"weather","schema":{"type":"object","properties":{"temp_c":{"type":"number"}},"required":["temp_c"]},"strict":true}})"))));
    BOOST_TEST(!rf.as_object().contains("schema"));
    f.strict.reset();
    r.response_format = f;
    BOOST_TEST(!body_of(r).at("response_format").at("json_schema").as_object().contains("strict"));
}

BOOST_AUTO_TEST_CASE(extra_is_merged_last)
{
    chat_request r = basic();
    r.temperature = 0.7;
    r.max_tokens = 64;
    r.extra["cache_prompt"] = true;
    r.extra["id_slot"] = 2;
    r.extra["reasoning_format"] = "deepseek";
    r.extra["chat_template_kwargs"] = parsed(R"({"enable_thinking":false})");
    r.extra["temperature"] = 0.1; // extra wins over the typed field
    r.extra["n_predict"] = 32;    // a llama.cpp-only field beside max_tokens
    const auto o = body_of(r, {.stream = true, .legacy_max_tokens = true});
    BOOST_TEST(o.at("cache_prompt").as_bool());
    BOOST_TEST(o.at("id_slot").as_int64() == 2);
    BOOST_TEST(o.at("reasoning_format").as_string() == "deepseek");
    BOOST_TEST(o.at("chat_template_kwargs").at("enable_thinking").is_bool()); // a string would be rejected
    BOOST_TEST(!o.at("chat_template_kwargs").at("enable_thinking").as_bool());
    BOOST_TEST(o.at("temperature").as_double() == 0.1);
    BOOST_TEST(o.at("n_predict").as_int64() == 32);
    BOOST_TEST(o.at("max_tokens").as_int64() == 64);
}

BOOST_AUTO_TEST_CASE(body_is_compact_single_line_json)
{
    chat_request r = basic();
    r.messages = {message::user("line one\nline two \"quoted\" ✓")};
    const auto s = encode_chat_request(r);
    BOOST_TEST(s.find('\n') == std::string::npos);
    BOOST_TEST(json::parse(s).at("messages").at(0).at("content").as_string() == "line one\nline two \"quoted\" ✓");
}

BOOST_AUTO_TEST_SUITE_END() // request_body
BOOST_AUTO_TEST_SUITE_END() // llm

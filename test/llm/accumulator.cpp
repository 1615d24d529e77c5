// chat_accumulator on hand-built chunks: the rules beyond the literal streams.
#include <majordomo/llm/chunk.hpp>

#include <boost/test/unit_test.hpp>

using namespace majordomo::llm;

namespace {

chat_chunk content(int index, std::string text)
{
    chat_chunk c;
    c.id = "chatcmpl-1";
    c.model = "m";
    c.created = 7;
    choice_delta d;
    d.index = index;
    d.content = std::move(text);
    c.choices.push_back(std::move(d));
    return c;
}

chat_chunk call(int choice_index, int call_index, std::optional<std::string> id, std::optional<std::string> name,
                std::string args)
{
    chat_chunk c;
    choice_delta d;
    d.index = choice_index;
    d.tool_calls.push_back({call_index, std::move(id), std::move(name), std::move(args)});
    c.choices.push_back(std::move(d));
    return c;
}

} // namespace

BOOST_AUTO_TEST_SUITE(llm)
BOOST_AUTO_TEST_SUITE(accumulator)

BOOST_AUTO_TEST_CASE(empty_stream_gives_an_empty_response)
{
    chat_accumulator acc;
    BOOST_TEST(acc.result().choices.empty());
    BOOST_TEST(acc.result().text().empty());
    BOOST_TEST(acc.result().tool_calls().empty());
    BOOST_TEST(!acc.result().usage.has_value());
}

BOOST_AUTO_TEST_CASE(first_id_model_and_created_win)
{
    chat_accumulator acc;
    chat_chunk anonymous; // e.g. a usage chunk from a server that leaves the id out
    anonymous.choices.push_back({});
    acc.add(anonymous);
    acc.add(content(0, "a"));
    auto later = content(0, "b");
    later.id = "chatcmpl-2";
    later.created = 8;
    acc.add(later);
    BOOST_TEST(acc.result().id == "chatcmpl-1");
    BOOST_TEST(acc.result().created == 7);
    BOOST_TEST(acc.result().text() == "ab");
}

BOOST_AUTO_TEST_CASE(tool_calls_keyed_by_index_not_by_arrival)
{
    chat_accumulator acc;
    acc.add(call(0, 1, "id1", "second", "{"));
    acc.add(call(0, 0, "id0", "first", "["));
    acc.add(call(0, 1, std::nullopt, std::nullopt, "}"));
    acc.add(call(0, 0, "other-id", "other-name", "]")); // a repeated header does not rename
    const auto& calls = acc.result().tool_calls();
    BOOST_REQUIRE(calls.size() == 2u);
    BOOST_TEST(calls[0].id == "id0");
    BOOST_TEST(calls[0].name == "first");
    BOOST_TEST(calls[0].arguments == "[]");
    BOOST_TEST(calls[1].id == "id1");
    BOOST_TEST(calls[1].arguments == "{}");
}

BOOST_AUTO_TEST_CASE(a_hostile_tool_call_index_costs_one_call)
{
    chat_accumulator acc;
    acc.add(call(0, 2147483647, "x", "f", "{}"));
    acc.add(call(0, -5, "y", "g", "{}"));
    const auto& calls = acc.result().tool_calls();
    BOOST_REQUIRE(calls.size() == 2u);
    BOOST_TEST(calls[0].id == "y"); // index order
    BOOST_TEST(calls[1].id == "x");
}

BOOST_AUTO_TEST_CASE(tool_calls_of_different_choices_stay_apart)
{
    chat_accumulator acc;
    acc.add(call(1, 0, "b", "g", "{}"));
    acc.add(call(0, 0, "a", "f", "{\"x\":"));
    acc.add(call(0, 0, std::nullopt, std::nullopt, "1}"));
    const auto& r = acc.result();
    BOOST_REQUIRE(r.choices.size() == 2u);
    BOOST_TEST(r.choices[0].tool_calls.size() == 1u);
    BOOST_TEST(r.choices[0].tool_calls[0].arguments == "{\"x\":1}");
    BOOST_TEST(r.choices[1].tool_calls[0].id == "b");
}

BOOST_AUTO_TEST_CASE(usage_and_timings_from_whichever_chunk_has_them)
{
    chat_accumulator acc;
    auto a = content(0, "x");
    a.timings = server_timings{};
    a.timings->predicted_n = 1;
    acc.add(a);
    chat_chunk u;
    u.usage = usage{3, 1, 4, 2};
    acc.add(u);
    acc.add(content(0, "y")); // no usage, no timings: the earlier ones stay
    BOOST_REQUIRE(acc.result().usage.has_value());
    BOOST_TEST(acc.result().usage->total_tokens == 4);
    BOOST_TEST(acc.result().usage->cached_tokens.value_or(0) == 2);
    BOOST_REQUIRE(acc.result().timings.has_value());
    BOOST_TEST(acc.result().timings->predicted_n.value_or(0) == 1);
}

BOOST_AUTO_TEST_CASE(loading_frames_leave_no_trace)
{
    chat_accumulator acc;
    chat_chunk frame;
    frame.loading = true;
    frame.id = "should-not-be-used";
    choice_delta d;
    d.reasoning_content = "llama-swap loading model: m\n";
    frame.choices.push_back(d);
    acc.add(frame);
    BOOST_TEST(acc.result().choices.empty());
    BOOST_TEST(acc.result().id.empty());
    acc.add(content(0, "hi"));
    BOOST_TEST(acc.result().reasoning().empty());
    BOOST_TEST(acc.result().id == "chatcmpl-1");
}

BOOST_AUTO_TEST_CASE(take_moves_out_and_starts_over)
{
    chat_accumulator acc;
    acc.add(call(0, 3, "a", "f", "{}"));
    auto first = acc.take();
    BOOST_TEST(first.tool_calls().size() == 1u);
    BOOST_TEST(acc.result().choices.empty());
    acc.add(call(0, 3, "b", "g", "[]")); // index 3 again: a new call, not an append
    BOOST_REQUIRE(acc.result().tool_calls().size() == 1u);
    BOOST_TEST(acc.result().tool_calls()[0].id == "b");
    BOOST_TEST(acc.result().tool_calls()[0].arguments == "[]");
}

BOOST_AUTO_TEST_SUITE_END() // accumulator
BOOST_AUTO_TEST_SUITE_END() // llm

#include <majordomo/sse/parser.hpp>

#include "support/printers.hpp"

#include <boost/test/unit_test.hpp>

#include <random>
#include <string>
#include <vector>

using namespace majordomo;

namespace {

struct seen_event {
    std::string type, data, id;
    bool operator==(const seen_event&) const = default;
};

[[maybe_unused]] std::ostream& operator<<(std::ostream& os, const seen_event& e)
{
    return os << "{" << e.type << "|" << e.data << "|" << e.id << "}";
}

struct outcome {
    std::vector<seen_event> events;
    std::string last_event_id;
    std::optional<std::uint64_t> retry;
    boost::system::error_code ec;
};

// Feeds `input` split at the given offsets and collects what comes out.
outcome run(std::string_view input, const std::vector<std::size_t>& cuts, majordomo::sse::parser_params params = {})
{
    majordomo::sse::parser p(params);
    outcome o;
    std::size_t start = 0;
    auto feed_piece = [&](std::string_view piece) {
        while (!piece.empty() && !o.ec) {
            auto n = p.feed(piece, o.ec);
            piece.remove_prefix(n);
            if (p.has_event()) {
                auto e = p.current();
                o.events.push_back({std::string(e.type), std::string(e.data), std::string(e.id)});
            }
        }
    };
    for (auto cut : cuts) {
        feed_piece(input.substr(start, cut - start));
        start = cut;
    }
    feed_piece(input.substr(start));
    p.finish();
    o.last_event_id = std::string(p.last_event_id());
    o.retry = p.retry();
    return o;
}

outcome run_whole(std::string_view input, majordomo::sse::parser_params params = {}) { return run(input, {}, params); }

// Every way of cutting the input gives what feeding it whole gives.
void check_split_equivalence(std::string_view input)
{
    auto whole = run_whole(input);
    std::vector<std::size_t> bytewise;
    for (std::size_t i = 1; i < input.size(); ++i)
        bytewise.push_back(i);
    auto bytes = run(input, bytewise);
    BOOST_TEST(bytes.events == whole.events, "byte at a time");
    BOOST_TEST(bytes.last_event_id == whole.last_event_id);
    BOOST_TEST((bytes.retry == whole.retry));
    for (std::size_t i = 1; i < input.size(); ++i) {
        auto two = run(input, {i});
        BOOST_TEST(two.events == whole.events, "split at " << i);
        BOOST_TEST(two.last_event_id == whole.last_event_id);
    }
    std::mt19937 rng(42);
    for (int round = 0; round < 20 && input.size() > 2; ++round) {
        std::vector<std::size_t> cuts;
        for (std::size_t i = 1; i < input.size(); ++i)
            if (rng() % 4 == 0)
                cuts.push_back(i);
        auto r = run(input, cuts);
        BOOST_TEST(r.events == whole.events, "random split round " << round);
    }
}

// A string literal with its embedded NULs.
template <std::size_t N>
std::string bytes(const char (&s)[N])
{
    return std::string(s, N - 1);
}

seen_event msg(std::string data, std::string id = "") { return {"message", std::move(data), std::move(id)}; }

// The wpt harness sends the message, then "\n\n", then one more "\n" (or only "\n").
std::string harness(std::string body, bool final_newline = true) { return body + (final_newline ? "\n\n\n" : "\n"); }

} // namespace

BOOST_AUTO_TEST_SUITE(sse)

BOOST_AUTO_TEST_CASE(wpt_format_bom)
{
    const std::string bom = "\xEF\xBB\xBF";
    auto in = harness(bom + "data:1\n\n" + bom + "data:2\n\ndata:3");
    auto o = run_whole(in);
    BOOST_TEST((o.events == std::vector<seen_event>{msg("1"), msg("3")}));
    check_split_equivalence(in);
    auto in2 = harness(bom + bom + "data:1\n\ndata:2\n\ndata:3");
    BOOST_TEST((run_whole(in2).events == std::vector<seen_event>{msg("2"), msg("3")}));
    check_split_equivalence(in2);
}

BOOST_AUTO_TEST_CASE(wpt_format_comments)
{
    std::string longc(2048, 'x');
    auto in = harness(bytes("data:1\r:\0\n:\r\ndata:2\n:") + longc + "\rdata:3\n:data:fail\r:" + longc + "\ndata:4\n",
                      false);
    BOOST_TEST((run_whole(in).events == std::vector<seen_event>{msg("1\n2\n3\n4")}));
    check_split_equivalence(in);
}

BOOST_AUTO_TEST_CASE(wpt_format_data_before_final_empty_line)
{
    auto in = harness("retry:1000\ndata:test1\n\nid:test\ndata:test2", false);
    auto o = run_whole(in);
    BOOST_TEST((o.events == std::vector<seen_event>{msg("test1")}));
    BOOST_TEST(o.last_event_id == ""); // the unterminated event's id never reached the source
    BOOST_TEST(o.retry.value_or(0) == 1000u);
    check_split_equivalence(in);
}

BOOST_AUTO_TEST_CASE(wpt_format_field_data)
{
    auto in = harness("data:\n\ndata\ndata\n\ndata:test");
    BOOST_TEST((run_whole(in).events == std::vector<seen_event>{msg(""), msg("\n"), msg("test")}));
    check_split_equivalence(in);
}

BOOST_AUTO_TEST_CASE(wpt_format_field_event)
{
    auto in = harness("event:test\ndata:x\n\ndata:x");
    BOOST_TEST((run_whole(in).events == std::vector<seen_event>{{"test", "x", ""}, msg("x")}));
    auto empty = harness("event: \ndata:data");
    BOOST_TEST((run_whole(empty).events == std::vector<seen_event>{msg("data")}));
    check_split_equivalence(in);
}

BOOST_AUTO_TEST_CASE(wpt_format_field_id)
{
    // Persists across events, changes with a new id, resets on an empty one; non-ASCII kept.
    auto in = std::string("id: \xE2\x80\xA6x\ndata:a\n\ndata:b\n\nid:2\ndata:c\n\nid\ndata:d\n\n");
    auto o = run_whole(in);
    BOOST_TEST((o.events == std::vector<seen_event>{msg("a", "\xE2\x80\xA6x"), msg("b", "\xE2\x80\xA6x"),
                                                      msg("c", "2"), msg("d", "")}));
    // An id with NUL is ignored.
    auto nul = bytes("id:1\ndata:a\n\nid:x\0y\ndata:b\n\n");
    BOOST_TEST((run_whole(nul).events == std::vector<seen_event>{msg("a", "1"), msg("b", "1")}));
    // The id buffer reaches the source at a dispatch even when no event fires.
    auto no_event = std::string("id:7\n\n");
    auto r = run_whole(no_event);
    BOOST_TEST(r.events.empty());
    BOOST_TEST(r.last_event_id == "7");
    check_split_equivalence(in);
    check_split_equivalence(nul);
}

BOOST_AUTO_TEST_CASE(wpt_format_field_parsing)
{
    auto in = harness(bytes("data:\0\ndata:  2\rData:1\ndata\0:2\ndata:1\r\0data:4\nda-ta:3\rdata_5\ndata:3\rdata:\r\n data:32\ndata:4\n"),
                      false);
    BOOST_TEST((run_whole(in).events == std::vector<seen_event>{msg(bytes("\0\n 2\n1\n3\n\n4"))}));
    check_split_equivalence(in);
}

BOOST_AUTO_TEST_CASE(wpt_format_field_unknown_and_event_data)
{
    auto in = harness("data:test\n data\ndata\nfoobar:xxx\njustsometext\n:thisisacommentyay\ndata:test");
    BOOST_TEST((run_whole(in).events == std::vector<seen_event>{msg("test\n\ntest")}));
    auto ed = std::string("data:msg\ndata: msg\n\n:\nfalsefield:msg\n\nfalsefield:msg\nData:data\n\ndata\n\ndata:end\n\n");
    BOOST_TEST((run_whole(ed).events == std::vector<seen_event>{msg("msg\nmsg"), msg(""), msg("end")}));
    check_split_equivalence(in);
    check_split_equivalence(ed);
}

BOOST_AUTO_TEST_CASE(wpt_format_field_retry)
{
    BOOST_TEST(run_whole(harness("retry:02000\ndata:x")).retry.value_or(0) == 2000u);
    auto bogus = run_whole(harness("retry:2000\nretry:1000x\ndata:x"));
    BOOST_TEST(bogus.retry.value_or(0) == 2000u);
    auto empty = run_whole(harness("retry\ndata:test"));
    BOOST_TEST(!empty.retry.has_value());
    BOOST_TEST((empty.events == std::vector<seen_event>{msg("test")}));
}

BOOST_AUTO_TEST_CASE(wpt_format_leading_space_newlines_null)
{
    auto ls = harness("data:\ttest\rdata: \ndata:test");
    BOOST_TEST((run_whole(ls).events == std::vector<seen_event>{msg("\ttest\n\ntest")}));
    auto nl = harness("data:test\r\ndata\ndata:test\r\n\r", false);
    BOOST_TEST((run_whole(nl).events == std::vector<seen_event>{msg("test\n\ntest")}));
    auto nul = bytes("data:\0\n\n");
    BOOST_TEST((run_whole(nul).events == std::vector<seen_event>{msg(bytes("\0"))}));
    check_split_equivalence(ls);
    check_split_equivalence(nl);
}

BOOST_AUTO_TEST_CASE(cr_at_the_end_of_a_feed_finishes_the_line_at_once)
{
    majordomo::sse::parser p;
    boost::system::error_code ec;
    std::string_view a = "data:x\r\r";
    p.feed(a, ec);
    BOOST_TEST(p.has_event()); // dispatched without waiting for a possible LF
    BOOST_TEST(p.current().data == "x");
    // The LF right after the CR is dropped, not taken for a blank line.
    std::string_view b = "\ndata:y\r";
    std::size_t n = p.feed(b, ec);
    BOOST_TEST(n == b.size());
    BOOST_TEST(!p.has_event());
    p.feed("\n\n", ec);
    BOOST_TEST(p.has_event());
    BOOST_TEST(p.current().data == "y");
}

BOOST_AUTO_TEST_CASE(llama_server_streams)
{
    // Pings before and between data, several events per read, [DONE] with and without the space.
    auto in = std::string(":\n\n: ping\n\ndata: {\"a\":1}\n\ndata: {\"b\":2}\n\n:\n\ndata:[DONE]\n\ndata: [DONE]\n\n");
    BOOST_TEST((run_whole(in).events ==
                std::vector<seen_event>{msg("{\"a\":1}"), msg("{\"b\":2}"), msg("[DONE]"), msg("[DONE]")}));
    check_split_equivalence(in);
    // The old llama.cpp error field is not data; the JSON appended raw by llama-swap is not an event.
    auto odd = std::string("error: {\"x\":1}\n\n{\"src\":\"llama-swap\",\"error\":\"boom\"}");
    BOOST_TEST(run_whole(odd).events.empty());
}

BOOST_AUTO_TEST_CASE(feed_stops_after_each_event)
{
    majordomo::sse::parser p;
    boost::system::error_code ec;
    std::string_view in = "data:1\n\ndata:2\n\n";
    auto n = p.feed(in, ec);
    BOOST_TEST(n == 8u);
    BOOST_TEST(p.current().data == "1");
    n = p.feed(in.substr(8), ec);
    BOOST_TEST(n == 8u);
    BOOST_TEST(p.current().data == "2");
    n = p.feed("", ec);
    BOOST_TEST(!p.has_event());
}

BOOST_AUTO_TEST_CASE(long_data_line_under_a_larger_limit)
{
    std::string big(4 * 1024 * 1024, 'A');
    auto o = run(std::string("data: ") + big + "\n\n", {3, 1000, 2 * 1024 * 1024});
    BOOST_REQUIRE(o.events.size() == 1u);
    BOOST_TEST(o.events[0].data.size() == big.size());
}

BOOST_AUTO_TEST_CASE(event_too_large_and_failed_until_reset)
{
    majordomo::sse::parser_params small;
    small.max_event_size = 64;
    auto o = run_whole("data: " + std::string(100, 'x') + "\n\n", small);
    BOOST_TEST(o.ec == majordomo::sse::errc::event_too_large);
    BOOST_TEST(o.events.empty());
    // Many small data lines add up too; a byte-wise feed fails the same way.
    std::string lines;
    for (int i = 0; i < 20; ++i)
        lines += "data: 0123456789\n";
    std::vector<std::size_t> cuts;
    for (std::size_t i = 1; i < lines.size(); ++i)
        cuts.push_back(i);
    BOOST_TEST(run(lines, cuts, small).ec == majordomo::sse::errc::event_too_large);

    majordomo::sse::parser p(small);
    boost::system::error_code ec;
    std::string over = "data: " + std::string(100, 'x');
    p.feed(over, ec);
    BOOST_TEST(ec == majordomo::sse::errc::event_too_large);
    p.feed("\n\ndata:ok\n\n", ec);
    BOOST_TEST(ec == majordomo::sse::errc::event_too_large);
    p.reset();
    p.feed("data:ok\n\n", ec);
    BOOST_TEST(!ec);
    BOOST_TEST(p.current().data == "ok");
    BOOST_TEST(ec.message().empty() == false);
}

BOOST_AUTO_TEST_SUITE_END()

// The SSE parser against WHATWG HTML §9.2.6 and the wpt eventsource/format-* tests
// (shared/reference/wire-formats.md §5). Every input also goes through check_splits(): cutting the
// bytes anywhere must not change what comes out.
#include <majordomo/sse/parser.hpp>

#include <boost/test/unit_test.hpp>

#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <ostream>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace {

namespace mss = majordomo::sse;

struct ev {
    std::string type;
    std::string data;
    std::string id;
    bool operator==(const ev&) const = default;
};

void print_escaped(std::ostream& os, std::string_view s)
{
    static constexpr char hex[] = "0123456789abcdef";
    os << '"';
    for (const char c : s) {
        const auto u = static_cast<unsigned char>(c);
        if (c == '\n')
            os << "\\n";
        else if (c == '\r')
            os << "\\r";
        else if (c == '"' || c == '\\')
            os << '\\' << c;
        else if (u < 0x20 || u >= 0x7f)
            os << "\\x" << hex[u >> 4] << hex[u & 15];
        else
            os << c;
    }
    os << '"';
}

std::ostream& operator<<(std::ostream& os, const ev& e)
{
    os << "{type=";
    print_escaped(os, e.type);
    os << " data=";
    print_escaped(os, e.data);
    os << " id=";
    print_escaped(os, e.id);
    return os << '}';
}

ev msg(std::string data, std::string id = "") { return {"message", std::move(data), std::move(id)}; }
ev typed(std::string type, std::string data, std::string id = "")
{
    return {std::move(type), std::move(data), std::move(id)};
}

using events = std::vector<ev>;

// What a whole run produced; retry as text so that it compares and prints.
struct outcome {
    events evs;
    std::string last_event_id;
    std::string retry = "none";
    boost::system::error_code ec;
    std::string contract; // empty, or how feed() broke its contract
    bool operator==(const outcome&) const = default;
};

std::ostream& operator<<(std::ostream& os, const outcome& o)
{
    os << "[";
    for (const auto& e : o.evs)
        os << e << ' ';
    os << "] last_event_id=";
    print_escaped(os, o.last_event_id);
    os << " retry=" << o.retry << " ec=" << o.ec.message();
    if (!o.contract.empty())
        os << " contract broken: " << o.contract;
    return os;
}

std::string retry_text(const mss::parser& p) { return p.retry() ? std::to_string(*p.retry()) : "none"; }

// Feeds one piece the way a caller must: again and again, taking each event, until it is used up.
// The piece is a copy scribbled over afterwards, as a reused read buffer is: an event of a
// borrowing parser that still pointed into it would come out wrong.
void feed_piece(mss::parser& p, outcome& o, std::string_view original)
{
    std::string buffer(original);
    struct scribble {
        std::string& b;
        ~scribble() { b.assign(b.size(), 'Z'); }
    } after{buffer};
    std::string_view piece = buffer;
    while (!piece.empty() && !o.ec) {
        const std::size_t n = p.feed(piece, o.ec);
        if (n > piece.size()) {
            o.contract = "consumed more than it was given";
            return;
        }
        if (p.has_event()) {
            if (o.ec)
                o.contract = "an event together with an error";
            if (n == 0)
                o.contract = "an event from no bytes";
            const mss::event e = p.current();
            o.evs.push_back({std::string(e.type), std::string(e.data), std::string(e.id)});
            if (e.id != p.last_event_id())
                o.contract = "the event's id is not last_event_id()";
        } else if (!o.ec && n != piece.size()) {
            o.contract = "stopped early without an event";
        }
        piece.remove_prefix(n);
    }
}

// Where to cut stream `i` of `size` bytes; increasing offsets inside (0, size).
using cutter = std::function<std::vector<std::size_t>(std::size_t i, std::size_t size)>;


// Feeds each stream in turn, as a reconnecting client would, with finish() at each EOF.
outcome run(const std::vector<std::string>& streams, const cutter& cut, mss::parser_params params = {})
{
    mss::parser p(params);
    outcome o;
    for (std::size_t i = 0; i < streams.size(); ++i) {
        const std::string_view s = streams[i];
        std::size_t start = 0;
        for (const std::size_t c : cut(i, s.size())) {
            feed_piece(p, o, s.substr(start, c - start));
            start = c;
        }
        feed_piece(p, o, s.substr(start));
        p.finish();
        if (p.has_event())
            o.contract = "an event after finish()";
    }
    o.last_event_id = std::string(p.last_event_id());
    o.retry = retry_text(p);
    return o;
}

std::vector<std::size_t> no_cuts(std::size_t, std::size_t) { return {}; }

std::vector<std::size_t> every_byte(std::size_t, std::size_t size)
{
    std::vector<std::size_t> cuts;
    for (std::size_t k = 1; k < size; ++k)
        cuts.push_back(k);
    return cuts;
}

outcome run_whole(const std::vector<std::string>& streams, mss::parser_params params = {})
{
    return run(streams, no_cuts, params);
}

outcome run_whole(const std::string& stream, mss::parser_params params = {})
{
    return run(std::vector<std::string>{stream}, no_cuts, params);
}

// Feeding the streams whole, a byte at a time, cut in two at every offset, or cut at random (fixed
// seed) must give the same events, last event ID, retry and error. exhaustive = false skips the
// quadratic two-way cuts for multi-megabyte inputs.
void check_splits_with(const std::vector<std::string>& streams, mss::parser_params params, bool exhaustive);

// Both ways of handing events over: copied, and borrowed from the input where whole.
void check_splits(const std::vector<std::string>& streams, mss::parser_params params = {},
                  bool exhaustive = true)
{
    params.borrow_input = false;
    check_splits_with(streams, params, exhaustive);
    params.borrow_input = true;
    check_splits_with(streams, params, exhaustive);
}

void check_splits_with(const std::vector<std::string>& streams, mss::parser_params params, bool exhaustive)
{
    const outcome whole = run(streams, no_cuts, params);
    BOOST_TEST(whole.contract == "");

    const outcome bytewise = run(streams, every_byte, params);
    BOOST_TEST(bytewise == whole, "a byte at a time:\n  got  " << bytewise << "\n  want " << whole);

    if (exhaustive) {
        for (std::size_t i = 0; i < streams.size(); ++i) {
            for (std::size_t k = 1; k < streams[i].size(); ++k) {
                const outcome two = run(
                    streams,
                    [&](std::size_t j, std::size_t) {
                        return j == i ? std::vector<std::size_t>{k} : std::vector<std::size_t>{};
                    },
                    params);
                BOOST_TEST(two == whole,
                           "stream " << i << " cut at " << k << ":\n  got  " << two << "\n  want " << whole);
            }
        }
    }

    std::mt19937 rng(20240611);
    static constexpr std::size_t small_pieces[] = {2, 3, 5, 8, 17, 64, 300, 5000};
    static constexpr std::size_t large_pieces[] = {1000, 16384, 65536, 1 << 20};
    const int rounds = exhaustive ? 32 : 8;
    for (int round = 0; round < rounds; ++round) {
        const std::size_t longest = exhaustive ? small_pieces[round % std::size(small_pieces)]
                                               : large_pieces[round % std::size(large_pieces)];
        std::vector<std::vector<std::size_t>> cuts;
        for (const auto& s : streams) {
            std::vector<std::size_t> c;
            for (std::size_t k = 1 + rng() % longest; k < s.size(); k += 1 + rng() % longest)
                c.push_back(k);
            cuts.push_back(std::move(c));
        }
        const outcome r = run(streams, [&](std::size_t j, std::size_t) { return cuts[j]; }, params);
        BOOST_TEST(r == whole, "random round " << round << ":\n  got  " << r << "\n  want " << whole);
    }
}

void check_splits(const std::string& stream, mss::parser_params params = {}, bool exhaustive = true)
{
    check_splits(std::vector<std::string>{stream}, params, exhaustive);
}

// The streams give `want`, then `last_event_id` and `retry`, without error, however they are cut.
void expect_streams(const std::vector<std::string>& streams, const events& want,
                    std::string_view last_event_id = "", std::string_view retry = "none")
{
    const outcome o = run_whole(streams);
    BOOST_TEST(o.contract == "");
    BOOST_TEST(!o.ec, o.ec.message());
    BOOST_TEST(o.evs == want, boost::test_tools::per_element());
    BOOST_TEST(o.last_event_id == last_event_id);
    BOOST_TEST(o.retry == retry);
    check_splits(streams);
}

void expect(const std::string& stream, const events& want, std::string_view last_event_id = "",
            std::string_view retry = "none")
{
    expect_streams(std::vector<std::string>{stream}, want, last_event_id, retry);
}

// The stream fails with event_too_large after `want`, however it is cut.
void expect_too_large(const std::string& stream, std::size_t max_event_size, const events& want = {},
                      bool exhaustive = true)
{
    mss::parser_params params;
    params.max_event_size = max_event_size;
    const outcome o = run_whole(stream, params);
    BOOST_TEST(o.ec == mss::make_error_code(mss::errc::event_too_large));
    BOOST_TEST(o.evs == want, boost::test_tools::per_element());
    check_splits(stream, params, exhaustive);
}

void expect_fits(const std::string& stream, std::size_t max_event_size, const events& want,
                 bool exhaustive = true)
{
    mss::parser_params params;
    params.max_event_size = max_event_size;
    const outcome o = run_whole(stream, params);
    BOOST_TEST(!o.ec, o.ec.message());
    BOOST_TEST(o.evs == want, boost::test_tools::per_element());
    check_splits(stream, params, exhaustive);
}

// A literal with its embedded NULs.
template <std::size_t N>
std::string bin(const char (&s)[N])
{
    return std::string(s, N - 1);
}

// wpt's message.py/.php sends the message, then "\n\n", then one more "\n"; with newline=none only "\n".
std::string harness(std::string_view message) { return std::string(message) + "\n\n\n"; }
std::string harness_no_final_newline(std::string_view message) { return std::string(message) + "\n"; }

const std::string bom = "\xEF\xBB\xBF";
const std::string ellipsis = "\xE2\x80\xA6"; // U+2026, wpt's favourite non-ASCII id

// Feeds `input` once and returns the bytes consumed, failing the test on an error.
std::size_t feed_ok(mss::parser& p, std::string_view input)
{
    boost::system::error_code ec;
    const std::size_t n = p.feed(input, ec);
    BOOST_TEST(!ec, ec.message());
    return n;
}

} // namespace

BOOST_AUTO_TEST_SUITE(sse)

BOOST_AUTO_TEST_SUITE(category)

BOOST_AUTO_TEST_CASE(name_value_and_actionable_message)
{
    const boost::system::error_code ec = mss::errc::event_too_large;
    BOOST_TEST((ec.category() == mss::get_sse_category()));
    BOOST_TEST(std::string_view(mss::get_sse_category().name()) == "majordomo.sse");
    BOOST_TEST(ec.value() == 1);
    const std::string m = ec.message();
    BOOST_TEST(m.find("raise parser_params::max_event_size") != std::string::npos, m);
    BOOST_TEST(mss::get_sse_category().message(99) == "unknown majordomo sse error");
}

BOOST_AUTO_TEST_SUITE_END()

// §5.1 rule 1: bytes are UTF-8; one leading BOM is stripped.
BOOST_AUTO_TEST_SUITE(decoding)

BOOST_AUTO_TEST_CASE(utf8_passes_through_in_every_field)
{
    const std::string emoji = "\xF0\x9F\x98\x80";
    expect("event:" + emoji + "\nid:" + ellipsis + "\ndata:ok" + ellipsis + emoji + "\n\n",
           {typed(emoji, "ok" + ellipsis + emoji, ellipsis)}, ellipsis);
}

BOOST_AUTO_TEST_CASE(invalid_utf8_is_kept_as_bytes)
{
    // No U+FFFD replacement here: the bytes go to the JSON decoder, which judges them.
    expect("data:\xFF\xFE\xC3\n\n", {msg("\xFF\xFE\xC3")});
}

BOOST_AUTO_TEST_CASE(leading_bom_is_stripped)
{
    expect(bom + "data:x\n\n", {msg("x")});
    expect(bom + "event:e\ndata:x\n\n", {typed("e", "x")});
    expect(bom + ":comment\ndata:x\n\n", {msg("x")});
    expect(bom + "\ndata:x\n\n", {msg("x")});
}

BOOST_AUTO_TEST_CASE(a_second_bom_poisons_the_field_name)
{
    expect(bom + bom + "data:x\n\ndata:y\n\n", {msg("y")});
}

BOOST_AUTO_TEST_CASE(a_bom_after_the_start_is_not_stripped)
{
    expect("data:1\n\n" + bom + "data:2\n\ndata:3\n\n", {msg("1"), msg("3")});
    expect("data:a" + bom + "\n\n", {msg("a" + bom)});
    expect(":\n" + bom + "data:x\n\n", {});
}

BOOST_AUTO_TEST_CASE(a_partial_bom_belongs_to_the_first_line)
{
    expect("\xEF\xBB" "data:x\n\n", {});
    expect("\xEF" "data:x\n\n", {});
    expect("\xEF\xBB\xBE" "data:x\n\n", {});
    expect("\xEF\xBB\ndata:x\n\n", {msg("x")});
    expect("\xEF\n\n", {});
}

BOOST_AUTO_TEST_CASE(a_bom_split_across_feeds_is_stripped)
{
    mss::parser p;
    BOOST_TEST(feed_ok(p, "\xEF") == 1u);
    BOOST_TEST(feed_ok(p, "\xBB") == 1u);
    BOOST_TEST(feed_ok(p, "\xBF" "da") == 3u);
    BOOST_TEST(feed_ok(p, "ta:x\n\n") == 6u);
    BOOST_REQUIRE(p.has_event());
    BOOST_TEST(p.current().data == "x");
}

BOOST_AUTO_TEST_CASE(each_stream_may_begin_with_a_bom)
{
    expect_streams({bom + "data:1\n\n", bom + "data:2\n\n", bom}, {msg("1"), msg("2")});
    expect_streams({bom, "data:1\n\n"}, {msg("1")});
}

BOOST_AUTO_TEST_SUITE_END()

// §5.1 rule 2: CRLF, LF or CR, mixed freely; a CR ends its line at once.
BOOST_AUTO_TEST_SUITE(line_terminators)

BOOST_AUTO_TEST_CASE(lf_cr_and_crlf_mix)
{
    expect("data:a\ndata:b\rdata:c\r\ndata:d\n\n", {msg("a\nb\nc\nd")});
    expect("data:x\r\r", {msg("x")});
    expect("data:x\r\n\r\n", {msg("x")});
    expect("data:x\n\r", {msg("x")});
    expect("data:x\r\n", {});
    expect("data:x\r\n\n", {msg("x")});
    expect("data:a\r\rdata:b\n\ndata:c\r\n\r\n", {msg("a"), msg("b"), msg("c")});
}

BOOST_AUTO_TEST_CASE(crlf_is_one_terminator_but_lfcr_is_two)
{
    expect("data:a\r\ndata:b\r\n\r\n", {msg("a\nb")});
    expect("data:a\n\rdata:b\n\n", {msg("a"), msg("b")});
}

BOOST_AUTO_TEST_CASE(only_one_lf_after_a_cr_is_dropped)
{
    expect("data:a\r\n\ndata:b\r\n\n", {msg("a"), msg("b")});
    expect("\r\n\r\n\r\ndata:a\r\n\r\n", {msg("a")});
}

BOOST_AUTO_TEST_CASE(cr_dispatches_without_waiting_for_the_next_byte)
{
    mss::parser p;
    BOOST_TEST(feed_ok(p, "data:x\n\r") == 8u);
    BOOST_REQUIRE(p.has_event());
    BOOST_TEST(p.current().data == "x");
    // The LF after that CR is dropped, not taken for another blank line.
    BOOST_TEST(feed_ok(p, "\ndata:y\n") == 8u);
    BOOST_TEST(!p.has_event());
    BOOST_TEST(feed_ok(p, "\n") == 1u);
    BOOST_REQUIRE(p.has_event());
    BOOST_TEST(p.current().data == "y");

    mss::parser q;
    BOOST_TEST(feed_ok(q, "data:x\r") == 7u);
    BOOST_TEST(!q.has_event());
    BOOST_TEST(feed_ok(q, "\r") == 1u);
    BOOST_REQUIRE(q.has_event());
    BOOST_TEST(q.current().data == "x");
    BOOST_TEST(feed_ok(q, "\n") == 1u);
    BOOST_TEST(!q.has_event());
}

BOOST_AUTO_TEST_CASE(lf_at_the_start_of_the_next_feed_is_dropped)
{
    // Were that LF a blank line, "a" would be dispatched alone.
    mss::parser p;
    BOOST_TEST(feed_ok(p, "data:a\r") == 7u);
    BOOST_TEST(feed_ok(p, "\n") == 1u);
    BOOST_TEST(!p.has_event());
    BOOST_TEST(feed_ok(p, "data:b\r") == 7u);
    BOOST_TEST(feed_ok(p, "\ndata:c\n\n") == 9u);
    BOOST_REQUIRE(p.has_event());
    BOOST_TEST(p.current().data == "a\nb\nc");
}

BOOST_AUTO_TEST_CASE(only_an_immediately_following_lf_is_dropped)
{
    mss::parser p;
    feed_ok(p, "data:a\r");
    feed_ok(p, "data:b\r");
    BOOST_TEST(feed_ok(p, "\r") == 1u);
    BOOST_REQUIRE(p.has_event());
    BOOST_TEST(p.current().data == "a\nb");
}

BOOST_AUTO_TEST_CASE(a_cr_at_eof_does_not_eat_the_next_streams_lf)
{
    expect_streams({"data:a\r", "\ndata:b\n\n"}, {msg("b")});
}

BOOST_AUTO_TEST_SUITE_END()

// §5.1 rule 3: blank lines, comments, name:value, name alone.
BOOST_AUTO_TEST_SUITE(lines)

BOOST_AUTO_TEST_CASE(a_blank_line_dispatches)
{
    expect("data:a\n\n", {msg("a")});
    expect("data:a\n\ndata:b\n\n", {msg("a"), msg("b")});
    expect("\n\n\n\ndata:x\n\n\n\n", {msg("x")});
}

BOOST_AUTO_TEST_CASE(comments_are_ignored)
{
    expect(":\n", {});
    expect(":\n\n", {});
    expect(": ping\r\n\r\n", {});
    expect(":data:x\n\n", {});
    expect(bin(":\0\rdata:a\n:x\r\n:\n\n"), {msg("a")});
    expect("data:a\n:c\ndata:b\n: c\r\n\n", {msg("a\nb")});
    expect(":" + std::string(5000, 'c') + "\ndata:a\n\n", {msg("a")});
    expect(":id:1\n:retry:5\n:event:e\ndata:a\n\n", {msg("a")});
}

BOOST_AUTO_TEST_CASE(the_name_ends_at_the_first_colon)
{
    expect("data:a:b\n\n", {msg("a:b")});
    expect("data::\n\n", {msg(":")});
    expect("data: :x\n\n", {msg(":x")});
    expect("event:a:b\ndata:x\n\n", {typed("a:b", "x")});
    expect("id:1:2\n\n", {}, "1:2");
}

BOOST_AUTO_TEST_CASE(exactly_one_leading_space_is_stripped)
{
    expect("data: x\n\n", {msg("x")});
    expect("data:  x\n\n", {msg(" x")});
    expect("data:\tx\n\n", {msg("\tx")});
    expect("data: \tx\n\n", {msg("\tx")});
    expect("data:x \n\n", {msg("x ")});
    expect("data: \n\n", {msg("")});
    expect("data:   \n\n", {msg("  ")});
    expect("event:  e\ndata:x\n\n", {typed(" e", "x")});
    expect("id:  7\n\n", {}, " 7");
}

BOOST_AUTO_TEST_CASE(no_colon_means_an_empty_value)
{
    expect("data\n\n", {msg("")});
    expect("data\ndata\n\n", {msg("\n")});
    expect("event:e\ndata:x\n\nevent\ndata:y\n\n", {typed("e", "x"), msg("y")});
    expect("id:1\n\nid\n\n", {}, "");
    expect("retry\n\n", {});
}

BOOST_AUTO_TEST_SUITE_END()

// §5.1 rule 4: names are compared exactly.
BOOST_AUTO_TEST_SUITE(field_names)

BOOST_AUTO_TEST_CASE(names_are_case_sensitive_and_exact)
{
    for (const std::string& name : {std::string("Data"), std::string("DATA"), std::string(" data"),
                                   std::string("data "), bin("data\0"), std::string("da-ta"),
                                   std::string("data_5"), std::string("datax"), std::string("dat"),
                                   std::string("\tdata")}) {
        BOOST_TEST_CONTEXT("name " << name)
        {
            expect(name + ":x\n\n", {});
            expect(name + "\n\n", {});
        }
    }
    expect("Event:e\ndata:x\n\n", {msg("x")});
    expect("ID:1\nId:2\niD:3\ndata:x\n\n", {msg("x")});
    expect("Retry:5\nRETRY:6\n\n", {});
}

BOOST_AUTO_TEST_CASE(unknown_fields_are_ignored)
{
    expect("foo:bar\ndata:x\nbaz\nfoo\n\n", {msg("x")});
    expect("foo:bar\n\n", {});
}

BOOST_AUTO_TEST_SUITE_END()

// §5.1 rule 5: event, data, id, retry.
BOOST_AUTO_TEST_SUITE(fields)

BOOST_AUTO_TEST_CASE(event_sets_the_type)
{
    expect("event:add\ndata:x\n\n", {typed("add", "x")});
    expect("event: a b\ndata:x\n\n", {typed("a b", "x")});
    expect("event:a\nevent:b\ndata:x\n\n", {typed("b", "x")});
    expect("data:x\nevent:late\n\n", {typed("late", "x")});
}

BOOST_AUTO_TEST_CASE(an_empty_type_means_message)
{
    expect("event:\ndata:x\n\n", {msg("x")});
    expect("event: \ndata:x\n\n", {msg("x")});
    expect("event\ndata:x\n\n", {msg("x")});
    expect("event:a\nevent:\ndata:x\n\n", {msg("x")});
}

BOOST_AUTO_TEST_CASE(data_lines_join_with_lf)
{
    expect("data:a\ndata:b\ndata:c\n\n", {msg("a\nb\nc")});
    expect("data:a\ndata:\n\n", {msg("a\n")});
    expect("data:\ndata:a\n\n", {msg("\na")});
    expect("data:\ndata:\ndata:\n\n", {msg("\n\n")});
}

BOOST_AUTO_TEST_CASE(id_persists_changes_and_resets)
{
    expect("id:1\ndata:a\n\ndata:b\n\nid:2\ndata:c\n\nid:\ndata:d\n\nid:3\ndata:e\n\nid\ndata:f\n\n",
           {msg("a", "1"), msg("b", "1"), msg("c", "2"), msg("d"), msg("e", "3"), msg("f")});
    expect("data:a\nid:late\n\n", {msg("a", "late")}, "late");
    expect("id:1\nid:2\ndata:a\n\n", {msg("a", "2")}, "2");
}

BOOST_AUTO_TEST_CASE(an_id_containing_nul_is_ignored)
{
    expect(bin("id:1\ndata:a\n\nid:x\0y\ndata:b\n\nid:\0\ndata:c\n\n"),
           {msg("a", "1"), msg("b", "1"), msg("c", "1")}, "1");
    expect(bin("id:\0\n\n"), {}, "");
}

BOOST_AUTO_TEST_CASE(retry_takes_only_digits)
{
    expect("retry:1500\n", {}, "", "1500");
    expect("retry:02000\n", {}, "", "2000");
    expect("retry:0\n", {}, "", "0");
    expect("retry: 5\n", {}, "", "5");
    expect("retry:7\nretry:8\n", {}, "", "8");
    expect("retry:18446744073709551615\n", {}, "", "18446744073709551615");
    for (const char* bogus : {"retry:", "retry", "retry:  5", "retry:-1", "retry:+1", "retry:1.5",
                              "retry:1e3", "retry:1000x", "retry:x1000", "retry:5 ", "retry:\t5",
                              "retry:0x10", "retry:18446744073709551616", "retry:99999999999999999999999"}) {
        BOOST_TEST_CONTEXT("line " << bogus)
        {
            expect(std::string(bogus) + "\n", {}, "", "none");
            expect("retry:42\n" + std::string(bogus) + "\n", {}, "", "42");
        }
    }
}

BOOST_AUTO_TEST_SUITE_END()

// §5.1 rule 6: what a blank line does.
BOOST_AUTO_TEST_SUITE(dispatch)

BOOST_AUTO_TEST_CASE(the_id_reaches_the_source_even_without_an_event)
{
    expect("id:7\n\n", {}, "7");
    expect("id:7\n\nid:8\n", {}, "7");
}

BOOST_AUTO_TEST_CASE(no_data_no_event)
{
    // Unlike openai-python, event/id/retry alone dispatch nothing.
    expect("event:e\nretry:5\nid:1\n\n", {}, "1", "5");
    expect("event:e\n\n", {});
}

BOOST_AUTO_TEST_CASE(type_and_data_are_cleared_after_each_blank_line)
{
    expect("data:a\nevent:t\n\ndata:b\n\n", {typed("t", "a"), msg("b")});
    expect("event:t\n\ndata:b\n\n", {msg("b")});
}

BOOST_AUTO_TEST_CASE(the_event_carries_the_id_buffer_at_dispatch)
{
    mss::parser p;
    feed_ok(p, "id:1\ndata:a\n\n");
    BOOST_REQUIRE(p.has_event());
    BOOST_TEST(p.current().id == "1");
    BOOST_TEST(p.last_event_id() == "1");
    feed_ok(p, "id:2\ndata:b\n");
    BOOST_TEST(!p.has_event());
    BOOST_TEST(p.last_event_id() == "1"); // the buffer is copied only at dispatch
    feed_ok(p, "\n");
    BOOST_REQUIRE(p.has_event());
    BOOST_TEST(p.current().id == "2");
}

BOOST_AUTO_TEST_SUITE_END()

// §5.1 rule 7: EOF.
BOOST_AUTO_TEST_SUITE(eof)

BOOST_AUTO_TEST_CASE(an_unterminated_event_is_discarded)
{
    expect("data:x", {});
    expect("data:x\n", {});
    expect("data:x\r", {});
    expect("data:a\n\ndata:b\n", {msg("a")});
    expect("retry:750", {}); // a partial line is never parsed
}

BOOST_AUTO_TEST_CASE(its_id_never_reaches_the_source)
{
    expect("id:1\ndata:a\n\nid:2\ndata:b\n", {msg("a", "1")}, "1");
    // After a reconnect the discarded id is gone too (wpt format-data-before-final-empty-line).
    expect_streams({"id:1\ndata:a\n\nid:2\ndata:b\n", "data:c\n\n"}, {msg("a", "1"), msg("c", "1")}, "1");
}

BOOST_AUTO_TEST_CASE(retry_applies_without_a_dispatch)
{
    expect("retry:750\n", {}, "", "750");
    expect("retry:750\ndata:x\n", {}, "", "750");
}

BOOST_AUTO_TEST_CASE(the_next_stream_starts_clean)
{
    expect_streams({"data:a\nevent:t\nid:9\n", "data:b\n\n"}, {msg("b")});
    expect_streams({"data:a", "\n\ndata:b\n\n"}, {msg("b")});
    expect_streams({":long comm", "ent\ndata:b\n\n"}, {msg("b")}); // "ent" is a new, unknown field
}

BOOST_AUTO_TEST_CASE(last_event_id_and_retry_survive_a_reconnect)
{
    expect_streams({"id:5\nretry:9\ndata:a\n\n", "data:b\n\n"}, {msg("a", "5"), msg("b", "5")}, "5", "9");
}

BOOST_AUTO_TEST_CASE(finish_drops_a_pending_event)
{
    mss::parser p;
    feed_ok(p, "data:a\n\n");
    BOOST_TEST(p.has_event());
    p.finish();
    BOOST_TEST(!p.has_event());
    feed_ok(p, "data:b\n");
    p.finish();
    BOOST_TEST(feed_ok(p, "\n") == 1u);
    BOOST_TEST(!p.has_event());
}

BOOST_AUTO_TEST_SUITE_END()

// §5.1 rule 8: NUL is data.
BOOST_AUTO_TEST_SUITE(null_character)

BOOST_AUTO_TEST_CASE(nul_is_kept_in_data_and_type)
{
    expect(bin("data:\0\n\n"), {msg(bin("\0"))});
    expect(bin("data:a\0b\ndata:\0\n\n"), {msg(bin("a\0b\n\0"))});
    expect(bin("event:a\0b\ndata:x\n\n"), {typed(bin("a\0b"), "x")});
}

BOOST_AUTO_TEST_SUITE_END()

// §5.2: the wpt eventsource/format-* bodies, with the harness's trailing newlines. Reconnects are
// further streams into the same parser; the MIME tests belong to the HTTP layer.
BOOST_AUTO_TEST_SUITE(wpt)

BOOST_AUTO_TEST_CASE(format_bom)
{
    expect(harness(bom + "data:1\n\n" + bom + "data:2\n\ndata:3"), {msg("1"), msg("3")});
}

BOOST_AUTO_TEST_CASE(format_bom_2)
{
    expect(harness(bom + bom + "data:1\n\ndata:2\n\ndata:3"), {msg("2"), msg("3")});
}

BOOST_AUTO_TEST_CASE(format_comments)
{
    const std::string longstring(2048, 'x');
    expect(harness_no_final_newline(bin("data:1\r:\0\n:\r\ndata:2\n:") + longstring +
                                    "\rdata:3\n:data:fail\r:" + longstring + "\ndata:4\n"),
           {msg("1\n2\n3\n4")});
}

BOOST_AUTO_TEST_CASE(format_data_before_final_empty_line)
{
    // The reconnect gets the same body; its first event is again test1, with lastEventId "".
    const std::string body = harness_no_final_newline("retry:1000\ndata:test1\n\nid:test\ndata:test2");
    expect_streams({body, body}, {msg("test1"), msg("test1")}, "", "1000");
}

BOOST_AUTO_TEST_CASE(format_field_data)
{
    expect(harness("data:\n\ndata\ndata\n\ndata:test"), {msg(""), msg("\n"), msg("test")});
}

BOOST_AUTO_TEST_CASE(format_field_event)
{
    expect(harness("event:test\ndata:x\n\ndata:x"), {typed("test", "x"), msg("x")});
}

BOOST_AUTO_TEST_CASE(format_field_event_empty)
{
    expect(harness("event: \ndata:data"), {msg("data")});
}

BOOST_AUTO_TEST_CASE(format_field_id)
{
    // resources/last-event-id.py, then its answer to the reconnect's Last-Event-ID.
    expect_streams({"id: " + ellipsis + "\nretry: 200\ndata: hello\n\n", "data: " + ellipsis + "\n\n"},
                   {msg("hello", ellipsis), msg(ellipsis, ellipsis)}, ellipsis, "200");
}

BOOST_AUTO_TEST_CASE(format_field_id_2)
{
    const std::string echo = "data: " + ellipsis + "\n\n";
    expect_streams({"id: " + ellipsis + "\nretry: 200\ndata: hello\n\n", echo, echo},
                   {msg("hello", ellipsis), msg(ellipsis, ellipsis), msg(ellipsis, ellipsis)}, ellipsis,
                   "200");
}

BOOST_AUTO_TEST_CASE(format_field_id_3)
{
    // resources/last-event-id2.py, types 1 to 3.
    expect("id: 1\ndata: 1\n\ndata:2\n\n", {msg("1", "1"), msg("2", "1")}, "1");
    expect("id: 1\ndata: 1\n\nid: 2\ndata:2\n\ndata:3\n\n", {msg("1", "1"), msg("2", "2"), msg("3", "2")},
           "2");
    expect("id: 1\ndata: 1\n\nid:\ndata:2\n\ndata:3\n\n", {msg("1", "1"), msg("2"), msg("3")}, "");
}

BOOST_AUTO_TEST_CASE(format_field_id_null)
{
    // last-event-id.py?idvalue=%00%00: the id is ignored, so the reconnect sends no Last-Event-ID
    // and gets the same body again.
    const std::string body = bin("id: \0\0\nretry: 200\ndata: hello\n\n");
    expect_streams({body, body}, {msg("hello"), msg("hello")}, "", "200");
}

BOOST_AUTO_TEST_CASE(format_field_parsing)
{
    expect(harness_no_final_newline(bin("data:\0\ndata:  2\rData:1\ndata\0:2\ndata:1\r\0data:4\n"
                                        "da-ta:3\rdata_5\ndata:3\rdata:\r\n data:32\ndata:4\n")),
           {msg(bin("\0\n 2\n1\n3\n\n4"))});
}

BOOST_AUTO_TEST_CASE(format_field_unknown)
{
    expect(harness("data:test\n data\ndata\nfoobar:xxx\njustsometext\n:thisisacommentyay\ndata:test"),
           {msg("test\n\ntest")});
}

BOOST_AUTO_TEST_CASE(format_field_retry)
{
    expect(harness("retry:02000\ndata:x"), {msg("x")}, "", "2000");
}

BOOST_AUTO_TEST_CASE(format_field_retry_bogus)
{
    expect(harness("retry:2000\nretry:1000x\ndata:x"), {msg("x")}, "", "2000");
}

BOOST_AUTO_TEST_CASE(format_field_retry_empty)
{
    expect(harness("retry\ndata:test"), {msg("test")}, "", "none");
}

BOOST_AUTO_TEST_CASE(format_leading_space)
{
    expect(harness("data:\ttest\rdata: \ndata:test"), {msg("\ttest\n\ntest")});
}

BOOST_AUTO_TEST_CASE(format_newlines)
{
    // The final CR and the harness's LF form the CRLF blank line that dispatches.
    expect(harness_no_final_newline("data:test\r\ndata\ndata:test\r\n\r"), {msg("test\n\ntest")});
}

BOOST_AUTO_TEST_CASE(format_null_character)
{
    expect(harness(bin("data:\0\n\n")), {msg(bin("\0"))});
}

BOOST_AUTO_TEST_CASE(format_utf_8)
{
    expect(harness("data:ok" + ellipsis), {msg("ok" + ellipsis)});
}

BOOST_AUTO_TEST_CASE(event_data)
{
    // resources/message2.py: a blank line after only an unknown field dispatches nothing.
    expect("data:msg\ndata: msg\n\n:\nfalsefield:msg\n\nfalsefield:msg\nData:data\n\ndata\n\ndata:end\n\n",
           {msg("msg\nmsg"), msg(""), msg("end")});
}

BOOST_AUTO_TEST_SUITE_END()

// §5.3: what llama-server, llama-swap and the network do to a stream.
BOOST_AUTO_TEST_SUITE(edges)

BOOST_AUTO_TEST_CASE(cuts_at_the_awkward_places)
{
    const std::string in = "data: caf\xC3\xA9\r\n\r\n";
    const events want = {msg("caf\xC3\xA9")};
    // Inside "data", between ':' and ' ', inside the two-byte character, between CR and LF.
    for (const std::size_t k : {2u, 5u, 10u, 12u, 14u}) {
        const outcome o = run(std::vector<std::string>{in},
                              [&](std::size_t, std::size_t) { return std::vector<std::size_t>{k}; });
        BOOST_TEST(o.evs == want, boost::test_tools::per_element());
    }
    expect(in, want);
}

BOOST_AUTO_TEST_CASE(pings_before_and_between_events)
{
    expect(":\n\n:\n\ndata: {\"a\":1}\n\n:\n\ndata: {\"b\":2}\n\n: ping\n\n:\n\n",
           {msg("{\"a\":1}"), msg("{\"b\":2}")});
    expect("data:a\n:\ndata:b\n\n", {msg("a\nb")});
}

BOOST_AUTO_TEST_CASE(several_events_in_one_feed)
{
    std::string in;
    for (int i = 0; i < 5; ++i)
        in += "data: {\"n\":" + std::to_string(i) + "}\n\n";
    in += "data: partial";
    mss::parser p;
    std::string_view rest = in;
    for (int i = 0; i < 5; ++i) {
        const std::size_t n = feed_ok(p, rest);
        BOOST_TEST(n == 15u); // exactly through the blank line
        BOOST_REQUIRE(p.has_event());
        BOOST_TEST(p.current().data == "{\"n\":" + std::to_string(i) + "}");
        rest.remove_prefix(n);
    }
    BOOST_TEST(feed_ok(p, rest) == rest.size());
    BOOST_TEST(!p.has_event());
    expect(in, {msg("{\"n\":0}"), msg("{\"n\":1}"), msg("{\"n\":2}"), msg("{\"n\":3}"), msg("{\"n\":4}")});
}

BOOST_AUTO_TEST_CASE(one_event_split_across_many_feeds)
{
    std::string payload;
    for (int i = 0; i < 1000; ++i)
        payload.push_back(static_cast<char>('a' + i % 26));
    const std::string in = "id: 42\nevent: chunk\ndata: " + payload + "\ndata: tail\n\n";
    mss::parser p;
    std::size_t pieces = 0;
    for (std::size_t at = 0; at < in.size(); at += 7) {
        const std::string_view piece = std::string_view(in).substr(at, 7);
        BOOST_TEST(!p.has_event());
        BOOST_TEST(feed_ok(p, piece) == piece.size());
        ++pieces;
    }
    BOOST_TEST(pieces > 100u);
    BOOST_REQUIRE(p.has_event());
    BOOST_TEST(p.current().type == "chunk");
    BOOST_TEST(p.current().data == payload + "\ntail");
    BOOST_TEST(p.current().id == "42");
}

BOOST_AUTO_TEST_CASE(done_markers)
{
    expect("data:[DONE]\n\n", {msg("[DONE]")});
    expect("data: [DONE]\n\n", {msg("[DONE]")});
    // The parser does not stop at [DONE]; that is the consumer's decision.
    expect("data: [DONE]\n\ndata: more\n\ngarbage", {msg("[DONE]"), msg("more")});
    // No blank line before EOF: discarded, as WHATWG says.
    expect("data: [DONE]", {});
    expect("data: [DONE]\n", {});
}

BOOST_AUTO_TEST_CASE(error_forms)
{
    // Old llama.cpp's error field is an unknown field; the new form is plain data.
    expect("error: {\"code\":500,\"message\":\"boom\"}\n\n", {});
    expect("data: {\"error\":{\"code\":500,\"message\":\"boom\"}}\n\n",
           {msg("{\"error\":{\"code\":500,\"message\":\"boom\"}}")});
}

BOOST_AUTO_TEST_CASE(llama_swap_loading_chunks_and_a_raw_error_body)
{
    const std::string loading =
        "data: {\"choices\":[{\"delta\":{\"reasoning_content\":\"llama-swap loading model: m\\n\"}}]}\n\n";
    const std::string dots = "data: {\"choices\":[{\"delta\":{\"reasoning_content\":\".\"}}]}\n\n";
    const std::string raw =
        "{\"src\":\"llama-swap\",\"error\":{\"message\":\"upstream died\",\"code\":\"bad_gateway\"}}";
    const events want = {msg(loading.substr(6, loading.size() - 8)), msg(dots.substr(6, dots.size() - 8))};
    expect(loading + dots + raw, want);
    expect(loading + dots + raw + "\n", want);
    expect(loading + dots + raw + "\n\n", want);
}

BOOST_AUTO_TEST_CASE(a_llama_server_chat_stream)
{
    std::string in;
    events want;
    auto chunk = [&](const std::string& json) {
        in += "data: " + json + "\n\n";
        want.push_back(msg(json));
    };
    chunk(R"({"choices":[{"finish_reason":null,"index":0,"delta":{"role":"assistant","content":null}}],)"
          R"("created":1700000000,"id":"chatcmpl-x","model":"m","object":"chat.completion.chunk"})");
    for (const char* tok : {"Hel", "lo", " wor", "ld", "\\n", "\\u00e9"})
        chunk(std::string(R"({"choices":[{"finish_reason":null,"index":0,"delta":{"content":")") + tok +
              R"("}}],"created":1700000000,"id":"chatcmpl-x","model":"m","object":"chat.completion.chunk"})");
    in += ":\n\n";
    chunk(R"({"choices":[],"usage":{"completion_tokens":6,"prompt_tokens":9,"total_tokens":15}})");
    chunk("[DONE]");
    expect(in, want);
}

BOOST_AUTO_TEST_CASE(a_4_mib_data_line_under_a_larger_limit)
{
    std::string big(4 * 1024 * 1024, '\0');
    static constexpr char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (std::size_t i = 0; i < big.size(); ++i)
        big[i] = b64[(i * 7 + i / 64) % 64];
    const std::string in = "data: " + big + "\n\n";

    mss::parser_params params;
    params.max_event_size = 5 * 1024 * 1024;
    const std::vector<std::size_t> cuts = {3, 1000, 2 * 1024 * 1024};
    const outcome o =
        run(std::vector<std::string>{in}, [&](std::size_t, std::size_t) { return cuts; }, params);
    BOOST_TEST(!o.ec, o.ec.message());
    BOOST_REQUIRE(o.evs.size() == 1u);
    BOOST_TEST(o.evs[0].data.size() == big.size());
    BOOST_TEST((o.evs[0].data == big)); // not element-wise: 4 Mi diagnostics would be useless
    BOOST_TEST(run_whole(in).evs.size() == 1u); // the default 16 MiB limit takes it too
    check_splits(in, params, false);
    expect_too_large(in, 4 * 1024 * 1024, {}, false);
}

BOOST_AUTO_TEST_CASE(buffers_are_reused_between_events)
{
    mss::parser p;
    const std::string first = "data: " + std::string(400, 'x') + "\n\n";
    feed_ok(p, first);
    BOOST_REQUIRE(p.has_event());
    const char* const data_at = p.current().data.data();
    for (int i = 0; i < 100; ++i) {
        const std::string next = "data: " + std::string(static_cast<std::size_t>(100 + i * 3), 'y') + "\n\n";
        feed_ok(p, next);
        BOOST_REQUIRE(p.has_event());
        // The same buffer: no allocation per event.
        BOOST_TEST(static_cast<const void*>(p.current().data.data()) == static_cast<const void*>(data_at));
    }
}

BOOST_AUTO_TEST_SUITE_END()

// parser_params::max_event_size and the failed state.
BOOST_AUTO_TEST_SUITE(limits)

BOOST_AUTO_TEST_CASE(the_default_is_16_mib)
{
    BOOST_TEST(mss::parser_params{}.max_event_size == 16u * 1024 * 1024);
}

BOOST_AUTO_TEST_CASE(one_line_over_the_limit)
{
    expect_too_large("data: " + std::string(100, 'x') + "\n\n", 64);
    expect_too_large("data:a\n\ndata: " + std::string(100, 'x') + "\n\n", 64, {msg("a")});
    expect_too_large("foo:" + std::string(100, 'x') + "\n\n", 64); // unknown fields are held while read
}

BOOST_AUTO_TEST_CASE(a_partial_line_over_the_limit_fails_before_its_end)
{
    mss::parser_params params;
    params.max_event_size = 64;
    mss::parser p(params);
    boost::system::error_code ec;
    p.feed("data: " + std::string(40, 'x'), ec);
    BOOST_TEST(!ec);
    p.feed(std::string(40, 'x'), ec);
    BOOST_TEST(ec == mss::make_error_code(mss::errc::event_too_large));
    expect_too_large("data: " + std::string(100, 'x'), 64);
}

BOOST_AUTO_TEST_CASE(exactly_at_the_limit_fits)
{
    // Held bytes when a line ends: that line + data + type + id.
    expect_fits("data:12345\n\n", 10, {msg("12345")});
    expect_too_large("data:123456\n\n", 10);
    expect_fits("data:12345\ndata:1234567\n\n", 17, {msg("12345\n1234567")});
    expect_too_large("data:12345\ndata:1234567\n\n", 16);
}

BOOST_AUTO_TEST_CASE(many_small_lines_add_up)
{
    std::string lines;
    for (int i = 0; i < 20; ++i)
        lines += "data: 0123456789\n";
    expect_too_large(lines + "\n", 64);
    std::string joined = "0123456789";
    for (int i = 1; i < 20; ++i)
        joined += "\n0123456789";
    expect_fits(lines + "\n", 1024, {msg(joined)});
}

BOOST_AUTO_TEST_CASE(type_and_id_count_and_the_id_persists)
{
    expect_too_large("id:0123456789\nevent:0123456789\ndata:x\n\n", 20);
    // The id stays held across events, so it counts against the next one too.
    expect_too_large("id:0123456789\n\ndata:12345\n\n", 16);
    expect_fits("id:0123456789\n\ndata:12345\n\n", 20, {msg("12345", "0123456789")});
}

BOOST_AUTO_TEST_CASE(comments_are_not_held)
{
    expect_fits(":" + std::string(1024 * 1024, 'c') + "\ndata:x\n\n", 16, {msg("x")}, false);
}

BOOST_AUTO_TEST_CASE(the_parser_stays_failed_until_reset)
{
    mss::parser_params params;
    params.max_event_size = 32;
    mss::parser p(params);
    boost::system::error_code ec;
    feed_ok(p, "id:7\nretry:99\ndata:ok\n\n");
    BOOST_REQUIRE(p.has_event());
    p.feed("data: " + std::string(100, 'x') + "\n\n", ec);
    BOOST_TEST(ec == mss::make_error_code(mss::errc::event_too_large));
    BOOST_TEST(!p.has_event());

    BOOST_TEST(p.feed("data:ok\n\n", ec) == 0u);
    BOOST_TEST(ec == mss::make_error_code(mss::errc::event_too_large));
    BOOST_TEST(!p.has_event());
    p.finish();
    BOOST_TEST(p.feed("data:ok\n\n", ec) == 0u);
    BOOST_TEST(ec == mss::make_error_code(mss::errc::event_too_large));

    p.reset();
    BOOST_TEST(p.last_event_id() == "");
    BOOST_TEST(!p.retry().has_value());
    BOOST_TEST(p.feed(bom + "data:ok\n\n", ec) == 12u);
    BOOST_TEST(!ec);
    BOOST_REQUIRE(p.has_event());
    BOOST_TEST(p.current().data == "ok");
    BOOST_TEST(p.current().id == "");
}

BOOST_AUTO_TEST_SUITE_END()

// The feed()/current() contract.
BOOST_AUTO_TEST_SUITE(api)

BOOST_AUTO_TEST_CASE(feed_stops_right_after_one_event)
{
    mss::parser p;
    const std::string_view in = "data:1\n\ndata:2\n\n:tail";
    BOOST_TEST(feed_ok(p, in) == 8u);
    BOOST_REQUIRE(p.has_event());
    BOOST_TEST(p.current().data == "1");
    BOOST_TEST(feed_ok(p, in.substr(8)) == 8u);
    BOOST_REQUIRE(p.has_event());
    BOOST_TEST(p.current().data == "2");
    BOOST_TEST(feed_ok(p, in.substr(16)) == 5u);
    BOOST_TEST(!p.has_event());
}

BOOST_AUTO_TEST_CASE(the_next_feed_clears_the_event)
{
    mss::parser p;
    feed_ok(p, "event:t\ndata:1\n\n");
    BOOST_REQUIRE(p.has_event());
    BOOST_TEST(p.current().type == "t");
    BOOST_TEST(feed_ok(p, "") == 0u);
    BOOST_TEST(!p.has_event());
    feed_ok(p, "data:2\n\n");
    BOOST_REQUIRE(p.has_event());
    BOOST_TEST(p.current().type == "message");
    BOOST_TEST(p.current().data == "2");
}

BOOST_AUTO_TEST_CASE(empty_input_does_nothing)
{
    mss::parser p;
    BOOST_TEST(feed_ok(p, "") == 0u);
    BOOST_TEST(!p.has_event());
    BOOST_TEST(p.last_event_id() == "");
    BOOST_TEST(!p.retry().has_value());
    expect("", {});
}

BOOST_AUTO_TEST_CASE(reset_forgets_everything)
{
    mss::parser p;
    feed_ok(p, "id:1\nretry:5\ndata:a\n\n");
    feed_ok(p, "event:t\ndata:partial\nid:2\ndata:b");
    p.reset();
    BOOST_TEST(!p.has_event());
    BOOST_TEST(p.last_event_id() == "");
    BOOST_TEST(!p.retry().has_value());
    // No leftover line, type, data or id; the BOM is stripped again.
    BOOST_TEST(feed_ok(p, bom + "data:c\n\n") == 11u);
    BOOST_REQUIRE(p.has_event());
    BOOST_TEST(p.current().type == "message");
    BOOST_TEST(p.current().data == "c");
    BOOST_TEST(p.current().id == "");
}

// An event whose one data line lies whole in the input is handed over there, with no copy;
// one that spans feeds (or has two data lines) is copied before its first input goes.
BOOST_AUTO_TEST_CASE(an_event_whole_in_the_input_is_a_view_into_it)
{
    {
        mss::parser copying; // the default: events never point into the input
        boost::system::error_code ec;
        const std::string input = "data: x\n\n";
        copying.feed(input, ec);
        BOOST_REQUIRE(copying.has_event());
        const auto d = copying.current().data;
        BOOST_TEST(!(d.data() >= input.data() && d.data() < input.data() + input.size()));
    }
    const std::string input = ": ping\ndata: {\"a\":1}\n\ndata: x\ndata: y\n\n";
    mss::parser p({.borrow_input = true});
    boost::system::error_code ec;
    std::size_t used = p.feed(input, ec);
    BOOST_REQUIRE(p.has_event());
    auto e = p.current();
    BOOST_TEST(e.data == "{\"a\":1}");
    BOOST_TEST((e.data.data() >= input.data() && e.data.data() < input.data() + input.size()), "a view into the input");
    p.feed(std::string_view(input).substr(used), ec);
    BOOST_REQUIRE(p.has_event());
    e = p.current();
    BOOST_TEST(e.data == "x\ny");
    BOOST_TEST(!(e.data.data() >= input.data() && e.data.data() < input.data() + input.size()), "joined: a copy");
}

BOOST_AUTO_TEST_CASE(an_event_split_across_feeds_outlives_its_first_input)
{
    for (const std::string input : {"data: hello\n\n", "data: hello\r\n\r\n", "data: a\ndata: b\n\n",
                                    "event: e\ndata: hello\nid: 7\n\n"}) {
        for (std::size_t cut = 1; cut < input.size(); ++cut) {
            mss::parser p({.borrow_input = true});
            boost::system::error_code ec;
            auto first = std::make_unique<std::string>(input.substr(0, cut));
            const std::size_t used = p.feed(*first, ec);
            BOOST_TEST(used == cut);
            std::optional<ev> got;
            if (p.has_event()) {
                auto e = p.current();
                got = ev{std::string(e.type), std::string(e.data), std::string(e.id)};
            }
            first->assign(first->size(), 'Z'); // what a reused read buffer would do
            first.reset();                      // and ASan sees any view left into it
            const std::string rest = input.substr(cut);
            std::size_t at = 0;
            while (!got && at < rest.size()) {
                at += p.feed(std::string_view(rest).substr(at), ec);
                if (p.has_event()) {
                    auto e = p.current();
                    got = ev{std::string(e.type), std::string(e.data), std::string(e.id)};
                }
            }
            BOOST_REQUIRE_MESSAGE(got.has_value(), input << " cut at " << cut);
            BOOST_TEST(got->data.find('Z') == std::string::npos, input << " cut at " << cut << ": " << got->data);
            BOOST_TEST((got->data == "hello" || got->data == "a\nb"), input << " cut at " << cut);
        }
    }
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE_END()

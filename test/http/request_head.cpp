// The request head writer: exact bytes, framing owned by the client, and every
// field that could forge another field or request refused.
#include "http/request_head.hpp"

#include <majordomo/error.hpp>
#include <majordomo/http/errc.hpp>

#include <boost/test/unit_test.hpp>

#include <string>

namespace detail = majordomo::http::detail;
using majordomo::http::request;

namespace {

std::string head_of(const request& r, std::string_view agent = "majordomo/test")
{
    return detail::write_request_head(r, {"/v1/chat/completions?x=1", "127.0.0.1:8080", agent});
}

// The error code of writing `r`'s head, or success.
boost::system::error_code refusal(const request& r)
{
    try {
        head_of(r);
    } catch (const majordomo::error& e) {
        BOOST_TEST(std::string(e.what()).find("secret") == std::string::npos, e.what());
        return e.code();
    }
    return {};
}

} // namespace

BOOST_AUTO_TEST_SUITE(http)
BOOST_AUTO_TEST_SUITE(request_head)

BOOST_AUTO_TEST_CASE(a_post_has_host_agent_and_its_length)
{
    request r;
    r.method = "POST";
    r.headers.set("Authorization", "Bearer k");
    r.body = R"({"a":1})";
    BOOST_TEST(head_of(r) == "POST /v1/chat/completions?x=1 HTTP/1.1\r\n"
                             "Authorization: Bearer k\r\n"
                             "Host: 127.0.0.1:8080\r\n"
                             "User-Agent: majordomo/test\r\n"
                             "Content-Length: 7\r\n\r\n");
}

BOOST_AUTO_TEST_CASE(a_get_has_no_length_and_no_agent_when_none_is_set)
{
    request r;
    BOOST_TEST(head_of(r, "") == "GET /v1/chat/completions?x=1 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n");
}

BOOST_AUTO_TEST_CASE(empty_bodies_of_post_put_and_patch_say_zero)
{
    for (const char* m : {"POST", "PUT", "PATCH"}) {
        request r;
        r.method = m;
        BOOST_TEST(head_of(r).find("\r\nContent-Length: 0\r\n\r\n") != std::string::npos, m);
    }
    request d;
    d.method = "DELETE";
    BOOST_TEST(head_of(d).find("Content-Length") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(the_callers_host_and_agent_win_and_framing_fields_are_the_clients)
{
    request r;
    r.method = "POST";
    r.body = "abc";
    r.headers.set("host", "example.test");
    r.headers.set("user-agent", "mine/1");
    r.headers.set("Content-Length", "999");
    r.headers.set("Transfer-Encoding", "chunked");
    BOOST_TEST(head_of(r) == "POST /v1/chat/completions?x=1 HTTP/1.1\r\n"
                             "host: example.test\r\n"
                             "user-agent: mine/1\r\n"
                             "Content-Length: 3\r\n\r\n");
}

BOOST_AUTO_TEST_CASE(fields_that_could_forge_a_request_are_refused)
{
    const auto refused = make_error_code(majordomo::http::errc::bad_request_field);
    auto with_header = [](std::string name, std::string value) {
        request r;
        r.headers.push_back({std::move(name), std::move(value)});
        return r;
    };
    BOOST_TEST((refusal(with_header("X-Ok", "fine value\twith tab")) == boost::system::error_code{}));
    BOOST_TEST((refusal(with_header("X-Key", "secret\r\nX-Injected: 1")) == refused));
    BOOST_TEST((refusal(with_header("X-Key", "secret\nGET / HTTP/1.1")) == refused));
    BOOST_TEST((refusal(with_header("X-Key", std::string("secret\0", 7))) == refused));
    BOOST_TEST((refusal(with_header("Bad Name", "v")) == refused));
    BOOST_TEST((refusal(with_header("Bad:Name", "v")) == refused));
    BOOST_TEST((refusal(with_header("", "v")) == refused));
    for (const char* m : {"", "GET /x", "PO\r\nST", "GE(T"}) {
        request r;
        r.method = m;
        BOOST_TEST((refusal(r) == refused), m);
    }
    request lower;
    lower.method = "purge"; // any token is a method
    BOOST_TEST((refusal(lower) == boost::system::error_code{}));
    BOOST_CHECK_THROW(detail::write_request_head(request{}, {"/a b", "h", ""}), majordomo::error);
    BOOST_CHECK_THROW(detail::write_request_head(request{}, {"/", "h", "agent\r\nX: 1"}), majordomo::error);
}

BOOST_AUTO_TEST_SUITE_END()
BOOST_AUTO_TEST_SUITE_END()

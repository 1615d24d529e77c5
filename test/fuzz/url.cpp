// Request URL parsing (http::detail::parse_target). Invariants:
//  - it throws nothing but majordomo::error with errc::bad_url or errc::unsupported_scheme;
//  - the message never holds the URL's userinfo (a key) or its query;
//  - a parsed target names a host without NUL, control or space bytes, a port in 1-65535,
//    a path that starts with '/' and holds no CR, LF, space or fragment, and a Host field
//    without userinfo: nothing the request line or a C string could misread.
#include "check.hpp"

#include "http/url.hpp"

#include <majordomo/error.hpp>
#include <majordomo/http/errc.hpp>

#include <boost/url/parse.hpp>

#include <cstdint>
#include <set>
#include <string>

namespace {

[[noreturn]] void fail(const char* what, std::string_view input) { fuzz::fail("url", what, input); }

bool has_bad_byte(std::string_view s, std::string_view extra)
{
    for (unsigned char c : s)
        if (c < 0x21 || c == 0x7f || extra.find(static_cast<char>(c)) != std::string_view::npos)
            return true;
    return false;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const std::string text(reinterpret_cast<const char*>(data), size);
    namespace http = majordomo::http;
    std::string userinfo, query;
    if (auto u = boost::urls::parse_uri(text)) {
        userinfo = std::string(u->encoded_userinfo());
        query = std::string(u->encoded_query());
    }
    try {
        const auto t = http::detail::parse_target(text);
        if (has_bad_byte(t.origin.host, "") || t.origin.host.empty())
            fail("the host holds a byte a host cannot have", text);
        if (t.origin.port == 0)
            fail("port 0", text);
        if (t.path.empty() || t.path.front() != '/' || has_bad_byte(t.path, "#"))
            fail("the path is not a request target", text);
        if (t.host_header.find('@') != std::string::npos || has_bad_byte(t.host_header, ""))
            fail("the Host field holds userinfo or a bad byte", text);
        if (t.origin.key.find('@') != std::string::npos)
            fail("the origin (what messages name) holds userinfo", text);
    } catch (const majordomo::error& e) {
        if (e.code() != http::errc::bad_url && e.code() != http::errc::unsupported_scheme)
            fail("an error other than bad_url or unsupported_scheme", text);
        const std::string what = e.what();
        if (e.code() == http::errc::bad_url) {
            // Its text is one of a few fixed ones: no byte of the URL reaches it.
            static const std::set<std::string> fixed = [] {
                std::set<std::string> f;
                for (const char* u : {"not a url", "http://h:0/", "http://a%20b/", "http://[v1.fe]/"}) {
                    try {
                        http::detail::parse_target(u);
                    } catch (const majordomo::error& x) {
                        f.insert(x.what());
                    }
                }
                return f;
            }();
            if (!fixed.contains(what))
                fail("a bad_url message that is not one of the fixed texts", text);
        } else {
            // unsupported_scheme names the scheme only.
            std::string plain = e.code().message();
            std::string rest = what;
            if (auto sep = text.find(':'); sep != std::string::npos)
                if (auto at = rest.find(text.substr(0, sep)); at != std::string::npos)
                    rest.erase(at, sep);
            const std::string& what_left = rest;
            if (userinfo.size() >= 3 && what_left.find(userinfo) != std::string::npos &&
                plain.find(userinfo) == std::string::npos)
                fail("the message holds the userinfo", text);
            if (query.size() >= 3 && what_left.find(query) != std::string::npos && plain.find(query) == std::string::npos)
                fail("the message holds the query", text);
        }
    } catch (...) {
        fuzz::foreign_exception("url", text);
    }
    return 0;
}

// DSN parsing and redaction. Invariants:
//  - parse_dsn throws nothing but majordomo::error(client_errc::bad_dsn); redact_dsn never throws;
//  - for a DSN with user-info (the secret), the redacted form is the DSN with a span that covers
//    the user-info replaced by `***`;
//  - the outcome does not depend on the secret: the same DSN with another token gives the
//    same error text or the same base URL, so no secret can reach either;
//  - a parsed base URL holds no '@': one there came from a token (a second '@', or a '/' in
//    a token that was not percent-encoded) and would carry it into every message naming the URL;
//  - a parsed DSN prints (to_string) to a DSN that parses back to it.
#include <majordomo/error.hpp>
#include <majordomo/registry/dsn.hpp>

#include "check.hpp"

#include <boost/url/parse.hpp>
#include <boost/url/url.hpp>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace {

using namespace majordomo;

[[noreturn]] void fail(const char* what, std::string_view text)
{
    fuzz::fail("dsn", what, text);
}

struct outcome {
    std::optional<registry::dsn> dsn;
    std::string message; // the error's what(), when parsing failed
};

outcome parse(std::string_view text)
{
    outcome o;
    try {
        o.dsn = registry::parse_dsn(text);
    } catch (const error& e) {
        if (e.code() != client_errc::bad_dsn)
            fail("an error other than bad_dsn", text);
        o.message = e.what();
    } catch (...) {
        fuzz::foreign_exception("dsn", text);
    }
    return o;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    const outcome got = parse(text);
    const std::string redacted = registry::redact_dsn(text);

    if (auto u = boost::urls::parse_uri(text); u && u->has_userinfo() && !u->encoded_userinfo().empty()) {
        // The redacted form: scheme://***@ and a tail of the text that starts after the user-info.
        const std::string_view secret = u->encoded_userinfo();
        const std::size_t auth = text.find("://") + 3;
        const std::string head = std::string(text.substr(0, auth)) + "***@";
        const std::string_view r(redacted);
        const std::string_view tail = r.substr(std::min(head.size(), r.size()));
        if (r.substr(0, head.size()) != head || tail.size() > text.size() ||
            text.substr(text.size() - tail.size()) != tail || text.size() - tail.size() < auth + secret.size() + 1)
            fail("the redacted form does not hide the user-info", text);

        // Another secret, same outcome.
        boost::urls::url other(*u);
        other.set_encoded_userinfo(u->encoded_userinfo() == "zz" ? "yy" : "zz");
        const outcome alt = parse(other.buffer());
        if (got.dsn.has_value() != alt.dsn.has_value() || got.message != alt.message)
            fail("the error text depends on the secret", text);
        if (got.dsn && (got.dsn->base_url != alt.dsn->base_url || got.dsn->kind != alt.dsn->kind ||
                        !got.dsn->token || !alt.dsn->token))
            fail("the parsed DSN depends on the secret", text);
    }

    if (got.dsn) {
        if (got.dsn->base_url.find('@') != std::string::npos)
            fail("the base URL holds an '@' (part of a token)", text);
        const std::string again_text = registry::to_string(*got.dsn);
        const outcome again = parse(again_text);
        if (!again.dsn || again.dsn->base_url != got.dsn->base_url || again.dsn->kind != got.dsn->kind ||
            again.dsn->token != got.dsn->token)
            fail("to_string does not parse back to the same DSN", text);
    }
    return 0;
}

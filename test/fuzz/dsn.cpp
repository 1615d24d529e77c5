// DSN parsing and redaction. Invariants:
//  - parse_dsn throws nothing but majordomo::error(client_errc::bad_dsn); redact_dsn never throws;
//  - for a DSN with user-info (the secret), the redacted form is the same URI with the
//    user-info replaced by `***` and nothing else changed;
//  - the outcome does not depend on the secret: the same DSN with another token gives the
//    same error text or the same base URL, so no secret can reach either;
//  - a parsed DSN prints (to_string) to a DSN that parses back to it.
#include <majordomo/error.hpp>
#include <majordomo/registry/dsn.hpp>

#include "check.hpp"

#include <boost/url/parse.hpp>
#include <boost/url/url.hpp>

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
        // The redacted form: the same URI with the user-info replaced.
        auto r = boost::urls::parse_uri(redacted);
        if (!r || r->encoded_userinfo() != "***" || r->scheme() != u->scheme() ||
            r->encoded_host_and_port() != u->encoded_host_and_port() || r->encoded_path() != u->encoded_path() ||
            r->has_query() != u->has_query() || r->encoded_query() != u->encoded_query() ||
            r->has_fragment() != u->has_fragment() || r->encoded_fragment() != u->encoded_fragment())
            fail("the redacted form is not the same URI with its user-info hidden", text);

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
        const std::string again_text = registry::to_string(*got.dsn);
        const outcome again = parse(again_text);
        if (!again.dsn || again.dsn->base_url != got.dsn->base_url || again.dsn->kind != got.dsn->kind ||
            again.dsn->token != got.dsn->token)
            fail("to_string does not parse back to the same DSN", text);
    }
    return 0;
}

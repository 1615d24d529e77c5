// DSN parsing and redaction. Invariants:
//  - parse_dsn throws nothing but majordomo::error(client_errc::bad_dsn); redact_dsn never throws;
//  - for a DSN with user-info (the secret, up to the last '@'), the redacted form is the scheme,
//    `***@`, and the host and port (or `***`): nothing else of the text;
//  - the error text never holds the secret, and a parsed DSN's base URL does not depend on it;
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
        // The redacted form keeps the scheme, host and port only: the user-info runs to the
        // last '@' (decision 5), and after it comes the host and port, or a mask.
        const std::size_t auth = text.find("://") + 3;
        const std::size_t last_at = text.rfind('@');
        const std::string_view after = text.substr(last_at + 1);
        const std::string_view host_port = after.substr(0, after.find_first_of("/?#"));
        const std::string_view r(redacted);
        const auto mask_at = r.find("://***@");
        const std::string_view tail = mask_at == std::string_view::npos ? r : r.substr(mask_at + 7);
        if (last_at >= auth && (mask_at == std::string_view::npos || (tail != host_port && tail != "***")))
            fail("the redacted form does not hide the user-info", text);

        // Another secret, same outcome.
        boost::urls::url other(*u);
        other.set_encoded_userinfo(u->encoded_userinfo() == "zz" ? "yy" : "zz");
        const outcome alt = parse(other.buffer());
        // A secret may itself be invalid (a control byte), so the outcome may differ; the text
        // never holds it (unless the words of the message hold the same bytes anyway).
        const std::string_view secret = text.substr(auth, last_at - auth);
        if (last_at >= auth && secret.size() >= 3 && secret.find_first_not_of('*') != std::string_view::npos &&
            got.message.find(secret) != std::string::npos && alt.message.find(secret) == std::string::npos)
            fail("the error text holds the secret", text);
        if (got.dsn && alt.dsn && (got.dsn->base_url != alt.dsn->base_url || got.dsn->kind != alt.dsn->kind ||
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

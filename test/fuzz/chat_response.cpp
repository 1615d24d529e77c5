// The whole (non-streamed) chat response decoder. Invariants: it throws nothing but
// majordomo::error (bad_json or an API error, with bounded messages); decoding is
// deterministic; `raw` is the body's whole JSON object and outlives the decoded response it
// came with (it lives in an arena that moves with it).
#include <majordomo/error.hpp>
#include <majordomo/llm/json_codec.hpp>

#include "check.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <cstdint>
#include <optional>
#include <string_view>

namespace {

using namespace majordomo;

[[noreturn]] void fail(const char* what, std::string_view body)
{
    fuzz::fail("chat_response", what, body);
}

bool same(const llm::chat_response& a, const llm::chat_response& b)
{
    return a.id == b.id && a.model == b.model && a.created == b.created && a.choices == b.choices &&
           a.usage == b.usage && fuzz::same_timings(a.timings, b.timings) && a.raw == b.raw;
}

std::optional<llm::chat_response> decode(std::string_view body, boost::system::error_code& ec)
{
    try {
        return llm::decode_chat_response(body);
    } catch (const error& e) {
        ec = e.code();
        if (ec != client_errc::bad_json && &ec.category() != &get_api_category())
            fail("unexpected error code", body);
        if (e.diag().client_message.size() > 512 || e.diag().server_message.size() > 512)
            fail("an error message past its bound", body);
        return std::nullopt;
    } catch (...) {
        fuzz::foreign_exception("chat_response", body);
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const std::string_view body(reinterpret_cast<const char*>(data), size);
    boost::system::error_code ec1, ec2;
    auto first = decode(body, ec1);
    auto second = decode(body, ec2);
    if (first.has_value() != second.has_value() || ec1 != ec2)
        fail("two decodes of one body disagree on failing", body);
    if (!first)
        return 0;
    if (!same(*first, *second))
        fail("two decodes of one body differ", body);

    // raw is the body as received, and parses back to the object a lenient parser reads.
    boost::json::parse_options opts;
    opts.allow_invalid_utf8 = true;
    boost::system::error_code ec;
    const auto v = boost::json::parse(body, ec, {}, opts);
    if (first->raw.text() != body || ec || !v.is_object() || !fuzz::same_json(v.get_object(), first->raw.parse()))
        fail("raw is not the body", body);

    // Moved and copied responses keep a readable raw after the original is gone.
    llm::chat_response moved = std::move(*first);
    first.reset();
    const llm::chat_response copy = moved;
    second.reset();
    if (copy.raw.text() != body)
        fail("a copied raw reads differently", body);
    moved = llm::chat_response{};
    if (copy.raw.text() != body)
        fail("a copy's raw changed when the original was reset", body);
    return 0;
}

// The error-body parser and the Retry-After reader. Invariants: neither throws at all (a
// failed response's body must never hide the failure); the status is kept;
// server_message is at most 512 bytes and, for a UTF-8 body, valid UTF-8; a content type
// without "html" changes nothing (it only steers the HTML guess); a delay is within
// [0, one day].
//
// Input: the body, then a trailer read from the back: the last byte picks the content
// type, the two before it the HTTP status.
#include <majordomo/error.hpp>
#include <majordomo/llm/error_body.hpp>

#include "check.hpp"

#include <fuzzer/FuzzedDataProvider.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <string_view>

namespace {

using namespace majordomo;

[[noreturn]] void fail(const char* what, std::string_view body)
{
    fuzz::fail("error_body", what, body);
}

bool valid_utf8(std::string_view s)
{
    std::size_t i = 0;
    while (i < s.size()) {
        const auto c = static_cast<unsigned char>(s[i]);
        std::size_t n = 0;
        std::uint32_t cp = 0;
        if (c < 0x80) {
            ++i;
            continue;
        }
        if ((c & 0xE0) == 0xC0)
            n = 1, cp = c & 0x1F;
        else if ((c & 0xF0) == 0xE0)
            n = 2, cp = c & 0x0F;
        else if ((c & 0xF8) == 0xF0)
            n = 3, cp = c & 0x07;
        else
            return false;
        if (i + n >= s.size())
            return false;
        for (std::size_t k = 1; k <= n; ++k) {
            const auto d = static_cast<unsigned char>(s[i + k]);
            if ((d & 0xC0) != 0x80)
                return false;
            cp = (cp << 6) | (d & 0x3F);
        }
        static constexpr std::uint32_t min_for[] = {0, 0x80, 0x800, 0x10000};
        if (cp < min_for[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
        i += n + 1;
    }
    return true;
}

bool same(const diagnostics& a, const diagnostics& b)
{
    return a.http_status == b.http_status && a.server_message == b.server_message && a.error_type == b.error_type &&
           a.error_code == b.error_code && a.n_prompt_tokens == b.n_prompt_tokens && a.n_ctx == b.n_ctx &&
           a.retry_after == b.retry_after && a.client_message == b.client_message;
}

void check_delay(const std::optional<std::chrono::milliseconds>& d, std::string_view body)
{
    if (d && (d->count() < 0 || *d > std::chrono::hours(24)))
        fail("a Retry-After delay outside [0, 1 day]", body);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    static constexpr std::array<std::string_view, 6> content_types{
        "", "application/json", "text/plain; charset=utf-8", "text/html", "TEXT/HTML; charset=utf-8",
        "application/problem+json"};
    FuzzedDataProvider in(data, size);
    const auto ct = content_types[in.ConsumeIntegralInRange<std::size_t>(0, content_types.size() - 1)];
    const int status = in.ConsumeIntegralInRange<int>(100, 599);
    const std::string body = in.ConsumeRemainingBytesAsString();

    diagnostics d;
    try {
        d = llm::parse_error_body(status, ct, body);
    } catch (...) {
        fuzz::foreign_exception("error_body", body); // even a majordomo::error is a defect here
    }
    if (d.http_status != status)
        fail("the status was not kept", body);
    if (d.server_message.size() > 512)
        fail("server_message longer than 512 bytes", body);
    if (valid_utf8(body) && !valid_utf8(d.server_message))
        fail("server_message is not valid UTF-8 though the body is", body);
    if (ct.find("html") == std::string_view::npos && ct.find("HTML") == std::string_view::npos) {
        if (!same(d, llm::parse_error_body(status, body)) || !same(d, llm::parse_error_body(status, "text/plain", body)))
            fail("a content type without html changed the result", body);
    }

    // Retry-After: the body's first line as the header, its second as retry-after-ms.
    const std::string_view all(body);
    const auto nl = all.find('\n');
    const auto first = all.substr(0, nl);
    const auto second = nl == std::string_view::npos ? std::string_view{} : all.substr(nl + 1);
    const auto now = std::chrono::system_clock::time_point(std::chrono::seconds(1767225600));
    check_delay(llm::parse_retry_after(first, {}, now), body);
    check_delay(llm::parse_retry_after(first, second, now), body);
    check_delay(llm::parse_retry_after(second, first, now), body);
    return 0;
}

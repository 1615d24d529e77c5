#include <majordomo/http/errc.hpp>
#include <majordomo/llm/classify.hpp>

#include <boost/asio/error.hpp>

#include <cstring>
#include <new>
#include <string_view>

namespace majordomo::llm {
namespace {

using k = error_kind;

bool category_named(const boost::system::error_code& ec, const char* name) noexcept
{
    // By name: the SSE and TLS categories live in layers (and libraries) this one must
    // not pull in.
    return std::strcmp(ec.category().name(), name) == 0;
}

// llama.cpp maps every exception but std::invalid_argument to 500 server_error, so
// malformed JSON and many validation failures arrive as 500s that fail the same way
// every time (wire-formats §2.1). These are the ones we know.
bool invalid_request_as_500(const diagnostics& d) noexcept
{
    if (d.error_type == "invalid_request_error" || d.error_code == "invalid_request" ||
        d.error_code == "bad_request")
        return true;
    static constexpr std::string_view markers[] = {
        "[json.exception.",         "Unknown reasoning format", "Cannot use both json_schema and grammar",
        "tools param requires --jinja", "n_cmpl cannot be greater", "Invalid tool_choice",
    };
    for (auto marker : markers)
        if (d.server_message.find(marker) != std::string::npos)
            return true;
    return false;
}

classification from_status(int status, const diagnostics& d)
{
    const auto ra = d.retry_after;
    if (d.error_type == "exceed_context_size_error" || d.error_code == "context_length_exceeded")
        return {k::context_length, false, {}};
    switch (status) {
    case 401: return {k::authentication, false, {}};
    case 403: return {k::permission, false, {}};
    case 404: return {k::not_found, false, {}};
    case 408: return {k::server, true, ra};      // the server gave up waiting for us
    case 409: return {k::unavailable, true, ra}; // llama-swap: the model is not loaded
    case 429: return {k::rate_limited, true, ra};
    case 501: return {k::bad_request, false, {}}; // the feature is off on this server: permanent
    case 503: return {k::unavailable, true, ra};  // llama.cpp "Loading model", llama-swap not ready
    default: break;
    }
    if (status == 500 && invalid_request_as_500(d))
        return {k::bad_request, false, {}};
    if (status >= 500)
        return {k::server, true, ra};
    if (status >= 400)
        return {k::bad_request, false, {}};
    return {k::other, false, {}};
}

classification from_client(client_errc e)
{
    switch (e) {
    case client_errc::deadline_exceeded:
    case client_errc::first_token_deadline_exceeded:
    case client_errc::idle_deadline_exceeded:
    case client_errc::total_deadline_exceeded: return {k::deadline, true, {}};
    case client_errc::stream_truncated: return {k::stream_truncated, true, {}};
    case client_errc::bad_json:
    case client_errc::unexpected_content_type:
    case client_errc::bad_image: return {k::decoding, false, {}};
    case client_errc::missing_api_key: return {k::authentication, false, {}};
    case client_errc::model_unloaded: return {k::unavailable, true, {}};
    case client_errc::invalid_argument:
    case client_errc::no_base_url:
    case client_errc::operation_in_progress:
    case client_errc::stream_closed:
    case client_errc::bad_dsn:
    case client_errc::unknown_provider: return {k::other, false, {}};
    }
    return {k::other, false, {}};
}

classification from_http(http::errc e)
{
    switch (e) {
    case http::errc::response_truncated: return {k::transport, true, {}}; // the peer hung up mid-response
    case http::errc::bad_url:
    case http::errc::unsupported_scheme:
    case http::errc::bad_request_field: return {k::other, false, {}}; // the caller's input: retrying cannot help
    case http::errc::stream_closed: return {k::other, false, {}};     // the caller read a stream that had ended
    case http::errc::header_limit_exceeded:
    case http::errc::chunk_line_limit_exceeded:
    case http::errc::trailer_limit_exceeded:
    case http::errc::bad_framing:
    case http::errc::unexpected_upgrade:
    case http::errc::body_limit_exceeded:
    case http::errc::bad_status_line:
    case http::errc::bad_header:
    case http::errc::bad_chunk: return {k::decoding, false, {}};
    }
    return {k::decoding, false, {}};
}

} // namespace

const char* to_string(error_kind kind) noexcept
{
    switch (kind) {
    case k::cancelled: return "cancelled";
    case k::deadline: return "deadline";
    case k::transport: return "transport";
    case k::authentication: return "authentication";
    case k::permission: return "permission";
    case k::not_found: return "not_found";
    case k::rate_limited: return "rate_limited";
    case k::bad_request: return "bad_request";
    case k::context_length: return "context_length";
    case k::server: return "server";
    case k::unavailable: return "unavailable";
    case k::stream_truncated: return "stream_truncated";
    case k::decoding: return "decoding";
    case k::other: return "other";
    }
    return "other";
}

classification classify(const boost::system::error_code& ec, const diagnostics& diag)
{
    if (!ec)
        return {k::other, false, {}};
    if (ec == boost::asio::error::operation_aborted || ec == boost::system::errc::operation_canceled)
        return {k::cancelled, false, {}};
    const auto& cat = ec.category();
    if (cat == get_client_category())
        return from_client(static_cast<client_errc>(ec.value()));
    if (cat == get_api_category())
        return from_status(ec.value(), diag);
    if (cat == http::get_http_category())
        return from_http(static_cast<http::errc>(ec.value()));
    if (category_named(ec, "majordomo.sse"))
        return {k::decoding, false, {}};
    // TLS: a failed handshake or verification fails again; a stream cut without
    // close_notify is the peer going away.
    if (category_named(ec, "asio.ssl.stream"))
        return {k::transport, true, {}};
    if (category_named(ec, "asio.ssl"))
        return {k::transport, false, {}};
    // Sockets, resolver and end of file: connect failures, resets, refused, unreachable.
    if (cat == boost::system::system_category() || cat == boost::system::generic_category() ||
        cat == boost::asio::error::get_misc_category() || cat == boost::asio::error::get_netdb_category() ||
        cat == boost::asio::error::get_addrinfo_category()) {
        if (ec == boost::system::errc::not_enough_memory || ec == boost::system::errc::invalid_argument)
            return {k::other, false, {}};
        return {k::transport, true, {}};
    }
    return {k::other, false, {}};
}

classification classify(const error& e) { return classify(e.code(), e.diag()); }

classification classify(const std::exception_ptr& e)
{
    if (!e)
        return {k::other, false, {}};
    try {
        std::rethrow_exception(e);
    } catch (const error& x) {
        return classify(x);
    } catch (const boost::system::system_error& x) {
        return classify(x.code());
    } catch (...) {
        return {k::other, false, {}};
    }
}

} // namespace majordomo::llm

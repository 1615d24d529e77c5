#include "http/errc_mapping.hpp"

#include <majordomo/http/errc.hpp>

#include <boost/asio/error.hpp>
#include <boost/beast/http/error.hpp>

namespace majordomo::http {
namespace {

class http_category final : public boost::system::error_category {
public:
    const char* name() const noexcept override { return "majordomo.http"; }
    std::string message(int ev) const override
    {
        switch (static_cast<errc>(ev)) {
        case errc::header_limit_exceeded:
            return "the response status line and headers exceeded client_params::header_limit; raise it "
                   "if the server legitimately sends large headers";
        case errc::body_limit_exceeded:
            return "the response body exceeded client_params::body_limit; raise it or read the body as a "
                   "stream with async_open";
        case errc::bad_status_line:
            return "the server's answer did not start with a valid HTTP/1.x status line; check that the URL "
                   "points at an HTTP server (not TLS on an http:// URL, or the reverse)";
        case errc::bad_header:
            return "the response had a malformed header field, Content-Length or Transfer-Encoding";
        case errc::bad_chunk: return "the response had a malformed chunk in its chunked body";
        case errc::response_truncated:
            return "the server closed the connection before the response was complete";
        case errc::bad_url:
            return "the URL could not be parsed; expected http://host[:port]/path or https://...";
        case errc::unsupported_scheme: return "the URL scheme must be http or https";
        case errc::bad_request_field:
            return "a request method or header field cannot be sent: names must be HTTP tokens and values "
                   "must not hold CR, LF or NUL; remove or encode the offending field";
        case errc::chunk_line_limit_exceeded:
            return "a chunk-size line of the chunked body (with its extensions) exceeded "
                   "client_params::header_limit; the server is misbehaving";
        case errc::trailer_limit_exceeded:
            return "the trailer section of the chunked body exceeded client_params::header_limit; raise it "
                   "if the server legitimately sends large trailers";
        case errc::bad_framing:
            return "the response's framing is ambiguous or unsupported (Content-Length with "
                   "Transfer-Encoding, a malformed Content-Length, or a transfer coding other than chunked); "
                   "the connection was closed";
        case errc::unexpected_upgrade:
            return "the server answered 101 Switching Protocols to a request that asked for no upgrade";
        case errc::stream_closed:
            return "the response stream was ended by an earlier error, cancellation or close(); its "
                   "connection is closed, so send the request again";
        }
        return "unknown majordomo http error";
    }
};

} // namespace

const boost::system::error_category& get_http_category() noexcept
{
    static const http_category cat;
    return cat;
}

namespace detail {

boost::system::error_code map_read_error(boost::system::error_code ec)
{
    namespace bh = boost::beast::http;
    if (ec.category() == bh::make_error_code(bh::error::end_of_stream).category()) {
        switch (static_cast<bh::error>(ec.value())) {
        case bh::error::end_of_stream:
        case bh::error::partial_message: return errc::response_truncated;
        case bh::error::header_limit:
        case bh::error::buffer_overflow: return errc::header_limit_exceeded;
        case bh::error::body_limit: return errc::body_limit_exceeded;
        case bh::error::bad_version:
        case bh::error::bad_status:
        case bh::error::bad_reason:
        case bh::error::bad_method:
        case bh::error::bad_target: return errc::bad_status_line;
        case bh::error::bad_chunk:
        case bh::error::bad_chunk_extension: return errc::bad_chunk;
        case bh::error::bad_line_ending:
        case bh::error::bad_field:
        case bh::error::bad_value:
        case bh::error::bad_obs_fold: return errc::bad_header;
        case bh::error::bad_content_length:
        case bh::error::multiple_content_length:
        case bh::error::bad_transfer_encoding: return errc::bad_framing;
        default: return ec;
        }
    }
    if (ec == boost::asio::error::eof)
        return errc::response_truncated;
    return ec;
}

} // namespace detail
} // namespace majordomo::http

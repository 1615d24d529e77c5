#include "http/connection.hpp"

#include <majordomo/error.hpp>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ssl/error.hpp>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <sys/socket.h>

#include <cerrno>
#include <openssl/x509_vfy.h>

namespace majordomo::http::detail {

namespace asio = boost::asio;

connection::connection(asio::any_io_executor ex, std::shared_ptr<connection_counters> counters,
                       std::size_t buffer_limit)
    : stream_(std::in_place_type<tcp_socket>, std::move(ex)), buffer_(std::max<std::size_t>(buffer_limit, 512)),
      counters_(std::move(counters))
{
    buffer_.reserve(std::min(initial_read_size, buffer_.max_size()));
}

connection::~connection() { close(); }

connection::tcp_socket& connection::socket() noexcept
{
    if (auto* s = std::get_if<tcp_socket>(&stream_))
        return *s;
    return std::get<tls_stream>(stream_).next_layer();
}

bool connection::is_open() const noexcept
{
    return const_cast<connection*>(this)->socket().is_open();
}

bool connection::quiet() noexcept
{
    auto& s = socket();
    if (!s.is_open() || buffer_.size() != 0)
        return false;
    char probe;
    // A peek that must not wait: EAGAIN means the peer is still there and silent.
    const auto n = ::recv(s.native_handle(), &probe, 1, MSG_PEEK | MSG_DONTWAIT);
    return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

void connection::close() noexcept
{
    boost::system::error_code ignored;
    socket().close(ignored);
    if (counted_) {
        counted_ = false;
        counters_->open.fetch_sub(1, std::memory_order_relaxed);
    }
}

namespace {
// A failure before any byte of the request left: safe to send again whatever the method.
diagnostics not_sent(std::string what)
{
    diagnostics d;
    d.client_message = std::move(what);
    d.request_not_sent = true;
    return d;
}
} // namespace

asio::awaitable<void> connection::async_connect(const origin& o, asio::ssl::context* tls)
{
    auto ex = socket().get_executor();
    boost::system::error_code ec;
    auto address = asio::ip::make_address(o.host, ec);
    boost::system::error_code cec;
    if (!ec) {
        // An IP literal needs no resolver (and its helper thread).
        asio::ip::tcp::endpoint to(address, o.port);
        auto [e] = co_await socket().async_connect(to, asio::as_tuple(asio::use_awaitable));
        cec = e;
    } else {
        asio::ip::tcp::resolver resolver(ex);
        auto [rec, endpoints] =
            co_await resolver.async_resolve(o.host, std::to_string(o.port), asio::as_tuple(asio::use_awaitable));
        if (rec)
            throw error(rec, not_sent("resolving " + o.host));
        auto [e, used] = co_await asio::async_connect(socket(), endpoints, asio::as_tuple(asio::use_awaitable));
        cec = e;
    }
    if (cec)
        throw error(cec, not_sent("connecting to " + o.key));
    counted_ = true;
    counters_->opened.fetch_add(1, std::memory_order_relaxed);
    counters_->open.fetch_add(1, std::memory_order_relaxed);
    boost::system::error_code oec;
    socket().set_option(asio::ip::tcp::no_delay(true), oec);
    // Liveness detection for idle and long-waiting connections, not a bound on calls:
    // a peer that vanished (NAT, load balancer) is eventually reported.
    socket().set_option(asio::socket_base::keep_alive(true), oec);

    if (!o.tls)
        co_return;
    auto plain = std::move(std::get<tcp_socket>(stream_));
    auto& s = stream_.emplace<tls_stream>(std::move(plain), *tls);
    SSL* ssl = s.native_handle();
    const bool is_ip = !ec;
    // SNI carries names only (RFC 6066); verification checks the name or the IP SAN.
    // Each set-up call is checked: one that fails silently would turn verification off.
    X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
    const bool set_up = is_ip ? X509_VERIFY_PARAM_set1_ip_asc(param, o.host.c_str()) == 1
                              : SSL_set_tlsext_host_name(ssl, o.host.c_str()) == 1 &&
                                    X509_VERIFY_PARAM_set1_host(param, o.host.data(), o.host.size()) == 1;
    if (!set_up) {
        const unsigned long code = ERR_get_error();
        ERR_clear_error();
        throw error(boost::system::error_code(static_cast<int>(code ? code : 1), asio::error::get_ssl_category()),
                    not_sent("setting up TLS verification for " + o.key + " failed; check the host name in the URL"));
    }

    auto [hec] = co_await s.async_handshake(asio::ssl::stream_base::client, asio::as_tuple(asio::use_awaitable));
    if (hec) {
        long verify = SSL_get_verify_result(ssl);
        std::string why = "TLS handshake with " + o.key + " failed";
        if (verify != X509_V_OK) {
            why += ": certificate verification failed (";
            why += X509_verify_cert_error_string(verify);
            why += "); pass the server's CA in tls_params::ca_file";
        }
        throw error(hec, not_sent(std::move(why)));
    }
}

} // namespace majordomo::http::detail

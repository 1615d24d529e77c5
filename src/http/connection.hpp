// One HTTP connection: a TCP socket or a TLS stream over one, plus its read buffer.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/beast/core/flat_buffer.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <variant>

namespace majordomo::http::detail {

/// Where a connection goes; connections are pooled per origin.
struct origin {
    bool tls = false;
    std::string host;
    std::uint16_t port = 0;

    std::string key; ///< scheme://host:port, set by set_key(): the pool's map key and what messages name

    void set_key()
    {
        const bool ipv6 = host.find(':') != std::string::npos;
        key = (tls ? "https://" : "http://") + (ipv6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
    }
};

/// Counters shared by a pool and its connections; they outlive both.
struct connection_counters {
    std::atomic<std::size_t> opened{0};
    std::atomic<std::size_t> open{0};
};

class connection {
public:
    using tcp_socket = boost::asio::ip::tcp::socket;
    using tls_stream = boost::asio::ssl::stream<tcp_socket>;

    /// `buffer_limit` bounds the read buffer: what the parser may hold unparsed (headers,
    /// a chunk-size line, the trailer section).
    connection(boost::asio::any_io_executor ex, std::shared_ptr<connection_counters> counters,
               std::size_t buffer_limit);
    connection(const connection&) = delete;
    connection& operator=(const connection&) = delete;
    ~connection();

    /// Resolves, connects and, for https, completes the TLS handshake with SNI and
    /// host-name verification.
    boost::asio::awaitable<void> async_connect(const origin& o, boost::asio::ssl::context* tls);

    /// Calls f(stream&) with the plain socket or the TLS stream.
    template <class F>
    decltype(auto) visit(F&& f)
    {
        return std::visit(std::forward<F>(f), stream_);
    }

    /// The read buffer's first size: a response head and a few chat chunks. A body that
    /// floods grows it (reader_limits::max_read_size); one that trickles, as a model writing
    /// tokens does, never does, so ten thousand such streams cost little memory.
    static constexpr std::size_t initial_read_size = 1024;
    /// Most bytes one body read takes: about 36 chat chunks. More bought no CPU on bench/
    /// streams and costs memory on every connection.
    static constexpr std::size_t max_read_size = 8 * 1024;

    boost::beast::flat_buffer& buffer() noexcept { return buffer_; }
    bool is_open() const noexcept;
    /// Closes the socket at once. TLS close_notify is skipped on purpose: the
    /// connection may be in an unknown state, and the server does not need it.
    void close() noexcept;

    /// For an idle connection: true when nothing arrived since its last response and the
    /// peer has not closed it. Never blocks. A connection that fails this may have been
    /// closed by the server or carry bytes nobody asked for: it must not be reused.
    bool quiet() noexcept;

    /// True once it has carried a complete exchange and went back to the pool.
    bool reused = false;
    /// When an idle connection stops being reusable (the server's Keep-Alive timeout or
    /// client_params::max_idle_age).
    std::chrono::steady_clock::time_point idle_expiry;

private:
    tcp_socket& socket() noexcept;

    std::variant<tcp_socket, tls_stream> stream_;
    boost::beast::flat_buffer buffer_;
    std::shared_ptr<connection_counters> counters_;
    bool counted_ = false;
};

} // namespace majordomo::http::detail

// An in-process HTTP/1.1 server on loopback for tests: canned responses and raw byte scripts.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace majordomo::test {

class test_ca;

/// One header field, e.g. {"Content-Type", "application/json"}.
struct header_field {
    std::string name;
    std::string value;
};

/// Extra response headers, written inline as `{{"X-A", "1"}, {"X-B", "2"}}`. g++ 12 miscompiles braced
/// lists inside a co_await expression: an initializer_list is rejected ("array used as initializer") and
/// by-value std::string members are relocated bitwise (a bad free under ASan). So up to eight fields are
/// separate constructor arguments holding views, copied at once; a prebuilt container or add()
/// covers the rest.
class header_list {
public:
    struct field_view {
        std::string_view name;
        std::string_view value;
    };

    header_list() = default;
    header_list(field_view f1, field_view f2 = {}, field_view f3 = {}, field_view f4 = {}, field_view f5 = {},
                field_view f6 = {}, field_view f7 = {}, field_view f8 = {});

    /// From a container of pairs (first, second) or of header_field, built ahead of the co_await.
    template <class Range>
        requires(requires(const Range& r) { r.begin()->first; } ||
                 requires(const Range& r) { r.begin()->name; })
    header_list(const Range& fields)
    {
        for (const auto& f : fields) {
            if constexpr (requires { f.first; })
                add(f.first, f.second);
            else
                add(f.name, f.value);
        }
    }

    header_list& add(std::string_view name, std::string_view value);
    std::vector<header_field>::const_iterator begin() const noexcept { return items_.begin(); }
    std::vector<header_field>::const_iterator end() const noexcept { return items_.end(); }
    std::size_t size() const noexcept { return items_.size(); }
    bool empty() const noexcept { return items_.empty(); }

private:
    std::vector<header_field> items_;
};

struct received_request {
    std::string method;
    std::string target;
    unsigned version = 11;             ///< 10 or 11
    std::vector<header_field> headers; ///< in arrival order, names as sent
    std::string body;                  ///< de-chunked

    /// The first value of a header (case-insensitive), or "".
    std::string header(std::string_view name) const;
};

/// Thrown by the operations below once the connection is gone (peer closed, close(), stop()).
/// The server catches it; a handler just lets it pass.
struct connection_closed : std::runtime_error {
    connection_closed() : std::runtime_error("test_server: connection closed") {}
};

/// The server side of one connection, for scripts that write what they like.
/// Operations run on the connection's strand; use them from the handler only, one at a time.
class raw_connection {
public:
    /// Writes bytes as they are (through TLS on a TLS server).
    virtual boost::asio::awaitable<void> async_write_raw(std::string_view bytes) = 0;
    /// Reads some bytes; "" at end of stream or after close().
    virtual boost::asio::awaitable<std::string> async_read_some() = 0;
    /// Waits, reading meanwhile so that a client close ends the wait (and throws); bytes that arrive
    /// are kept for the next read or request.
    virtual boost::asio::awaitable<void> async_pause(std::chrono::milliseconds d) = 0;
    /// Waits without reading, so the peer's writes back up; a client close is noticed only later.
    virtual boost::asio::awaitable<void> async_sleep(std::chrono::milliseconds d) = 0;
    /// Never answers: reads and discards until the peer closes or the server stops, then throws.
    virtual boost::asio::awaitable<void> async_stall() = 0;
    /// Closes the socket now, without a TLS close_notify: an abrupt close.
    virtual void close() = 0;
    /// Closes with a TCP reset (SO_LINGER 0): the peer's next read or write fails with RST.
    virtual void reset() = 0;
    virtual bool is_open() const = 0;

protected:
    ~raw_connection() = default;
};

/// One request/response exchange on a connection that may carry several.
class exchange : public raw_connection {
public:
    /// Sends a whole response: the status, `headers`, a Content-Type (text/plain unless given),
    /// then Content-Length and `body`, or Transfer-Encoding: chunked and `body` in uneven chunks.
    virtual boost::asio::awaitable<void> async_respond(int status, std::string body, header_list headers = {},
                                                       bool chunked = false) = 0;
    /// After the handler returns: read the next request (true, the default unless the request
    /// asked for close) or close the connection (false).
    virtual void set_keep_alive(bool keep) = 0;

protected:
    ~exchange() = default;
};

/// Listens on 127.0.0.1 (or a given address), port 0, and serves on the given executor; each connection runs on its own
/// strand, so the io_context may run on several threads. Handlers run on that strand: state they
/// share with the test or with other connections needs its own synchronisation on such a context.
class test_server {
public:
    /// Called per request; if it returns without writing anything the server answers 200 with no body.
    using handler = std::function<boost::asio::awaitable<void>(const received_request&, exchange&)>;
    /// Called per connection before anything is read (after the handshake on a TLS server);
    /// the connection is closed when it returns.
    using conn_handler = std::function<boost::asio::awaitable<void>(raw_connection&)>;

    /// TLS with the CA's leaf certificate when `tls` is set (it is only read here); listens on
    /// `address` (an IPv4 or IPv6 literal).
    explicit test_server(boost::asio::any_io_executor ex, const test_ca* tls = nullptr,
                         const std::string& address = "127.0.0.1");
    /// Calls stop().
    ~test_server();
    test_server(const test_server&) = delete;
    test_server& operator=(const test_server&) = delete;

    std::uint16_t port() const;
    /// "http://127.0.0.1:PORT" or "https://127.0.0.1:PORT" ("http://[::1]:PORT" on IPv6).
    std::string url() const;
    /// The same with another host name, e.g. "localhost".
    std::string url_for_host(const std::string& host) const;

    /// Sets the request handler; read at each request. Default: 200, empty body.
    void on_request(handler h);
    /// Sets a raw connection script; read at each accept and takes precedence over on_request.
    void on_connection(conn_handler h);

    /// Connections open on the server side: closed ones are those where the server saw the client's
    /// EOF or reset, or closed the socket itself.
    std::size_t open_connections() const;
    std::size_t accepted_connections() const;
    std::size_t request_count() const;
    /// Every request parsed so far, in order.
    std::vector<received_request> requests() const;

    /// Polls until open_connections() == n or `max` has elapsed; the caller checks which.
    boost::asio::awaitable<void> async_wait_open_connections(std::size_t n, std::chrono::milliseconds max);

    /// Closes connections that wait for their next request with nothing of it received, as a
    /// server's keep-alive timeout does.
    void close_idle_keepalive();
    /// Closes the acceptor and every connection. Each close runs on its strand: at once when that
    /// is possible from the calling thread, else when the io_context next runs.
    void stop();

private:
    struct impl;
    std::shared_ptr<impl> impl_;
};

} // namespace majordomo::test

// HTTP/1.1 client on Beast: keep-alive pool per origin, plain TCP and TLS, streamed
// bodies, size limits. No socket timeouts: bound calls with with_deadline().
#pragma once

#include <majordomo/http/errc.hpp>
#include <majordomo/http/message.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <string_view>

namespace majordomo::http {

struct tls_params {
    std::string ca_file; ///< PEM bundle of trusted CAs; empty: the system's defaults
    std::string ca_dir;  ///< hashed directory of trusted CAs (c_rehash)
    /// Turns off peer and host-name verification. Anyone on the path can then read
    /// and change the traffic; for tests against self-signed servers only.
    bool unsafe_disable_verification = false;
};

struct client_params {
    std::size_t max_connections_per_origin = 64; ///< waiting for a free one is cancellable
    /// Bytes of the response status line and headers (1xx interim responses included),
    /// and, separately, of each chunk-size line and of a chunked body's trailer section.
    std::size_t header_limit = 64 * 1024;
    std::size_t body_limit = 64 * 1024 * 1024;   ///< bytes of a whole body (async_request, read_all)
    /// Longest an idle connection is kept for reuse; a server's `Keep-Alive: timeout=N`
    /// shortens it to N - 1 s. Idle connections are checked for a close before reuse too.
    std::chrono::steady_clock::duration max_idle_age = std::chrono::seconds(15);
    tls_params tls;
    std::string user_agent = "majordomo/0.1";
};

/// Connection counts, for tests and monitoring.
struct pool_stats {
    std::size_t connections_opened = 0; ///< connections established since construction
    std::size_t open = 0;               ///< connections open now (in use or idle)
    std::size_t idle = 0;               ///< of which idle in the pool
    std::size_t waiting = 0;            ///< requests waiting for a connection slot
};

class client;

/// A response whose status and headers have arrived and whose body is pulled.
/// The connection returns to the pool once the body was read to its end; a stream
/// destroyed or closed before that closes its connection.
/// @par Thread safety  One operation at a time.
class response_stream {
public:
    response_stream(response_stream&&) noexcept;
    response_stream& operator=(response_stream&&) noexcept;
    ~response_stream();

    int status() const noexcept;
    const http::fields& headers() const noexcept;

    /// Reads some body bytes into `buf`; returns 0 at the end of the body.
    /// @par Errors  errc::bad_chunk, errc::response_truncated, errc::chunk_line_limit_exceeded,
    ///   errc::trailer_limit_exceeded, transport errors; errc::stream_closed once an earlier
    ///   error, cancellation or close() ended the stream.
    /// @par Cancellation  Terminal: the connection is closed and the stream ends.
    boost::asio::awaitable<std::size_t> async_read_some(std::span<char> buf);

    /// Reads the next piece of the body without copying it: a view into the connection's
    /// read buffer, valid until the next call on this stream. Empty at the end of the body;
    /// the connection goes back to the pool at that call (or try_finish(), or destruction).
    /// Errors and cancellation as async_read_some, which may be mixed with it.
    boost::asio::awaitable<std::string_view> async_read_some_view();

    /// Reads the rest of the body, bounded by client_params::body_limit.
    boost::asio::awaitable<std::string> async_read_all();

    /// True once the body was read to its end.
    bool done() const noexcept;

    /// Timings so far; `end` is set when done.
    const http::timings& timings() const noexcept;

    /// Abandons the body and closes the connection.
    void close() noexcept;

    /// Ends the body with what is already buffered, without I/O: true when that completes
    /// it (the connection then goes back to the pool if it may), else closes the stream
    /// and returns false. For a caller that has what it wanted, e.g. after `data: [DONE]`.
    bool try_finish() noexcept;

private:
    friend class client;
    struct impl;
    explicit response_stream(std::unique_ptr<impl> p);
    std::unique_ptr<impl> impl_;
};

/// An HTTP/1.1 client. Copies share one connection pool.
/// @par Thread safety  Safe from many coroutines at once, on one or many threads.
class client {
public:
    using executor_type = boost::asio::any_io_executor;

    explicit client(executor_type ex, client_params params = {});

    executor_type get_executor() const noexcept;
    const client_params& params() const noexcept;

    /// Sends `req` and reads the whole response.
    /// @par Errors  errc::* for limits and malformed responses; asio, ssl and system
    ///   errors from the transport. Non-2xx statuses are not errors here.
    /// @par Cancellation  Terminal at any phase; the connection is closed, never reused.
    boost::asio::awaitable<response> async_request(request req);

    /// Sends `req` and returns once the status and headers have arrived.
    boost::asio::awaitable<response_stream> async_open(request req);

    /// Connection counts across all origins.
    pool_stats stats() const;

    /// Closes idle connections; in-use ones close when released.
    void close_idle();

private:
    struct impl;
    std::shared_ptr<impl> impl_;
};

} // namespace majordomo::http

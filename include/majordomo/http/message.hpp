// Requests, responses and per-request timings of the HTTP layer.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

namespace majordomo::http {

struct field {
    std::string name;
    std::string value;
};

/// Header fields in the order they were sent or received.
class fields : public std::vector<field> {
public:
    using std::vector<field>::vector;
    /// The first value of `name` (case-insensitive), or an empty view.
    std::string_view find(std::string_view name) const noexcept;
    bool contains(std::string_view name) const noexcept;
    void set(std::string name, std::string value);
};

struct request {
    std::string method = "GET";
    std::string url; ///< absolute: http://host[:port]/path?query or https://...
    fields headers;  ///< Host, Content-Length and User-Agent are added when absent
    std::string body;
};

/// When each phase of one request ended (DESIGN.md rule 5). A phase that did not
/// happen (yet) holds the default time_point.
struct timings {
    using clock = std::chrono::steady_clock;
    clock::time_point start;            ///< the call began
    clock::time_point connected;        ///< a connection was ready (new or reused)
    clock::time_point request_written;  ///< the whole request was written
    clock::time_point headers_received; ///< the response headers were parsed
    clock::time_point first_byte;       ///< the first body byte arrived
    clock::time_point end;              ///< the body was read to its end
    bool reused_connection = false;

    /// Time from start to `t`, or zero when `t` did not happen.
    clock::duration since_start(clock::time_point t) const noexcept
    {
        return t == clock::time_point{} ? clock::duration::zero() : t - start;
    }
};

struct response {
    int status = 0;
    fields headers;
    std::string body;
    http::timings timings;
};

} // namespace majordomo::http

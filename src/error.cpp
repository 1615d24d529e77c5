#include <majordomo/error.hpp>

#include <string>

namespace majordomo {
namespace {

class client_category final : public boost::system::error_category {
public:
    const char* name() const noexcept override { return "majordomo.client"; }
    std::string message(int ev) const override
    {
        switch (static_cast<client_errc>(ev)) {
        case client_errc::deadline_exceeded:
            return "the operation did not finish before its deadline; raise the deadline passed to "
                   "with_deadline (a cold model swap can take minutes)";
        case client_errc::stream_truncated:
            return "the stream ended without its terminator (data: [DONE]); the upstream server may have "
                   "crashed or been unloaded mid-response";
        case client_errc::bad_json:
            return "the server sent JSON that could not be decoded; check that the base URL points at an "
                   "OpenAI-compatible server";
        case client_errc::unexpected_content_type:
            return "the server answered with an unexpected Content-Type; check the base URL and path";
        case client_errc::invalid_argument: return "an argument was invalid; see the diagnostics";
        case client_errc::no_base_url:
            return "the provider has no base URL; construct it with one (e.g. http://127.0.0.1:8080) "
                   "or from a DSN";
        case client_errc::missing_api_key:
            return "the API key is blank; set a non-empty key or leave it unset";
        case client_errc::operation_in_progress:
            return "an operation is already in progress on this object; await it before starting another";
        case client_errc::bad_dsn:
            return "the DSN is malformed; expected scheme://[token@]host[:port][/path]";
        case client_errc::unknown_provider: return "no provider is registered under that name";
        case client_errc::bad_image:
            return "the image data is missing, empty or not valid base64";
        case client_errc::model_unloaded:
            return "the model was unloaded while the request was using it; retry the request";
        case client_errc::stream_closed:
            return "the stream already ended with an error or was cancelled, and its connection is closed; "
                   "make a new call to start another stream";
        }
        return "unknown majordomo client error";
    }
};

class api_category final : public boost::system::error_category {
public:
    const char* name() const noexcept override { return "majordomo.api"; }
    std::string message(int ev) const override
    {
        switch (ev) {
        case 400: return "HTTP 400: the server rejected the request as invalid; see the server message";
        case 401: return "HTTP 401: authentication failed; check the API key";
        case 403: return "HTTP 403: the key is not allowed to do this";
        case 404: return "HTTP 404: not found; check the model id and the base URL";
        case 408: return "HTTP 408: the server timed out waiting for the request";
        case 413: return "HTTP 413: the request is too large for the server";
        case 429: return "HTTP 429: rate or concurrency limit reached; retry after the Retry-After delay";
        case 500: return "HTTP 500: the server failed; see the server message";
        case 501: return "HTTP 501: the server does not support this feature";
        case 502: return "HTTP 502: the upstream server failed or could not be started";
        case 503: return "HTTP 503: the server is unavailable or still loading the model; retry later";
        case 504: return "HTTP 504: the upstream server timed out";
        default: return "HTTP " + std::to_string(ev) + " from the server; see the server message";
        }
    }
};

} // namespace

const boost::system::error_category& get_client_category() noexcept
{
    static const client_category cat;
    return cat;
}

const boost::system::error_category& get_api_category() noexcept
{
    static const api_category cat;
    return cat;
}

namespace {
// system_error's what() is "<prefix>: <code message>"; the prefix carries context that
// never includes secrets or server text beyond the bounded excerpt.
std::string what_prefix(const diagnostics& d)
{
    std::string s;
    auto add = [&](std::string_view label, const std::string& v) {
        if (v.empty())
            return;
        if (!s.empty())
            s += ", ";
        s += label;
        s += v;
    };
    add("provider ", d.provider);
    add("model ", d.model);
    add("", d.client_message);
    add("server said: ", d.server_message);
    return s;
}
} // namespace

error::error(boost::system::error_code ec, diagnostics diag)
    : boost::system::system_error(ec, what_prefix(diag)), diag_(std::move(diag))
{
}

error::error(boost::system::error_code ec) : boost::system::system_error(ec) {}

namespace {
diagnostics with_client_message(std::string m)
{
    diagnostics d;
    d.client_message = std::move(m);
    return d;
}
} // namespace

error::error(boost::system::error_code ec, std::string client_message)
    : error(ec, with_client_message(std::move(client_message)))
{
}

void throw_error(boost::system::error_code ec, std::string client_message, const boost::source_location& loc)
{
    ec.assign(ec.value(), ec.category(), &loc);
    throw error(ec, std::move(client_message));
}

void throw_exception_from_error(const failure& f, const boost::source_location&)
{
    throw error(f.code, f.diag);
}

failure current_failure()
{
    try {
        throw;
    } catch (const error& e) {
        return {e.code(), e.diag()};
    } catch (const boost::system::system_error& e) {
        return {e.code(), {}};
    } catch (const std::bad_alloc&) {
        return {make_error_code(boost::system::errc::not_enough_memory), {}};
    } catch (const std::exception& e) {
        return {make_error_code(client_errc::invalid_argument), with_client_message(e.what())};
    }
}

namespace detail {
void throw_deadline_exceeded(std::chrono::steady_clock::duration d)
{
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
    throw error(make_error_code(client_errc::deadline_exceeded),
                "deadline of " + std::to_string(ms) + " ms exceeded");
}
} // namespace detail

} // namespace majordomo

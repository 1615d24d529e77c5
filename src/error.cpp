#include <majordomo/deadline.hpp>
#include <majordomo/error.hpp>

#include <algorithm>
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
        case client_errc::first_token_deadline_exceeded:
            return "no token arrived within the call's first-token deadline (phase_deadlines::first_token); "
                   "raise it if a cold model swap is expected";
        case client_errc::idle_deadline_exceeded:
            return "the stream went quiet for longer than its idle deadline (phase_deadlines::idle); the "
                   "server may be stuck or overloaded";
        case client_errc::total_deadline_exceeded:
            return "the call did not finish within its total deadline (phase_deadlines::total)";
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

// The context before the code's message: never secrets, and server text only as the
// bounded excerpt the decoders keep.
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
    add("at ", d.origin);
    add("", d.client_message);
    if (d.attempts > 1)
        add("attempts: ", std::to_string(d.attempts));
    add("server said: ", d.server_message);
    return s;
}

// "<context>: <what the code means>". Built from message(), not error_code::what(),
// which appends " [category:N at file:line:column in function ...]".
std::string compose_what(const boost::system::error_code& ec, const diagnostics& d)
{
    std::string s = what_prefix(d);
    if (!s.empty())
        s += ": ";
    s += ec.message();
    return s;
}

diagnostics scrubbed(diagnostics d)
{
    // An origin is scheme://host[:port]; whatever a caller put there, userinfo and path go.
    if (!d.origin.empty())
        d.origin = redact_url(d.origin);
    return d;
}

bool lower_alpha(char c) noexcept { return c >= 'a' && c <= 'z'; }
bool digit(char c) noexcept { return c >= '0' && c <= '9'; }

// A scheme we can show: lower-case letters and + - . as real schemes are. Keys and tokens
// carry digits or capitals, so one typed where the scheme goes stays hidden.
bool showable_scheme(std::string_view s) noexcept
{
    if (s.empty() || s.size() > 24 || !lower_alpha(s.front()))
        return false;
    return std::all_of(s.begin(), s.end(), [](char c) { return lower_alpha(c) || c == '+' || c == '-' || c == '.'; });
}

// A host we can show: a registered name or IPv4 address (letters, digits, '-', '.', '_'),
// or an IPv6 literal in brackets; then an optional port of digits.
bool showable_host_port(std::string_view s) noexcept
{
    std::string_view host = s, port;
    if (!s.empty() && s.front() == '[') {
        auto close = s.find(']');
        if (close == std::string_view::npos)
            return false;
        auto inside = s.substr(1, close - 1);
        if (!std::all_of(inside.begin(), inside.end(),
                         [](char c) { return digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == ':' || c == '.'; }))
            return false;
        host = {};
        s.remove_prefix(close + 1);
        if (s.empty())
            return true;
        if (s.front() != ':')
            return false;
        port = s.substr(1);
    } else if (auto colon = s.find(':'); colon != std::string_view::npos) {
        host = s.substr(0, colon);
        port = s.substr(colon + 1);
        if (port.empty())
            return false;
    }
    auto host_char = [](char c) {
        return lower_alpha(c) || (c >= 'A' && c <= 'Z') || digit(c) || c == '-' || c == '.' || c == '_';
    };
    return std::all_of(host.begin(), host.end(), host_char) && port.size() <= 5 &&
           std::all_of(port.begin(), port.end(), digit);
}

} // namespace

std::string redact_url(std::string_view url)
{
    auto sep = url.find("://");
    if (sep == std::string_view::npos)
        return "***";
    std::string out;
    auto scheme = url.substr(0, sep);
    out += showable_scheme(scheme) ? scheme : std::string_view("***");
    out += "://";
    auto rest = url.substr(sep + 3);
    // The userinfo ends at the last '@', wherever it is: a key may hold '/', '?' or '#'.
    // A path holding '@' is hidden with it, which errs on the side of the secret.
    if (auto at = rest.rfind('@'); at != std::string_view::npos) {
        out += "***@";
        rest.remove_prefix(at + 1);
    }
    auto host_port = rest.substr(0, rest.find_first_of("/?#"));
    out += showable_host_port(host_port) ? host_port : std::string_view("***");
    return out;
}

error::error(boost::system::error_code ec, diagnostics diag)
    // The base keeps only the code's text: a copy sliced to system_error shows no context,
    // so nothing a caller put in diag can escape through it.
    : boost::system::system_error(ec), diag_(scrubbed(std::move(diag))),
      what_(compose_what(ec, diag_))
{
}

error::error(boost::system::error_code ec) : boost::system::system_error(ec), what_(ec.message()) {}

const char* error::what() const noexcept { return what_.c_str(); }

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
    throw_expired(client_errc::deadline_exceeded, d);
}

void throw_expired(client_errc code, std::chrono::steady_clock::duration d)
{
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
    const char* what = "deadline";
    switch (code) {
    case client_errc::first_token_deadline_exceeded: what = "first-token deadline"; break;
    case client_errc::idle_deadline_exceeded: what = "idle deadline"; break;
    case client_errc::total_deadline_exceeded: what = "total deadline"; break;
    default: break;
    }
    throw error(make_error_code(code), std::string(what) + " of " + std::to_string(ms) + " ms exceeded");
}
} // namespace detail

} // namespace majordomo

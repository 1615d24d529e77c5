// The rest of llama-swap's management API (llama-swap-api.md §2.2, §2.3, §2.6): version, activity and
// stats, profiles, cancelling an in-flight request, and /upstream pass-through. Each call names its
// endpoint in its errors, so a release without the endpoint fails clearly instead of with a decode error.
#include "llamaswap/json_reading.hpp"
#include "openai/api_error.hpp"

#include <majordomo/error.hpp>
#include <majordomo/llamaswap/provider.hpp>
#include <majordomo/openai/provider.hpp>

#include <boost/json/serialize.hpp>
#include <boost/url/encode.hpp>
#include <boost/url/rfc/pchars.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>

namespace majordomo::llamaswap {

namespace asio = boost::asio;
namespace json = boost::json;
using detail::bad_shape;
using detail::count;
using detail::number;
using detail::parse;
using detail::str;
using llm::detail::field;

// ---- decoders ----

namespace {

activity_tokens tokens_of(const json::object& o)
{
    activity_tokens t;
    t.cache_tokens = count(o, "cache_tokens");
    t.draft_tokens = count(o, "draft_tokens");
    t.draft_accepted_tokens = count(o, "draft_acc_tokens");
    t.input_tokens = count(o, "input_tokens");
    t.output_tokens = count(o, "output_tokens");
    t.prompt_per_second = number(o, "prompt_per_second");
    t.tokens_per_second = number(o, "tokens_per_second");
    return t;
}

std::optional<histogram> histogram_of(const json::value* v)
{
    if (!v || !v->is_object())
        return std::nullopt;
    const auto& o = v->get_object();
    histogram h;
    if (auto* b = field(o, "bins"); b && b->is_array())
        for (const auto& x : b->get_array())
            h.bins.push_back(llm::detail::to_number(x).value_or(0));
    h.min = number(o, "min");
    h.max = number(o, "max");
    h.bin_size = number(o, "binSize");
    h.p50 = number(o, "p50");
    h.p95 = number(o, "p95");
    h.p99 = number(o, "p99");
    return h;
}

} // namespace

version_info decode_version(std::string_view body)
{
    auto v = parse(body, "version");
    if (!v.is_object() || !v.get_object().contains("version"))
        bad_shape("version", body);
    auto& o = v.get_object();
    version_info out;
    // A number is read as its text: the version is a tag number.
    if (auto* x = field(o, "version"); x && !x->is_string())
        out.version = json::serialize(*x);
    else
        out.version = str(o, "version");
    out.commit = str(o, "commit");
    out.build_date = str(o, "build_date");
    out.raw = std::move(o);
    return out;
}

activity_page decode_activity(std::string_view body)
{
    auto v = parse(body, "activity log");
    activity_page out;
    const json::array* rows = nullptr;
    if (v.is_array()) { // before v236: the whole log, token counts at the top of each row
        rows = &v.get_array();
        out.legacy = true;
    } else if (v.is_object()) {
        auto* d = field(v.get_object(), "data");
        if (d && d->is_array())
            rows = &d->get_array();
        const auto& o = v.get_object();
        out.page = count(o, "page");
        out.limit = count(o, "limit");
        out.total = count(o, "total");
        out.total_pages = count(o, "total_pages");
    }
    if (!rows)
        bad_shape("activity log", body);
    for (const auto& rv : *rows) {
        if (!rv.is_object())
            bad_shape("activity row", body);
        const auto& r = rv.get_object();
        activity_row row;
        if (auto* id = field(r, "id"))
            row.id = llm::detail::to_integer(*id).value_or(0);
        row.timestamp = str(r, "timestamp");
        row.model = str(r, "model");
        row.req_path = str(r, "req_path");
        row.resp_content_type = str(r, "resp_content_type");
        if (auto* sc = field(r, "resp_status_code"))
            row.resp_status_code = llm::detail::to_int(*sc);
        auto* t = field(r, "tokens");
        row.tokens = tokens_of(t && t->is_object() ? t->get_object() : r);
        row.duration_ms = count(r, "duration_ms");
        if (auto* hc = field(r, "has_capture"); hc && hc->is_bool())
            row.has_capture = hc->get_bool();
        row.error_msg = str(r, "error_msg");
        row.raw = r;
        out.rows.push_back(std::move(row));
    }
    return out;
}

activity_stats decode_stats(std::string_view body)
{
    auto v = parse(body, "stats");
    if (!v.is_object() || !v.get_object().contains("total_requests"))
        bad_shape("stats", body);
    auto& o = v.get_object();
    activity_stats s;
    s.total_requests = count(o, "total_requests").value_or(0);
    s.total_input_tokens = count(o, "total_input_tokens").value_or(0);
    s.total_output_tokens = count(o, "total_output_tokens").value_or(0);
    s.total_cache_tokens = count(o, "total_cache_tokens").value_or(0);
    s.prompt_histogram = histogram_of(field(o, "prompt_histogram"));
    s.gen_histogram = histogram_of(field(o, "gen_histogram"));
    s.raw = std::move(o);
    return s;
}

profile_list decode_profiles(std::string_view body)
{
    auto v = parse(body, "profile list");
    if (!v.is_object() || !v.get_object().contains("profiles"))
        bad_shape("profile list", body);
    const auto& o = v.get_object();
    profile_list out;
    if (auto* a = field(o, "active"); a && a->is_string())
        out.active = std::string(a->get_string());
    auto* ps = field(o, "profiles");
    if (ps && !ps->is_array())
        bad_shape("profile list", body);
    if (ps)
        for (const auto& pv : ps->get_array()) {
            if (!pv.is_object())
                bad_shape("profile list", body);
            const auto& po = pv.get_object();
            profile p;
            p.id = str(po, "id");
            p.description = str(po, "description");
            if (auto* pins = field(po, "pins"); pins && pins->is_object())
                for (const auto& [k, t] : pins->get_object())
                    p.pins.emplace_back(std::string(k), t.is_string() ? std::string(t.get_string()) : std::string());
            p.raw = po;
            out.profiles.push_back(std::move(p));
        }
    return out;
}

// ---- calls ----

namespace {

// What a management call needs, taken from the delegate (which shares the provider's client):
// valid even if the provider goes away during the call.
struct admin {
    std::string name;
    std::string base;
    std::string token;
    http::client http;
};

admin admin_of(const provider& p)
{
    auto c = p.chat_provider();
    if (!c)
        openai::detail::check_ready({p.name(), {}}, "", std::nullopt);
    // The delegate sits at {base}/v1.
    std::string base = c->params().base_url;
    if (base.size() >= 3 && base.compare(base.size() - 3, 3, "/v1") == 0)
        base.resize(base.size() - 3);
    return {p.name(), std::move(base), c->params().api_key.value_or("no-key"), c->http_client()};
}

struct endpoint {
    std::string method;
    std::string path; ///< with the query, if any
    std::string since; ///< the release that brought it, for the error when it is missing; "" unknown
    std::string body = {};
    std::string content_type = "application/json";
    std::string accept = "application/json";
    std::string model = {};
    http::fields headers = {};

    std::string name() const { return method + " " + path.substr(0, path.find('?')); }
};

http::request make(const admin& a, const endpoint& e)
{
    http::request r;
    r.method = e.method;
    r.url = a.base + e.path;
    r.headers.push_back({"Authorization", "Bearer " + a.token});
    r.headers.push_back({"Accept", e.accept});
    if (!e.body.empty())
        r.headers.push_back({"Content-Type", e.content_type});
    for (const auto& f : e.headers)
        r.headers.set(f.name, f.value);
    r.body = e.body;
    return r;
}

// The Go mux's answer for a path it does not route: what a release without the endpoint says.
bool not_routed(int status, std::string_view body)
{
    return status == 405 || (status == 404 && llm::detail::trim(body) == "404 page not found");
}

[[noreturn]] void throw_endpoint_error(const admin& a, const endpoint& e, int status, const http::fields& headers,
                                       std::string_view body)
{
    try {
        openai::detail::throw_api_error({a.name, e.model, a.base}, status, headers, body);
    } catch (const error& err) {
        auto d = err.diag();
        d.client_message = e.name() + " answered HTTP " + std::to_string(status);
        if (not_routed(status, body)) {
            d.client_message += ": this llama-swap release does not have the endpoint";
            if (!e.since.empty())
                d.client_message += " (it came in " + e.since + "); upgrade llama-swap";
        }
        throw error(err.code(), std::move(d));
    }
}

asio::awaitable<http::response> call(admin a, endpoint e)
{
    auto r = co_await a.http.async_request(make(a, e));
    if (r.status / 100 != 2)
        throw_endpoint_error(a, e, r.status, r.headers, r.body);
    co_return r;
}

// Decodes a 2xx body; an answer that is not JSON at all (an old release's UI fallback page) says so
// and names the endpoint, a JSON one of the wrong shape is bad_json naming it.
template <class Decode>
auto decode(const admin& a, const endpoint& e, const http::response& r, Decode f) -> decltype(f(r.body))
{
    try {
        return f(r.body);
    } catch (const error& err) {
        diagnostics d = err.diag();
        d.provider = a.name;
        d.origin = a.base;
        d.http_status = r.status;
        auto type = r.headers.find("content-type");
        if (type.find("json") == std::string_view::npos) {
            d.client_message = e.name() + " answered HTTP " + std::to_string(r.status) + " with '" +
                               llm::detail::excerpt(type, 60) + "', not JSON: this llama-swap release may not have " +
                               "the endpoint";
            if (!e.since.empty())
                d.client_message += " (it came in " + e.since + ")";
            throw error(make_error_code(client_errc::unexpected_content_type), std::move(d));
        }
        d.client_message = e.name() + ": " + d.client_message;
        throw error(err.code(), std::move(d));
    }
}

std::string encode_segment(std::string_view s) { return boost::urls::encode(s, boost::urls::unreserved_chars); }

} // namespace

asio::awaitable<version_info> provider::async_version()
{
    auto a = admin_of(*this);
    endpoint e{"GET", "/api/version", ""}; // in every release the reference covers
    auto r = co_await call(a, e);
    co_return decode(a, e, r, [](std::string_view b) { return decode_version(b); });
}

asio::awaitable<activity_page> provider::async_activity(activity_query q)
{
    auto a = admin_of(*this);
    std::string query;
    auto add = [&](std::string_view k, std::string_view v) {
        query += query.empty() ? '?' : '&';
        query += std::string(k) + "=" + encode_segment(v);
    };
    for (const auto& m : q.models)
        add("model", m);
    if (q.limit)
        add("limit", std::to_string(*q.limit));
    if (q.page)
        add("page", std::to_string(*q.page));
    if (!q.sort.empty())
        add("sort", q.sort);
    if (!q.order.empty())
        add("order", q.order);
    if (q.min_id)
        add("min_id", std::to_string(*q.min_id));
    if (q.max_id)
        add("max_id", std::to_string(*q.max_id));
    if (!q.start.empty())
        add("start", q.start);
    if (!q.end.empty())
        add("end", q.end);
    endpoint e{"GET", "/api/metrics/activity" + query, "v236"};
    auto r = co_await a.http.async_request(make(a, e));
    if (not_routed(r.status, r.body)) {
        // Before v236 the log was GET /api/metrics: the whole of it, unpaged and unfiltered.
        endpoint old{"GET", "/api/metrics", ""};
        auto r2 = co_await call(a, old);
        co_return decode(a, old, r2, [](std::string_view b) { return decode_activity(b); });
    }
    if (r.status / 100 != 2)
        throw_endpoint_error(a, e, r.status, r.headers, r.body);
    co_return decode(a, e, r, [](std::string_view b) { return decode_activity(b); });
}

// Not coroutines: the default arguments are built here, never as braced temporaries inside a
// caller's co_await (g++ 12 miscompiles those).
asio::awaitable<activity_page> provider::async_activity() { return async_activity(activity_query()); }
asio::awaitable<activity_stats> provider::async_stats() { return async_stats(std::string()); }

asio::awaitable<activity_stats> provider::async_stats(std::string model)
{
    auto a = admin_of(*this);
    endpoint e{"GET", "/api/metrics/stats" + (model.empty() ? std::string() : "?model=" + encode_segment(model)),
               "v236"};
    auto r = co_await call(a, e);
    co_return decode(a, e, r, [](std::string_view b) { return decode_stats(b); });
}

asio::awaitable<profile_list> provider::async_profiles()
{
    auto a = admin_of(*this);
    endpoint e{"GET", "/api/profiles", "v245"};
    auto r = co_await call(a, e);
    co_return decode(a, e, r, [](std::string_view b) { return decode_profiles(b); });
}

asio::awaitable<std::optional<std::string>> provider::async_set_profile(std::optional<std::string> name)
{
    auto a = admin_of(*this);
    json::object body;
    if (name)
        body["name"] = *name;
    else
        body["name"] = nullptr;
    endpoint e{"PUT", "/api/profiles/active", "v245", json::serialize(body)};
    auto r = co_await call(a, e);
    co_return decode(a, e, r, [](std::string_view b) -> std::optional<std::string> {
        auto v = parse(b, "active profile");
        if (!v.is_object() || !v.get_object().contains("active"))
            bad_shape("active profile", b);
        const auto& act = v.get_object().at("active");
        if (act.is_string())
            return std::string(act.get_string());
        return std::nullopt;
    });
}

asio::awaitable<void> provider::async_cancel(std::string id)
{
    auto a = admin_of(*this);
    if (id.empty())
        throw error(make_error_code(client_errc::invalid_argument), "async_cancel needs an in-flight request id");
    endpoint e{"POST", "/api/inflight/" + encode_segment(id) + "/cancel", "v236"};
    co_await call(a, e);
}

namespace {

endpoint upstream_endpoint(upstream_request& req)
{
    if (req.model.empty())
        throw error(make_error_code(client_errc::invalid_argument), "upstream_request::model is empty");
    if (req.path.empty() || req.path.front() != '/')
        throw error(make_error_code(client_errc::invalid_argument), "upstream_request::path must start with '/'");
    endpoint e;
    e.method = req.method.empty() ? std::string("GET") : req.method;
    // Model ids may hold '/', which llama-swap resolves by the longest matching prefix.
    e.path = "/upstream/" + boost::urls::encode(req.model, boost::urls::pchars + '/') + req.path;
    e.body = std::move(req.body);
    if (!req.content_type.empty())
        e.content_type = std::move(req.content_type);
    e.accept = "*/*";
    e.model = req.model;
    e.headers = std::move(req.headers);
    return e;
}

} // namespace

asio::awaitable<http::response> provider::async_upstream(upstream_request req)
{
    auto a = admin_of(*this);
    auto e = upstream_endpoint(req);
    co_return co_await call(a, e);
}

asio::awaitable<http::response_stream> provider::async_upstream_stream(upstream_request req)
{
    auto a = admin_of(*this);
    auto e = upstream_endpoint(req);
    auto s = co_await a.http.async_open(make(a, e));
    if (s.status() / 100 != 2) {
        auto body = co_await s.async_read_all();
        throw_endpoint_error(a, e, s.status(), s.headers(), body);
    }
    co_return s;
}

} // namespace majordomo::llamaswap

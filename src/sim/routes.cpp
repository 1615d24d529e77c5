// llama-swap's routes (reference §2): its own endpoints, auth (§6), model extraction (§3.1), admission
// with the concurrency limit (§3.5), the loading-state stream (§8), /upstream (§2.3) and the Go mux's
// 404 and 405 answers.
#include "server.hpp"

#include "encoding.hpp"
#include "multipart.hpp"
#include "responses.hpp"

#include <boost/json/parse.hpp>
#include <boost/url/parse.hpp>

#include <ctime>

// g++ 12 reports a false -Wmismatched-new-delete on Asio's awaitable frame allocator once coroutine
// ramps are inlined (cmake/majordomo_settings.cmake silences it project-wide for the same reason).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

namespace majordomo::sim::detail {

namespace json = boost::json;

namespace {

enum class route {
    none, health, root, models, running, unload_get, unload_all, unload_one, events, logs, version,
    chat, embeddings, images, upstream_root, upstream, completions, rerank, transcriptions, speech,
    activity, legacy_metrics, stats, profiles, profile_active, cancel
};
enum class method_set { get, post, put, any };

struct route_match {
    route r = route::none;
    method_set methods = method_set::get;
    bool open = false; ///< no API key needed
};

route_match classify(std::string_view p)
{
    auto starts = [&](std::string_view prefix) { return p.substr(0, prefix.size()) == prefix; };
    if (p == "/health" || p == "/wol-health")
        return {route::health, method_set::get, true};
    if (p == "/")
        return {route::root, method_set::get, true};
    if (p == "/v1/models" || p == "/models")
        return {route::models, method_set::get, false};
    if (p == "/running")
        return {route::running, method_set::get, false};
    if (p == "/unload")
        return {route::unload_get, method_set::get, false};
    if (p == "/logs")
        return {route::logs, method_set::get, false};
    if (p == "/api/version")
        return {route::version, method_set::get, false};
    if (p == "/api/events")
        return {route::events, method_set::get, false};
    if (p == "/api/metrics/activity")
        return {route::activity, method_set::get, false};
    if (p == "/api/metrics")
        return {route::legacy_metrics, method_set::get, false};
    if (p == "/api/metrics/stats")
        return {route::stats, method_set::get, false};
    if (p == "/api/profiles")
        return {route::profiles, method_set::get, false};
    if (p == "/api/profiles/active")
        return {route::profile_active, method_set::put, false};
    if (starts("/api/inflight/") && p.size() > std::string_view("/api/inflight//cancel").size() &&
        p.substr(p.size() - 7) == "/cancel")
        return {route::cancel, method_set::post, false};
    if (p == "/api/models/unload")
        return {route::unload_all, method_set::post, false};
    if (starts("/api/models/unload/"))
        return {route::unload_one, method_set::post, false};
    if (p == "/v1/chat/completions")
        return {route::chat, method_set::post, false};
    if (p == "/v1/embeddings")
        return {route::embeddings, method_set::post, false};
    if (p == "/v1/completions")
        return {route::completions, method_set::post, false};
    if (p == "/v1/rerank" || p == "/rerank" || p == "/v1/reranking" || p == "/reranking")
        return {route::rerank, method_set::post, false};
    if (p == "/v1/audio/transcriptions")
        return {route::transcriptions, method_set::post, false};
    if (p == "/v1/audio/speech")
        return {route::speech, method_set::post, false};
    if (p == "/v1/images/generations")
        return {route::images, method_set::post, false};
    if (p == "/upstream")
        return {route::upstream_root, method_set::get, false};
    if (starts("/upstream/"))
        return {route::upstream, method_set::any, false};
    return {};
}

asio::awaitable<bool> send(exchange& x, response& res)
{
    bool ok = co_await x.s.write(res, x.head);
    co_return ok && res.keep_alive();
}

// Go's http.Error: text/plain with nosniff and a trailing newline.
asio::awaitable<bool> send_go_error(exchange& x, http::status st, std::string text)
{
    auto res = make_response(x.req, st, "text/plain; charset=utf-8", text + "\n");
    res.set("X-Content-Type-Options", "nosniff");
    co_return co_await send(x, res);
}

// A body with no Content-Type set: Go sniffs "OK" as text/plain; charset=utf-8.
asio::awaitable<bool> send_text(exchange& x, std::string text)
{
    auto res = make_response(x.req, http::status::ok, "text/plain; charset=utf-8", std::move(text));
    co_return co_await send(x, res);
}

asio::awaitable<bool> send_json(exchange& x, const json::value& v, bool trailing_newline)
{
    auto body = dump_json(v);
    if (trailing_newline) // Go's json.Encoder ends its output with a newline
        body += '\n';
    auto res = make_response(x.req, http::status::ok, "application/json", std::move(body));
    co_return co_await send(x, res);
}

asio::awaitable<bool> send_redirect(exchange& x, http::status st, std::string location)
{
    std::string body;
    if (x.req.method() == http::verb::get) // Go's http.Redirect writes a short link for GET
        body = "<a href=\"" + location + "\">" + std::string(http::obsolete_reason(st)) + "</a>.\n\n";
    std::string_view type = body.empty() ? "" : "text/html; charset=utf-8";
    auto res = make_response(x.req, st, type, std::move(body));
    res.set(http::field::location, location);
    co_return co_await send(x, res);
}

asio::awaitable<bool> send_swap_error(exchange& x, unsigned status, std::string message, std::string code = {})
{
    auto tb = swap_error_body(x.srv.params().errors, x.req[http::field::accept], status, message, code);
    auto res = make_response(x.req, static_cast<http::status>(status), tb.content_type, std::move(tb.body));
    if (status == 429)
        res.set(http::field::retry_after, "1");
    if (status == 401)
        res.set(http::field::www_authenticate, "Basic realm=\"llama-swap\"");
    co_return co_await send(x, res);
}

// §6: Basic (the password is the key), then Bearer (scheme case-insensitive), then x-api-key.
bool authorized(const server& srv, const request& req)
{
    const auto& keys = srv.params().api_keys;
    if (keys.empty())
        return true;
    std::string key;
    auto auth = req[http::field::authorization];
    bool found = false;
    if (istarts_with(auth, "Basic ")) {
        if (auto decoded = base64_decode(auth.substr(6))) {
            auto colon = decoded->find(':');
            key = colon == std::string::npos ? std::string() : decoded->substr(colon + 1);
            found = true;
        }
    }
    if (!found && istarts_with(auth, "Bearer ")) {
        key = std::string(auth.substr(7));
        found = true;
    }
    if (!found)
        key = std::string(req["x-api-key"]);
    for (const auto& k : keys)
        if (k == key)
            return true;
    return false;
}

// OPTIONS anywhere: the CORS preflight answer (internal/server/auth.go).
asio::awaitable<bool> send_preflight(exchange& x)
{
    std::string allowed;
    for (char c : x.req["Access-Control-Request-Headers"]) {
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                  c == '_' || c == ',' || c == ' ';
        if (ok)
            allowed += c;
    }
    if (allowed.find_first_not_of(" ,") == std::string::npos)
        allowed = "Content-Type, Authorization, Accept, X-Requested-With";
    response res{http::status::no_content, x.req.version()};
    res.keep_alive(x.req.keep_alive());
    res.set(http::field::access_control_allow_origin, "*");
    res.set(http::field::access_control_allow_methods, "GET, POST, PUT, PATCH, DELETE, OPTIONS");
    res.set(http::field::access_control_allow_headers, allowed);
    res.set(http::field::access_control_max_age, "86400");
    bool ok = co_await x.s.write(res, false);
    co_return ok && res.keep_alive();
}

// §3.1: the model comes from a JSON body only when the Content-Type says JSON; other bodies are
// read as url-encoded forms. A non-string "model" is stringified, as gjson does.
struct routing_info {
    std::string model;
    bool stream = false;
    json::value body; ///< null when the body is not a JSON object
    std::optional<form> upload; ///< a multipart/form-data body, parsed
    std::string upload_error;   ///< why a multipart body could not be parsed
};

routing_info extract(const request& req)
{
    routing_info out;
    auto ct = req[http::field::content_type];
    if (icontains(ct, "application/json")) {
        boost::system::error_code ec;
        auto v = json::parse(req.body(), ec);
        if (ec || !v.is_object())
            return out;
        const auto& o = v.get_object();
        if (const auto* mv = o.if_contains("model")) {
            if (mv->is_string())
                out.model = std::string(mv->get_string());
            else if (!mv->is_null())
                out.model = dump_json(*mv);
        }
        if (const auto* sv = o.if_contains("stream"))
            out.stream = sv->is_bool() && sv->get_bool();
        out.body = std::move(v);
    } else if (icontains(ct, "multipart/form-data")) {
        // Go's ParseMultipartForm: a malformed body is an error, not a missing model.
        out.upload = parse_multipart(ct, req.body(), out.upload_error);
        if (out.upload) {
            if (const auto* mp = out.upload->find("model"))
                out.model = mp->data;
            if (const auto* sp = out.upload->find("stream"))
                out.stream = sp->data == "true";
        }
    } else {
        std::string ref = "?" + req.body();
        if (auto u = boost::urls::parse_relative_ref(ref)) {
            for (auto p : u->params()) {
                if (p.key == "model")
                    out.model = p.value;
                else if (p.key == "stream")
                    out.stream = p.value == "true";
            }
        }
    }
    return out;
}

asio::awaitable<bool> serve_admitted(exchange& x, route r, routing_info& info, model_slot* m);

asio::awaitable<bool> serve_model_route(exchange& x, route r)
{
    auto info = extract(x.req);
    if (!info.upload_error.empty())
        co_return co_await send_swap_error(x, 400, "error parsing multipart form: " + info.upload_error);
    if (info.model.empty())
        co_return co_await send_swap_error(x, 404, "no model id could be identified");
    // Profiles rewrite the requested id first (§3.2); an empty pin disables it.
    auto pinned = x.srv.pin(info.model);
    if (!pinned)
        co_return co_await send_swap_error(x, 404, "no router for requested model");
    auto* m = x.srv.find(*pinned);
    if (!m)
        co_return co_await send_swap_error(x, 404, "no router for requested model");

    // In flight from here on: visible in /api/events and cancellable, recorded in the activity log.
    // Only a normal end reports it; a frame destroyed with its io_context touches no other session.
    struct tracked {
        server& srv;
        std::uint64_t id;
        bool normal = false;
        ~tracked() { srv.untrack(id, normal); }
    } inflight{x.srv, x.srv.track(x.s, m->p.id, x.path, std::string(x.req.method_string()))};
    bool keep = co_await serve_admitted(x, r, info, m);
    inflight.normal = true;
    co_return keep;
}

asio::awaitable<bool> serve_admitted(exchange& x, route r, routing_info& info, model_slot* m)
{
    // Admission counts requests being served plus those queued, and answers before any loading bytes.
    if (m->p.concurrency_limit > 0 && m->in_flight + m->queued >= m->p.concurrency_limit) {
        ++x.srv.rejected;
        co_return co_await send_swap_error(x, 429, "Too many requests", "concurrency_limit");
    }

    loading_stream ls(x.s, x.req, m->p.id);
    bool loading = r == route::chat && info.stream && m->p.send_loading_state && m->state != model_state::ready;
    // co_await only as a statement of its own: g++ 12 miscompiles it inside && and ||.
    if (loading) {
        bool ok = co_await ls.begin();
        if (!ok)
            co_return false;
    }

    auto adm = co_await x.srv.acquire(x.s, *m, loading ? &ls : nullptr);
    if (adm.r == admission::result::gone)
        co_return false;
    if (adm.r == admission::result::failed && adm.status == 200) {
        // Cancelled while queued: the handler returns without writing, so an empty 200.
        if (ls.started()) {
            bool ok = co_await x.s.end_stream();
            co_return ok && x.req.keep_alive();
        }
        auto res = make_response(x.req, http::status::ok, "", "");
        co_return co_await send(x, res);
    }
    if (adm.r == admission::result::failed) {
        if (ls.started()) {
            auto tb = swap_error_body(x.srv.params().errors, x.req[http::field::accept], adm.status,
                                      adm.message);
            // The error body goes out unframed after the SSE frames; the status stays 200 (§8).
            std::string raw = std::move(tb.body);
            bool ok = co_await x.s.write_chunk(raw);
            if (ok)
                ok = co_await x.s.end_stream();
            co_return ok && x.req.keep_alive();
        }
        co_return co_await send_swap_error(x, adm.status, std::move(adm.message));
    }
    if (ls.started()) {
        bool ok = co_await ls.done();
        if (!ok) {
            x.srv.release(x.s);
            co_return false;
        }
    }

    bool keep = false;
    switch (r) {
    case route::chat: keep = co_await serve_chat(x, *m, info.body, ls.started()); break;
    case route::embeddings: keep = co_await serve_embeddings(x, *m, info.body); break;
    case route::completions: keep = co_await serve_completions(x, *m, info.body); break;
    case route::rerank: keep = co_await serve_rerank(x, *m, info.body); break;
    case route::speech: keep = co_await serve_speech(x, *m, info.body); break;
    case route::transcriptions: {
        // Only a multipart upload carries a model here, so the form is there.
        keep = co_await serve_transcription(x, *m, *info.upload);
        break;
    }
    default: keep = co_await serve_images(x, *m, info.body); break;
    }
    x.srv.release(x.s);
    co_return keep;
}

// upstream.ignorePaths' default, `.*\.(js|json|css|png|gif|jpg|jpeg|ico|txt)$`, without std::regex.
bool matches_ignore_paths(std::string_view path)
{
    auto dot = path.rfind('.');
    if (dot == std::string_view::npos)
        return false;
    auto ext = path.substr(dot + 1);
    for (std::string_view e : {"js", "json", "css", "png", "gif", "jpg", "jpeg", "ico", "txt"})
        if (ext == e)
            return true;
    return false;
}

// §2.3: the longest prefix of whole path segments naming a model (ids may contain '/').
asio::awaitable<bool> serve_upstream(exchange& x)
{
    std::string_view rest = std::string_view(x.path).substr(std::string_view("/upstream/").size());
    model_slot* m = nullptr;
    std::size_t used = 0;
    for (std::size_t end = rest.size();; end = rest.rfind('/', end - 1)) {
        if (end != 0 && end != std::string_view::npos) {
            if (auto* found = x.srv.find(rest.substr(0, end))) {
                m = found;
                used = end;
                break;
            }
        }
        if (end == 0 || end == std::string_view::npos)
            break;
    }
    if (!m)
        co_return co_await send_swap_error(x, 404, "model not found");

    std::string upath(rest.substr(used));
    if (upath.empty()) {
        // Add the trailing slash: 301 for GET and HEAD, 308 otherwise, query kept.
        auto target = x.req.target();
        std::string location(target.substr(0, target.find('?')));
        location += '/';
        if (!x.query.empty())
            location += "?" + x.query;
        bool get = x.req.method() == http::verb::get || x.head;
        co_return co_await send_redirect(x, get ? http::status::moved_permanently
                                                : http::status::permanent_redirect,
                                         std::move(location));
    }

    if (m->state != model_state::ready && matches_ignore_paths(upath))
        co_return co_await send_swap_error(
            x, 409, "model " + m->p.id + " is not loaded; path matches upstream.ignorePaths");

    // Same scheduler as inference, but never a loading-state stream.
    auto adm = co_await x.srv.acquire(x.s, *m, nullptr);
    if (adm.r == admission::result::gone)
        co_return false;
    if (adm.r == admission::result::failed)
        co_return co_await send_swap_error(x, adm.status, std::move(adm.message));

    bool post = x.req.method() == http::verb::post;
    json::value body;
    if (post) {
        boost::system::error_code ec;
        body = json::parse(x.req.body(), ec);
        if (ec)
            body = nullptr;
    }
    bool keep = false;
    if (post && (upath == "/v1/chat/completions" || upath == "/chat/completions"))
        keep = co_await serve_chat(x, *m, body, false);
    else if (post && (upath == "/v1/embeddings" || upath == "/embeddings"))
        keep = co_await serve_embeddings(x, *m, body);
    else if (post && (upath == "/v1/completions" || upath == "/completions"))
        keep = co_await serve_completions(x, *m, body);
    else if (post && (upath == "/v1/rerank" || upath == "/rerank" || upath == "/v1/reranking" ||
                      upath == "/reranking"))
        keep = co_await serve_rerank(x, *m, body);
    else if (post && (upath == "/v1/audio/speech" || upath == "/audio/speech"))
        keep = co_await serve_speech(x, *m, body);
    else if (post && (upath == "/v1/audio/transcriptions" || upath == "/inference")) {
        std::string why;
        auto upload = parse_multipart(x.req[http::field::content_type], x.req.body(), why);
        if (upload) {
            keep = co_await serve_transcription(x, *m, *upload);
        } else { // cpp-httplib rejects a malformed upload: 400, no body
            auto res = make_response(x.req, http::status::bad_request, "", "");
            keep = co_await send(x, res);
        }
    } else if (post && upath == "/v1/images/generations")
        keep = co_await serve_images(x, *m, body);
    else
        keep = co_await serve_upstream_other(x, *m, upath);
    x.srv.release(x.s);
    co_return keep;
}

asio::awaitable<bool> serve_events(exchange& x)
{
    http::response<http::empty_body> head{http::status::ok, x.req.version()};
    head.set(http::field::content_type, "text/event-stream");
    head.set(http::field::cache_control, "no-cache");
    head.set(http::field::connection, "keep-alive");
    head.set("X-Content-Type-Options", "nosniff");
    head.set("X-Accel-Buffering", "no");
    if (x.head) {
        auto res = make_response(x.req, http::status::ok, "text/event-stream", {});
        co_return co_await send(x, res);
    }
    for (auto& f : x.srv.initial_events())
        x.s.events.push_back(std::move(f));
    x.srv.subscribe(&x.s);
    struct unsubscribe {
        exchange& x;
        ~unsubscribe() { x.srv.unsubscribe(&x.s); }
    } guard{x};
    if (!co_await x.s.start_stream(head))
        co_return false;
    // No heartbeat; the stream ends only on disconnect or shutdown (§2.5).
    for (;;) {
        while (!x.s.events.empty()) {
            std::string frame = std::move(x.s.events.front());
            x.s.events.pop_front();
            if (!co_await x.s.write_chunk(frame))
                co_return false;
        }
        if (x.srv.stopped())
            co_return false;
        if (co_await x.s.wait_until(clock_type::time_point::max()) == session::wake::gone)
            co_return false;
    }
}

} // namespace

asio::awaitable<bool> handle_request(exchange& x)
{
    auto method = x.req.method();
    if (method == http::verb::options)
        co_return co_await send_preflight(x);

    auto match = classify(x.path);
    if (match.r == route::none)
        co_return co_await send_go_error(x, http::status::not_found, "404 page not found");
    bool get = method == http::verb::get || method == http::verb::head;
    // Management endpoints a configured older release lacks: the mux does not route them.
    int release = x.srv.params().release;
    bool missing = (release < 236 && (match.r == route::activity || match.r == route::stats ||
                                      match.r == route::cancel)) ||
                   (release >= 236 && match.r == route::legacy_metrics) ||
                   (release < 245 && (match.r == route::profiles || match.r == route::profile_active));
    if (missing)
        co_return co_await send_go_error(x, http::status::not_found, "404 page not found");
    bool allowed = match.methods == method_set::any || (match.methods == method_set::get && get) ||
                   (match.methods == method_set::post && method == http::verb::post) ||
                   (match.methods == method_set::put && method == http::verb::put);
    if (!allowed) {
        auto res = make_response(x.req, http::status::method_not_allowed, "text/plain; charset=utf-8",
                                 "Method Not Allowed\n");
        res.set("X-Content-Type-Options", "nosniff");
        res.set(http::field::allow, match.methods == method_set::get   ? "GET, HEAD"
                                    : match.methods == method_set::put ? "PUT"
                                                                       : "POST");
        co_return co_await send(x, res);
    }
    if (!match.open && !authorized(x.srv, x.req)) {
        ++x.srv.unauthorized;
        co_return co_await send_swap_error(x, 401, "unauthorized: invalid or missing API key");
    }

    switch (match.r) {
    case route::health: co_return co_await send_text(x, "OK");
    case route::root: co_return co_await send_redirect(x, http::status::found, "/ui");
    case route::models: {
        auto list = model_list(x.srv.sorted_models(), static_cast<std::int64_t>(std::time(nullptr)));
        auto res = make_response(x.req, http::status::ok, "application/json", dump_json(list));
        if (auto origin = x.req[http::field::origin]; !origin.empty())
            res.set(http::field::access_control_allow_origin, origin);
        co_return co_await send(x, res);
    }
    case route::running: {
        auto list = running_list(x.srv.sorted_models());
        co_return co_await send_json(x, list, true);
    }
    case route::unload_get: // stops everything, synchronously, then a sniffed "OK"
        x.srv.unload_all();
        co_return co_await send_text(x, "OK");
    case route::unload_all: {
        x.srv.unload_all();
        json::object ok;
        ok["msg"] = "ok";
        co_return co_await send_json(x, ok, true);
    }
    case route::unload_one: {
        std::string name = x.path.substr(std::string_view("/api/models/unload/").size());
        auto* m = x.srv.find(name);
        if (!m)
            co_return co_await send_swap_error(x, 404, "model not found");
        x.srv.unload(*m); // a stopped model is a no-op and still OK
        co_return co_await send_text(x, "OK");
    }
    case route::logs:
        if (icontains(x.req[http::field::accept], "text/html"))
            co_return co_await send_redirect(x, http::status::found, "/ui/");
        co_return co_await send_text(x, x.srv.proxy_log());
    case route::version: {
        json::object v;
        v["version"] = std::to_string(x.srv.params().release);
        v["commit"] = "majordomo-sim";
        v["build_date"] = "";
        co_return co_await send_json(x, v, false);
    }
    case route::events: co_return co_await serve_events(x);
    case route::activity: {
        std::string why;
        auto page = x.srv.activity_page(x.query, why);
        if (!why.empty())
            co_return co_await send_swap_error(x, 400, std::move(why));
        co_return co_await send_json(x, page, true);
    }
    case route::legacy_metrics: co_return co_await send_json(x, x.srv.legacy_activity(), true);
    case route::stats: {
        std::string model;
        std::string ref = "?" + x.query;
        if (auto u = boost::urls::parse_relative_ref(ref))
            for (auto p : u->params())
                if (p.key == "model")
                    model = p.value;
        co_return co_await send_json(x, x.srv.activity_stats(model), true);
    }
    case route::profiles: co_return co_await send_json(x, x.srv.profile_list(), true);
    case route::profile_active: {
        boost::system::error_code ec;
        auto body = json::parse(x.req.body(), ec);
        if (ec)
            co_return co_await send_swap_error(x, 400, "invalid JSON body");
        std::string why;
        if (auto status = x.srv.set_profile(body, why); status != 0)
            co_return co_await send_swap_error(x, status, std::move(why));
        co_return co_await send_json(x, x.srv.active_profile(), true);
    }
    case route::cancel: {
        auto id_text = std::string_view(x.path).substr(std::string_view("/api/inflight/").size());
        id_text.remove_suffix(std::string_view("/cancel").size());
        std::uint64_t id = 0;
        bool numeric = !id_text.empty() && id_text.size() < 19 &&
                       id_text.find_first_not_of("0123456789") == std::string_view::npos;
        if (numeric)
            id = std::stoull(std::string(id_text));
        if (!numeric || !x.srv.cancel_inflight(id))
            co_return co_await send_swap_error(x, 404, "inflight request not found");
        json::object ok;
        ok["msg"] = "ok";
        co_return co_await send_json(x, ok, true);
    }
    case route::chat:
    case route::embeddings:
    case route::completions:
    case route::rerank:
    case route::transcriptions:
    case route::speech:
    case route::images: co_return co_await serve_model_route(x, match.r);
    case route::upstream_root: co_return co_await send_redirect(x, http::status::found, "/ui/models");
    case route::upstream: co_return co_await serve_upstream(x);
    case route::none: break;
    }
    co_return co_await send_go_error(x, http::status::not_found, "404 page not found");
}

} // namespace majordomo::sim::detail

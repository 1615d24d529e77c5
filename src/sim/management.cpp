// llama-swap's management state beyond models (llama-swap-api.md §2.2, §2.5, §2.6, §3.6): in-flight
// requests (tracked, pushed to /api/events, cancellable), the activity log and its stats, profiles.
#include "server.hpp"

#include "encoding.hpp"
#include "responses.hpp"

#include <boost/url/parse.hpp>

#include <algorithm>
#include <ctime>

namespace majordomo::sim::detail {

namespace json = boost::json;

namespace {

std::string rfc3339_now()
{
    std::time_t t = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

} // namespace

std::uint64_t server::track(session& s, std::string model, std::string path, std::string method)
{
    inflight_entry e;
    e.id = next_inflight_++;
    e.s = &s;
    e.model = std::move(model);
    e.path = std::move(path);
    e.method = std::move(method);
    e.timestamp = rfc3339_now();
    e.t0 = clock_type::now();
    s.cancelled = false;
    s.last_status = 0;
    inflight_.push_back(e);
    json::object entry;
    entry["id"] = std::to_string(e.id);
    entry["timestamp"] = e.timestamp;
    entry["model"] = e.model;
    entry["req_path"] = e.path;
    entry["method"] = e.method;
    json::object upsert;
    upsert["operation"] = "upsert";
    upsert["request"] = std::move(entry);
    broadcast(event_frame("inflight", upsert));
    return e.id;
}

void server::untrack(std::uint64_t id, bool report)
{
    auto it = std::find_if(inflight_.begin(), inflight_.end(), [&](auto& e) { return e.id == id; });
    if (it == inflight_.end())
        return;
    if (!report) {
        inflight_.erase(it);
        return;
    }
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(clock_type::now() - it->t0).count();
    json::object row;
    row["id"] = static_cast<std::int64_t>(activity_.size() + 1);
    row["timestamp"] = it->timestamp;
    row["model"] = it->model;
    row["req_path"] = it->path;
    row["resp_content_type"] = "application/json";
    row["resp_status_code"] = it->s->last_status;
    json::object tokens;
    for (auto k : {"cache_tokens", "draft_tokens", "draft_acc_tokens", "input_tokens", "output_tokens"})
        tokens[k] = 0;
    tokens["prompt_per_second"] = 0.0;
    tokens["tokens_per_second"] = 0.0;
    row["tokens"] = std::move(tokens);
    row["duration_ms"] = ms;
    row["has_capture"] = false;
    if (it->s->cancelled)
        row["error_msg"] = "request cancelled";
    activity_.push_back(std::move(row));
    json::object removed;
    removed["operation"] = "remove";
    removed["id"] = std::to_string(id);
    inflight_.erase(it);
    broadcast(event_frame("inflight", removed));
    json::object act;
    act["id"] = static_cast<std::int64_t>(activity_.size());
    broadcast(event_frame("activity", act));
}

bool server::cancel_inflight(std::uint64_t id)
{
    auto it = std::find_if(inflight_.begin(), inflight_.end(), [&](auto& e) { return e.id == id; });
    if (it == inflight_.end())
        return false;
    auto& s = *it->s;
    s.cancelled = true;
    if (s.ticket_model) // being served: its context is cancelled, the upstream request aborted
        s.cut = true;
    s.notify();
    return true;
}

json::value server::inflight_snapshot() const
{
    json::array entries;
    for (const auto& e : inflight_) {
        json::object entry;
        entry["id"] = std::to_string(e.id);
        entry["timestamp"] = e.timestamp;
        entry["model"] = e.model;
        entry["req_path"] = e.path;
        entry["method"] = e.method;
        entries.push_back(std::move(entry));
    }
    json::object o;
    o["operation"] = "snapshot";
    o["requests"] = std::move(entries);
    return o;
}

json::value server::active_profile() const
{
    json::object o;
    if (active_profile_)
        o["active"] = *active_profile_;
    else
        o["active"] = nullptr;
    return o;
}

std::optional<std::string> server::pin(std::string_view id) const
{
    if (!active_profile_)
        return std::string(id);
    for (const auto& p : params_.profiles)
        if (p.id == *active_profile_)
            for (const auto& [from, to] : p.pins)
                if (from == id) {
                    if (to.empty())
                        return std::nullopt;
                    return to;
                }
    return std::string(id);
}

unsigned server::set_profile(const json::value& body, std::string& why)
{
    const auto* o = body.if_object();
    const auto* name = o ? o->if_contains("name") : nullptr;
    if (!name) {
        why = "profile name is required";
        return 400;
    }
    if (!name->is_null() && !name->is_string()) {
        why = "profile name must be a string or null";
        return 400;
    }
    if (name->is_null()) {
        active_profile_.reset();
    } else {
        std::string n(name->get_string());
        auto known = std::any_of(params_.profiles.begin(), params_.profiles.end(), [&](auto& p) { return p.id == n; });
        if (!known) {
            why = "profile \"" + n + "\" not found";
            return 404;
        }
        active_profile_ = std::move(n);
    }
    broadcast(event_frame("profileChanged", active_profile()));
    return 0;
}

json::value server::profile_list() const
{
    json::array list;
    for (const auto& p : params_.profiles) {
        json::object pins;
        for (const auto& [from, to] : p.pins)
            pins[from] = to;
        json::object o;
        o["id"] = p.id;
        o["description"] = p.description;
        o["pins"] = std::move(pins);
        list.push_back(std::move(o));
    }
    json::object o = active_profile().as_object();
    o["profiles"] = std::move(list);
    return o;
}

json::value server::activity_page(std::string_view query, std::string& why) const
{
    std::vector<std::string> models;
    std::int64_t limit = 25, page = 1;
    bool desc = true;
    std::string ref = "?" + std::string(query);
    auto number = [](std::string_view v, std::int64_t& out) {
        if (v.empty() || v.size() > 9 || v.find_first_not_of("0123456789") != std::string_view::npos)
            return false;
        out = std::stoll(std::string(v));
        return true;
    };
    if (auto u = boost::urls::parse_relative_ref(ref)) {
        for (auto p : u->params()) {
            if (p.key == "model") {
                models.push_back(p.value);
            } else if (p.key == "limit") {
                if (!number(p.value, limit) || limit < 1 || limit > 999) {
                    why = "invalid limit: " + p.value;
                    return nullptr;
                }
            } else if (p.key == "page") {
                if (!number(p.value, page) || page < 1) {
                    why = "invalid page: " + p.value;
                    return nullptr;
                }
            } else if (p.key == "order") {
                if (p.value != "asc" && p.value != "desc") {
                    why = "invalid order: " + p.value;
                    return nullptr;
                }
                desc = p.value == "desc";
            } else if (p.key == "sort") {
                if (p.value != "id" && p.value != "time") {
                    why = "invalid sort: " + p.value;
                    return nullptr;
                }
            }
        }
    }
    std::vector<const json::object*> rows;
    for (const auto& r : activity_)
        if (models.empty() || std::find(models.begin(), models.end(), r.at("model").as_string()) != models.end())
            rows.push_back(&r);
    if (desc)
        std::reverse(rows.begin(), rows.end());
    auto total = static_cast<std::int64_t>(rows.size());
    json::array data;
    for (auto i = (page - 1) * limit; i < total && i < page * limit; ++i)
        data.push_back(*rows[static_cast<std::size_t>(i)]);
    json::object o;
    o["data"] = std::move(data);
    o["page"] = page;
    o["limit"] = limit;
    o["total"] = total;
    o["total_pages"] = (total + limit - 1) / limit;
    return o;
}

json::value server::legacy_activity() const
{
    // Before v236: every row, token counts at the top level.
    json::array out;
    for (const auto& r : activity_) {
        json::object o;
        o["id"] = r.at("id").as_int64() - 1; // counted from 0 then
        o["timestamp"] = r.at("timestamp");
        o["model"] = r.at("model");
        for (const auto& [k, v] : r.at("tokens").as_object())
            if (k != "draft_tokens" && k != "draft_acc_tokens")
                o[k] = v;
        o["duration_ms"] = r.at("duration_ms");
        out.push_back(std::move(o));
    }
    return out;
}

json::value server::activity_stats(std::string_view model) const
{
    std::int64_t n = 0;
    for (const auto& r : activity_)
        if (model.empty() || r.at("model").as_string() == model)
            ++n;
    json::object o;
    o["total_requests"] = n;
    o["total_input_tokens"] = 0;
    o["total_output_tokens"] = 0;
    o["total_cache_tokens"] = 0;
    o["prompt_histogram"] = nullptr;
    o["gen_histogram"] = nullptr;
    return o;
}

} // namespace majordomo::sim::detail

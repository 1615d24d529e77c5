// The commands of `majordomo`: each one coroutine on the public API, run on one io_context.
#include "cli.hpp"

#include <majordomo/deadline.hpp>
#include <majordomo/error.hpp>
#include <majordomo/llamaswap/provider.hpp>
#include <majordomo/registry/dsn.hpp>
#include <majordomo/registry/registry.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <cctype>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>
#include <string_view>
#include <utility>
#include <unistd.h>

namespace majordomo::cli {

namespace {

namespace asio = boost::asio;
namespace json = boost::json;
using clock = std::chrono::steady_clock;
template <class T>
using awaitable = asio::awaitable<T>;

double seconds(clock::duration d)
{
    return std::chrono::duration<double>(d).count();
}

// What the command talks to: any provider for chat, llama-swap's for the rest.
struct target {
    std::shared_ptr<llm::provider> llm;
    std::shared_ptr<llamaswap::provider> swap;
};

target make_target(asio::any_io_executor ex, const options& o)
{
    std::string where = o.url;
    if (!o.provider.empty()) {
        std::string var = "LLM_";
        for (char c : o.provider)
            var += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        const char* v = std::getenv(var.c_str());
        if (!v || !*v)
            throw usage_error(var + " is not set: set it to a DSN such as llama-swap://host:8080");
        if (!registry::is_dsn_scheme(v))
            throw usage_error(var + " does not hold a DSN (llama-swap://... or openai://...)");
        where = v;
    }
    if (where.empty())
        where = "http://127.0.0.1:8080";
    target t;
    if (registry::is_dsn_scheme(where)) {
        auto d = registry::parse_dsn(where); // its errors show the redacted DSN only
        t.llm = registry::make_provider(ex, d, "majordomo");
        t.swap = std::dynamic_pointer_cast<llamaswap::provider>(t.llm);
    } else if (where.starts_with("http://") || where.starts_with("https://")) {
        llamaswap::provider_params p;
        p.base_url = where;
        t.swap = llamaswap::make_provider(ex, std::move(p));
        t.llm = t.swap;
    } else {
        // Not echoed: it may be a mistyped DSN holding a secret.
        throw usage_error("--url wants http://host:port or a DSN (llama-swap://..., openai://...)");
    }
    return t;
}

llamaswap::provider& need_swap(const target& t, const std::string& command)
{
    if (!t.swap)
        throw usage_error("\"" + command + "\" needs a llama-swap server; an openai:// DSN has no management API");
    return *t.swap;
}

// An optional field: its value, or null.
template <class T>
void set_or_null(json::object& j, std::string_view key, const std::optional<T>& v)
{
    if (v)
        j[key] = *v;
    else
        j[key] = nullptr;
}

void print_json(const json::value& v)
{
    std::string s = json::serialize(v);
    s += '\n';
    std::fwrite(s.data(), 1, s.size(), stdout);
    std::fflush(stdout);
}

// A note for people: stderr always, dimmed on a terminal.
void note(bool tty, const std::string& text)
{
    if (tty)
        std::fprintf(stderr, "\033[2m%s\033[0m\n", text.c_str());
    else
        std::fprintf(stderr, "%s\n", text.c_str());
}

std::string read_file(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw std::runtime_error("cannot read " + path);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

void write_file(const std::string& path, const std::string& bytes)
{
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    out.close();
    if (!out)
        throw std::runtime_error("cannot write " + path);
}

// The spinner shown on stderr while a model swaps in; only when stdout is a terminal.
struct spinner_state {
    std::string label;
    clock::time_point start = clock::now();
    bool done = false;
    bool drawn = false;
};

awaitable<void> run_spinner(std::shared_ptr<spinner_state> s)
{
    auto ex = co_await asio::this_coro::executor;
    asio::steady_timer timer(ex);
    static constexpr char frames[] = {'|', '/', '-', '\\'};
    for (std::size_t i = 0; !s->done; ++i) {
        auto elapsed = clock::now() - s->start;
        if (elapsed > std::chrono::milliseconds(200)) { // a warm model answers before it shows
            std::fprintf(stderr, "\r%c %s %.1f s ", frames[i % 4], s->label.c_str(), seconds(elapsed));
            std::fflush(stderr);
            s->drawn = true;
        }
        timer.expires_after(std::chrono::milliseconds(100));
        co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    }
}

// Stops the spinner and clears its line, on every path out.
class spinner_guard {
public:
    explicit spinner_guard(std::shared_ptr<spinner_state> s) : s_(std::move(s)) {}
    spinner_guard(const spinner_guard&) = delete;
    spinner_guard& operator=(const spinner_guard&) = delete;
    ~spinner_guard() { stop(); }
    void stop()
    {
        if (!s_ || s_->done)
            return;
        s_->done = true;
        if (s_->drawn) {
            std::fputs("\r\033[K", stderr);
            std::fflush(stderr);
        }
    }

private:
    std::shared_ptr<spinner_state> s_;
};

struct stream_result {
    std::string text;
    std::int64_t tokens = 0;
    clock::duration to_headers{}, to_first_token{}, total{}, generation{};
    int attempts = 1;
    double tokens_per_second() const { return generation > clock::duration::zero() ? tokens / seconds(generation) : 0; }
};

// One streamed chat; `echo` writes the tokens to stdout as they come.
awaitable<stream_result> stream_chat(llm::model& model, llm::chat_request req, bool echo, bool spin)
{
    auto ex = co_await asio::this_coro::executor;
    auto state = std::make_shared<spinner_state>();
    state->label = "waiting for " + model.id();
    spinner_guard guard(spin ? state : nullptr);
    if (spin)
        asio::co_spawn(ex, run_spinner(state), asio::detached);
    stream_result r;
    auto start = clock::now();
    auto stream = co_await model.async_chat_stream(std::move(req));
    r.to_headers = clock::now() - start;
    clock::time_point first{};
    std::int64_t chunks = 0;
    std::optional<std::int64_t> usage_tokens;
    for (;;) {
        auto chunk = co_await stream.async_next();
        if (!chunk)
            break;
        if (chunk->usage)
            usage_tokens = chunk->usage->completion_tokens;
        if (chunk->loading || !chunk->has_output())
            continue;
        if (first == clock::time_point{}) {
            first = clock::now();
            guard.stop();
        }
        ++chunks;
        const std::string& piece = chunk->text();
        r.text += piece;
        if (echo && !piece.empty()) {
            std::fwrite(piece.data(), 1, piece.size(), stdout);
            std::fflush(stdout);
        }
    }
    guard.stop();
    auto end = clock::now();
    r.tokens = usage_tokens.value_or(chunks);
    r.total = end - start;
    if (first != clock::time_point{}) {
        r.to_first_token = first - start;
        r.generation = end - first;
    }
    r.attempts = stream.timings().attempts;
    co_return r;
}

std::string read_stdin()
{
    return std::string(std::istreambuf_iterator<char>(std::cin), {});
}

awaitable<int> cmd_chat(const options& o, const target& t, bool tty)
{
    std::string prompt = o.args.size() > 1 ? o.args[1] : read_stdin();
    if (prompt.find_first_not_of(" \t\r\n") == std::string::npos)
        throw usage_error("chat: the prompt is empty (give it as an argument or on stdin)");
    llm::chat_request req;
    if (!o.system.empty())
        req.messages.push_back(llm::message::system(o.system));
    req.messages.push_back(llm::message::user(std::move(prompt)));
    req.max_tokens = o.max_tokens;
    auto model = t.llm->get_model(o.args[0]);
    bool echo = !o.json;
    bool spin = tty && !o.json;
    auto r = co_await stream_chat(*model, std::move(req), echo, spin);
    if (o.json) {
        json::object j;
        j["model"] = o.args[0];
        j["text"] = r.text;
        j["completion_tokens"] = r.tokens;
        j["time_to_headers_s"] = seconds(r.to_headers);
        j["time_to_first_token_s"] = seconds(r.to_first_token);
        j["total_s"] = seconds(r.total);
        j["tokens_per_second"] = r.tokens_per_second();
        j["attempts"] = r.attempts;
        print_json(j);
    } else {
        if (r.text.empty() || r.text.back() != '\n')
            std::fputc('\n', stdout);
        std::fflush(stdout);
        char line[160];
        std::snprintf(line, sizeof line, "time to first token %.3f s, %lld tokens, %.1f tokens/s",
                      seconds(r.to_first_token), static_cast<long long>(r.tokens), r.tokens_per_second());
        note(tty, line);
    }
    co_return exit_ok;
}

awaitable<int> cmd_models(const options& o, const target& t, bool /*tty*/)
{
    auto list = co_await need_swap(t, o.command).async_list_models();
    if (o.json) {
        json::array a;
        for (const auto& m : list) {
            json::object j;
            j["id"] = m.id;
            j["name"] = m.name;
            j["description"] = m.description;
            json::array aliases;
            for (const auto& al : m.aliases)
                aliases.emplace_back(al);
            j["aliases"] = std::move(aliases);
            set_or_null(j, "status", m.status);
            a.push_back(std::move(j));
        }
        print_json(a);
    } else {
        for (const auto& m : list)
            std::printf("%-32s %-9s %s\n", m.id.c_str(), m.status.value_or("").c_str(), m.name.c_str());
    }
    co_return exit_ok;
}

awaitable<int> cmd_running(const options& o, const target& t, bool tty)
{
    auto list = co_await need_swap(t, o.command).async_running();
    if (o.json) {
        json::array a;
        for (const auto& m : list) {
            json::object j;
            j["model"] = m.model;
            j["state"] = m.state;
            set_or_null(j, "ttl", m.ttl);
            a.push_back(std::move(j));
        }
        print_json(a);
    } else {
        if (list.empty())
            note(tty, "no model running");
        for (const auto& m : list)
            std::printf("%-32s %s\n", m.model.c_str(), m.state.c_str());
    }
    co_return exit_ok;
}

awaitable<int> cmd_unload(const options& o, const target& t, bool /*tty*/)
{
    auto& swap = need_swap(t, o.command);
    if (o.args.empty())
        co_await swap.async_unload_all();
    else
        co_await swap.async_unload(o.args[0]);
    std::string what = o.args.empty() ? std::string("all") : o.args[0];
    if (o.json) {
        json::object j;
        j["unloaded"] = what;
        print_json(j);
    } else {
        std::printf("unloaded %s\n", what.c_str());
    }
    co_return exit_ok;
}

awaitable<int> cmd_events(const options& o, const target& t, bool /*tty*/)
{
    auto events = co_await need_swap(t, o.command).async_events();
    long seen = 0;
    for (;;) {
        auto ev = co_await events.async_next();
        if (!ev)
            break;
        if (o.json) {
            json::object j;
            j["type"] = ev->type;
            j["data"] = ev->data;
            print_json(j);
        } else {
            std::string line = ev->type;
            if (ev->type == "modelStatus") {
                for (const auto& m : ev->models)
                    line += " " + m.id + "=" + m.state;
            } else {
                std::string data = json::serialize(ev->data);
                if (data.size() > 200)
                    data = data.substr(0, 200) + "...";
                line += " " + data;
            }
            line += '\n';
            std::fwrite(line.data(), 1, line.size(), stdout);
            std::fflush(stdout);
        }
        if (std::ferror(stdout)) // the reader went away (`| head`)
            co_return exit_other;
        if (o.count && ++seen >= *o.count)
            break;
    }
    co_return exit_ok;
}

awaitable<int> cmd_image(const options& o, const target& t, bool tty)
{
    imagegen::image_request req;
    req.model = o.args[0];
    req.prompt = o.args[1];
    req.width = o.width;
    req.height = o.height;
    req.steps = o.steps;
    req.seed = o.seed;
    auto start = clock::now();
    auto result = co_await need_swap(t, o.command).async_generate_image(std::move(req));
    auto took = clock::now() - start;
    if (result.images.empty() || result.images.front().data.empty())
        throw std::runtime_error("the server answered without an image");
    const auto& img = result.images.front();
    write_file(o.output, img.data);
    if (o.json) {
        json::object j;
        j["file"] = o.output;
        j["bytes"] = img.data.size();
        j["mime_type"] = img.mime_type;
        j["seconds"] = seconds(took);
        print_json(j);
    } else {
        char line[128];
        std::snprintf(line, sizeof line, " (%zu bytes, %s) in %.2f s", img.data.size(), img.mime_type.c_str(),
                      seconds(took));
        note(tty, "wrote " + o.output + line);
    }
    co_return exit_ok;
}

std::string mime_of(const std::string& path)
{
    auto dot = path.rfind('.');
    std::string ext = dot == std::string::npos ? "" : path.substr(dot + 1);
    std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
    if (ext == "wav")
        return "audio/wav";
    if (ext == "mp3")
        return "audio/mpeg";
    if (ext == "flac")
        return "audio/flac";
    if (ext == "ogg" || ext == "opus")
        return "audio/ogg";
    if (ext == "m4a")
        return "audio/mp4";
    if (ext == "webm")
        return "audio/webm";
    return "application/octet-stream";
}

awaitable<int> cmd_transcribe(const options& o, const target& t, bool /*tty*/)
{
    audio::transcription_request req;
    req.model = o.args[0];
    req.audio = read_file(o.args[1]);
    auto slash = o.args[1].find_last_of('/');
    req.filename = slash == std::string::npos ? o.args[1] : o.args[1].substr(slash + 1);
    req.mime_type = mime_of(o.args[1]);
    req.language = o.language;
    auto heard = co_await need_swap(t, o.command).async_transcribe(std::move(req));
    if (o.json) {
        json::object j;
        j["text"] = heard.text;
        j["language"] = heard.language;
        set_or_null(j, "duration", heard.duration);
        print_json(j);
    } else {
        std::printf("%s\n", heard.text.c_str());
    }
    co_return exit_ok;
}

awaitable<int> cmd_speak(const options& o, const target& t, bool tty)
{
    audio::speech_request req;
    req.model = o.args[0];
    req.input = o.args[1];
    req.voice = o.voice;
    if (!o.format.empty())
        req.response_format = o.format;
    auto spoken = co_await need_swap(t, o.command).async_speech(std::move(req));
    write_file(o.output, spoken.audio);
    if (o.json) {
        json::object j;
        j["file"] = o.output;
        j["bytes"] = spoken.audio.size();
        j["content_type"] = spoken.content_type;
        print_json(j);
    } else {
        note(tty, "wrote " + o.output + " (" + std::to_string(spoken.audio.size()) + " bytes, " + spoken.content_type +
                      ")");
    }
    co_return exit_ok;
}

json::object to_json(const stream_result& r)
{
    json::object j;
    j["time_to_headers_s"] = seconds(r.to_headers);
    j["time_to_first_token_s"] = seconds(r.to_first_token);
    j["total_s"] = seconds(r.total);
    j["tokens"] = r.tokens;
    j["tokens_per_second"] = r.tokens_per_second();
    return j;
}

// The swap benchmark: all models unloaded, then per model one cold request and --repeats warm ones.
awaitable<int> cmd_bench(const options& o, const target& t, bool tty)
{
    auto& swap = need_swap(t, o.command);
    co_await swap.async_unload_all();
    json::array models;
    if (!o.json)
        std::printf("%-24s %10s %10s %12s %10s\n", "model", "cold ttft", "warm ttft", "warm tok/s", "swap s");
    for (const auto& id : o.args) {
        auto model = t.llm->get_model(id);
        auto make_req = [&] {
            llm::chat_request req;
            req.messages.push_back(llm::message::user("Count from one to ten."));
            req.max_tokens = o.max_tokens.value_or(64);
            return req;
        };
        bool spin = tty && !o.json;
        auto cold_req = make_req();
        auto cold = co_await stream_chat(*model, std::move(cold_req), false, spin);
        std::vector<stream_result> warm;
        for (int i = 0; i < o.repeats; ++i) {
            auto warm_req = make_req();
            auto w = co_await stream_chat(*model, std::move(warm_req), false, false);
            warm.push_back(std::move(w));
        }
        std::vector<double> ttft;
        double tps = 0;
        for (const auto& w : warm) {
            ttft.push_back(seconds(w.to_first_token));
            tps += w.tokens_per_second();
        }
        std::sort(ttft.begin(), ttft.end());
        double warm_p50 = ttft.empty() ? 0 : ttft[ttft.size() / 2];
        double warm_tps = warm.empty() ? 0 : tps / static_cast<double>(warm.size());
        // The swap as a caller pays it: the cold first token minus a warm one.
        double swap_s = std::max(0.0, seconds(cold.to_first_token) - warm_p50);
        if (o.json) {
            json::object j;
            j["model"] = id;
            j["cold"] = to_json(cold);
            json::array w;
            for (const auto& x : warm)
                w.push_back(to_json(x));
            j["warm"] = std::move(w);
            j["warm_p50_time_to_first_token_s"] = warm_p50;
            j["warm_tokens_per_second"] = warm_tps;
            j["swap_s"] = swap_s;
            models.push_back(std::move(j));
        } else {
            std::printf("%-24s %9.3fs %9.3fs %12.1f %9.3fs\n", id.c_str(), seconds(cold.to_first_token), warm_p50,
                        warm_tps, swap_s);
            std::fflush(stdout);
        }
    }
    if (o.json) {
        json::object j;
        j["repeats"] = o.repeats;
        j["models"] = std::move(models);
        print_json(j);
    }
    co_return exit_ok;
}

awaitable<int> dispatch(const options& o, bool tty)
{
    using command = awaitable<int> (*)(const options&, const target&, bool tty);
    static constexpr std::pair<std::string_view, command> commands[] = {
        {"chat", cmd_chat},       {"models", cmd_models},         {"running", cmd_running},
        {"unload", cmd_unload},   {"events", cmd_events},         {"image", cmd_image},
        {"speak", cmd_speak},     {"transcribe", cmd_transcribe}, {"bench", cmd_bench},
    };
    auto ex = co_await asio::this_coro::executor;
    auto t = make_target(ex, o);
    for (const auto& c : commands)
        if (c.first == o.command) {
            int rc = co_await c.second(o, t, tty);
            co_return rc;
        }
    throw usage_error("unknown command \"" + o.command + "\"");
}

awaitable<int> run_bounded(const options& o, bool tty)
{
    if (!o.timeout) {
        int rc = co_await dispatch(o, tty);
        co_return rc;
    }
    int rc = co_await with_deadline(dispatch(o, tty), *o.timeout);
    co_return rc;
}

} // namespace

int run(const options& o)
{
    std::signal(SIGPIPE, SIG_IGN); // a closed pipe is an error on the write, not a silent death
    // Colours and the spinner only for a person at a terminal.
    bool tty = ::isatty(STDOUT_FILENO) == 1 && ::isatty(STDERR_FILENO) == 1;
    asio::io_context ioc;
    int rc = exit_other;
    std::exception_ptr failure;
    asio::co_spawn(ioc, run_bounded(o, tty), [&](std::exception_ptr e, int r) {
        failure = e;
        rc = r;
    });
    ioc.run();
    if (failure) {
        rc = exit_code_of(failure);
        try {
            std::rethrow_exception(failure);
        } catch (const std::exception& e) {
            std::fprintf(stderr, "majordomo: %s\n", e.what());
        } catch (...) {
            std::fprintf(stderr, "majordomo: unknown failure\n");
        }
        if (rc == exit_usage)
            std::fputs("(majordomo --help lists the commands and options)\n", stderr);
    }
    std::fflush(stdout);
    return rc;
}

} // namespace majordomo::cli

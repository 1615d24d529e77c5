// Command-line parsing and exit codes for `majordomo`: no I/O here.
#include "cli.hpp"

#include <majordomo/error.hpp>
#include <majordomo/http/errc.hpp>
#include <majordomo/llm/classify.hpp>

#include <boost/system/system_error.hpp>

#include <charconv>
#include <optional>
#include <string_view>

namespace majordomo::cli {

namespace {

template <class T>
T parse_number(std::string_view s, std::string_view what)
{
    T v{};
    auto r = std::from_chars(s.data(), s.data() + s.size(), v);
    if (s.empty() || r.ec != std::errc() || r.ptr != s.data() + s.size())
        throw usage_error(std::string(what) + " wants a number, not \"" + std::string(s) + "\"");
    return v;
}

bool is_known_command(std::string_view c)
{
    for (std::string_view k : {"chat", "models", "running", "unload", "events", "image", "transcribe", "speak", "bench"})
        if (c == k)
            return true;
    return false;
}

// How many positional arguments each command takes: [min, max].
std::pair<std::size_t, std::size_t> arity(std::string_view c)
{
    if (c == "chat")
        return {1, 2};
    if (c == "unload")
        return {0, 1};
    if (c == "image" || c == "transcribe" || c == "speak")
        return {2, 2};
    if (c == "bench")
        return {1, 64};
    return {0, 0};
}

} // namespace

const char* usage_text() noexcept
{
    return "usage: majordomo [options] COMMAND [ARGS]\n"
           "\n"
           "commands:\n"
           "  chat MODEL [PROMPT]          stream a reply (the prompt from stdin when absent)\n"
           "  models                       the models llama-swap can serve\n"
           "  running                      the models running now\n"
           "  unload [MODEL]               unload one model, or all\n"
           "  events                       follow /api/events (-n N: stop after N events)\n"
           "  image MODEL PROMPT -o FILE   generate an image\n"
           "  transcribe MODEL FILE        speech to text\n"
           "  speak MODEL TEXT -o FILE     text to speech\n"
           "  bench MODEL...               swap benchmark: cold start, then warm repeats\n"
           "\n"
           "options (--name VALUE or --name=VALUE):\n"
           "  --url URL|DSN        llama-swap's URL (http://host:port) or a DSN\n"
           "                       (llama-swap://[token@]host:port, openai://key@host/v1);\n"
           "                       default http://127.0.0.1:8080\n"
           "  --provider NAME      the DSN in the environment variable LLM_<NAME>\n"
           "  --json               JSON alone on stdout (events: one object a line), the rest on stderr\n"
           "  --timeout DURATION   bound the whole command: 30s, 500ms, 2m (a number is seconds)\n"
           "  -o, --output FILE    where image and speak write\n"
           "  --system TEXT        chat: a system message\n"
           "  --max-tokens N       chat: the reply's length bound\n"
           "  -n, --count N        events: stop after N events\n"
           "  --repeats N          bench: warm requests per model (default 3)\n"
           "  --size WxH, --steps N, --seed N    image parameters\n"
           "  --voice V, --format F              speak parameters (format: wav, mp3, ...)\n"
           "  --language L                       transcribe: the spoken language\n"
           "\n"
           "exit codes: 0 ok, 1 other failure, 2 usage error, 3 API error (the server said no),\n"
           "            4 transport error or timeout\n";
}

std::chrono::steady_clock::duration parse_duration(const std::string& text)
{
    std::string_view s = text;
    std::size_t digits = 0;
    while (digits < s.size() && ((s[digits] >= '0' && s[digits] <= '9') || s[digits] == '.'))
        ++digits;
    std::string_view unit = s.substr(digits);
    double n = 0;
    auto r = std::from_chars(s.data(), s.data() + digits, n);
    if (digits == 0 || r.ec != std::errc() || r.ptr != s.data() + digits || !(n > 0) || n > 1e7)
        throw usage_error("--timeout wants a positive duration such as 30s, 500ms or 2m, not \"" + text + "\"");
    double seconds = 0;
    if (unit.empty() || unit == "s")
        seconds = n;
    else if (unit == "ms")
        seconds = n / 1000;
    else if (unit == "m")
        seconds = n * 60;
    else if (unit == "h")
        seconds = n * 3600;
    else
        throw usage_error("--timeout: unknown unit \"" + std::string(unit) + "\" (use ms, s, m or h)");
    return std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::duration<double>(seconds));
}

options parse_args(const std::vector<std::string>& argv)
{
    options o;
    std::vector<std::string> positional;
    for (std::size_t i = 0; i < argv.size(); ++i) {
        // --name=value is --name value.
        std::string a = argv[i];
        std::optional<std::string> inline_value;
        if (auto eq = a.find('='); a.starts_with("--") && eq != std::string::npos) {
            inline_value = a.substr(eq + 1);
            a.resize(eq); // the value may be a secret (--url=DSN): never echoed below
        }
        auto value = [&]() -> const std::string& {
            if (inline_value)
                return *inline_value;
            if (i + 1 >= argv.size())
                throw usage_error(a + " wants a value");
            return argv[++i];
        };
        if (a == "--") {
            positional.insert(positional.end(), argv.begin() + static_cast<std::ptrdiff_t>(i) + 1, argv.end());
            break;
        }
        if (a == "-h" || a == "--help")
            o.help = true;
        else if (a == "--json")
            o.json = true;
        else if (a == "--url")
            o.url = value();
        else if (a == "--provider")
            o.provider = value();
        else if (a == "--timeout")
            o.timeout = parse_duration(value());
        else if (a == "-o" || a == "--output")
            o.output = value();
        else if (a == "--system")
            o.system = value();
        else if (a == "--max-tokens")
            o.max_tokens = parse_number<int>(value(), a);
        else if (a == "-n" || a == "--count")
            o.count = parse_number<long>(value(), a);
        else if (a == "--repeats")
            o.repeats = parse_number<int>(value(), a);
        else if (a == "--voice")
            o.voice = value();
        else if (a == "--format")
            o.format = value();
        else if (a == "--language")
            o.language = value();
        else if (a == "--steps")
            o.steps = parse_number<int>(value(), a);
        else if (a == "--seed")
            o.seed = parse_number<long long>(value(), a);
        else if (a == "--size") {
            const std::string& v = value();
            auto x = v.find('x');
            if (x == std::string::npos)
                throw usage_error("--size wants WIDTHxHEIGHT, e.g. 512x512");
            o.width = parse_number<int>(std::string_view(v).substr(0, x), a);
            o.height = parse_number<int>(std::string_view(v).substr(x + 1), a);
        } else if (a.size() > 1 && a[0] == '-')
            throw usage_error("unknown option " + a);
        else
            positional.push_back(a);
    }
    if (o.help)
        return o;
    if (positional.empty())
        throw usage_error("no command given");
    o.command = positional.front();
    if (!is_known_command(o.command))
        throw usage_error("unknown command \"" + o.command + "\"");
    o.args.assign(positional.begin() + 1, positional.end());
    auto [lo, hi] = arity(o.command);
    if (o.args.size() < lo || o.args.size() > hi)
        throw usage_error("wrong number of arguments for \"" + o.command + "\"");
    if ((o.command == "image" || o.command == "speak") && o.output.empty())
        throw usage_error(o.command + " needs -o FILE");
    if (o.repeats < 0)
        throw usage_error("--repeats must not be negative");
    if (o.count && *o.count <= 0)
        throw usage_error("--count must be positive");
    if (!o.url.empty() && !o.provider.empty())
        throw usage_error("give --url or --provider, not both");
    return o;
}

int exit_code_of(const std::exception_ptr& e) noexcept
{
    try {
        std::rethrow_exception(e);
    } catch (const usage_error&) {
        return exit_usage;
    } catch (const boost::system::system_error& se) {
        auto ec = se.code();
        if (ec.category() == get_api_category())
            return exit_api;
        if (ec == client_errc::bad_dsn || ec == client_errc::unknown_provider || ec == client_errc::invalid_argument)
            return exit_usage;
        if (ec.category() == http::get_http_category())
            return exit_transport;
        switch (llm::classify(ec).kind) {
        case llm::error_kind::deadline:
        case llm::error_kind::transport:
        case llm::error_kind::stream_truncated:
            return exit_transport;
        default:
            break;
        }
        if (ec == client_errc::first_token_deadline_exceeded || ec == client_errc::idle_deadline_exceeded ||
            ec == client_errc::total_deadline_exceeded)
            return exit_transport;
        return exit_other;
    } catch (...) {
        return exit_other;
    }
}

} // namespace majordomo::cli

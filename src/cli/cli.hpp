// The `majordomo` command-line program: options, commands and exit codes.
// Uses only the library's public headers, like any user would (DESIGN.md, layer `cli`).
#pragma once

#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace majordomo::cli {

/// Exit codes, documented in `majordomo --help` and README.md.
enum exit_code : int {
    exit_ok = 0,
    exit_other = 1,     ///< anything else: bad JSON from the server, a file that cannot be written, ...
    exit_usage = 2,     ///< bad command line, bad DSN, unknown LLM_<NAME>
    exit_api = 3,       ///< the server answered with an error (api_errc)
    exit_transport = 4, ///< connect, reset, TLS, truncated stream, --timeout or a phase deadline
};

/// A command line that cannot be run; exits with exit_usage.
struct usage_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

struct options {
    std::string command;
    std::vector<std::string> args; ///< positional arguments after the command

    std::string url;      ///< --url: an http(s) URL of llama-swap, or a DSN
    std::string provider; ///< --provider NAME: the DSN in LLM_<NAME>
    bool json = false;
    std::optional<std::chrono::steady_clock::duration> timeout;
    std::string output; ///< -o FILE
    std::string system; ///< chat --system
    std::optional<int> max_tokens;
    std::optional<long> count; ///< events -n: stop after this many events
    int repeats = 3;           ///< bench --repeats
    std::string voice;
    std::string language;
    std::string format;        ///< speak --format
    std::optional<int> width, height, steps;
    std::optional<long long> seed;
    bool help = false;
};

/// Parses argv (without argv[0]). @par Errors usage_error.
options parse_args(const std::vector<std::string>& argv);

/// Parses "30", "30s", "500ms", "2m", "1h". @par Errors usage_error.
std::chrono::steady_clock::duration parse_duration(const std::string& text);

/// The help text.
const char* usage_text() noexcept;

/// Maps the exception in flight to an exit code.
int exit_code_of(const std::exception_ptr& e) noexcept;

/// Runs the command; returns the exit code. Errors are printed to stderr here.
int run(const options& opts);

} // namespace majordomo::cli

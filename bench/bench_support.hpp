// What the benchmarks share: process CPU time, resident memory, the canned chat
// responses nginx serves (bench/run.sh writes them with majordomo-streambench
// --write-fixtures) and a tiny option parser.
#pragma once

#include <sys/resource.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>

namespace bench {

/// User plus system CPU seconds of the whole process (the benches run one thread).
inline double cpu_seconds()
{
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
           static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

/// Resident set size now, from /proc/self/statm.
inline std::size_t rss_bytes()
{
    std::ifstream in("/proc/self/statm");
    std::size_t pages = 0, resident = 0;
    in >> pages >> resident;
    return resident * 4096;
}

/// Raises the open-file limit to its hard maximum: 10,000 streams need 10,000 sockets.
inline void raise_file_limit()
{
    rlimit r{};
    if (getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur < r.rlim_max) {
        r.rlim_cur = r.rlim_max;
        setrlimit(RLIMIT_NOFILE, &r);
    }
}

/// The content of chunk i of the canned stream: one short token each.
inline std::string token(std::size_t i) { return i % 2 ? " the" : " word"; }

/// llama-server's streamed chat: a role chunk, content chunks, a finish chunk with
/// usage and timings, then [DONE]; `chunks` data events before [DONE] in all.
inline std::string canned_stream(std::size_t chunks)
{
    const std::string tail =
        R"(],"created":1764000000,"id":"chatcmpl-Vb7pQm2XkE9","model":"bench-model","system_fingerprint":"b7100-4f0d3a1","object":"chat.completion.chunk")";
    std::string s = R"(data: {"choices":[{"finish_reason":null,"index":0,"delta":{"role":"assistant","content":null}})" +
                    tail + "}\n\n";
    for (std::size_t i = 1; i + 1 < chunks; ++i)
        s += R"(data: {"choices":[{"finish_reason":null,"index":0,"delta":{"content":")" + token(i) + "\"}}" + tail +
             "}\n\n";
    s += R"(data: {"choices":[{"finish_reason":"stop","index":0,"delta":{}})" + tail +
         R"(,"usage":{"completion_tokens":)" + std::to_string(chunks - 2) +
         R"(,"prompt_tokens":12,"total_tokens":)" + std::to_string(chunks + 10) +
         R"(},"timings":{"prompt_n":12,"prompt_ms":8.1,"predicted_n":)" + std::to_string(chunks - 2) +
         R"(,"predicted_ms":4000.5}})"
         "\n\n";
    s += "data: [DONE]\n\n";
    return s;
}

/// The text a client must rebuild from canned_stream(chunks).
inline std::size_t canned_stream_text_size(std::size_t chunks)
{
    std::size_t n = 0;
    for (std::size_t i = 1; i + 1 < chunks; ++i)
        n += token(i).size();
    return n;
}

/// The assistant's text in the whole response.
inline constexpr std::string_view canned_content =
    "Hello! I am a canned response served by nginx so that the benchmark measures the client alone. The quick "
    "brown fox jumps over the lazy dog.";

/// llama-server's whole chat response (about 600 bytes).
inline std::string canned_response()
{
    return R"({"choices":[{"finish_reason":"stop","index":0,"message":{"role":"assistant","content":")" +
           std::string(canned_content) + R"("}}],"created":1764000000,"model":"bench-model","system_fingerprint":"b7100-4f0d3a1","object":"chat.completion","usage":{"completion_tokens":32,"prompt_tokens":12,"total_tokens":44},"id":"chatcmpl-Vb7pQm2XkE9","timings":{"prompt_n":12,"prompt_ms":8.1,"prompt_per_token_ms":0.675,"prompt_per_second":1481.5,"predicted_n":32,"predicted_ms":160.2,"predicted_per_token_ms":5.006,"predicted_per_second":199.75}})";
}

/// The request body every client sends.
inline std::string canned_request(bool stream)
{
    return std::string(R"({"model":"bench-model","messages":[{"role":"user","content":"Say hello."}],"stream":)") +
           (stream ? "true" : "false") + "}";
}

/// --key value pairs; unknown keys are an error so a typo never runs the wrong bench.
class options {
public:
    options(int argc, char** argv, std::map<std::string, std::string> defaults) : values_(std::move(defaults))
    {
        for (int i = 1; i < argc; ++i) {
            std::string k = argv[i];
            if (k.rfind("--", 0) != 0 || !values_.count(k.substr(2)) || i + 1 >= argc)
                usage_error(k);
            values_[k.substr(2)] = argv[++i];
        }
    }
    const std::string& str(const std::string& k) const { return values_.at(k); }
    long num(const std::string& k) const { return std::stol(values_.at(k)); }
    double real(const std::string& k) const { return std::stod(values_.at(k)); }

private:
    [[noreturn]] void usage_error(const std::string& k) const
    {
        std::fprintf(stderr, "unknown or incomplete option '%s'; options:", k.c_str());
        for (const auto& [key, v] : values_)
            std::fprintf(stderr, " --%s (%s)", key.c_str(), v.empty() ? "\"\"" : v.c_str());
        std::fprintf(stderr, "\n");
        std::exit(2);
    }
    std::map<std::string, std::string> values_;
};

} // namespace bench

// majordomo: a command-line client for llama-swap (and OpenAI-compatible servers). See usage_text().
#include "cli.hpp"

#include <cstdio>
#include <exception>

int main(int argc, char** argv)
{
    namespace cli = majordomo::cli;
    cli::options opts;
    try {
        opts = cli::parse_args(std::vector<std::string>(argv + 1, argv + argc));
    } catch (const cli::usage_error& e) {
        std::fprintf(stderr, "majordomo: %s\n%s", e.what(), cli::usage_text());
        return cli::exit_usage;
    }
    if (opts.help) {
        std::fputs(cli::usage_text(), stdout);
        return cli::exit_ok;
    }
    return cli::run(opts);
}

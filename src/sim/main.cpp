// majordomo-sim: a llama-swap simulator on 127.0.0.1, for trying clients by hand or from scripts.
//
//   majordomo-sim --port N [--models FILE.json] [--model id[:load_ms[:tokens_per_s[:kind]]] ...]
//                 [--api-key K ...] [--legacy-errors] [--address A] [--shared]
//
// --port 0 picks a free port; the first line on stdout is "listening on http://HOST:PORT".
// --model adds a model (kind: chat, image, embedding, reranker, transcription or speech; defaults
// 500 ms, 200 tokens/s, chat).
// --shared lets models run side by side instead of one at a time (llama-swap's exclusive swap).
// With neither --models nor --model, three models are served: "chat" (alias "c"), "image", "embed".
// Serves until SIGINT or SIGTERM.
//
// FILE.json (see majordomo::sim::params_from_json) is an array of models or an object:
//   {
//     "models": [
//       {"id": "qwen", "aliases": ["q"], "unlisted": false, "name": "Qwen", "description": "chat",
//        "kind": "chat",                 // "chat" | "image" | "embedding" | "reranker" | "transcription" | "speech"
//        "load_ms": 500, "tokens_per_second": 200, "concurrency_limit": 0,
//        "ttl": 300,                     // seconds, as in llama-swap's config; or "ttl_ms"
//        "send_loading_state": false,    // also "sendLoadingState"
//        "reply": "text streamed back", "embedding_dimensions": 16,
//        "fault": "none"}                // "fail_to_start" | "cut_stream" | "stall" | "error_mid_stream"
//     ],
//     "api_keys": ["sk-1"], "error_format": "current",   // or "legacy"
//     "exclusive": true, "address": "127.0.0.1", "port": 8080
//   }
// Only "id" is required; unknown keys are rejected. Command-line flags override the file.
#include <majordomo/sim/simulator.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include <charconv>
#include <cstdio>
#include <exception>
#include <fstream>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace {

namespace sim = majordomo::sim;

void usage(std::ostream& os)
{
    os << "usage: majordomo-sim --port N [--models FILE.json]\n"
          "                     [--model id[:load_ms[:tokens_per_s[:kind]]] ...]\n"
          "                     [--api-key K ...] [--legacy-errors] [--address A] [--shared]\n";
}

template <class T>
T parse_number(std::string_view s, std::string_view what)
{
    T v{};
    auto r = std::from_chars(s.data(), s.data() + s.size(), v);
    if (r.ec != std::errc() || r.ptr != s.data() + s.size())
        throw std::invalid_argument("bad " + std::string(what) + ": '" + std::string(s) + "'");
    return v;
}

std::vector<std::string_view> split(std::string_view s, char sep)
{
    std::vector<std::string_view> out;
    for (;;) {
        auto pos = s.find(sep);
        out.push_back(s.substr(0, pos));
        if (pos == std::string_view::npos)
            return out;
        s.remove_prefix(pos + 1);
    }
}

// id[:load_ms[:tokens_per_s[:kind]]]; ids with ':' belong in a --models file.
sim::model_params parse_model_flag(std::string_view spec)
{
    auto parts = split(spec, ':');
    if (parts.size() > 4 || parts[0].empty())
        throw std::invalid_argument("bad --model '" + std::string(spec) +
                                    "': want id[:load_ms[:tokens_per_s[:kind]]]");
    sim::model_params m;
    m.id = std::string(parts[0]);
    if (parts.size() > 1 && !parts[1].empty())
        m.load_time = std::chrono::milliseconds(parse_number<long>(parts[1], "load_ms"));
    if (parts.size() > 2 && !parts[2].empty())
        m.tokens_per_second = parse_number<double>(parts[2], "tokens_per_s");
    if (parts.size() > 3) {
        if (parts[3] == "chat")
            m.kind = sim::model_kind::chat;
        else if (parts[3] == "image")
            m.kind = sim::model_kind::image;
        else if (parts[3] == "embedding")
            m.kind = sim::model_kind::embedding;
        else if (parts[3] == "reranker")
            m.kind = sim::model_kind::reranker;
        else if (parts[3] == "transcription")
            m.kind = sim::model_kind::transcription;
        else if (parts[3] == "speech")
            m.kind = sim::model_kind::speech;
        else
            throw std::invalid_argument("bad kind '" + std::string(parts[3]) +
                                        "' (chat, image, embedding, reranker, transcription, speech)");
    }
    return m;
}

std::string read_file(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw std::invalid_argument("cannot read " + path);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

} // namespace

int main(int argc, char** argv)
{
    try {
        sim::simulator_params params;
        std::vector<sim::model_params> flag_models;
        std::vector<std::string> keys;
        bool have_port = false, legacy = false, shared = false;
        std::string address, models_file;
        long port = 0;
        for (int i = 1; i < argc; ++i) {
            std::string_view a = argv[i];
            auto value = [&]() -> std::string_view {
                if (i + 1 >= argc)
                    throw std::invalid_argument(std::string(a) + " needs a value");
                return argv[++i];
            };
            if (a == "--port") {
                port = parse_number<long>(value(), "port");
                if (port < 0 || port > 65535)
                    throw std::invalid_argument("--port must be 0-65535");
                have_port = true;
            } else if (a == "--models")
                models_file = std::string(value());
            else if (a == "--model")
                flag_models.push_back(parse_model_flag(value()));
            else if (a == "--api-key")
                keys.emplace_back(value());
            else if (a == "--legacy-errors")
                legacy = true;
            else if (a == "--address")
                address = std::string(value());
            else if (a == "--shared")
                shared = true;
            else if (a == "--help" || a == "-h") {
                usage(std::cout);
                return 0;
            } else
                throw std::invalid_argument("unknown argument '" + std::string(a) + "'");
        }
        if (!models_file.empty())
            params = sim::params_from_json(read_file(models_file));
        for (auto& m : flag_models)
            params.models.push_back(std::move(m));
        if (params.models.empty()) {
            sim::model_params chat, image, embed;
            chat.id = "chat";
            chat.aliases = {"c"};
            image.id = "image";
            image.kind = sim::model_kind::image;
            embed.id = "embed";
            embed.kind = sim::model_kind::embedding;
            params.models = {chat, image, embed};
        }
        if (have_port)
            params.port = static_cast<std::uint16_t>(port);
        else if (models_file.empty())
            throw std::invalid_argument("--port is required");
        if (!address.empty())
            params.address = address;
        for (auto& k : keys)
            params.api_keys.push_back(std::move(k));
        if (legacy)
            params.errors = sim::error_format::legacy;
        if (shared)
            params.exclusive = false;

        boost::asio::io_context ioc;
        sim::simulator s(ioc.get_executor(), std::move(params));
        std::cout << "listening on " << s.url() << std::endl;
        boost::asio::signal_set signals(ioc, SIGINT, SIGTERM);
        signals.async_wait([&](const boost::system::error_code&, int) { s.stop(); });
        ioc.run();
        return 0;
    } catch (const std::invalid_argument& e) {
        std::cerr << "majordomo-sim: " << e.what() << "\n";
        usage(std::cerr);
        return 2;
    } catch (const std::exception& e) {
        std::cerr << "majordomo-sim: " << e.what() << "\n";
        return 1;
    }
}

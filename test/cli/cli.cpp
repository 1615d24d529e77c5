// The `majordomo` program run as a child process against an in-process simulator on loopback:
// output on the right stream, JSON alone on stdout with --json, exit codes, no secrets, and the
// spinner only on a terminal.
#include "cli/child_process.hpp"

#include <majordomo/sim/simulator.hpp>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <thread>

namespace {

namespace asio = boost::asio;
namespace json = boost::json;
namespace sim = majordomo::sim;
using majordomo::test::child_params;
using majordomo::test::child_result;
using majordomo::test::run_child;
using namespace std::chrono_literals;

const std::string reply = "Hello from the simulator.";

// A simulator served by a thread of its own while the test waits for the child.
struct sim_fixture {
    asio::io_context ioc;
    asio::executor_work_guard<asio::io_context::executor_type> work{ioc.get_executor()};
    std::unique_ptr<sim::simulator> server;
    std::thread runner;

    sim_fixture()
    {
        sim::simulator_params p;
        sim::model_params chat;
        chat.id = "chat";
        chat.load_time = 700ms;
        chat.reply = reply;
        p.models.push_back(chat);
        sim::model_params other;
        other.id = "other";
        other.load_time = 50ms;
        p.models.push_back(other);
        sim::model_params stall;
        stall.id = "stall";
        stall.load_time = 0ms;
        stall.f = sim::fault::stall;
        p.models.push_back(stall);
        sim::model_params cut;
        cut.id = "cut";
        cut.load_time = 0ms;
        cut.f = sim::fault::cut_stream;
        p.models.push_back(cut);
        sim::model_params image;
        image.id = "image";
        image.kind = sim::model_kind::image;
        image.load_time = 0ms;
        image.tokens_per_second = 1000;
        p.models.push_back(image);
        sim::model_params tts;
        tts.id = "tts";
        tts.kind = sim::model_kind::speech;
        tts.load_time = 0ms;
        p.models.push_back(tts);
        sim::model_params stt;
        stt.id = "whisper";
        stt.kind = sim::model_kind::transcription;
        stt.load_time = 0ms;
        p.models.push_back(stt);
        p.exclusive = false;
        server = std::make_unique<sim::simulator>(ioc.get_executor(), std::move(p));
        runner = std::thread([this] { ioc.run(); });
    }
    ~sim_fixture()
    {
        server->stop();
        work.reset();
        runner.join();
        server.reset();
    }

    std::string url() const { return server->url(); }

    child_result cli(std::vector<std::string> args, const child_params& p = {})
    {
        args.insert(args.begin(), {"--url", url()});
        return run_child(MAJORDOMO_CLI_PATH, args, p);
    }
};

json::value parse_stdout(const child_result& r)
{
    boost::system::error_code ec;
    auto v = json::parse(r.out, ec);
    BOOST_TEST_REQUIRE(!ec, "stdout is not JSON: " << r.out << "\nstderr: " << r.err);
    return v;
}

std::string temp_path(const std::string& name)
{
    return (std::filesystem::temp_directory_path() / ("majordomo-cli-test-" + std::to_string(::getpid()) + "-" + name))
        .string();
}

} // namespace

BOOST_AUTO_TEST_SUITE(cli)

BOOST_FIXTURE_TEST_CASE(chat_streams_the_reply_and_reports_timings_on_stderr, sim_fixture)
{
    auto r = cli({"chat", "chat", "Say hello."});
    BOOST_TEST(r.exit_code == 0, r.err);
    BOOST_TEST(r.out == reply + "\n");
    BOOST_TEST(r.err.find("time to first token") != std::string::npos, r.err);
    BOOST_TEST(r.err.find("tokens/s") != std::string::npos, r.err);
    // stdout is a pipe: no spinner (carriage returns) and no colours (escapes) anywhere.
    BOOST_TEST(r.err.find('\r') == std::string::npos);
    BOOST_TEST(r.err.find('\033') == std::string::npos);
    BOOST_TEST(r.out.find('\033') == std::string::npos);
}

BOOST_FIXTURE_TEST_CASE(chat_json_is_alone_on_stdout, sim_fixture)
{
    auto r = cli({"--json", "chat", "chat", "Say hello."});
    BOOST_TEST(r.exit_code == 0, r.err);
    auto v = parse_stdout(r);
    BOOST_TEST(v.at("text").as_string() == reply);
    BOOST_TEST(v.at("model").as_string() == "chat");
    BOOST_TEST(v.at("completion_tokens").to_number<std::int64_t>() > 0);
    // The cold start (700 ms load) is inside the time to first token.
    BOOST_TEST(v.at("time_to_first_token_s").to_number<double>() >= 0.6);
    BOOST_TEST(v.at("tokens_per_second").to_number<double>() > 0);
    BOOST_TEST(r.err.find("time to first token") == std::string::npos, r.err);
}

BOOST_FIXTURE_TEST_CASE(chat_reads_the_prompt_from_stdin, sim_fixture)
{
    child_params p;
    p.input = "Say hello.\n";
    auto r = cli({"chat", "other"}, p);
    BOOST_TEST(r.exit_code == 0, r.err);
    BOOST_TEST(!r.out.empty());
    auto stats = server->stats();
    BOOST_TEST(stats.models.at("other").served == 1u);

    auto empty = cli({"chat", "other"}); // stdin closed at once: no prompt
    BOOST_TEST(empty.exit_code == 2, empty.err);
    BOOST_TEST(empty.err.find("prompt is empty") != std::string::npos, empty.err);
}

BOOST_FIXTURE_TEST_CASE(chat_on_a_terminal_shows_a_spinner_while_the_model_loads, sim_fixture)
{
    child_params p;
    p.pty = true;
    auto r = cli({"chat", "chat", "Say hello."}, p);
    BOOST_TEST(r.exit_code == 0, r.out);
    // The spinner redraws its line with \r and names the model; it is cleared before the reply.
    BOOST_TEST(r.out.find("waiting for chat") != std::string::npos, r.out);
    BOOST_TEST(r.out.find("\r\033[K") != std::string::npos, r.out);
    BOOST_TEST(r.out.find(reply) != std::string::npos, r.out);
    BOOST_TEST(r.out.find("\033[2m") != std::string::npos, r.out); // the dimmed timings
}

BOOST_FIXTURE_TEST_CASE(models_running_and_unload, sim_fixture)
{
    auto models = cli({"--json", "models"});
    BOOST_TEST(models.exit_code == 0, models.err);
    auto list = parse_stdout(models).as_array();
    std::vector<std::string> ids;
    for (const auto& m : list) {
        ids.emplace_back(m.at("id").as_string());
        // An optional field is there as null or its value, never left out.
        BOOST_TEST((m.as_object().contains("status") && (m.at("status").is_null() || m.at("status").is_string())));
    }
    BOOST_TEST((std::find(ids.begin(), ids.end(), "chat") != ids.end()));
    BOOST_TEST((std::find(ids.begin(), ids.end(), "image") != ids.end()));

    auto text = run_child(MAJORDOMO_CLI_PATH, {"--url=" + url(), "models"}); // --name=value works too
    BOOST_TEST(text.exit_code == 0, text.err);
    BOOST_TEST(text.out.find("chat") != std::string::npos);

    BOOST_TEST_REQUIRE(cli({"chat", "other", "hi"}).exit_code == 0);
    auto running = cli({"--json", "running"});
    BOOST_TEST(running.exit_code == 0, running.err);
    auto rv = parse_stdout(running).as_array();
    BOOST_TEST_REQUIRE(rv.size() == 1u);
    BOOST_TEST(rv[0].at("model").as_string() == "other");
    BOOST_TEST(rv[0].at("state").as_string() == "ready");
    BOOST_TEST((rv[0].as_object().contains("ttl") && (rv[0].at("ttl").is_null() || rv[0].at("ttl").is_int64())));

    auto unload = cli({"--json", "unload", "other"});
    BOOST_TEST(unload.exit_code == 0, unload.err);
    BOOST_TEST(parse_stdout(unload).at("unloaded").as_string() == "other");
    auto after = cli({"--json", "running"});
    BOOST_TEST(parse_stdout(after).as_array().empty());
    auto none = cli({"running"});
    BOOST_TEST(none.out.empty());
    BOOST_TEST(none.err.find("no model running") != std::string::npos);

    BOOST_TEST_REQUIRE(cli({"chat", "other", "hi"}).exit_code == 0);
    auto all = cli({"unload"});
    BOOST_TEST(all.exit_code == 0, all.err);
    BOOST_TEST(all.out == "unloaded all\n");
    BOOST_TEST(server->stats().models.at("other").unloads == 2u);
}

BOOST_FIXTURE_TEST_CASE(events_follow_api_events, sim_fixture)
{
    auto r = cli({"--json", "events", "-n", "2"});
    BOOST_TEST(r.exit_code == 0, r.err);
    // One JSON object a line.
    std::size_t lines = 0;
    std::size_t start = 0;
    while (start < r.out.size()) {
        auto nl = r.out.find('\n', start);
        BOOST_TEST_REQUIRE(nl != std::string::npos);
        auto v = json::parse(r.out.substr(start, nl - start));
        BOOST_TEST(!v.at("type").as_string().empty());
        ++lines;
        start = nl + 1;
    }
    BOOST_TEST(lines == 2u);

    // On connect llama-swap sends two logData events, then modelStatus.
    auto text = cli({"events", "-n", "3"});
    BOOST_TEST(text.exit_code == 0, text.err);
    BOOST_TEST(text.out.rfind("logData ", 0) == 0u, text.out);
    BOOST_TEST(text.out.find("\nmodelStatus ") != std::string::npos, text.out);
    BOOST_TEST(text.out.find(" chat=stopped") != std::string::npos, text.out);
}

BOOST_FIXTURE_TEST_CASE(usage_errors_exit_2, sim_fixture)
{
    for (std::vector<std::string> args : std::vector<std::vector<std::string>>{
             {},
             {"frobnicate"},
             {"chat"},
             {"models", "extra"},
             {"image", "image", "a cat"},
             {"--timeout", "soon", "models"},
             {"--bogus", "models"},
             {"--max-tokens", "many", "chat", "chat", "hi"},
         }) {
        auto r = run_child(MAJORDOMO_CLI_PATH, args);
        BOOST_TEST(r.exit_code == 2, r.err);
        BOOST_TEST(r.out.empty());
        BOOST_TEST(r.err.find("usage:") != std::string::npos);
    }
    auto help = run_child(MAJORDOMO_CLI_PATH, {"--help"});
    BOOST_TEST(help.exit_code == 0);
    BOOST_TEST(help.out.find("exit codes") != std::string::npos);
    auto bad_option = run_child(MAJORDOMO_CLI_PATH, {"--token=sekrit", "models"});
    BOOST_TEST(bad_option.exit_code == 2);
    BOOST_TEST(bad_option.err.find("unknown option --token") != std::string::npos, bad_option.err);
    BOOST_TEST(bad_option.err.find("sekrit") == std::string::npos, bad_option.err);
    auto bad_url = run_child(MAJORDOMO_CLI_PATH, {"--url", "ftp://sekrit@host", "models"});
    BOOST_TEST(bad_url.exit_code == 2);
    BOOST_TEST(bad_url.err.find("sekrit") == std::string::npos, bad_url.err);
}

BOOST_FIXTURE_TEST_CASE(api_errors_exit_3, sim_fixture)
{
    auto r = cli({"chat", "no-such-model", "hi"});
    BOOST_TEST(r.exit_code == 3, r.err);
    BOOST_TEST(r.err.find("majordomo: ") == 0u, r.err);
    auto json_mode = cli({"--json", "unload", "no-such-model"});
    BOOST_TEST(json_mode.exit_code == 3, json_mode.err);
    BOOST_TEST(json_mode.out.empty());
}

BOOST_FIXTURE_TEST_CASE(transport_errors_and_timeouts_exit_4, sim_fixture)
{
    // A port nobody listens on: take one from the OS and close it.
    std::uint16_t dead_port = 0;
    {
        asio::io_context tmp;
        asio::ip::tcp::acceptor a(tmp, {asio::ip::make_address("127.0.0.1"), 0});
        dead_port = a.local_endpoint().port();
    }
    auto refused = run_child(MAJORDOMO_CLI_PATH, {"--url", "http://127.0.0.1:" + std::to_string(dead_port), "models"});
    BOOST_TEST(refused.exit_code == 4, refused.err);

    auto start = std::chrono::steady_clock::now();
    auto stalled = cli({"--timeout", "300ms", "chat", "stall", "hi"});
    BOOST_TEST(stalled.exit_code == 4, stalled.err);
    BOOST_TEST(stalled.err.find("deadline") != std::string::npos, stalled.err);
    BOOST_TEST((std::chrono::steady_clock::now() - start < 20s));
}

BOOST_FIXTURE_TEST_CASE(a_stream_cut_half_way_exits_4_after_the_partial_reply, sim_fixture)
{
    auto r = cli({"chat", "cut", "hi"});
    BOOST_TEST(r.exit_code == 4, r.err);
    BOOST_TEST(!r.out.empty()); // what arrived was shown as it came
    BOOST_TEST(r.err.find("majordomo: ") != std::string::npos, r.err);
    BOOST_TEST(r.err.find("time to first token") == std::string::npos, r.err);
}

BOOST_FIXTURE_TEST_CASE(events_keep_following_until_the_timeout, sim_fixture)
{
    // While `events` follows, another process loads a model: its status changes arrive live.
    std::thread other([this] {
        std::this_thread::sleep_for(500ms);
        cli({"chat", "other", "hi"});
    });
    auto r = cli({"--json", "--timeout", "2s", "events"});
    other.join();
    BOOST_TEST(r.exit_code == 4, r.err); // --timeout ends the command as a deadline
    std::size_t statuses = 0;
    bool saw_ready = false;
    std::size_t start = 0;
    while (start < r.out.size()) {
        auto nl = r.out.find('\n', start);
        BOOST_TEST_REQUIRE(nl != std::string::npos);
        auto v = json::parse(r.out.substr(start, nl - start));
        if (v.at("type").as_string() == "modelStatus") {
            ++statuses;
            for (const auto& m : v.at("data").as_array())
                if (m.at("id").as_string() == "other" && m.at("state").as_string() == "ready")
                    saw_ready = true;
        }
        start = nl + 1;
    }
    BOOST_TEST(statuses >= 2u, r.out); // the snapshot, then the changes
    BOOST_TEST(saw_ready, r.out);
}

BOOST_FIXTURE_TEST_CASE(secrets_never_reach_the_output, sim_fixture)
{
    std::uint16_t dead_port = 0;
    {
        asio::io_context tmp;
        asio::ip::tcp::acceptor a(tmp, {asio::ip::make_address("127.0.0.1"), 0});
        dead_port = a.local_endpoint().port();
    }
    auto dsn = "llama-swap://sekrit-token@127.0.0.1:" + std::to_string(dead_port);
    auto by_url = run_child(MAJORDOMO_CLI_PATH, {"--url", dsn, "chat", "chat", "hi"});
    BOOST_TEST(by_url.exit_code == 4, by_url.err);
    BOOST_TEST(by_url.err.find("sekrit") == std::string::npos, by_url.err);

    child_params p;
    p.env["LLM_LOCAL"] = dsn;
    auto by_env = run_child(MAJORDOMO_CLI_PATH, {"--provider", "local", "models"}, p);
    BOOST_TEST(by_env.exit_code == 4, by_env.err);
    BOOST_TEST(by_env.err.find("sekrit") == std::string::npos, by_env.err);

    // The DSN's scheme and host work for real, token included.
    child_params ok;
    auto host = url().substr(std::string("http://").size());
    ok.env["LLM_LOCAL"] = "llama-swap://sekrit-token@" + host;
    auto good = run_child(MAJORDOMO_CLI_PATH, {"--provider", "local", "--json", "models"}, ok);
    BOOST_TEST(good.exit_code == 0, good.err);
    BOOST_TEST(good.out.find("sekrit") == std::string::npos);

    auto unset = run_child(MAJORDOMO_CLI_PATH, {"--provider", "nope", "models"});
    BOOST_TEST(unset.exit_code == 2, unset.err);
    BOOST_TEST(unset.err.find("LLM_NOPE") != std::string::npos, unset.err);
}

BOOST_FIXTURE_TEST_CASE(image_writes_a_png, sim_fixture)
{
    auto path = temp_path("cat.png");
    auto r = cli({"image", "image", "a cat", "-o", path, "--size", "64x32"});
    BOOST_TEST(r.exit_code == 0, r.err);
    BOOST_TEST(r.out.empty());
    BOOST_TEST(r.err.find("wrote " + path) != std::string::npos, r.err);
    std::ifstream in(path, std::ios::binary);
    std::string png((std::istreambuf_iterator<char>(in)), {});
    BOOST_TEST_REQUIRE(png.size() > 24u);
    BOOST_TEST(png.substr(0, 8) == std::string("\x89PNG\r\n\x1a\n", 8));
    BOOST_TEST(static_cast<unsigned char>(png[19]) == 64u); // IHDR width, big-endian
    BOOST_TEST(static_cast<unsigned char>(png[23]) == 32u); // IHDR height

    auto j = cli({"--json", "image", "image", "a cat", "-o", path});
    BOOST_TEST(j.exit_code == 0, j.err);
    auto v = parse_stdout(j);
    BOOST_TEST(v.at("bytes").to_number<std::uint64_t>() == std::filesystem::file_size(path));
    BOOST_TEST(v.at("mime_type").as_string() == "image/png");
    std::filesystem::remove(path);

    auto unwritable = cli({"image", "image", "a cat", "-o", "/nonexistent-dir/x.png"});
    BOOST_TEST(unwritable.exit_code == 1, unwritable.err);
}

BOOST_FIXTURE_TEST_CASE(speak_then_transcribe_round_trips, sim_fixture)
{
    auto wav = temp_path("speech.wav");
    auto spoken = cli({"speak", "tts", "the quick brown fox", "-o", wav});
    BOOST_TEST_REQUIRE(spoken.exit_code == 0, spoken.err);
    BOOST_TEST(spoken.out.empty());
    std::ifstream in(wav, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), {});
    BOOST_TEST(bytes.substr(0, 4) == "RIFF");

    auto heard = cli({"transcribe", "whisper", wav});
    BOOST_TEST(heard.exit_code == 0, heard.err);
    BOOST_TEST(heard.out.find("the quick brown fox") != std::string::npos, heard.out);
    auto heard_json = cli({"--json", "transcribe", "whisper", wav});
    BOOST_TEST(heard_json.exit_code == 0, heard_json.err);
    BOOST_TEST(std::string(parse_stdout(heard_json).at("text").as_string()).find("the quick brown fox") !=
               std::string::npos);
    BOOST_TEST(parse_stdout(heard_json).at("duration").is_null()); // json, not verbose_json: none given
    std::filesystem::remove(wav);

    auto spoken_json = cli({"--json", "speak", "tts", "hello", "-o", wav});
    BOOST_TEST_REQUIRE(spoken_json.exit_code == 0, spoken_json.err);
    auto sj = parse_stdout(spoken_json);
    BOOST_TEST(sj.at("file").as_string() == wav);
    BOOST_TEST(sj.at("bytes").to_number<std::uint64_t>() == std::filesystem::file_size(wav));
    BOOST_TEST(sj.at("content_type").as_string() == "audio/wav");
    std::filesystem::remove(wav);

    auto missing = cli({"transcribe", "whisper", wav});
    BOOST_TEST(missing.exit_code == 1, missing.err);
    BOOST_TEST(missing.err.find("cannot read") != std::string::npos, missing.err);
}

BOOST_FIXTURE_TEST_CASE(bench_json_is_clean, sim_fixture)
{
    auto r = cli({"--json", "bench", "--repeats", "2", "chat", "other"});
    BOOST_TEST(r.exit_code == 0, r.err);
    auto v = parse_stdout(r); // the whole of stdout: no table mixed in
    BOOST_TEST(v.at("repeats").to_number<int>() == 2);
    auto& models = v.at("models").as_array();
    BOOST_TEST_REQUIRE(models.size() == 2u);
    BOOST_TEST(models[0].at("model").as_string() == "chat");
    BOOST_TEST(models[0].at("warm").as_array().size() == 2u);
    // chat loads in 700 ms: the cold first token pays it, the warm ones do not.
    BOOST_TEST(models[0].at("cold").at("time_to_first_token_s").to_number<double>() >= 0.6);
    BOOST_TEST(models[0].at("warm_p50_time_to_first_token_s").to_number<double>() < 0.5);
    BOOST_TEST(models[0].at("swap_s").to_number<double>() > 0.3);

    auto table = cli({"bench", "--repeats", "1", "other"});
    BOOST_TEST(table.exit_code == 0, table.err);
    BOOST_TEST(table.out.find("cold ttft") != std::string::npos, table.out);
}

BOOST_AUTO_TEST_SUITE_END()

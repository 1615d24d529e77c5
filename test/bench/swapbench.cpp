// majordomo-swapbench run as a child process against its embedded simulator, small and fast: a
// document written to stdout (-) stands alone there, and the tables go to stderr instead.
#include "cli/child_process.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <boost/test/unit_test.hpp>

#include <filesystem>
#include <string>
#include <vector>

namespace {

namespace json = boost::json;
using majordomo::test::run_child;

std::string temp_path(const std::string& name)
{
    return (std::filesystem::temp_directory_path() /
            ("majordomo-swapbench-test-" + std::to_string(::getpid()) + "-" + name))
        .string();
}

// A run of a few requests on fast simulated models, with the chart written aside.
std::vector<std::string> quick(const std::string& svg, std::vector<std::string> more)
{
    std::vector<std::string> args{"--no-multi-host", "--load-ms", "20",   "--tokens-per-second", "4000",
                                  "--max-tokens",    "4",         "--repeats", "2",              "--burst",
                                  "2",               "--deadline", "30", "--quiet",           "--svg",
                                  svg};
    args.insert(args.end(), more.begin(), more.end());
    return args;
}

} // namespace

BOOST_AUTO_TEST_SUITE(bench)
BOOST_AUTO_TEST_SUITE(swapbench)

BOOST_AUTO_TEST_CASE(json_on_stdout_stands_alone)
{
    auto svg = temp_path("a.svg");
    auto r = run_child(MAJORDOMO_SWAPBENCH_PATH, quick(svg, {"--json", "-"}));
    BOOST_TEST(r.exit_code == 0, r.err);
    boost::system::error_code ec;
    auto doc = json::parse(r.out, ec); // the whole of stdout, or it fails
    BOOST_TEST(!ec, r.out);
    BOOST_TEST(doc.is_object());
    if (doc.is_object()) {
        auto* sc = doc.get_object().if_contains("scenarios");
        BOOST_TEST((sc && sc->is_array() && !sc->get_array().empty()));
    }
    BOOST_TEST(r.err.find("time to first token") != std::string::npos, r.err);
    BOOST_TEST(r.err.find("chart: " + svg) != std::string::npos, r.err);
    std::filesystem::remove(svg);
}

BOOST_AUTO_TEST_CASE(tables_stay_on_stdout_when_the_document_goes_to_a_file)
{
    auto svg = temp_path("b.svg");
    auto csv = temp_path("b.csv");
    auto r = run_child(MAJORDOMO_SWAPBENCH_PATH, quick(svg, {"--csv", csv}));
    BOOST_TEST(r.exit_code == 0, r.err);
    BOOST_TEST(r.out.find("time to first token") != std::string::npos, r.out);
    BOOST_TEST(r.out.find("chart: " + svg) != std::string::npos, r.out);
    BOOST_TEST(r.err.find("time to first token") == std::string::npos, r.err);
    BOOST_TEST(std::filesystem::file_size(csv) > 0u);
    std::filesystem::remove(svg);
    std::filesystem::remove(csv);
}

BOOST_AUTO_TEST_CASE(csv_on_stdout_stands_alone)
{
    auto svg = temp_path("c.svg");
    auto r = run_child(MAJORDOMO_SWAPBENCH_PATH, quick(svg, {"--csv", "-"}));
    BOOST_TEST(r.exit_code == 0, r.err);
    BOOST_TEST(r.out.rfind("scenario,count,errors,", 0) == 0u, r.out);
    BOOST_TEST(r.out.find("time to first token") == std::string::npos, r.out);
    BOOST_TEST(r.out.find("chart:") == std::string::npos, r.out);
    BOOST_TEST(r.err.find("time to first token") != std::string::npos, r.err);
    std::filesystem::remove(svg);
}

BOOST_AUTO_TEST_SUITE_END()
BOOST_AUTO_TEST_SUITE_END()

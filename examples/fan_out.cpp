// fan_out: the same prompt to several models at once, each under its own deadline; each result is
// printed as it finishes, fastest first.
//
//   fan_out URL PROMPT MODEL[:SECONDS]...      e.g. fan_out http://127.0.0.1:8080 "Hi" qwen:30 llama:5
//
// One line per model on stdout: "MODEL ok SECONDS TEXT" or "MODEL error SECONDS MESSAGE".
// Exits 0 when every model answered, 1 otherwise.
#include <majordomo/deadline.hpp>
#include <majordomo/error.hpp>
#include <majordomo/llamaswap/provider.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <chrono>
#include <cstdio>
#include <exception>
#include <string>

namespace asio = boost::asio;
using namespace majordomo;

namespace {

// One model's call under its own bound: co_spawned, so the calls run side by side.
asio::awaitable<std::string> ask(std::shared_ptr<llm::model> model, std::string prompt,
                                 std::chrono::steady_clock::duration bound)
{
    llm::chat_request req;
    req.messages.push_back(llm::message::user(std::move(prompt)));
    auto reply = co_await with_deadline(model->async_chat(std::move(req)), bound);
    co_return reply.text();
}

} // namespace

int main(int argc, char** argv)
{
    if (argc < 4) {
        std::fprintf(stderr, "usage: fan_out URL PROMPT MODEL[:SECONDS]...\n");
        return 2;
    }
    asio::io_context ioc;
    llamaswap::provider_params params;
    params.base_url = argv[1];
    auto swap = llamaswap::make_provider(ioc.get_executor(), std::move(params));

    int failures = 0;
    auto start = std::chrono::steady_clock::now();
    for (int i = 3; i < argc; ++i) {
        std::string spec = argv[i];
        std::string id = spec;
        double limit = 120; // a cold swap can take minutes: pick each model's bound
        if (auto colon = spec.rfind(':'); colon != std::string::npos) {
            id = spec.substr(0, colon);
            limit = std::stod(spec.substr(colon + 1));
        }
        auto bound = std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::duration<double>(limit));
        // The completion handler runs when this model is done, whatever the others do.
        asio::co_spawn(ioc, ask(swap->get_model(id), argv[2], bound),
                       [id, start, &failures](std::exception_ptr e, std::string text) {
                           double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
                           if (!e) {
                               std::printf("%s ok %.3f %s\n", id.c_str(), s, text.c_str());
                           } else {
                               ++failures;
                               try {
                                   std::rethrow_exception(e);
                               } catch (const std::exception& ex) {
                                   std::printf("%s error %.3f %s\n", id.c_str(), s, ex.what());
                               }
                           }
                           std::fflush(stdout);
                       });
    }
    ioc.run();
    return failures == 0 ? 0 : 1;
}

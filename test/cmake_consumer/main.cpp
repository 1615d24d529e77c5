// One chat call through the llama-swap provider against an in-process simulator, using only
// the installed headers and targets. Exits 0 when the answer is the simulated reply.
#include <majordomo/deadline.hpp>
#include <majordomo/error.hpp>
#include <majordomo/llamaswap/provider.hpp>
#include <majordomo/sim/simulator.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <chrono>
#include <exception>
#include <iostream>
#include <string>

namespace asio = boost::asio;
using namespace std::chrono_literals;

int main()
{
    const std::string reply = "Hello from the consumer build.";
    asio::io_context ioc;

    majordomo::sim::model_params model;
    model.id = "qwen";
    model.load_time = 20ms;
    model.tokens_per_second = 1000;
    model.reply = reply;
    majordomo::sim::simulator_params params;
    params.models.push_back(model);
    majordomo::sim::simulator sim(ioc.get_executor(), params);

    std::string answer;
    std::exception_ptr failure;
    auto chat = [&]() -> asio::awaitable<void> {
        auto swap = majordomo::llamaswap::make_provider(ioc.get_executor(), {.base_url = sim.url()});
        auto qwen = swap->get_model("qwen");
        majordomo::llm::chat_request req;
        req.messages = {majordomo::llm::message::user("Say hello.")};
        req.max_tokens = 64;
        auto response = co_await majordomo::with_deadline(qwen->async_chat(req), 30s);
        answer = response.text();
    };
    asio::co_spawn(ioc, chat(), [&](std::exception_ptr e) {
        failure = e;
        sim.stop();
    });
    ioc.run();

    if (failure) {
        try {
            std::rethrow_exception(failure);
        } catch (const std::exception& e) {
            std::cerr << "consumer: the chat call failed: " << e.what() << "\n";
        }
        return 1;
    }
    if (answer != reply) {
        std::cerr << "consumer: expected '" << reply << "', got '" << answer << "'\n";
        return 1;
    }
    std::cout << "consumer: chat answered '" << answer << "'\n";
    return 0;
}

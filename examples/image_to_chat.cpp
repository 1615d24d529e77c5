// image_to_chat: generate an image, then hand it straight to a vision chat model. A generated image
// is an llm::image_part (DESIGN.md), so the bytes go into the chat message as they came back.
//
//   image_to_chat URL IMAGE_MODEL CHAT_MODEL PROMPT
//
// Prints "image: BYTES MIME" on stderr and the chat's description of the image on stdout.
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
using namespace std::chrono_literals;

namespace {

asio::awaitable<void> run(std::shared_ptr<llamaswap::provider> swap, std::string image_model, std::string chat_model,
                          std::string prompt)
{
    imagegen::image_request ireq;
    ireq.prompt = prompt;
    ireq.width = 256;
    ireq.height = 256;
    auto image = swap->get_image_model(std::move(image_model));
    auto generated = co_await with_deadline(image->async_generate(std::move(ireq)), 5min);
    if (generated.images.empty())
        throw std::runtime_error("the image model returned no image");
    const llm::image_part& picture = generated.images.front();
    std::fprintf(stderr, "image: %zu %s\n", picture.data.size(), picture.mime_type.c_str());

    // The same type: a text part and the generated image part, in one user message.
    llm::chat_request creq;
    auto msg = llm::message::user("Describe this picture, made from the prompt: " + prompt);
    msg.content.push_back(picture);
    creq.messages.push_back(std::move(msg));
    auto model = swap->get_model(std::move(chat_model));
    auto stream = co_await with_deadline(model->async_chat_stream(std::move(creq)), 5min);
    for (;;) {
        auto chunk = co_await stream.async_next();
        if (!chunk)
            break;
        if (!chunk->loading)
            std::fputs(chunk->text().c_str(), stdout);
        std::fflush(stdout);
    }
    std::fputc('\n', stdout);
}

} // namespace

int main(int argc, char** argv)
{
    if (argc != 5) {
        std::fprintf(stderr, "usage: image_to_chat URL IMAGE_MODEL CHAT_MODEL PROMPT\n");
        return 2;
    }
    asio::io_context ioc;
    llamaswap::provider_params params;
    params.base_url = argv[1];
    auto swap = llamaswap::make_provider(ioc.get_executor(), std::move(params));
    int rc = 0;
    asio::co_spawn(ioc, run(swap, argv[2], argv[3], argv[4]), [&rc](std::exception_ptr e) {
        if (!e)
            return;
        rc = 1;
        try {
            std::rethrow_exception(e);
        } catch (const std::exception& ex) {
            std::fprintf(stderr, "image_to_chat: %s\n", ex.what());
        }
    });
    ioc.run();
    return rc;
}

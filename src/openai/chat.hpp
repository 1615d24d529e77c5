// Private: chat, whole and streamed, on the call path every call family shares (calls.hpp).
#pragma once

#include "openai/calls.hpp"

#include <majordomo/llm/chat.hpp>
#include <majordomo/llm/provider.hpp>

#include <boost/asio/awaitable.hpp>

#include <memory>

namespace majordomo::openai::detail {

boost::asio::awaitable<llm::chat_response> async_chat(std::shared_ptr<provider::impl> self, llm::chat_request req);
boost::asio::awaitable<llm::chat_stream> async_chat_stream(std::shared_ptr<provider::impl> self,
                                                           llm::chat_request req);

} // namespace majordomo::openai::detail

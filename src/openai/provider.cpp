#include "openai/api_error.hpp"
#include "openai/calls.hpp"
#include "openai/chat.hpp"
#include "openai/decoding.hpp"

#include <majordomo/error.hpp>
#include <majordomo/openai/provider.hpp>

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

namespace majordomo::openai {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

class model_handle final : public llm::model {
public:
    model_handle(std::shared_ptr<provider::impl> p, std::string id, llm::model_options o)
        : p_(std::move(p)), id_(std::move(id)), opts_(o)
    {
    }

    const std::string& id() const noexcept override { return id_; }

    asio::awaitable<llm::chat_response> async_chat(llm::chat_request req) override
    {
        apply(req);
        return detail::async_chat(p_, std::move(req));
    }

    asio::awaitable<llm::chat_stream> async_chat_stream(llm::chat_request req) override
    {
        apply(req);
        return detail::async_chat_stream(p_, std::move(req));
    }

private:
    void apply(llm::chat_request& req) const
    {
        if (req.model.empty())
            req.model = id_;
        if (!req.max_tokens)
            req.max_tokens = opts_.max_tokens;
        if (!req.temperature)
            req.temperature = opts_.temperature;
    }

    std::shared_ptr<provider::impl> p_;
    std::string id_;
    llm::model_options opts_;
};

} // namespace

provider::provider(asio::any_io_executor ex, provider_params params)
    : impl_(std::make_shared<impl>(std::move(ex), std::move(params)))
{
}

provider::~provider() = default;

const std::string& provider::name() const noexcept { return impl_->params.name; }
http::client& provider::http_client() noexcept { return impl_->http; }
const provider_params& provider::params() const noexcept { return impl_->params; }

std::shared_ptr<llm::model> provider::get_model(std::string id, llm::model_options options)
{
    return std::make_shared<model_handle>(impl_, std::move(id), options);
}

asio::awaitable<llm::chat_response> provider::async_chat(llm::chat_request req)
{
    return detail::async_chat(impl_, std::move(req));
}

asio::awaitable<llm::chat_stream> provider::async_chat_stream(llm::chat_request req)
{
    return detail::async_chat_stream(impl_, std::move(req));
}

asio::awaitable<std::vector<model_entry>> provider::async_list_models()
{
    auto self = impl_;
    detail::call_spec spec;
    spec.method = "GET";
    spec.path = "/models";
    const llm::call_params cp;
    auto a = co_await detail::async_call(*self, std::move(spec), cp);
    co_return detail::decode_with(*self, {}, [&] { return detail::decode_model_list(a.r.body); });
}

asio::awaitable<embedding_response> provider::async_embed(embedding_request req)
{
    auto self = impl_;
    if (req.input.empty())
        throw error(make_error_code(client_errc::invalid_argument), "async_embed needs at least one input");
    json::object body{{"model", req.model}};
    json::array input;
    for (const auto& s : req.input)
        input.push_back(json::string(s));
    body["input"] = std::move(input);
    if (req.dimensions)
        body["dimensions"] = *req.dimensions;
    for (const auto& [k, v] : req.extra)
        body[k] = v;
    detail::call_spec spec;
    spec.path = "/embeddings";
    spec.body = json::serialize(body);
    spec.model = req.model;
    auto a = co_await detail::async_call(*self, std::move(spec), req.call);
    auto out = detail::decode_with(*self, req.model,
                                   [&] { return detail::decode_embeddings(a.r.body, req.input.size()); });
    out.call = detail::whole_timings(a);
    co_return out;
}

} // namespace majordomo::openai

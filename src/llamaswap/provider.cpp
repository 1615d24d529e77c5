#include "openai/api_error.hpp"
#include "openai/calls.hpp"
#include "openai/event_reader.hpp"

#include <majordomo/error.hpp>
#include <majordomo/llamaswap/provider.hpp>
#include <majordomo/openai/provider.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <boost/url/encode.hpp>
#include <boost/url/rfc/pchars.hpp>

namespace majordomo::llamaswap {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

std::string trim_base(std::string s)
{
    while (!s.empty() && s.back() == '/')
        s.pop_back();
    return s;
}

// Strict base64 (standard alphabet, padding optional): stable-diffusion.cpp's b64_json.
std::optional<std::string> base64_decode(std::string_view in)
{
    static const auto table = [] {
        std::array<signed char, 256> t{};
        t.fill(-1);
        const char* chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        for (int i = 0; i < 64; ++i)
            t[static_cast<unsigned char>(chars[i])] = static_cast<signed char>(i);
        return t;
    }();
    while (!in.empty() && in.back() == '=')
        in.remove_suffix(1);
    if (in.size() % 4 == 1)
        return std::nullopt;
    std::string out;
    out.reserve(in.size() * 3 / 4);
    unsigned acc = 0;
    int bits = 0;
    for (char c : in) {
        int v = table[static_cast<unsigned char>(c)];
        if (v < 0)
            return std::nullopt;
        acc = (acc << 6) | static_cast<unsigned>(v);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out += static_cast<char>((acc >> bits) & 0xFF);
        }
    }
    return out;
}

std::string mime_for(std::string_view format)
{
    if (format == "jpeg" || format == "jpg")
        return "image/jpeg";
    if (format == "webp")
        return "image/webp";
    return "image/png";
}

} // namespace

struct provider::impl {
    impl(asio::any_io_executor ex, provider_params p)
        : params(std::move(p)), base(trim_base(params.base_url)),
          http(params.http ? *params.http : http::client(std::move(ex), params.http_params))
    {
        if (base.empty())
            return;
        // Chat is OpenAI Chat Completions byte for byte: delegate, with llama.cpp's legacy
        // max_tokens and the placeholder bearer llama-swap ignores when auth is off.
        openai::provider_params o;
        o.name = params.name;
        o.base_url = base + "/v1";
        o.api_key = params.token.value_or("no-key");
        o.legacy_max_tokens = true;
        o.http = http;
        o.retry = params.retry;
        chat = openai::make_provider(http.get_executor(), std::move(o));
    }

    http::request make(std::string method, std::string path, std::string body = {},
                       std::string_view accept = "application/json") const
    {
        http::request r;
        r.method = std::move(method);
        r.url = base + path;
        r.headers.push_back({"Authorization", "Bearer " + params.token.value_or("no-key")});
        r.headers.push_back({"Accept", std::string(accept)});
        if (!body.empty())
            r.headers.push_back({"Content-Type", "application/json"});
        r.body = std::move(body);
        return r;
    }

    void check(std::string_view model) const
    {
        openai::detail::check_ready({params.name, model}, base, params.token);
    }

    // A 2xx response, or the API error it carries; retried as `cp` or the provider says
    // (the call path of every OpenAI call family, src/openai/calls.hpp).
    asio::awaitable<openai::detail::answered> counted_call(http::request r, std::string_view model,
                                                           const llm::call_params& cp) const
    {
        check(model);
        const openai::detail::call_context ctx{params.name, model, base};
        auto a = co_await openai::detail::async_call(http, std::move(r), ctx, params.retry, cp);
        co_return a;
    }

    asio::awaitable<http::response> call(http::request r, std::string_view model) const
    {
        const llm::call_params cp;
        auto a = co_await counted_call(std::move(r), model, cp);
        co_return std::move(a.r);
    }

    static asio::awaitable<imagegen::image_result> generate(std::shared_ptr<impl> self, imagegen::image_request req);

    provider_params params;
    std::string base;
    mutable http::client http;
    std::shared_ptr<openai::provider> chat;
};

namespace {

// A chat model of a provider without a base URL: constructible, failing clearly when used.
class unconfigured_model final : public llm::model {
public:
    unconfigured_model(std::string provider, std::string id) : provider_(std::move(provider)), id_(std::move(id)) {}
    const std::string& id() const noexcept override { return id_; }
    asio::awaitable<llm::chat_response> async_chat(llm::chat_request) override
    {
        openai::detail::check_ready({provider_, id_}, "", std::nullopt);
        co_return llm::chat_response{};
    }
    asio::awaitable<llm::chat_stream> async_chat_stream(llm::chat_request) override
    {
        openai::detail::check_ready({provider_, id_}, "", std::nullopt);
        throw error(make_error_code(client_errc::no_base_url));
    }

private:
    std::string provider_;
    std::string id_;
};

class image_handle final : public imagegen::image_model {
public:
    image_handle(std::shared_ptr<provider::impl> p, std::string id) : p_(std::move(p)), id_(std::move(id)) {}
    const std::string& id() const noexcept override { return id_; }
    asio::awaitable<imagegen::image_result> async_generate(imagegen::image_request req) override
    {
        if (req.model.empty())
            req.model = id_;
        return provider::impl::generate(p_, std::move(req));
    }

private:
    std::shared_ptr<provider::impl> p_;
    std::string id_;
};

} // namespace

asio::awaitable<imagegen::image_result> provider::impl::generate(std::shared_ptr<impl> self, imagegen::image_request req)
{
    if (req.prompt.empty())
        throw error(make_error_code(client_errc::invalid_argument), "image_request::prompt is empty");
    // stable-diffusion.cpp ignores these at the top level; it reads them from a tag in the prompt.
    json::object native;
    if (!req.negative_prompt.empty())
        native["negative_prompt"] = req.negative_prompt;
    if (req.seed)
        native["seed"] = *req.seed;
    json::object sample;
    if (req.steps)
        sample["sample_steps"] = *req.steps;
    if (req.cfg_scale)
        sample["guidance"] = json::object{{"txt_cfg", *req.cfg_scale}};
    if (!sample.empty())
        native["sample_params"] = std::move(sample);
    std::string prompt = req.prompt;
    if (!native.empty())
        prompt += " <sd_cpp_extra_args>" + json::serialize(native) + "</sd_cpp_extra_args>";

    json::object body{{"model", req.model}, {"prompt", prompt}, {"n", std::max(1, req.n)}};
    if (req.width && req.height)
        body["size"] = std::to_string(*req.width) + "x" + std::to_string(*req.height);
    // sd-server rejects "jpg"; the OpenAI name is "jpeg".
    body["output_format"] = req.output_format == "jpg" ? std::string("jpeg") : req.output_format;
    body["response_format"] = "b64_json";
    for (const auto& [k, v] : req.extra)
        body[k] = v;

    auto r = co_await self->call(self->make("POST", "/v1/images/generations", json::serialize(body)), req.model);
    boost::system::error_code ec;
    auto v = json::parse(r.body, ec);
    auto fail = [&](std::string why) -> error {
        diagnostics d;
        d.provider = self->params.name;
        d.model = req.model;
        d.client_message = std::move(why);
        return error(make_error_code(client_errc::bad_image), std::move(d));
    };
    if (ec || !v.is_object())
        throw fail("the answer is not a JSON object");
    auto& o = v.get_object();
    auto* data = o.if_contains("data");
    if (!data || !data->is_array() || data->get_array().empty())
        throw fail("the answer holds no images");
    imagegen::image_result out;
    out.model = req.model;
    std::string format = req.output_format;
    if (auto* f = o.if_contains("output_format"); f && f->is_string())
        format = std::string(f->get_string());
    for (auto& row : data->get_array()) {
        auto* b64 = row.is_object() ? row.get_object().if_contains("b64_json") : nullptr;
        if (!b64 || !b64->is_string() || b64->get_string().empty())
            throw fail("an image has no b64_json data");
        auto bytes = base64_decode(b64->get_string());
        if (!bytes || bytes->empty())
            throw fail("an image's b64_json is not valid base64");
        llm::image_part img;
        img.mime_type = mime_for(format);
        img.data = std::move(*bytes);
        out.images.push_back(std::move(img));
        row.get_object()["b64_json"] = "<elided>";
    }
    out.timings = llm::call_timings::from_http(r.timings);
    out.timings.first_token = r.timings.first_byte;
    out.raw = std::move(o);
    co_return out;
}

// ---- events ----

struct event_stream::impl {
    impl(http::response_stream s) : reader(std::move(s), sse::parser_params{}) {}
    openai::detail::event_reader reader;
    bool failed = false; // an error or cancellation ended it: it cannot be resumed
};

event_stream::event_stream(std::unique_ptr<impl> p) : impl_(std::move(p)) {}
event_stream::event_stream(event_stream&&) noexcept = default;
event_stream& event_stream::operator=(event_stream&&) noexcept = default;
event_stream::~event_stream() = default;

asio::awaitable<std::optional<event>> event_stream::async_next()
{
    auto& s = *impl_;
    if (s.failed)
        throw error(make_error_code(client_errc::stream_closed),
                    "llama-swap's event stream ended with an error or was cancelled; call async_events again");
    // Every failure, a malformed event included, closes the stream: the connection is in
    // an unknown state.
    struct on_failure {
        impl& s;
        bool armed = true;
        ~on_failure()
        {
            if (armed) {
                s.failed = true;
                s.reader.close();
            }
        }
    } guard{s};
    auto ev = co_await s.reader.async_next();
    if (!ev) {
        guard.armed = false;
        co_return std::nullopt;
    }
    auto decoded = decode_event(ev->data);
    guard.armed = false;
    co_return decoded;
}

// ---- provider ----

provider::provider(asio::any_io_executor ex, provider_params params)
    : impl_(std::make_shared<impl>(std::move(ex), std::move(params)))
{
}

provider::~provider() = default;

const std::string& provider::name() const noexcept { return impl_->params.name; }
std::shared_ptr<openai::provider> provider::chat_provider() const noexcept { return impl_->chat; }

std::shared_ptr<llm::model> provider::get_model(std::string id, llm::model_options options)
{
    if (!impl_->chat)
        return std::make_shared<unconfigured_model>(impl_->params.name, std::move(id));
    return impl_->chat->get_model(std::move(id), options);
}

std::shared_ptr<imagegen::image_model> provider::get_image_model(std::string id)
{
    return std::make_shared<image_handle>(impl_, std::move(id));
}

asio::awaitable<std::vector<model_info>> provider::async_list_models()
{
    auto self = impl_;
    auto r = co_await self->call(self->make("GET", "/v1/models"), {});
    co_return decode_model_list(r.body);
}

asio::awaitable<std::vector<running_model>> provider::async_running()
{
    auto self = impl_;
    auto r = co_await self->call(self->make("GET", "/running"), {});
    co_return decode_running(r.body);
}

asio::awaitable<void> provider::async_unload(std::string model)
{
    auto self = impl_;
    if (model.empty())
        throw error(make_error_code(client_errc::invalid_argument), "async_unload needs a model id");
    // Ids may hold '/', which llama-swap's route accepts as is; other reserved bytes are escaped.
    std::string path = "/api/models/unload/" + boost::urls::encode(model, boost::urls::pchars + '/');
    co_await self->call(self->make("POST", std::move(path)), model);
}

asio::awaitable<void> provider::async_unload_all()
{
    auto self = impl_;
    self->check({});
    auto r = co_await self->http.async_request(self->make("POST", "/api/models/unload"));
    if (r.status == 404 || r.status == 405) {
        // Releases before the /api group only have GET /unload.
        co_await self->call(self->make("GET", "/unload"), {});
        co_return;
    }
    if (r.status / 100 != 2)
        openai::detail::throw_api_error({self->params.name, {}, self->base}, r.status, r.headers, r.body);
}

asio::awaitable<bool> provider::async_health()
{
    auto self = impl_;
    self->check({});
    auto r = co_await self->http.async_request(self->make("GET", "/health", {}, "text/plain"));
    co_return r.status == 200;
}

asio::awaitable<event_stream> provider::async_events()
{
    auto self = impl_;
    self->check({});
    auto s = co_await self->http.async_open(self->make("GET", "/api/events", {}, "text/event-stream"));
    if (s.status() / 100 != 2) {
        auto body = co_await s.async_read_all();
        openai::detail::throw_api_error({self->params.name, {}, self->base}, s.status(), s.headers(), body);
    }
    co_return event_stream(std::make_unique<event_stream::impl>(std::move(s)));
}

asio::awaitable<preload_result> provider::async_preload(std::string model, llm::call_params call)
{
    auto self = impl_;
    if (model.empty())
        throw error(make_error_code(client_errc::invalid_argument), "async_preload needs a model id");
    // The trailing slash matters: without it llama-swap answers 301 and loads nothing.
    std::string path = "/upstream/" + boost::urls::encode(model, boost::urls::pchars + '/') + "/";
    auto req = self->make("GET", std::move(path), std::string(), "*/*");
    auto a = co_await self->counted_call(std::move(req), model, call);
    preload_result out;
    out.model = std::move(model);
    out.timings = llm::call_timings::from_http(a.r.timings);
    out.timings.attempts = a.attempts;
    co_return out;
}

asio::awaitable<imagegen::image_result> provider::async_generate_image(imagegen::image_request req)
{
    return impl::generate(impl_, std::move(req));
}

} // namespace majordomo::llamaswap

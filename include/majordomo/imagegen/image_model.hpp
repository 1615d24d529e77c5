// The canonical text-to-image interface, separate from chat. A generated image is an
// llm::image_part, so it can be fed straight back into a chat.
#pragma once

#include <majordomo/llm/message.hpp>
#include <majordomo/llm/timings.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/json/object.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace majordomo::imagegen {

struct image_request {
    std::string model; ///< set from the image model when empty
    std::string prompt;
    std::string negative_prompt;
    std::optional<int> width;
    std::optional<int> height;
    int n = 1;
    std::optional<std::int64_t> seed;
    std::optional<int> steps;
    std::optional<double> cfg_scale;
    std::string output_format = "png"; ///< png, jpeg or webp
    boost::json::object extra;         ///< merged into the body last
};

struct image_result {
    std::vector<llm::image_part> images; ///< bytes and MIME type each
    std::string model;
    llm::call_timings timings;
    boost::json::object raw; ///< the response with each b64_json elided
};

class image_model {
public:
    virtual ~image_model() = default;
    virtual const std::string& id() const noexcept = 0;

    /// Generates images for `req`.
    /// @par Errors  api_errc with diagnostics; client_errc::bad_image when the answer
    ///   holds no image or invalid base64; transport errors.
    /// @par Cancellation  Terminal; bound it with with_deadline (generation has no stream).
    virtual boost::asio::awaitable<image_result> async_generate(image_request req) = 0;
};

class image_provider {
public:
    virtual ~image_provider() = default;
    virtual const std::string& name() const noexcept = 0;
    virtual std::shared_ptr<image_model> get_image_model(std::string id) = 0;
};

} // namespace majordomo::imagegen

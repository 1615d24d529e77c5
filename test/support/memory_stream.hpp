// An Asio AsyncReadStream over bytes in memory, for sans-io readers: each read takes the
// next piece (at most what the buffer holds), then the stream ends with eof. Completions
// are posted, as a socket's are.
#pragma once

#include <boost/asio/append.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <functional>
#include <string_view>

namespace majordomo::test {

class memory_stream {
public:
    using executor_type = boost::asio::io_context::executor_type;
    /// The size of the next piece; nullptr: everything that fits.
    using piece_sizes = std::function<std::size_t()>;

    memory_stream(executor_type ex, std::string_view data, piece_sizes pieces = nullptr)
        : ex_(ex), data_(data), pieces_(std::move(pieces))
    {
    }

    executor_type get_executor() const noexcept { return ex_; }
    /// Bytes not yet read.
    std::size_t remaining() const noexcept { return data_.size() - pos_; }

    template <class MutableBuffers, class Token>
    auto async_read_some(const MutableBuffers& buffers, Token&& token)
    {
        return boost::asio::async_initiate<Token, void(boost::system::error_code, std::size_t)>(
            [this](auto handler, const MutableBuffers& b) {
                boost::system::error_code ec;
                std::size_t n = 0;
                if (pos_ == data_.size())
                    ec = boost::asio::error::eof;
                else
                    n = boost::asio::buffer_copy(
                        b, boost::asio::buffer(data_.substr(pos_, pieces_ ? std::max<std::size_t>(pieces_(), 1)
                                                                          : data_.size())));
                pos_ += n;
                boost::asio::post(ex_, boost::asio::append(std::move(handler), ec, n));
            },
            token, buffers);
    }

private:
    executor_type ex_;
    std::string_view data_;
    piece_sizes pieces_;
    std::size_t pos_ = 0;
};

} // namespace majordomo::test

#pragma once

#include <boost/system/error_code.hpp>

namespace majordomo::http::detail {

/// Turns Beast parser errors into http::errc; transport errors pass through.
boost::system::error_code map_read_error(boost::system::error_code ec);

} // namespace majordomo::http::detail

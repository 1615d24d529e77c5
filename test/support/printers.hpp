// Lets BOOST_TEST print majordomo's enums when an assertion fails.
#pragma once

#include <majordomo/error.hpp>
#include <majordomo/http/errc.hpp>
#include <majordomo/sse/parser.hpp>

#include <ostream>

namespace majordomo {
inline std::ostream& boost_test_print_type(std::ostream& os, client_errc e)
{
    return os << make_error_code(e).message();
}
inline std::ostream& boost_test_print_type(std::ostream& os, api_errc e)
{
    return os << "HTTP " << static_cast<int>(e);
}
} // namespace majordomo

namespace majordomo::http {
inline std::ostream& boost_test_print_type(std::ostream& os, errc e) { return os << make_error_code(e).message(); }
} // namespace majordomo::http

namespace majordomo::sse {
inline std::ostream& boost_test_print_type(std::ostream& os, errc e) { return os << make_error_code(e).message(); }
} // namespace majordomo::sse

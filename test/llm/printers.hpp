// Lets BOOST_TEST print the llm enums when an assertion fails.
#pragma once

#include <majordomo/llm/classify.hpp>

#include <ostream>

namespace majordomo::llm {
inline std::ostream& boost_test_print_type(std::ostream& os, error_kind k) { return os << to_string(k); }
} // namespace majordomo::llm

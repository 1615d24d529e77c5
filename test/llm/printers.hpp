// Lets BOOST_TEST print llm types when an assertion fails.
#pragma once

#include <majordomo/llm/classify.hpp>
#include <majordomo/llm/raw_json.hpp>

#include <ostream>

namespace majordomo::llm {
inline std::ostream& boost_test_print_type(std::ostream& os, error_kind k) { return os << to_string(k); }
inline std::ostream& boost_test_print_type(std::ostream& os, const raw_json& r) { return os << r.text(); }
} // namespace majordomo::llm

#define BOOST_TEST_MODULE majordomo
#include <boost/test/unit_test.hpp>

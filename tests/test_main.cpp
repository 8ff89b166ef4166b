// The one main() and test runner of every C++ test program: CAF's unit-test
// engine (caf/test/unit_test_impl.hpp) compiled once and linked into each
// test binary, instead of compiled again in every test file (about 6 s of
// compiler time each).
#include <caf/test/unit_test.hpp>
#include <caf/test/unit_test_impl.hpp>

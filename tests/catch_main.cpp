// Catch2 main(), compiled once into spore_catch_main.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>

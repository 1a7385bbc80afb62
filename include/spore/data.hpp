#pragma once
#include <spore/data/idx.hpp>
#include <spore/data/pgm.hpp>

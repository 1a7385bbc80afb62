#pragma once
#include <spore/data/idx.hpp>

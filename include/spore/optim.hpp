#pragma once
#include <spore/optim/momentum.hpp>

#pragma once
#include <spore/optim/optimizer.hpp>
#include <spore/optim/sgd.hpp>
#include <spore/optim/momentum.hpp>
#include <spore/optim/adam.hpp>
#include <spore/optim/schedule.hpp>

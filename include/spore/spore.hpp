#pragma once
// spore: static-shape tensors, expression graphs as types, compile-time reverse mode.
#include <spore/core.hpp>
#include <spore/expr.hpp>
#include <spore/autodiff.hpp>
#include <spore/data.hpp>
#include <spore/nn.hpp>
#include <spore/optim.hpp>
#include <spore/io.hpp>
#include <spore/train.hpp>

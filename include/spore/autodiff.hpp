#pragma once
#include <spore/autodiff/elementwise_rules.hpp>
#include <spore/autodiff/region.hpp>
#include <spore/autodiff/conv_rules.hpp>
#include <spore/autodiff/heavy_rules.hpp>
#include <spore/autodiff/loss_rules.hpp>
#include <spore/autodiff/norm_rules.hpp>
#include <spore/autodiff/gradient.hpp>

#pragma once
#include <spore/nn/cell.hpp>
#include <spore/nn/layers.hpp>
#include <spore/nn/summary.hpp>

#pragma once
#include <spore/nn/cell.hpp>
#include <spore/nn/layers.hpp>

#pragma once
#include <spore/nn/init.hpp>
#include <spore/nn/cell.hpp>
#include <spore/nn/layers.hpp>
#include <spore/nn/buffer.hpp>
#include <spore/nn/batch_norm.hpp>
#include <spore/nn/dropout.hpp>
#include <spore/nn/losses.hpp>

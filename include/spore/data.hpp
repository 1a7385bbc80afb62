#pragma once
#include <spore/data/idx.hpp>
#include <spore/data/pgm.hpp>
#include <spore/data/image_set.hpp>
#include <spore/data/sampler.hpp>
#include <spore/data/fashion_mnist.hpp>

#pragma once
#include <spore/io/safetensors.hpp>

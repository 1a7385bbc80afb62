#pragma once
#include <spore/io/atomic_file.hpp>
#include <spore/io/safetensors.hpp>
#include <spore/io/protobuf.hpp>
#include <spore/io/onnx_proto.hpp>
#include <spore/io/onnx.hpp>

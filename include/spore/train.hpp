#pragma once
#include <spore/train/records.hpp>
#include <spore/train/clock.hpp>
#include <spore/train/progress.hpp>
#include <spore/train/callbacks.hpp>
#include <spore/train/distribution.hpp>
#include <spore/train/model.hpp>
#include <spore/train/svg_chart.hpp>

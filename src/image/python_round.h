// Python's int(round(x)), which the reference preprocessing and augmentation use: halves go to
// even, as std::nearbyint does in the default rounding mode.
#pragma once

#include <cmath>
#include <cstdint>

namespace vlprompt::image {

inline int64_t python_round(double x) { return static_cast<int64_t>(std::nearbyint(x)); }

}  // namespace vlprompt::image

// NumPy .npy files (format 1.0/2.0/3.0, C order, little-endian): the exchange format of the CLI
// (`preprocess`, `embed`) and of the reference fixtures.
#pragma once

#include <ATen/ATen.h>

#include <string>

namespace vlprompt::core {

// Supports <f4 <f8 <f2 <i8 <i4 <i2 |i1 |u1 |b1. Fortran order and big-endian data are refused
// with a FileError naming the file and the header value.
at::Tensor read_npy(const std::string& path);

// Writes a contiguous CPU copy of `t` atomically.
void write_npy(const std::string& path, const at::Tensor& t);

}  // namespace vlprompt::core

// The IDX format of MNIST and Fashion-MNIST (http://yann.lecun.com/exdb/mnist/): a big-endian
// header (magic, then one count per dimension) and raw uint8 data, usually gzip-compressed.
#pragma once

#include <ATen/ATen.h>

#include <string>

#include "datasets/catalog.h"
#include "datasets/dataset.h"

namespace vlprompt::datasets {

// The decompressed bytes of a gzip (or zlib) file; the bytes as they are when not compressed.
std::string read_maybe_gzip(const std::string& path);

// An idx3 image file (magic 2051): uint8 [count, rows, cols].
at::Tensor read_idx_images(const std::string& path);

// An idx1 label file (magic 2049): int64 [count].
at::Tensor read_idx_labels(const std::string& path);

// Loads `split` of a fashion_mnist_idx entry from <dir>/<prefix>-images-idx3-ubyte[.gz] and
// <prefix>-labels-idx1-ubyte[.gz]. Each record carries its pixels as uint8 [rows, cols, 3]
// (gray replicated): views into one tensor for the whole split, so records cost no copies.
DatasetSplit load_idx_split(const CatalogEntry& entry, const std::string& dir,
                            const std::string& split);

}  // namespace vlprompt::datasets

"""The catalog's held-out splits, reproduced for the pretraining scripts so that no test item is
ever read: datasets/digits.cpp's held_out_indices (std::mt19937_64 seeded with
seed * 1000003 + label, a Fisher-Yates shuffle, the last round(n * fraction) held out)."""
import math


class MT19937_64:
    """std::mt19937_64 (the C++ standard's 64-bit Mersenne twister)."""

    M64 = (1 << 64) - 1

    def __init__(self, seed):
        self.mt = [seed & self.M64]
        for i in range(1, 312):
            prev = self.mt[-1]
            self.mt.append((6364136223846793005 * (prev ^ (prev >> 62)) + i) & self.M64)
        self.index = 312

    def __call__(self):
        if self.index >= 312:
            for i in range(312):
                x = (self.mt[i] & 0xFFFFFFFF80000000) | (self.mt[(i + 1) % 312] & 0x7FFFFFFF)
                xa = x >> 1
                if x & 1:
                    xa ^= 0xB5026F5AA96619E9
                self.mt[i] = self.mt[(i + 156) % 312] ^ xa
            self.index = 0
        y = self.mt[self.index]
        self.index += 1
        y ^= (y >> 29) & 0x5555555555555555
        y ^= (y << 17) & 0x71D67FFFEDA60000
        y ^= (y << 37) & 0xFFF7EEE000000000
        y ^= y >> 43
        return y & self.M64


def held_out_indices(count, fraction, seed, label):
    order = list(range(count))
    rng = MT19937_64(seed * 1000003 + label)
    for i in range(count - 1, 0, -1):
        j = rng() % (i + 1)
        order[i], order[j] = order[j], order[i]
    held = int(math.floor(count * fraction + 0.5))
    return set(order[count - held:])

// bench/stats.hpp - the median and the spread of a benchmark's repetitions,
// as every in-process benchmark reports them.
#pragma once

#include <algorithm>
#include <cstddef>
#include <vector>

namespace bench {

struct stats {
    double median = 0, min = 0, max = 0;

    static stats of(std::vector<double> v) {
        std::sort(v.begin(), v.end());
        std::size_t m = v.size() / 2;
        double med = v.size() % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
        return {med, v.front(), v.back()};
    }
};

}  // namespace bench

// How a backward pass stores a gradient: added to what the buffer holds, or written over it.
// Overwriting is for the first contribution to a buffer, which then needs no zero-fill before
// it (and whatever the buffer held, NaN included, is ignored).
#pragma once

namespace sculpt {

enum class Write { accumulate, overwrite };

}  // namespace sculpt

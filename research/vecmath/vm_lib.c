/* ctypes test library: the loops of loops.h, exported. */
#include "loops.h"

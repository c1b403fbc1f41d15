#include "zoa/data/idx.hpp"

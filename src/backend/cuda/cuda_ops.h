// cuda_ops.h — the CUDA backend's op implementations: cuda_<name> for every op of backend/ops.h, with
// exactly the Backend slot's signature (semantics there). Each lives in the launcher file of its kernel
// family (cuda_elementwise.c, cuda_norm.c, ...), which includes this so that the compiler checks the
// definition against the list. An op without a CUDA implementation yet is simply not defined:
// cuda_backend.c sees it through a weak reference as NULL and leaves the slot empty.
#pragma once
#include "backend/cuda/cuda_core.h"

#define OP(ID, name, ret, params) ret cuda_##name params;
#include "backend/ops.h"

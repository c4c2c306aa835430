// cuda_kernel_list.h — THE kernel table: one line per kernel, from which KernelId (K_<ID>) and the
// cuda_kernels[] rows are generated (an X-macro file like backend/ops.h: included several times, no
// include guard; it #undefs KERNEL at its end).
//   KERNEL(ID, family, name, sig, smem, min_arch)
//     family    cu/<family>.cu, the PTX module the kernel is looked up in (an identifier: stringised)
//     name      its extern "C" name (an identifier: stringised here, and tools/fakecuda registers the
//               emulated kernel of that name from this list too)
//     sig       one letter per parameter, in order: 'p' pointer and 'u' unsigned long long (PTX .u64/.b64/
//               .s64), 'i' int (.u32/.s32/.b32), 'f' float (.f32). cuda_launch checks every launch against
//               it; cuda_ptx_check_kernels (a unit test) checks it against the .entry of every PTX variant.
//     smem      dynamic shared memory per block in bytes (0: static only); raised past 48 KiB at load
//     min_arch  the kernel traps in PTX variants below this arch (0: runs in every variant); such a
//               kernel may be missing or unusable, and its launcher must then refuse (cuda_kernel_usable)
// The smem constants come from cu/<family>.h, which cuda_kernels.c includes.
#ifndef KERNEL
#error "define KERNEL(ID, family, name, sig, smem, min_arch) before including cuda_kernel_list.h"
#endif

// cu/elementwise.cu — launched by cuda_elementwise.c
KERNEL(ADD, elementwise, add_f32, "pppu", 0, 0)
KERNEL(AXPY, elementwise, axpy_f32, "pfpu", 0, 0)
KERNEL(SCALE, elementwise, scale_f32, "pfu", 0, 0)
KERNEL(SUM_SQUARES_PARTIAL, elementwise, sum_squares_partial_f32, "pup", 0, 0)
KERNEL(SUM_SQUARES_FINAL, elementwise, sum_squares_final_f64, "pip", 0, 0)
KERNEL(SILU_FORWARD, elementwise, silu_forward_f32, "ppu", 0, 0)
KERNEL(SILU_BACKWARD, elementwise, silu_backward_f32, "pppu", 0, 0)
KERNEL(SWIGLU_FORWARD, elementwise, swiglu_forward_f32, "pppu", 0, 0)
KERNEL(SWIGLU_BACKWARD, elementwise, swiglu_backward_f32, "pppppu", 0, 0)
KERNEL(GELU_FORWARD, elementwise, gelu_forward_f32, "ppui", 0, 0)
KERNEL(GELU_BACKWARD, elementwise, gelu_backward_f32, "pppui", 0, 0)

// cu/adamw.cu — cuda_adamw.c
KERNEL(ADAMW, adamw, adamw_f32, "ppppufffffff", 0, 0)

// cu/norm.cu — cuda_norm.c (dw_final also serves the layernorm backward)
KERNEL(RMSNORM_FORWARD, norm, rmsnorm_forward_f32, "ppppiifi", 0, 0)
KERNEL(RMSNORM_BACKWARD, norm, rmsnorm_backward_f32, "ppppppiii", 0, 0)
KERNEL(RMSNORM_BACKWARD_DW_FINAL, norm, rmsnorm_backward_dw_final_f32, "ppppii", 0, 0)
KERNEL(LAYERNORM_FORWARD, norm, layernorm_forward_f32, "ppppppiifi", 0, 0)
KERNEL(LAYERNORM_BACKWARD, norm, layernorm_backward_f32, "ppppppppiii", 0, 0)

// cu/gemm.cu — cuda_gemm.c
KERNEL(GEMM_128, gemm, gemm_f32_128x128, "ppppiiiiiiuuuiiff", 0, 0)
KERNEL(GEMM_64, gemm, gemm_f32_64x64, "ppppiiiiiiuuuiiff", 0, 0)
KERNEL(COLSUM_PARTIAL, gemm, colsum_partial_f32, "ppiii", 0, 0)
KERNEL(COLSUM_FINAL, gemm, colsum_final_f32, "ppii", 0, 0)

// cu/embedding.cu — cuda_embedding.c
KERNEL(EMBEDDING_FORWARD, embedding, embedding_forward_f32, "pppii", 0, 0)
KERNEL(EMBEDDING_BACKWARD, embedding, embedding_backward_f32, "pppii", 0, 0)

// cu/softmax.cu — cuda_softmax.c
KERNEL(SOFTMAX_FORWARD, softmax, softmax_forward_f32, "pppiii", 0, 0)
KERNEL(SOFTMAX_BACKWARD, softmax, softmax_backward_f32, "pppiii", 0, 0)

// cu/rope.cu — cuda_rope.c
KERNEL(ROPE, rope, rope_f32, "ppppiiif", 0, 0)

// cu/logprob.cu — cuda_logprob.c
KERNEL(LOGPROB_FORWARD, logprob, logprob_forward_f32, "ppppii", 0, 0)
KERNEL(LOGPROB_BACKWARD, logprob, logprob_backward_f32, "pppppii", 0, 0)

// cu/attention.cu — cuda_attention.c
KERNEL(ATTN_FORWARD_D128, attention, attention_forward_d128_f32, "ppppppiiiiiifii", 0, 0)
KERNEL(ATTN_FORWARD_D256, attention, attention_forward_d256_f32, "ppppppiiiiiifii", 0, 0)
KERNEL(ATTN_BACKWARD_DI, attention, attention_backward_di_f32, "pppiiii", 0, 0)
KERNEL(ATTN_BACKWARD_DQ_D128, attention, attention_backward_dq_d128_f32, "ppppppppiiiiiifii", 0, 0)
KERNEL(ATTN_BACKWARD_DQ_D256, attention, attention_backward_dq_d256_f32, "ppppppppiiiiiifii", 0, 0)
KERNEL(ATTN_BACKWARD_DKDV_D128, attention, attention_backward_dkdv_d128_f32, "pppppppppiiiiiifii", 0, 0)
KERNEL(ATTN_BACKWARD_DKDV_D256, attention, attention_backward_dkdv_d256_f32, "pppppppppiiiiiifii", 0, 0)

// cu/convert.cu — cuda_convert.c (bf16 operands for the tensor-core kernels)
KERNEL(F32_TO_BF16, convert, f32_to_bf16_2d, "ppiiii", 0, 0)
KERNEL(F32_TO_BF16_TRANSPOSE, convert, f32_to_bf16_transpose_2d, "ppiiii", 0, 0)

// cu/gemm_mma.cu — cuda_gemm_mma.c (sm_80+)
KERNEL(GEMM_BF16_NN, gemm_mma, gemm_bf16_nn, "pppiiiiiiff", GEMM_MMA_SMEM_BYTES, 80)
KERNEL(GEMM_BF16_NT, gemm_mma, gemm_bf16_nt, "pppiiiiiiff", GEMM_MMA_SMEM_BYTES, 80)
KERNEL(GEMM_BF16_TN, gemm_mma, gemm_bf16_tn, "pppiiiiiiff", GEMM_MMA_SMEM_BYTES, 80)
KERNEL(GEMM_BF16_TT, gemm_mma, gemm_bf16_tt, "pppiiiiiiff", GEMM_MMA_SMEM_BYTES, 80)

// cu/gemm_wgmma.cu — cuda_gemm_mma.c (sm_90a only)
KERNEL(GEMM_BF16_WGMMA_NT, gemm_wgmma, gemm_bf16_wgmma_nt, "pppiiiiiiff", WGMMA_SMEM_BYTES, 90)

// cu/attention_mma.cu — cuda_attention_mma.c (sm_80+)
KERNEL(ATTN_FORWARD_BF16_D128, attention_mma, attention_forward_bf16_d128, "ppppppiiiiiifii", ATTN_MMA_SMEM_BYTES, 80)

// cu/attention_mma_bwd.cu — cuda_attention_mma_bwd.c (sm_80+)
KERNEL(ATTN_BACKWARD_DQ_BF16_D128, attention_mma_bwd, attention_backward_dq_bf16_d128, "ppppppppiiiiiifii", ATTN_BWD_DQ_SMEM_BYTES, 80)
KERNEL(ATTN_BACKWARD_DKDV_BF16_D128, attention_mma_bwd, attention_backward_dkdv_bf16_d128, "pppppppppiiiiiifii", ATTN_BWD_DKDV_SMEM_BYTES, 80)

// cu/msda.cu — cuda_msda.c (multi-scale deformable attention; the dvalue gather is atomic-free)
KERNEL(MSDA_FORWARD, msda, msda_forward_f32, "ppppiiiiiiiuuuu", 0, 0)
KERNEL(MSDA_BACKWARD_SAMPLE, msda, msda_backward_sample_f32, "ppppppiiiiiiiuuuu", 0, 0)
KERNEL(MSDA_BACKWARD_VALUE, msda, msda_backward_value_f32, "ppppiiiiiiiuuuu", 0, 0)

// cu/groupnorm.cu — cuda_groupnorm.c
KERNEL(GROUPNORM_FORWARD, groupnorm, groupnorm_forward_f32, "ppppppiiiif", 0, 0)
KERNEL(GROUPNORM_BACKWARD_DX, groupnorm, groupnorm_backward_dx_f32, "ppppppiiii", 0, 0)
KERNEL(GROUPNORM_BACKWARD_DW, groupnorm, groupnorm_backward_dw_f32, "ppppppiiii", 0, 0)

// cu/window_attention.cu — cuda_window_attention.c (Swin; dbias summed over windows without atomics)
KERNEL(WINDOW_ATTENTION_FORWARD, window_attention, window_attention_forward_f32, "pppppppiiiiif", 0, 0)
KERNEL(WINDOW_ATTENTION_BACKWARD, window_attention, window_attention_backward_f32, "ppppppppppppiiiiif", WIN_BWD_SMEM_BYTES, 0)
KERNEL(WINDOW_ATTENTION_DBIAS, window_attention, window_attention_dbias_f32, "ppiii", 0, 0)

#undef KERNEL

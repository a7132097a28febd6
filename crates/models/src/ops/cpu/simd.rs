//! Compiling a cell kernel once per x86-64 instruction set and choosing the copy at run time.
//!
//! The crate is built for baseline x86-64, so without this the pointwise gate loops would be
//! vectorised only for SSE. [`multiversion!`] wraps a kernel function; the product kernel
//! picks its own copy (see `gemm.rs`).

/// Compiles a kernel function once per instruction set and picks one at run time.
///
/// The crate is built for baseline x86-64 (users' binaries must run on any CPU), so the
/// pointwise gate loops would otherwise use 4-wide SSE. Each copy of the body is
/// compiled with AVX-512 or AVX2+FMA enabled; closures inside the body (the per-thread
/// time loops) inherit the features. The copies are safe functions: calling one is
/// `unsafe` only because its target features must be present, which is checked first.
macro_rules! multiversion {
    (
        $(#[$attr:meta])*
        $vis:vis fn $name:ident($($arg:ident: $ty:ty),* $(,)?) -> $ret:ty $body:block
    ) => {
        $(#[$attr])*
        $vis fn $name($($arg: $ty),*) -> $ret {
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx512f,avx2,fma")]
                #[allow(clippy::too_many_arguments)]
                fn avx512($($arg: $ty),*) -> $ret $body
                #[target_feature(enable = "avx2,fma")]
                #[allow(clippy::too_many_arguments)]
                fn avx2($($arg: $ty),*) -> $ret $body
                if std::arch::is_x86_feature_detected!("avx512f")
                    && std::arch::is_x86_feature_detected!("avx2")
                    && std::arch::is_x86_feature_detected!("fma")
                {
                    // SAFETY: the CPU has AVX-512F, AVX2 and FMA (detected just above), every
                    // feature this copy is compiled for.
                    return unsafe { avx512($($arg),*) };
                }
                if std::arch::is_x86_feature_detected!("avx2")
                    && std::arch::is_x86_feature_detected!("fma")
                {
                    // SAFETY: the CPU has AVX2 and FMA (detected just above), the features
                    // this copy is compiled for.
                    return unsafe { avx2($($arg),*) };
                }
            }
            #[allow(clippy::too_many_arguments)]
            fn baseline($($arg: $ty),*) -> $ret $body
            baseline($($arg),*)
        }
    };
}

pub(super) use multiversion;
